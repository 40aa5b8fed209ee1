import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fnmatch, hubCacheDir, hubEndpoint, hubOffline, hubToken, matchesAny, MLX_ALLOW_PATTERNS, repoFolderName, repoIdFromFolder } from './env.js';

describe('hubCacheDir (huggingface_hub precedence)', () => {
  const HOME = '/Users/ada';
  it('defaults to ~/.cache/huggingface/hub', () => {
    expect(hubCacheDir({ HOME })).toBe('/Users/ada/.cache/huggingface/hub');
  });
  it('XDG_CACHE_HOME < HF_HOME < HUGGINGFACE_HUB_CACHE < HF_HUB_CACHE', () => {
    expect(hubCacheDir({ HOME, XDG_CACHE_HOME: '/x' })).toBe('/x/huggingface/hub');
    expect(hubCacheDir({ HOME, XDG_CACHE_HOME: '/x', HF_HOME: '/h' })).toBe('/h/hub');
    expect(hubCacheDir({ HOME, HF_HOME: '/h', HUGGINGFACE_HUB_CACHE: '/legacy' })).toBe('/legacy');
    expect(hubCacheDir({ HOME, HF_HOME: '/h', HUGGINGFACE_HUB_CACHE: '/legacy', HF_HUB_CACHE: '/new' })).toBe('/new');
  });
  it('expands ~', () => {
    expect(hubCacheDir({ HOME, HF_HOME: '~/hf' })).toBe('/Users/ada/hf/hub');
  });
});

describe('endpoint, token, offline', () => {
  it('reads HF_ENDPOINT without a trailing slash', () => {
    expect(hubEndpoint({})).toBe('https://huggingface.co');
    expect(hubEndpoint({ HF_ENDPOINT: 'http://127.0.0.1:9/' })).toBe('http://127.0.0.1:9');
  });
  it('takes HF_TOKEN, else the file huggingface-cli login writes', () => {
    const home = mkdtempSync(join(tmpdir(), 'hf-home-'));
    expect(hubToken({ HOME: home })).toBeUndefined();
    mkdirSync(join(home, '.cache/huggingface'), { recursive: true });
    writeFileSync(join(home, '.cache/huggingface/token'), 'hf_fromfile\n');
    expect(hubToken({ HOME: home })).toBe('hf_fromfile');
    expect(hubToken({ HOME: home, HF_TOKEN: 'hf_env' })).toBe('hf_env');
  });
  it('HF_HUB_OFFLINE', () => {
    expect(hubOffline({ HF_HUB_OFFLINE: '1' })).toBe(true);
    expect(hubOffline({ HF_HUB_OFFLINE: '0' })).toBe(false);
    expect(hubOffline({})).toBe(false);
  });
});

describe('repo folders', () => {
  it('round-trips models--org--name', () => {
    expect(repoFolderName('mlx-community/Qwen2.5-Coder-7B-Instruct-4bit')).toBe('models--mlx-community--Qwen2.5-Coder-7B-Instruct-4bit');
    expect(repoIdFromFolder('models--mlx-community--Qwen2.5-Coder-7B-Instruct-4bit')).toBe('mlx-community/Qwen2.5-Coder-7B-Instruct-4bit');
    expect(repoIdFromFolder('datasets--a--b')).toBeUndefined();
    expect(repoIdFromFolder('.locks')).toBeUndefined();
  });
});

describe('fnmatch like Python (mlx_lm allow_patterns)', () => {
  it('* crosses folders, as fnmatch does', () => {
    expect(fnmatch('sub/x.json', '*.json')).toBe(true);
    expect(fnmatch('model-00001-of-00002.safetensors', 'model*.safetensors')).toBe(true);
    expect(fnmatch('consolidated.safetensors', 'model*.safetensors')).toBe(false);
    expect(fnmatch('a.b', 'a?b')).toBe(true);
    expect(fnmatch('x1', 'x[0-9]')).toBe(true);
  });
  it('keeps what mlx_lm needs and drops the rest', () => {
    const keep = ['config.json', 'model.safetensors', 'tokenizer.model', 'chat_template.jinja', 'merges.txt', 'qwen.tiktoken', 'modeling.py', 'x.jsonl'];
    const drop = ['README.md', '.gitattributes', 'consolidated.safetensors', 'pytorch_model.bin', 'model.gguf'];
    for (const f of keep) expect(matchesAny(f, MLX_ALLOW_PATTERNS), f).toBe(true);
    for (const f of drop) expect(matchesAny(f, MLX_ALLOW_PATTERNS), f).toBe(false);
  });
});
