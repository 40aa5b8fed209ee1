/**
 * The reference implementation check: Python's huggingface_hub (what mlx_lm uses) downloads from the
 * stand-in Hub, and reads what `pullModel` wrote, offline. The Python is AIDER_MLX_HF_PYTHON, else the
 * mlx peer's venv (test/peers), else python3; skipped when none has huggingface_hub.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, lstatSync, readlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePeers } from '../peers/bootstrap.js';
import { scanCachedModel } from '../../src/hub/cache.js';
import { pullModel } from '../../src/hub/download.js';
import { MLX_ALLOW_PATTERNS } from '../../src/hub/env.js';
import { tempCacheDir } from './cache-fixtures.js';
import { fakeMlxRepo, startStandInHub, type StandInHub } from './server.js';

let python = 'python3';
const hasHub = (p: string) => spawnSync(p, ['-c', 'import huggingface_hub'], { stdio: 'ignore' }).status === 0;

const SCRIPT = `
import json, sys
from huggingface_hub import snapshot_download
try:
    print(snapshot_download(sys.argv[1], allow_patterns=json.loads(sys.argv[2])))
except Exception as e:
    print("ERROR " + type(e).__name__ + ": " + str(e).splitlines()[0])
`;

const REPO = 'mlx-community/Compat-Coder-1.5B-Instruct-4bit';
let hub: StandInHub;

/** Async: the stand-in Hub answers from this very process. */
function py(env: Record<string, string>, repo = REPO): Promise<string> {
  return new Promise((resolve) =>
    execFile(
      python,
      ['-c', SCRIPT, repo, JSON.stringify(MLX_ALLOW_PATTERNS)],
      { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', HF_HUB_DISABLE_TELEMETRY: '1', HF_HUB_DISABLE_PROGRESS_BARS: '1', ...env }, timeout: 60_000 },
      (_err, stdout, stderr) => resolve((String(stdout) || String(stderr)).trim().split('\n').pop() ?? ''),
    ),
  );
}

/** Every entry under a repo folder: links with their text, files with their size. */
function layout(storage: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out[r] = `-> ${readlinkSync(p)}`;
      else if (st.isDirectory()) walk(p, r);
      else out[r] = r.startsWith('trees/') ? JSON.stringify(JSON.parse(readFileSync(p, 'utf8'))) : `${st.size} bytes`;
    }
  };
  walk(storage, '');
  return out;
}

const storageOf = (cacheDir: string) => join(cacheDir, 'models--mlx-community--Compat-Coder-1.5B-Instruct-4bit');

describe('Python huggingface_hub and pullModel agree on the cache', () => {
  let skip: string | null = null;
  beforeAll(async () => {
    const candidates = [process.env.AIDER_MLX_HF_PYTHON, (await ensurePeers()).mlx?.python, 'python3'].filter((p): p is string => Boolean(p));
    const found = candidates.find(hasHub);
    if (!found) {
      skip = `no Python with huggingface_hub (tried ${candidates.join(', ')})`;
      return;
    }
    python = found;
    const repo = fakeMlxRepo(REPO, { shards: 2, shardBytes: 300_000 });
    repo.files.push({ path: 'sub/nested.json', content: '{}' }, { path: 'consolidated.safetensors', content: 'not for mlx' });
    hub = await startStandInHub({ repos: [repo] });
  }, 45 * 60_000);
  afterAll(() => hub?.close());

  it('writes the same blobs, snapshot links, refs and tree listing as snapshot_download', async (ctx) => {
    if (skip) ctx.skip(skip);
    const pyCache = tempCacheDir('py-cache-');
    const out = await py({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: pyCache });
    expect(out).toBe(join(storageOf(pyCache), 'snapshots', hub.repos.get(REPO)!.sha));

    const jsCache = tempCacheDir('js-cache-');
    await pullModel({ repoId: REPO, env: { HF_ENDPOINT: hub.url, HF_HUB_CACHE: jsCache } });
    const ours = layout(storageOf(jsCache));
    const theirs = layout(storageOf(pyCache));
    // huggingface_hub < 1.x keeps no trees/ listing; the rest is the same in every version.
    if (!Object.keys(theirs).some((k) => k.startsWith('trees/'))) for (const k of Object.keys(ours)) if (k.startsWith('trees/')) delete ours[k];
    expect(ours).toEqual(theirs);
    expect((await scanCachedModel(REPO, { env: { HF_HUB_CACHE: pyCache } }))!.status).toBe('complete');
  });

  it('loads a pulled model offline (HF_HUB_OFFLINE=1), and refuses an interrupted one', async (ctx) => {
    if (skip) ctx.skip(skip);
    const cache = tempCacheDir('js-cache-');
    const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache };
    hub.behavior.cutAfterBytes = 100_000;
    hub.behavior.cutTimes = 1;
    await expect(pullModel({ repoId: REPO, env, retries: 0 })).rejects.toMatchObject({ tryThis: expect.stringContaining('resumes') });
    expect(await py({ ...env, HF_HUB_OFFLINE: '1' })).toMatch(/^ERROR LocalEntryNotFoundError/);

    const r = await pullModel({ repoId: REPO, env });
    expect(r.resumedBytes).toBe(100_000);
    expect(await py({ ...env, HF_HUB_OFFLINE: '1' })).toBe(r.snapshotPath);
    // Online too: huggingface_hub finds every file in place and downloads nothing.
    const before = hub.requests.filter((q) => q.host === 'cdn').length;
    expect(await py(env)).toBe(r.snapshotPath);
    expect(hub.requests.filter((q) => q.host === 'cdn').length).toBe(before);
  });

  it('completes a partial download that Python left (refs/main first, some blobs missing)', async (ctx) => {
    if (skip) ctx.skip(skip);
    const cache = tempCacheDir('py-cache-');
    const env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cache };
    expect(await py(env)).toContain('/snapshots/');
    // Simulate Python stopping halfway: drop one link and its blob.
    const storage = storageOf(cache);
    const sha = hub.repos.get(REPO)!.sha;
    const shard = hub.repos.get(REPO)!.files[1]!;
    const link = join(storage, 'snapshots', sha, shard.path);
    spawnSync('rm', ['-f', link, join(storage, 'blobs', shard.sha256)]);
    mkdirSync(join(storage, 'blobs'), { recursive: true });
    writeFileSync(join(storage, 'blobs', `${shard.sha256}.incomplete`), shard.content.subarray(0, 1234));
    expect((await scanCachedModel(REPO, { env }))!.status).toBe('incomplete');
    const r = await pullModel({ repoId: REPO, env });
    expect(r.resumedBytes).toBe(1234);
    expect((await scanCachedModel(REPO, { env }))!.status).toBe('complete');
    expect(await py({ ...env, HF_HUB_OFFLINE: '1' })).toBe(r.snapshotPath);
  });
});
