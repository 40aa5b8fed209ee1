import { describe, expect, it } from 'vitest';
import { kvBytesPerToken, parseModelConfig, parseRepoName } from './model-facts.js';

describe('parseRepoName', () => {
  it.each([
    ['mlx-community/Qwen2.5-Coder-14B-Instruct-4bit', { paramsB: 14, quantBits: 4, quantLabel: '4bit' }],
    ['mlx-community/Qwen2.5-0.5B-Instruct-8bit', { paramsB: 0.5, quantBits: 8 }],
    ['mlx-community/Qwen3-30B-A3B-4bit-DWQ', { paramsB: 30, activeParamsB: 3, quantBits: 4, quantLabel: '4bit-DWQ' }],
    ['mlx-community/Llama-3.2-3B-Instruct-4bit', { paramsB: 3 }],
    ['mlx-community/gemma-3-270m-it-bf16', { paramsB: 0.27, quantBits: 16, quantLabel: 'bf16' }],
    ['mlx-community/Mixtral-8x7B-Instruct-v0.1-4bit', { paramsB: 56 }],
    ['mlx-community/gpt-oss-20b-MXFP4-Q4', { paramsB: 20, quantBits: 4, quantLabel: 'mxfp4' }],
  ])('%s', (id, expected) => {
    expect(parseRepoName(id)).toMatchObject(expected);
  });
  it('finds no size in version numbers or dates', () => {
    expect(parseRepoName('mlx-community/Devstral-Small-2505-4bit').paramsB).toBeUndefined();
    expect(parseRepoName('mlx-community/Qwen2.5-Coder').paramsB).toBeUndefined();
  });
});

describe('parseModelConfig', () => {
  it('reads a Qwen2.5-7B config (head_dim from hidden/heads)', () => {
    const s = parseModelConfig({
      model_type: 'qwen2', hidden_size: 3584, num_attention_heads: 28, num_key_value_heads: 4, num_hidden_layers: 28,
      intermediate_size: 18944, vocab_size: 152064, max_position_embeddings: 32768, quantization: { group_size: 64, bits: 4 },
    });
    expect(s).toMatchObject({ modelType: 'qwen2', layers: 28, kvHeads: 4, headDim: 128, maxContext: 32768, quantBits: 4, groupSize: 64 });
    expect(kvBytesPerToken(s)).toBe(56 * 1024); // ANCHORS §5.1: 56 KiB per token
    expect(s.paramsB).toBeGreaterThan(7);
    expect(s.paramsB).toBeLessThan(8);
  });
  it('prefers an explicit head_dim and reads text_config', () => {
    const s = parseModelConfig({ model_type: 'gemma3', text_config: { num_hidden_layers: 62, num_key_value_heads: 16, head_dim: 128, hidden_size: 5376, num_attention_heads: 32 } });
    expect(s).toMatchObject({ layers: 62, kvHeads: 16, headDim: 128 });
  });
  it('never throws on junk', () => {
    expect(parseModelConfig(null)).toEqual({});
    expect(parseModelConfig([1, 2])).toEqual({});
    expect(kvBytesPerToken(parseModelConfig({ num_hidden_layers: 'x' }))).toBeUndefined();
  });
});
