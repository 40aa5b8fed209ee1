import { mkdtemp, rm } from 'node:fs/promises';
import { selfCommand } from '../lib/paths.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCatalogue } from '../hub/catalogue.js';
import { loadCurated, tierFor } from '../hub/curated.js';
import { GiB } from '../hub/fit.js';
import { checkContext, defaultContext, fitAtFor, largestFittingContext, recommendedContext } from './context-fit.js';
import { describeProposal, proposeSetup } from './proposal.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'aider-mlx-proposal-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const catalogueFor = (gb: number) =>
  buildCatalogue({ env: { HF_HUB_CACHE: join(root, 'hf'), HOME: root, HF_HUB_OFFLINE: '1' }, skipHub: true, memory: { totalBytes: gb * GiB, source: 'override', platform: 'darwin' } });

describe('the proposal for this machine', () => {
  for (const gb of [16, 32, 64]) {
    it(`${gb} GB: the tier's curated one-model pick at its own context, with the fit arithmetic, direct without LiteLLM`, async () => {
      const catalogue = await catalogueFor(gb);
      const tier = tierFor(await loadCurated(), gb * GiB).tier;
      const single = tier.picks.find((p) => p.role === 'single')!;
      const p = await proposeSetup({ catalogue });
      expect(p.roles).toBe('single');
      expect(p.models.editor).toMatchObject({ model: single.repo, context: single.context, cached: false });
      expect(p.models.architect).toBeUndefined();
      expect(p.fit!.label).not.toBe('too-big');
      expect(p.fit!.processes.map((x) => x.repoId)).toEqual([single.repo]);
      expect([p.mode, p.scope]).toEqual(['direct', 'project']);
      const lines = describeProposal(p, { ports: { editor: 8080 }, host: '127.0.0.1' });
      expect(lines[0]).toBe(`model: ${single.repo} on 127.0.0.1:8080`);
      expect(lines.join('\n')).toContain(single.reason);
      expect(lines.join('\n')).toMatch(new RegExp(`curated for ${tier.memory} GB Macs`));
      expect(lines.join('\n')).toMatch(/memory: editor\+weak .* of .* budget \(\d+%\) → (fits|tight)/);
      expect(lines.join('\n')).toMatch(/LiteLLM is not installed/);
      // How to add the proxy later, as this copy runs (not a bare `aider-mlx`, not on PATH from a clone).
      expect(lines.join('\n')).toContain(`(\`${selfCommand()} install litellm\`, then \`${selfCommand()} reconfigure\`, adds the proxy)`);
    });
  }

  it('LiteLLM installed: proxy; a compromised one: direct, saying why; a project config pointing elsewhere: the profile', async () => {
    const catalogue = await catalogueFor(32);
    expect((await proposeSetup({ catalogue, litellm: { version: '1.80.0', compromised: false } })).mode).toBe('proxy');
    const bad = await proposeSetup({ catalogue, litellm: { version: '1.82.7', compromised: true } });
    expect([bad.mode, bad.modeWhy]).toEqual(['direct', expect.stringMatching(/1\.82\.7 is a known-compromised release/)]);
    const mine = await proposeSetup({ catalogue, projectConf: { path: '/x/.aider.conf.yml', model: 'gpt-4o' } });
    expect([mine.scope, mine.scopeWhy]).toEqual(['profile', expect.stringMatching(/already sets model: gpt-4o/)]);
  });

  it('what a flag gave is kept', async () => {
    const catalogue = await catalogueFor(32);
    const p = await proposeSetup({ catalogue }, { editor: 'someone/Own-Model-3B-4bit', mode: 'proxy', scope: 'global', context: 4096 });
    expect(p.models.editor).toMatchObject({ model: 'someone/Own-Model-3B-4bit', context: 4096 });
    expect([p.mode, p.scope]).toEqual(['proxy', 'global']);
  });
});

describe('one default context per model', () => {
  it('a curated model gets its curated context however it is reached; any other model 32768, lowered to what fits', async () => {
    const c24 = await catalogueFor(24);
    expect(recommendedContext('mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', c24)).toBe(16384);
    expect(recommendedContext('someone/Unknown-7B-4bit', c24)).toBe(32768);
    // 14B at 192 KiB/token on a 16 GB Mac (10.7 GB budget): 32768 tokens would not fit.
    const c16 = await catalogueFor(16);
    const big = defaultContext('mlx-community/Qwen2.5-Coder-14B-Instruct-4bit', { catalogue: { ...c16, curated: c24.curated } });
    expect(big.context).toBeLessThan(16384);
    expect(big.why).toMatch(/would not fit the memory budget/);
    expect(defaultContext('mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', { catalogue: c24, max: 8192 })).toEqual({ context: 8192, why: expect.stringMatching(/at most 8192/) });
  });
});

describe('a context that does not fit is refused with the largest that does', () => {
  it('over the model maximum, over the memory budget, and neither', async () => {
    const c = await catalogueFor(24);
    const m = 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit';
    const fitAt = fitAtFor(c, [m]);
    expect(checkContext(m, 16384, { max: 32768, fitAt })).toBeUndefined();
    expect(checkContext(m, 40000, { max: 32768, fitAt })).toMatchObject({ why: 'model', message: expect.stringMatching(/at most 32768/) });
    const mem = checkContext(m, 200000, { fitAt })!;
    expect(mem.why).toBe('memory');
    expect(mem.message).toMatch(/200000 tokens do not fit in memory: .* = [\d.]+ GB of 16 GB budget \(\d+%\)\. The largest that fits is \d+ tokens\./);
    // The largest offered fits, and 256 more would not.
    expect(fitAt(mem.largest!)!.label).not.toBe('too-big');
    expect(fitAt(mem.largest! + 256)!.label).toBe('too-big');
    expect(largestFittingContext(fitAt, 200000)).toBe(mem.largest);
    // A model too big at any context: not a context problem.
    const huge = 'mlx-community/Qwen2.5-72B-Instruct-4bit';
    expect(checkContext(huge, 200000, { fitAt: fitAtFor(c, [huge]) })).toBeUndefined();
  });
});
