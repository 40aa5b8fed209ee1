import { describe, expect, it } from 'vitest';
import { bytesPerParam, promptCacheEntries, detectMemory, estimateModelMemory, fitGroup, fitModel, fitRoles, formatGB, GiB, gpuBudget, pipelineLayers, RUNTIME_OVERHEAD } from './fit.js';

const qwen7 = { layers: 28, kvHeads: 4, headDim: 128 };
const qwen32 = { layers: 64, kvHeads: 8, headDim: 128 };

describe('detectMemory', () => {
  it('asks sysctl on macOS, and notes a raised wired limit', async () => {
    const calls: string[] = [];
    const run = async (_cmd: string, args: string[]) => {
      calls.push(args.join(' '));
      return args[1] === 'hw.memsize' ? '34359738368\n' : '0\n';
    };
    expect(await detectMemory({ platform: 'darwin', run })).toEqual({ totalBytes: 32 * GiB, source: 'sysctl', platform: 'darwin' });
    expect(calls).toEqual(['-n hw.memsize', '-n iogpu.wired_limit_mb']);
    const raised = await detectMemory({ platform: 'darwin', run: async (_c, a) => (a[1] === 'hw.memsize' ? String(64 * GiB) : '57344') });
    expect(raised.wiredLimitBytes).toBe(56 * GiB);
  });
  it('falls back to os.totalmem elsewhere or when sysctl fails', async () => {
    expect(await detectMemory({ platform: 'linux', totalmem: () => 8 * GiB })).toEqual({ totalBytes: 8 * GiB, source: 'os', platform: 'linux' });
    const failing = async () => {
      throw new Error('no sysctl');
    };
    expect((await detectMemory({ platform: 'darwin', run: failing, totalmem: () => 16 * GiB })).source).toBe('os');
  });
});

describe('gpuBudget', () => {
  it('2/3 below 36 GB, 3/4 from 36 GB, the wired limit when raised', () => {
    expect(gpuBudget({ totalBytes: 8 * GiB }).bytes / 1e9).toBeCloseTo(5.73, 1); // 5.46 GiB observed on 8 GB M1
    expect(gpuBudget({ totalBytes: 32 * GiB }).bytes).toBeCloseTo((32 * GiB * 2) / 3);
    expect(gpuBudget({ totalBytes: 36 * GiB }).bytes).toBe(27 * GiB);
    expect(gpuBudget({ totalBytes: 128 * GiB }).bytes).toBe(96 * GiB);
    expect(gpuBudget({ totalBytes: 64 * GiB, wiredLimitBytes: 56 * GiB })).toEqual({ bytes: 56 * GiB, rule: 'raised with iogpu.wired_limit_mb = 57344' });
    expect(gpuBudget({ totalBytes: 32 * GiB }).rule).toBe('2/3 of 32 GB, the macOS default below 36 GB');
    // Shown inside parentheses by callers: no parentheses of its own.
    for (const t of [8, 32, 64]) expect(gpuBudget({ totalBytes: t * GiB }).rule).not.toMatch(/[()]/);
  });
});

describe('estimateModelMemory', () => {
  it('weights from files + KV from config + runtime, with the arithmetic', () => {
    const e = estimateModelMemory({ repoId: 'q7', context: 32768, weightsBytes: 4 * GiB, shape: qwen7, cacheEntries: 0 });
    expect(e.kvBytes).toBe(56 * 1024 * 32768); // 1.75 GiB, ANCHORS §5.1
    expect(e.totalBytes).toBe(4 * GiB + 1.75 * GiB + 1 * GiB);
    expect(e.known).toBe(true);
    expect(e.arithmetic).toBe('weights 4 GB + KV 1.8 GB (2 × 28 layers × 4 KV heads × 128 dim × 2 B × 32768 tokens) + runtime 1 GB = 6.8 GB');
  });
  it('counts a bounded prompt cache: 2 entries of one context each by default', () => {
    const e = estimateModelMemory({ repoId: 'q7', context: 32768, weightsBytes: 4 * GiB, shape: qwen7 });
    expect(e.kvBytesPerToken).toBe(56 * 1024);
    expect(e.promptCache).toEqual({ entries: 2, bytes: 2 * 1.75 * GiB });
    // The request being served is one of the entries (mlx-lm trims the cache to the bound minus it).
    expect(e.totalBytes).toBe(4 * GiB + 2 * 1.75 * GiB + 1 * GiB);
    expect(e.arithmetic).toBe('weights 4 GB + prompt cache 2 × KV 1.8 GB (2 × 28 layers × 4 KV heads × 128 dim × 2 B × 32768 tokens) + runtime 1 GB = 8.5 GB');
    const three = estimateModelMemory({ repoId: 'q7', context: 32768, weightsBytes: 4 * GiB, shape: qwen7, cacheEntries: 3 });
    expect(three.totalBytes - e.totalBytes).toBe(1.75 * GiB);
    // KV unknown: the entries are still named, the bytes are not invented.
    const unknown = estimateModelMemory({ repoId: 'x', context: 4096, weightsBytes: GiB });
    expect(unknown.promptCache).toEqual({ entries: 2 });
    expect(unknown.arithmetic).toContain('prompt cache 2 × KV unknown');
    expect(unknown.totalBytes).toBe(2 * GiB);
  });
  it('promptCacheEntries: one per role sharing the server, at least 2', () => {
    expect([1, 2, 3].map(promptCacheEntries)).toEqual([2, 2, 3]);
  });
  it('weights from parameters at 0.5625 B for 4-bit when there are no files', () => {
    expect(bytesPerParam(4, 64)).toBe(0.5625);
    expect(bytesPerParam(8, 64)).toBe(1.0625);
    const e = estimateModelMemory({ repoId: 'q32', context: 8192, paramsB: 32, quantBits: 4, shape: qwen32 });
    expect(e.weightsSource).toBe('params');
    expect(e.weightsBytes).toBe(32e9 * 0.5625);
    expect(e.arithmetic).toContain('32B params × 0.5625 B at 4-bit');
  });
  it('says when a part is unknown and gives a lower bound', () => {
    const e = estimateModelMemory({ repoId: 'x', context: 4096, weightsBytes: GiB });
    expect(e.known).toBe(false);
    expect(e.arithmetic).toContain('KV unknown');
    expect(e.arithmetic).toContain('= at least 2 GB');
    const hinted = estimateModelMemory({ repoId: 'x', context: 4096, weightsBytes: GiB, kvBytesPerTokenHint: 56 * 1024 });
    expect(hinted.kvSource).toBe('hint');
    expect(hinted.known).toBe(true);
  });
});

describe('fit labels', () => {
  const budget32 = gpuBudget({ totalBytes: 32 * GiB }); // 21.3 GB
  it('fits / tight / too big', () => {
    const small = estimateModelMemory({ repoId: 'a', context: 32768, weightsBytes: 4 * GiB, shape: qwen7 });
    expect(fitModel(small, budget32).label).toBe('fits');
    const tight = estimateModelMemory({ repoId: 'b', context: 8192, weightsBytes: 17.2 * GiB, shape: qwen32, cacheEntries: 0 }); // 20.2 GB
    expect(fitModel(tight, budget32).label).toBe('tight');
    // The same model with its prompt cache counted (2 × 2 GB instead of one context): no longer fits.
    expect(fitModel(estimateModelMemory({ repoId: 'b', context: 8192, weightsBytes: 17.2 * GiB, shape: qwen32 }), budget32).label).toBe('too-big');
    const big = estimateModelMemory({ repoId: 'c', context: 32768, weightsBytes: 17.2 * GiB, shape: qwen32, cacheEntries: 0 }); // 26.2 GB
    const f = fitModel(big, budget32);
    expect(f.label).toBe('too-big');
    expect(f.arithmetic).toMatch(/= 26\.2 GB of 21\.3 GB budget \(123%\) → too big$/);
    expect(f.arithmetic).not.toContain('too-big'); // the enum is for code; people read words
  });

  it('adds up one process per distinct model (ANCHORS: 32B architect + 7B editor is tight on 48 GB without a prompt cache)', () => {
    const roles = [
      { role: 'architect', input: { repoId: 'qwq', context: 32768, weightsBytes: 17.2 * GiB, shape: qwen32, cacheEntries: 0 } },
      { role: 'editor', input: { repoId: 'coder7', context: 32768, weightsBytes: 4 * GiB, shape: qwen7, cacheEntries: 0 } },
    ];
    expect(fitRoles(roles, budget32).label).toBe('too-big');
    const on48 = fitRoles(roles, gpuBudget({ totalBytes: 48 * GiB }));
    expect(on48.totalBytes / GiB).toBeCloseTo(33, 0);
    expect(on48.label).toBe('tight');
    expect(on48.arithmetic).toBe('architect 26.2 GB + editor 6.8 GB = 33 GB of 36 GB budget (92%) → tight');
    expect(fitRoles(roles, gpuBudget({ totalBytes: 64 * GiB })).label).toBe('fits');
  });

  it('roles on the same model share one server at the larger context', () => {
    const set = fitRoles(
      [
        { role: 'editor', input: { repoId: 'm', context: 8192, weightsBytes: 4 * GiB, shape: qwen7 } },
        { role: 'architect', input: { repoId: 'm', context: 32768, weightsBytes: 4 * GiB, shape: qwen7 } },
      ],
      budget32,
    );
    expect(set.processes).toHaveLength(1);
    expect(set.processes[0]!.roles).toEqual(['editor', 'architect']);
    expect(set.processes[0]!.estimate.context).toBe(32768);
  });

  it('the prompt cache of a shared server has one entry per role (architect + editor + weak → 3)', () => {
    const input = { repoId: 'm', context: 16384, weightsBytes: 8 * GiB, kvBytesPerTokenHint: 192 * 1024 };
    const one = fitRoles([{ role: 'editor', input }], budget32);
    expect(one.processes[0]!.estimate.promptCache).toEqual({ entries: 2, bytes: 2 * 3 * GiB });
    const all = fitRoles(['architect', 'editor', 'weak'].map((role) => ({ role, input })), budget32);
    expect(all.processes).toHaveLength(1);
    expect(all.processes[0]!.estimate.promptCache).toEqual({ entries: 3, bytes: 3 * 3 * GiB });
    expect(all.processes[0]!.estimate.arithmetic).toContain('+ prompt cache 3 × KV 3 GB (192 KiB/token × 16384 tokens) +');
    expect(all.totalBytes - one.totalBytes).toBe(3 * GiB);
  });
});

it('formatGB', () => {
  expect(formatGB(512 * 2 ** 20)).toBe('512 MB');
  expect(formatGB(4.25 * GiB)).toBe('4.3 GB');
});

describe('fitGroup: one model split across the hosts\' budgets', () => {
  // 64 layers, 8 KV heads: a 32B model at 4 bit, ~18 GB of weights, 8 GB of KV at 32k.
  const est = estimateModelMemory({ repoId: 'm', context: 32768, weightsBytes: 18 * GiB, shape: qwen32 });
  const mac = (gb: number, name: string) => ({ host: name, budget: gpuBudget({ totalBytes: gb * GiB }) });

  it('pipelineLayers: even split, the extra layers to the low ranks, rank 0 holding the last layers (as mlx-lm does)', () => {
    expect(pipelineLayers(64, 2)).toEqual([[32, 64], [0, 32]]);
    expect(pipelineLayers(10, 3)).toEqual([[6, 10], [3, 6], [0, 3]]);
    expect(pipelineLayers(2, 2)).toEqual([[1, 2], [0, 1]]);
    for (const n of [2, 3, 4, 5]) {
      const s = pipelineLayers(61, n);
      expect(s.reduce((a, [x, y]) => a + (y - x), 0)).toBe(61);
      expect(Math.max(...s.map(([x, y]) => y - x)) - Math.min(...s.map(([x, y]) => y - x))).toBeLessThanOrEqual(1);
    }
  });

  it('too big for one 16 GB Mac, fits on two (tensor: half of each layer, a runtime each)', () => {
    expect(fitModel(est, gpuBudget({ totalBytes: 16 * GiB })).label).toBe('too-big');
    const g = fitGroup(est, [mac(32, 'a'), mac(32, 'b')], 'tensor');
    expect(g.ranks.map((r) => r.totalBytes)).toEqual([13 * GiB + RUNTIME_OVERHEAD, 13 * GiB + RUNTIME_OVERHEAD]);
    expect(g.label).toBe('fits');
    expect(g.ranks[0]!.arithmetic).toBe('rank 0 on a (1/2 of each layer): weights 9 GB + KV 4 GB + runtime 1 GB = 14 GB of 21.3 GB (66%) → fits');
  });

  it('N hosts: each rank against its own budget, the group as tight as its tightest rank', () => {
    const four = fitGroup(est, [mac(16, 'a'), mac(16, 'b'), mac(16, 'c'), mac(16, 'd')], 'tensor');
    expect(four.ranks.map((r) => r.totalBytes / GiB)).toEqual([7.5, 7.5, 7.5, 7.5]);
    expect(four.label).toBe('fits');
    const mixed = fitGroup(est, [mac(64, 'big'), mac(8, 'small')], 'tensor');
    expect(mixed.ranks.map((r) => r.label)).toEqual(['fits', 'too-big']);
    expect(mixed.label).toBe('too-big');
    expect(mixed.arithmetic).toMatch(/^tensor over 2 hosts: rank 0 on big .*; rank 1 on small .*→ too-big → too-big$/);
  });

  it('pipeline: each rank its layers\' share', () => {
    const g = fitGroup(est, [mac(32, 'a'), mac(32, 'b'), mac(32, 'c')], 'pipeline', 64);
    expect(g.ranks.map((r) => r.layers)).toEqual([[42, 64], [21, 42], [0, 21]]);
    expect(g.ranks[0]!.totalBytes).toBeCloseTo((26 * GiB * 22) / 64 + RUNTIME_OVERHEAD, 0);
    expect(g.ranks[0]!.arithmetic).toMatch(/^rank 0 on a \(layers 42–63 of 64\)/);
  });
});
