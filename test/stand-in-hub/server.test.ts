import { listFiles, listModels, modelInfo } from '@huggingface/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeMlxRepo, startStandInHub, type StandInHub } from './server.js';

let hub: StandInHub;

beforeAll(async () => {
  hub = await startStandInHub({
    pageSize: 2,
    repos: [
      fakeMlxRepo('mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', { downloads: 500 }),
      fakeMlxRepo('mlx-community/Qwen2.5-Coder-14B-Instruct-4bit', { downloads: 300 }),
      fakeMlxRepo('mlx-community/Qwen2.5-Coder-32B-Instruct-4bit', { downloads: 200 }),
      fakeMlxRepo('mlx-community/Llama-3.2-3B-Instruct-4bit', { downloads: 900 }),
      fakeMlxRepo('someone/Qwen2.5-Coder-7B-mlx', { downloads: 50 }),
      fakeMlxRepo('mlx-community/Gated-7B-4bit', { gated: true }),
    ],
  });
});
afterAll(() => hub.close());

describe('stand-in Hub, as @huggingface/hub sees it', () => {
  it('pages /api/models with Link headers and filters by author and search', async () => {
    const names: string[] = [];
    for await (const m of listModels({ search: { owner: 'mlx-community', query: 'coder' }, hubUrl: hub.url, sort: 'downloads' })) names.push(m.name);
    expect(names).toEqual([
      'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit',
      'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit',
      'mlx-community/Qwen2.5-Coder-32B-Instruct-4bit',
    ]);
    const pages = hub.requests.filter((r) => r.url.startsWith('/api/models?'));
    expect(pages).toHaveLength(2);
    expect(pages[0]!.url).toContain('author=mlx-community');
    expect(pages[1]!.url).toContain('cursor=2');
  });

  it('serves modelInfo at a revision and the recursive file tree', async () => {
    const info = await modelInfo({ name: 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', hubUrl: hub.url, additionalFields: ['sha'] });
    expect(info.name).toBe('mlx-community/Qwen2.5-Coder-7B-Instruct-4bit');
    expect(info.sha).toMatch(/^[0-9a-f]{40}$/);
    const files = [];
    for await (const f of listFiles({ repo: 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', recursive: true, revision: info.sha, hubUrl: hub.url })) files.push(f);
    const shard = files.find((f) => f.path === 'model-00001-of-00002.safetensors')!;
    expect(shard.lfs).toMatchObject({ size: 65536 });
    expect(shard.lfs!.oid).toMatch(/^[0-9a-f]{64}$/);
    expect(files.find((f) => f.path === 'config.json')!.lfs).toBeUndefined();
  });

  it('lists a stand-in for a real model at its real size in every route that reports one (the demo)', async () => {
    const weights = 18_400_000_001; // mlx-community/QwQ-32B-4bit: ~18.4 GB over 4 shards
    const repo = hub.addRepo(fakeMlxRepo('mlx-community/QwQ-32B-4bit', { weightsBytes: weights }));
    const shards = repo.files.filter((f) => f.path.endsWith('.safetensors'));
    expect(shards.map((f) => f.path)).toEqual([1, 2, 3, 4].map((i) => `model-0000${i}-of-00004.safetensors`));
    const tree = [];
    for await (const f of listFiles({ repo: repo.id, recursive: true, hubUrl: hub.url })) tree.push(f);
    const listed = tree.filter((f) => f.path.endsWith('.safetensors'));
    expect(listed.reduce((a, f) => a + f.size, 0)).toBe(weights);
    expect(listed.reduce((a, f) => a + f.lfs!.size, 0)).toBe(weights);
    const info = (await (await fetch(`${hub.url}/api/models/${repo.id}?blobs=true`)).json()) as { siblings: Array<{ rfilename: string; size: number; lfs?: { size: number } }>; usedStorage: number };
    const sib = info.siblings.filter((f) => f.rfilename.endsWith('.safetensors'));
    expect(sib.reduce((a, f) => a + f.size, 0)).toBe(weights);
    expect(sib.reduce((a, f) => a + f.lfs!.size, 0)).toBe(weights);
    expect(info.usedStorage).toBeGreaterThan(weights);
    const res = await fetch(`${hub.url}/${repo.id}/resolve/main/${shards[0]!.path}`, { method: 'HEAD', redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(Number(res.headers.get('x-linked-size'))).toBe(shards[0]!.size);
    const index = (await (await fetch(`${hub.url}/${repo.id}/resolve/main/model.safetensors.index.json`)).json()) as { metadata: { total_size: number } };
    expect(index.metadata.total_size).toBe(weights);
    hub.repos.delete(repo.id);
  });

  it('answers /resolve/ for LFS with a 302 to another origin and the X- headers', async () => {
    const repo = hub.repos.get('mlx-community/Qwen2.5-Coder-7B-Instruct-4bit')!;
    const res = await fetch(`${hub.url}/${repo.id}/resolve/main/model-00001-of-00002.safetensors`, { method: 'HEAD', redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('x-repo-commit')).toBe(repo.sha);
    expect(res.headers.get('x-linked-etag')).toBe(`"${repo.files[0]!.sha256}"`);
    expect(res.headers.get('x-linked-size')).toBe('65536');
    const cdn = res.headers.get('location')!;
    expect(new URL(cdn).origin).toBe(hub.cdnUrl);
    const part = await fetch(cdn, { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 100-199/65536');
    expect(Buffer.from(await part.arrayBuffer())).toEqual(repo.files[0]!.content.subarray(100, 200));
  });

  it('serves small files directly with their git blob id as ETag', async () => {
    const repo = hub.repos.get('mlx-community/Qwen2.5-Coder-7B-Instruct-4bit')!;
    const res = await fetch(`${hub.url}/${repo.id}/resolve/${repo.sha}/config.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${repo.files.find((f) => f.path === 'config.json')!.oid}"`);
    expect(((await res.json()) as { model_type: string }).model_type).toBe('qwen2');
  });

  it('gives the Hub error codes', async () => {
    const missing = await fetch(`${hub.url}/api/models/mlx-community/Nope`);
    expect([missing.status, missing.headers.get('x-error-code')]).toEqual([401, 'RepoNotFound']);
    const gated = await fetch(`${hub.url}/mlx-community/Gated-7B-4bit/resolve/main/config.json`);
    expect([gated.status, gated.headers.get('x-error-code')]).toEqual([401, 'GatedRepo']);
    const allowed = await fetch(`${hub.url}/mlx-community/Gated-7B-4bit/resolve/main/config.json`, { headers: { authorization: 'Bearer hf_standin_token' } });
    expect(allowed.status).toBe(200);
    const entry = await fetch(`${hub.url}/mlx-community/Qwen2.5-Coder-7B-Instruct-4bit/resolve/main/nope.json`);
    expect([entry.status, entry.headers.get('x-error-code')]).toEqual([404, 'EntryNotFound']);
    hub.behavior.rateLimit = true;
    try {
      expect((await fetch(`${hub.url}/api/models`)).status).toBe(429);
    } finally {
      hub.behavior.rateLimit = false;
    }
  });
});
