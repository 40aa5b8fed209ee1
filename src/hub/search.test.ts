import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeMlxRepo, startStandInHub, type StandInHub } from '../../test/stand-in-hub/server.js';
import { getHubModel, searchHub, streamHubModels } from './search.js';

let hub: StandInHub;
const env = () => ({ HF_ENDPOINT: hub.url, HOME: '/nonexistent' });

beforeAll(async () => {
  hub = await startStandInHub({
    pageSize: 3,
    repos: [
      fakeMlxRepo('mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', { downloads: 500, shardBytes: 1000 }),
      fakeMlxRepo('mlx-community/Qwen3-30B-A3B-4bit', { downloads: 400, shards: 1, shardBytes: 3000 }),
      fakeMlxRepo('mlx-community/Devstral-Small-2505-4bit', {
        downloads: 300,
        config: { model_type: 'mistral', hidden_size: 5120, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 128, num_hidden_layers: 40, intermediate_size: 32768, vocab_size: 131072, quantization: { bits: 4, group_size: 64 } },
      }),
      fakeMlxRepo('mlx-community/Gated-7B-4bit', { gated: true }),
      fakeMlxRepo('someone/Other-Coder-7B-mlx', { downloads: 10000 }),
    ],
  });
});
afterAll(() => hub.close());

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('searchHub', () => {
  it('lists mlx-community models with downloads, params, quantization and sizes', async () => {
    const { status, models } = await searchHub({ env: env() });
    expect(status.kind).toBe('ok');
    expect(models.map((m) => m.repoId)).toEqual([
      'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit',
      'mlx-community/Qwen3-30B-A3B-4bit',
      'mlx-community/Devstral-Small-2505-4bit',
      'mlx-community/Gated-7B-4bit',
    ]);
    const [coder, moe, devstral] = models;
    expect(coder).toMatchObject({ downloads: 500, paramsB: 7, paramsSource: 'name', quantBits: 4, quantLabel: '4bit', weightsBytes: 1000 + 1001 });
    expect(coder!.downloadBytes).toBeGreaterThan(coder!.weightsBytes!);
    expect(coder!.repoBytes).toBeGreaterThan(coder!.downloadBytes!); // README.md and .gitattributes are not pulled
    expect(coder!.shape).toMatchObject({ layers: 28, kvHeads: 4, headDim: 128 });
    expect(moe).toMatchObject({ paramsB: 30, activeParamsB: 3, weightsBytes: 3000 });
    // No size in the name: estimated from config.json.
    expect(devstral!.paramsSource).toBe('config');
    expect(devstral!.paramsB).toBeGreaterThan(20);
    expect(devstral!.paramsB).toBeLessThan(26);
  });

  it('searches free text, and every author by the mlx tag', async () => {
    expect((await searchHub({ env: env(), query: 'coder', details: false })).models.map((m) => m.repoId)).toEqual(['mlx-community/Qwen2.5-Coder-7B-Instruct-4bit']);
    const any = await searchHub({ env: env(), query: 'coder', author: '*', details: false });
    expect(any.models.map((m) => m.repoId)).toEqual(['someone/Other-Coder-7B-mlx', 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit']);
    expect(hub.requests.at(-1)!.url).toContain('filter=mlx');
  });

  it('streams the first result after one request', async () => {
    const before = hub.requests.length;
    for await (const m of streamHubModels({ env: env() })) {
      expect(m.repoId).toBe('mlx-community/Qwen2.5-Coder-7B-Instruct-4bit');
      break;
    }
    expect(hub.requests.length - before).toBe(1);
  });

  it('does not call the Hub with HF_HUB_OFFLINE=1', async () => {
    const before = hub.requests.length;
    const r = await searchHub({ env: { ...env(), HF_HUB_OFFLINE: '1' } });
    expect(r.status.kind).toBe('offline');
    expect(hub.requests.length).toBe(before);
  });

  it('reports rate limiting (429) instead of failing', async () => {
    hub.behavior.rateLimit = true;
    try {
      const r = await searchHub({ env: env() });
      expect(r.status).toMatchObject({ kind: 'rate-limited', message: 'The Hub is rate-limiting requests (HTTP 429).' });
      expect(r.status.tryThis).toContain('HF_TOKEN');
    } finally {
      hub.behavior.rateLimit = false;
    }
  });

  it('reports an unreachable Hub', async () => {
    const r = await searchHub({ env: { HF_ENDPOINT: `http://127.0.0.1:${await closedPort()}` } });
    expect(r.status.kind).toBe('unreachable');
    expect(r.status.message).toContain('ECONNREFUSED');
  });

  it('never hangs on a slow Hub', async () => {
    hub.behavior.delayMs = 2000;
    try {
      const t0 = Date.now();
      const r = await searchHub({ env: env(), timeoutMs: 200 });
      expect(r.status.kind).toBe('timeout');
      expect(Date.now() - t0).toBeLessThan(1500);
    } finally {
      hub.behavior.delayMs = 0;
    }
  });

  it('stops at once when cancelled', async () => {
    hub.behavior.delayMs = 2000;
    try {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      await expect(searchHub({ env: env(), signal: ac.signal })).rejects.toThrow();
    } finally {
      hub.behavior.delayMs = 0;
    }
  });
});

describe('getHubModel', () => {
  it('finds a repo with its sizes and commit', async () => {
    const r = await getHubModel('mlx-community/Qwen3-30B-A3B-4bit', { env: env() });
    expect(r.status.kind).toBe('ok');
    expect(r.sha).toBe(hub.repos.get('mlx-community/Qwen3-30B-A3B-4bit')!.sha);
    expect(r.model).toMatchObject({ weightsBytes: 3000, paramsB: 30 });
  });

  it('says a missing repo is not found, and how to give a token in case it is private', async () => {
    const r = await getHubModel('mlx-community/Does-Not-Exist', { env: env() });
    expect(r.status.kind).toBe('not-found');
    expect(r.status.tryThis).toContain('HF_TOKEN');
  });

  it('says how to give a token for a gated repo; with one it works', async () => {
    const r = await getHubModel('mlx-community/Gated-7B-4bit', { env: env() });
    expect(r.status.kind).toBe('auth');
    expect(r.status.tryThis).toContain('export HF_TOKEN=hf_');
    expect(r.status.tryThis).toContain('huggingface-cli login');
    const ok = await getHubModel('mlx-community/Gated-7B-4bit', { env: { ...env(), HF_TOKEN: 'hf_standin_token' } });
    expect(ok.status.kind).toBe('ok');
    const wrong = await getHubModel('mlx-community/Gated-7B-4bit', { env: { ...env(), HF_TOKEN: 'hf_wrong' } });
    expect(wrong.status.kind).toBe('auth');
    expect(wrong.status.tryThis).toContain('has no access');
  });
});
