import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCachedRepo, mlxFiles, tempCacheDir } from '../../test/stand-in-hub/cache-fixtures.js';
import { fakeMlxRepo, startStandInHub, type StandInHub } from '../../test/stand-in-hub/server.js';
import { buildCatalogue } from './catalogue.js';
import { GiB } from './fit.js';

let hub: StandInHub;
let cacheDir: string;
let curated: string;
const memory = { totalBytes: 32 * GiB, source: 'override' as const, platform: 'darwin' };

beforeAll(async () => {
  hub = await startStandInHub({
    repos: [
      fakeMlxRepo('mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', { downloads: 900, shardBytes: 100_000 }),
      fakeMlxRepo('mlx-community/Qwen3-8B-4bit', { downloads: 800, shardBytes: 120_000 }),
    ],
  });
  cacheDir = tempCacheDir();
  makeCachedRepo(cacheDir, 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', { files: mlxFiles() });
  makeCachedRepo(cacheDir, 'mlx-community/Half-4bit', { files: { 'config.json': '{}' }, noSnapshot: true, ref: false, incompleteBytes: 10 });
  curated = join(tempCacheDir('curated-'), 'c.yaml');
  writeFileSync(
    curated,
    `version: 1
tiers:
  - memory: 32
    picks:
      - {role: single, repo: mlx-community/Qwen2.5-Coder-7B-Instruct-4bit, context: 32768, reason: small and good}
      - {role: editor, repo: mlx-community/Qwen2.5-Coder-7B-Instruct-4bit, context: 32768, reason: edits}
      - {role: architect, repo: mlx-community/Qwen3-8B-4bit, context: 16384, reason: plans, approx: {weightsGB: 4.3, kvKiBPerToken: 144}}
      - {role: architect, repo: mlx-community/Retired-70B-4bit, context: 8192, reason: gone}
`,
  );
});
afterAll(() => hub.close());

const env = () => ({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: cacheDir, HOME: '/nonexistent' });

describe('buildCatalogue', () => {
  it('puts the cache, the Hub and the curated picks together with fit labels', async () => {
    const cat = await buildCatalogue({ env: env(), memory, curatedPath: curated });
    expect(cat.hubStatus.kind).toBe('ok');
    expect(cat.budget.bytes).toBeCloseTo((32 * GiB * 2) / 3);

    const cached = Object.fromEntries(cat.cached.map((e) => [e.repoId, e]));
    expect(cached['mlx-community/Qwen2.5-Coder-7B-Instruct-4bit']).toMatchObject({ cached: { status: 'complete' }, fit: { label: 'fits' }, estimate: { weightsSource: 'files', kvSource: 'config' } });
    expect(cached['mlx-community/Half-4bit']!.cached!.status).toBe('incomplete');

    expect(cat.hub.map((e) => e.repoId)).toEqual(['mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', 'mlx-community/Qwen3-8B-4bit']);
    expect(cat.hub[0]).toMatchObject({ paramsB: 7, quantLabel: '4bit', hub: { downloads: 900 }, cached: { status: 'complete' } });
    expect(cat.hub[1]!.downloadBytes).toBeGreaterThan(240_000);

    expect(cat.curated.tier.memory).toBe(32);
    expect(cat.curated.picks.map((p) => `${p.role} ${p.repoId} ${p.onHub}`)).toEqual([
      'single mlx-community/Qwen2.5-Coder-7B-Instruct-4bit yes',
      'editor mlx-community/Qwen2.5-Coder-7B-Instruct-4bit yes',
      'architect mlx-community/Qwen3-8B-4bit yes',
    ]);
    // Real numbers win over the curated hints: the Hub's file sizes for Qwen3-8B.
    expect(cat.curated.picks[2]!.estimate.weightsSource).toBe('files');
    expect(cat.curated.unavailable).toEqual([expect.objectContaining({ repo: 'mlx-community/Retired-70B-4bit', role: 'architect' })]);
    expect(cat.curated.unavailable[0]!.message).toContain(curated);
    expect(cat.curated.pair!.processes.map((p) => p.roles)).toEqual([['editor'], ['architect']]);
    expect(cat.curated.pair!.arithmetic).toMatch(/^editor .* \+ architect .* budget \(\d+%\) → fits$/);
  });

  it('filters curated picks by role (single picks serve either)', async () => {
    const cat = await buildCatalogue({ env: env(), memory, curatedPath: curated, role: 'architect' });
    expect(cat.curated.picks.map((p) => p.role)).toEqual(['single', 'architect']);
    expect(cat.curated.pair).toBeDefined();
  });

  it('offline: still the cache and the curated picks (with their hints), and a status saying so', async () => {
    const cat = await buildCatalogue({ env: { ...env(), HF_ENDPOINT: 'http://127.0.0.1:1' }, memory, curatedPath: curated });
    expect(cat.hubStatus.kind).toBe('unreachable');
    expect(cat.hub).toEqual([]);
    expect(cat.cached).toHaveLength(2);
    expect(cat.curated.picks).toHaveLength(4);
    expect(cat.curated.picks.every((p) => p.onHub === 'unknown')).toBe(true);
    const arch = cat.curated.picks.find((p) => p.repoId === 'mlx-community/Qwen3-8B-4bit')!;
    expect(arch.estimate).toMatchObject({ weightsSource: 'hint', kvSource: 'hint' });
    expect(arch.fit.arithmetic).toContain('weights ~4.3 GB + prompt cache 2 × KV 2.3 GB (144 KiB/token × 16384 tokens)');
    const retired = cat.curated.picks.find((p) => p.repoId === 'mlx-community/Retired-70B-4bit')!;
    expect(retired.estimate.weightsSource).toBe('params'); // 70B × 0.5625 from the name
    expect(retired.fit.known).toBe(false);
  });
});
