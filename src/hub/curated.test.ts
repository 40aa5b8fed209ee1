import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { tempCacheDir } from '../../test/stand-in-hub/cache-fixtures.js';
import { fakeMlxRepo, startStandInHub, type StandInHub } from '../../test/stand-in-hub/server.js';
import { checkPicks, curatedData, curatedPath, loadCurated, tierFor } from './curated.js';
import { estimateModelMemory, fitRoles, gpuBudget, GiB, labelFor } from './fit.js';

describe('the curated list parsed at build time', () => {
  it('is used only while the file holds exactly the text it was made from; any other text is parsed', async () => {
    const text = 'version: 1\ntiers: []\n';
    const prebuilt = { text, json: JSON.stringify({ version: 1, tiers: [], from: 'build' }) };
    expect(await curatedData(text, prebuilt)).toEqual({ version: 1, tiers: [], from: 'build' });
    // Edited by hand (one comment more): the file's own data, not the build's.
    expect(await curatedData(`# mine\n${text}`, prebuilt)).toEqual({ version: 1, tiers: [] });
    expect(await curatedData(text, undefined)).toEqual({ version: 1, tiers: [] });
    // Each call gets its own copy.
    const a = (await curatedData(text, prebuilt)) as { tiers: unknown[] };
    a.tiers.push(1);
    expect(await curatedData(text, prebuilt)).toEqual({ version: 1, tiers: [], from: 'build' });
  });
});

describe('the shipped curated list', () => {
  it('loads from the package and covers every tier with real-looking mlx-community picks', async () => {
    const list = await loadCurated();
    expect(list.source).toBe(curatedPath());
    expect(list.source.endsWith('data/curated-models.yaml')).toBe(true);
    expect(list.tiers.map((t) => t.memory)).toEqual([16, 24, 32, 48, 64, 96, 128]);
    for (const t of list.tiers) {
      expect(t.picks.some((p) => p.role === 'single'), `${t.memory} GB has a single pick`).toBe(true);
      expect(t.picks.some((p) => p.role === 'editor'), `${t.memory} GB has an editor`).toBe(true);
      for (const p of t.picks) {
        expect(p.repo).toMatch(/^mlx-community\/[\w.-]+$/);
        expect(p.approx?.weightsGB).toBeGreaterThan(0);
        expect(p.approx?.kvKiBPerToken).toBeGreaterThan(0);
      }
    }
  });

  it('never recommends something too big for its own tier (with the offline hints)', async () => {
    const list = await loadCurated();
    for (const t of list.tiers) {
      const budget = gpuBudget({ totalBytes: t.memory * GiB });
      const input = (p: (typeof t.picks)[number]) => ({
        repoId: p.repo,
        context: p.context,
        weightsBytesHint: p.approx!.weightsGB! * GiB,
        kvBytesPerTokenHint: p.approx!.kvKiBPerToken! * 1024,
      });
      for (const p of t.picks) expect(labelFor(estimateModelMemory(input(p)).totalBytes, budget), `${t.memory} GB ${p.role} ${p.repo}`).not.toBe('too-big');
      const editor = t.picks.find((p) => p.role === 'editor');
      const architect = t.picks.find((p) => p.role === 'architect');
      if (editor && architect) {
        const pair = fitRoles([{ role: 'editor', input: input(editor) }, { role: 'architect', input: input(architect) }], budget);
        expect(pair.label, `${t.memory} GB pair: ${pair.arithmetic}`).not.toBe('too-big');
      }
    }
  });
});

describe('tierFor', () => {
  it('takes the largest tier not above the memory', async () => {
    const list = await loadCurated();
    expect(tierFor(list, 8 * GiB)).toMatchObject({ tier: { memory: 16 }, belowSmallest: true });
    expect(tierFor(list, 16 * GiB)).toMatchObject({ tier: { memory: 16 }, belowSmallest: false });
    expect(tierFor(list, 36 * GiB).tier.memory).toBe(32);
    expect(tierFor(list, 192 * GiB).tier.memory).toBe(128);
  });
});

describe('a user-edited list', () => {
  it('is read from AIDER_MLX_CURATED_MODELS, and a bad entry is named', async () => {
    const dir = tempCacheDir('curated-');
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'version: 1\ntiers:\n  - memory: 8\n    picks:\n      - {role: single, repo: me/m, context: 4096, reason: mine}\n');
    expect((await loadCurated({ env: { AIDER_MLX_CURATED_MODELS: good } })).tiers[0]!.picks[0]!.repo).toBe('me/m');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\ntiers:\n  - memory: 8\n    picks:\n      - {role: boss, repo: me/m, context: 4096, reason: x}\n');
    const err = await loadCurated({ path: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toContain('tiers.0.picks.0.role');
    writeFileSync(bad, 'version: 1\n  tiers: [');
    await expect(loadCurated({ path: bad })).rejects.toThrow(/Cannot read the curated model list/);
  });
});

describe('checkPicks', () => {
  let hub: StandInHub;
  beforeAll(async () => {
    hub = await startStandInHub({ repos: [fakeMlxRepo('mlx-community/Here-7B-4bit')] });
  });
  afterAll(() => hub.close());

  it('marks picks the Hub no longer has, asking once per repo', async () => {
    const picks = [
      { role: 'editor' as const, repo: 'mlx-community/Here-7B-4bit', context: 8192, reason: 'a' },
      { role: 'single' as const, repo: 'mlx-community/Here-7B-4bit', context: 8192, reason: 'b' },
      { role: 'architect' as const, repo: 'mlx-community/Gone-32B-4bit', context: 8192, reason: 'c' },
    ];
    const checked = await checkPicks(picks, { env: { HF_ENDPOINT: hub.url } });
    expect(checked.map((c) => c.onHub)).toEqual(['yes', 'yes', 'no']);
    expect(checked[0]!.hub?.weightsBytes).toBeGreaterThan(0);
    expect(hub.requests.filter((r) => r.url.startsWith('/api/models/mlx-community/Here-7B-4bit/revision'))).toHaveLength(1);
    const offline = await checkPicks(picks, { env: { HF_ENDPOINT: hub.url }, skipHub: true });
    expect(offline.map((c) => c.onHub)).toEqual(['unknown', 'unknown', 'unknown']);
  });
});
