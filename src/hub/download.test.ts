import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppError, CancelledError, VerifyError } from '../errors.js';
import { tempCacheDir } from '../../test/stand-in-hub/cache-fixtures.js';
import { fakeMlxRepo, startStandInHub, type StandInHub } from '../../test/stand-in-hub/server.js';
import { scanCachedModel } from './cache.js';
import { pullModel, type PullProgress } from './download.js';

const REPO = 'mlx-community/Tiny-Coder-0.5B-Instruct-4bit';
let hub: StandInHub;

beforeAll(async () => {
  hub = await startStandInHub({
    repos: [
      (() => {
        const r = fakeMlxRepo(REPO, { shards: 2, shardBytes: 200_000 });
        r.files.push({ path: 'sub/extra.json', content: '{"nested":true}' });
        return r;
      })(),
      fakeMlxRepo('mlx-community/Gated-1B-4bit', { gated: true, shardBytes: 1000 }),
      { id: 'someone/pytorch-only', files: [{ path: 'config.json', content: '{}' }, { path: 'pytorch_model.bin', content: 'x', lfs: true }] },
    ],
  });
});
afterAll(() => hub.close());
afterEach(() => {
  Object.assign(hub.behavior, { delayMs: 0, cutAfterBytes: undefined, cutTimes: 0, ignoreRange: false, corrupt: false, stallAfterBytes: undefined });
});

const setup = (extra: Record<string, string> = {}) => {
  const cacheDir = tempCacheDir();
  return { cacheDir, env: { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cacheDir, HOME: '/nonexistent', ...extra } };
};
const storageOf = (cacheDir: string, id = REPO) => join(cacheDir, ['models', ...id.split('/')].join('--'));

describe('pullModel', () => {
  it('writes the huggingface_hub cache layout with only the files mlx_lm needs', async () => {
    const { cacheDir, env } = setup({ HF_TOKEN: 'hf_standin_token' });
    const events: PullProgress[] = [];
    const r = await pullModel({ repoId: REPO, env, onProgress: (p) => events.push(p) });
    const repo = hub.repos.get(REPO)!;
    const storage = storageOf(cacheDir);

    expect(r.commit).toBe(repo.sha);
    expect(r.snapshotPath).toBe(join(storage, 'snapshots', repo.sha));
    expect(readFileSync(join(storage, 'refs', 'main'), 'utf8')).toBe(repo.sha);
    expect(existsSync(join(cacheDir, 'CACHEDIR.TAG'))).toBe(true);

    const wanted = repo.files.filter((f) => !['README.md', '.gitattributes'].includes(f.path));
    expect(r.files.sort()).toEqual(wanted.map((f) => f.path).sort());
    expect(readdirSync(join(storage, 'blobs')).sort()).toEqual(wanted.map((f) => (f.lfs ? f.sha256 : f.oid)).sort());
    for (const f of wanted) {
      const link = join(r.snapshotPath, f.path);
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      const depth = f.path.split('/').length;
      expect(readlinkSync(link)).toBe(`${'../'.repeat(depth + 1)}blobs/${f.lfs ? f.sha256 : f.oid}`);
      expect(readFileSync(link)).toEqual(f.content);
    }
    const tree = JSON.parse(readFileSync(join(storage, 'trees', `${repo.sha}.json`), 'utf8'));
    expect(tree.format_version).toBe(1);
    expect(Object.keys(tree.files)).toContain('README.md'); // the full listing, as huggingface_hub keeps it
    expect(tree.files['model-00001-of-00002.safetensors']).toEqual({ size: 200_000, blob_id: repo.files[0]!.oid, lfs_sha256: repo.files[0]!.sha256, lfs_size: 200_000 });

    expect(r.totalBytes).toBe(wanted.reduce((a, f) => a + f.content.length, 0));
    expect(r.downloadedBytes).toBe(r.totalBytes);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ phase: 'done', bytes: r.totalBytes, total: r.totalBytes });
    const bytes = events.filter((e) => e.phase === 'downloading').map((e) => e.bytes);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));

    // The token goes to the Hub, never to the CDN it redirects to.
    expect(hub.requests.filter((q) => q.host === 'cdn').every((q) => !q.authorization)).toBe(true);
    expect(hub.requests.filter((q) => q.host === 'hub').every((q) => q.authorization === 'Bearer hf_standin_token')).toBe(true);

    expect((await scanCachedModel(REPO, { env }))!.status).toBe('complete');

    const again = await pullModel({ repoId: REPO, env });
    expect(again).toMatchObject({ alreadyComplete: true, downloadedBytes: 0 });
  });

  it('resumes an interrupted pull with a Range request and verifies the checksum', async () => {
    const { cacheDir, env } = setup();
    const storage = storageOf(cacheDir);
    hub.behavior.cutAfterBytes = 50_000;
    hub.behavior.cutTimes = 1;
    const first = pullModel({ repoId: REPO, env, retries: 0 });
    await expect(first).rejects.toThrow(AppError);
    await expect(first).rejects.toMatchObject({ tryThis: 'Run the same command again: it resumes where it stopped.' });

    // Interrupted: a resumable part, and nothing that looks like a usable snapshot.
    const partial = readdirSync(join(storage, 'blobs')).filter((b) => b.endsWith('.incomplete'));
    expect(partial).toHaveLength(1);
    const kept = statSync(join(storage, 'blobs', partial[0]!)).size;
    expect(kept).toBeGreaterThan(0);
    expect(existsSync(join(storage, 'snapshots'))).toBe(false);
    expect(existsSync(join(storage, 'refs', 'main'))).toBe(false);
    const scanned = (await scanCachedModel(REPO, { env }))!;
    expect(scanned.status).toBe('incomplete');
    expect(scanned.partialBytes).toBe(kept);

    const before = hub.requests.length;
    const r = await pullModel({ repoId: REPO, env });
    const ranged = hub.requests.slice(before).filter((q) => q.host === 'cdn' && q.range);
    expect(ranged).toEqual([expect.objectContaining({ range: `bytes=${kept}-` })]);
    expect(r.resumedBytes).toBe(kept);
    expect(r.downloadedBytes).toBe(r.totalBytes - kept);
    expect((await scanCachedModel(REPO, { env }))!.status).toBe('complete');
    expect(readdirSync(join(storage, 'blobs')).some((b) => b.endsWith('.incomplete'))).toBe(false);
  });

  it('retries a dropped connection by itself, resuming', async () => {
    const { env } = setup();
    hub.behavior.cutAfterBytes = 10_000;
    hub.behavior.cutTimes = 2;
    const before = hub.requests.length;
    const r = await pullModel({ repoId: REPO, env });
    expect(r.resumedBytes).toBe(0);
    expect(hub.requests.slice(before).filter((q) => q.host === 'cdn' && q.range).map((q) => q.range)).toEqual(['bytes=10000-', 'bytes=20000-']);
    expect(r.downloadedBytes).toBe(r.totalBytes);
    expect((await scanCachedModel(REPO, { env }))!.status).toBe('complete');
  });

  it('starts a file over when the server ignores Range', async () => {
    const { env } = setup();
    hub.behavior.cutAfterBytes = 10_000;
    hub.behavior.cutTimes = 1;
    hub.behavior.ignoreRange = true;
    await pullModel({ repoId: REPO, env });
    expect((await scanCachedModel(REPO, { env }))!.status).toBe('complete');
  });

  it('rejects a corrupt download and keeps no snapshot', async () => {
    const { cacheDir, env } = setup();
    hub.behavior.corrupt = true;
    const p = pullModel({ repoId: REPO, env });
    await expect(p).rejects.toThrow(VerifyError);
    await expect(p).rejects.toThrow(/Checksum mismatch for .*model-00001-of-00002\.safetensors/);
    const storage = storageOf(cacheDir);
    expect(readdirSync(join(storage, 'blobs')).filter((b) => b.endsWith('.incomplete'))).toEqual([]);
    expect(existsSync(join(storage, 'snapshots'))).toBe(false);
  });

  it('stops on Ctrl-C (AbortSignal), keeping the part for later', async () => {
    const { cacheDir, env } = setup();
    hub.behavior.stallAfterBytes = 30_000;
    const ac = new AbortController();
    const p = pullModel({
      repoId: REPO,
      env,
      signal: ac.signal,
      onProgress: (e) => e.phase === 'downloading' && (e.fileBytes ?? 0) >= 30_000 && ac.abort(),
    });
    await expect(p).rejects.toThrow(CancelledError);
    const storage = storageOf(cacheDir);
    const part = readdirSync(join(storage, 'blobs')).find((b) => b.endsWith('.incomplete'))!;
    expect(statSync(join(storage, 'blobs', part)).size).toBe(30_000);
    expect(existsSync(join(storage, 'snapshots'))).toBe(false);
  });

  it('gives up on a stalled transfer after its retries', async () => {
    const { env } = setup();
    hub.behavior.stallAfterBytes = 1000;
    const p = pullModel({ repoId: REPO, env, stallTimeoutMs: 150, retries: 1 });
    await expect(p).rejects.toThrow(/no data for 150 ms.*is kept/);
  });

  it('checks free disk before downloading anything', async () => {
    const { env } = setup();
    const before = hub.requests.length;
    const p = pullModel({ repoId: REPO, env, freeBytes: async () => 1000 });
    await expect(p).rejects.toThrow(/Not enough free disk .* it needs 392 MB more|Not enough free disk/);
    await expect(p).rejects.toMatchObject({ tryThis: expect.stringContaining('HF_HUB_CACHE') });
    expect(hub.requests.slice(before).some((q) => q.url.includes('/resolve/'))).toBe(false);
  });

  it('explains missing, gated and non-MLX repos', async () => {
    const { env } = setup();
    await expect(pullModel({ repoId: 'mlx-community/Nope', env })).rejects.toThrow(/not found/);
    const gated = pullModel({ repoId: 'mlx-community/Gated-1B-4bit', env });
    await expect(gated).rejects.toMatchObject({ tryThis: expect.stringContaining('HF_TOKEN') });
    await expect(pullModel({ repoId: 'someone/pytorch-only', env })).rejects.toThrow(/not an MLX model/);
    await expect(pullModel({ repoId: '../x', env })).rejects.toThrow(/not a Hugging Face repo id/);
    await expect(pullModel({ repoId: REPO, env: { ...env, HF_HUB_OFFLINE: '1' } })).rejects.toThrow(/HF_HUB_OFFLINE/);
  });
});
