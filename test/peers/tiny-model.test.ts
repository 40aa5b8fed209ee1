// The real mlx_lm.server loads the tiny generated models from a real HF cache layout, offline.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePeers, type Peers } from './bootstrap.js';
import {
  chatBody,
  cleanupTemp,
  httpRequest,
  serveTinyPair,
  type MlxServer,
  type TinyModels,
} from './harness.js';

const SLOW = 5 * 60_000;

describe('tiny models served by the real mlx_lm.server', () => {
  let peers: Peers;
  let skip: string | null = null;
  let models: TinyModels;
  let editor: MlxServer;
  let architect: MlxServer;

  beforeAll(async () => {
    ({ peers, skip, models, editor, architect } = await serveTinyPair(['mlx']));
    if (skip) console.warn(`[peers] skipping: ${skip}\n${describePeers(peers)}`);
  }, 45 * 60_000);

  afterAll(async () => {
    await Promise.all([editor?.stop(), architect?.stop()]);
    cleanupTemp();
  }, 60_000);

  it('writes a real HF cache entry: blobs, refs/main, snapshot symlinks', (ctx) => {
    if (skip) ctx.skip(skip);
    const m = models.editor;
    expect(m.repoDir).toBe(path.join(models.hfHome, 'hub', 'models--aider-mlx-test--tiny-editor'));
    expect(fs.readFileSync(path.join(m.repoDir, 'refs', 'main'), 'utf8')).toBe(m.revision);
    expect(m.snapshot).toBe(path.join(m.repoDir, 'snapshots', m.revision));
    for (const f of ['config.json', 'model.safetensors', 'model.safetensors.index.json', 'tokenizer.json', 'tokenizer_config.json']) {
      const link = path.join(m.snapshot, f);
      expect(fs.lstatSync(link).isSymbolicLink(), f).toBe(true);
      expect(fs.readlinkSync(link)).toMatch(/^\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
      expect(fs.existsSync(link), `${f} resolves`).toBe(true);
    }
    const config = JSON.parse(fs.readFileSync(path.join(m.snapshot, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: 'qwen2', num_hidden_layers: 2, hidden_size: 64 });
    const tok = JSON.parse(fs.readFileSync(path.join(m.snapshot, 'tokenizer_config.json'), 'utf8'));
    expect(tok.chat_template).toContain('<|im_start|>');
    expect(tok.eos_token).toBe('<|im_end|>');
    // two models, different seeds: different weights
    expect(models.architect.revision).not.toBe(models.editor.revision);
  });

  it.for([
    ['default_model', 'editor'],
    ['aider-mlx-test/tiny-editor', 'editor'],
    ['default_model', 'architect'],
    ['aider-mlx-test/tiny-architect', 'architect'],
  ] as [string, 'editor' | 'architect'][])('POST /v1/chat/completions with model %s on the %s server answers its words', { timeout: SLOW }, async ([model, which], ctx) => {
    if (skip) ctx.skip(skip);
    const srv = which === 'editor' ? editor : architect;
    const want = which === 'editor' ? models.editor.answer : models.architect.answer;
    const r = await httpRequest(`${srv.baseUrl}/chat/completions`, { body: chatBody(model) });
    expect(r.status, r.body).toBe(200);
    const j = JSON.parse(r.body);
    expect(j.object).toBe('chat.completion');
    expect(j.model).toBe(model); // the server echoes what was asked
    expect(j.choices[0].message.content).toBe(want);
    expect(j.choices[0].finish_reason).toBe('stop'); // eos, not max_tokens
  });

  it('also answers on /chat/completions (no /v1) and lists the cached repos on /v1/models', async (ctx) => {
    if (skip) ctx.skip(skip);
    const r = await httpRequest(`${editor.root}/chat/completions`, { body: chatBody('default_model') });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).choices[0].message.content).toBe('editor pong');
    const list = await httpRequest(`${editor.baseUrl}/models`);
    expect(list.status).toBe(200);
    const ids = (JSON.parse(list.body).data as { id: string }[]).map((d) => d.id).sort();
    expect(ids).toEqual(['aider-mlx-test/tiny-architect', 'aider-mlx-test/tiny-editor']);
    expect((await httpRequest(`${editor.root}/models`)).status).toBe(404);
  }, SLOW);

  it('streams too (what aider does without --no-stream)', async (ctx) => {
    if (skip) ctx.skip(skip);
    const r = await httpRequest(`${architect.baseUrl}/chat/completions`, { body: { ...chatBody('default_model'), stream: true } });
    expect(r.status).toBe(200);
    const text = r.body
      .split('\n')
      .filter((l) => l.startsWith('data: {'))
      .map((l) => JSON.parse(l.slice(6)).choices[0]?.delta?.content ?? '')
      .join('');
    expect(text).toBe('architect plan ready');
    expect(r.body).toContain('data: [DONE]');
  }, SLOW);

  it('writes the server log to a file', (ctx) => {
    if (skip) ctx.skip(skip);
    expect(editor.log()).toMatch(/POST \/v1\/chat\/completions HTTP\/1\.1" 200/);
  });
});
