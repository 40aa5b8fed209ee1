import { execFile } from 'node:child_process';
import { totalmem } from 'node:os';
import { kvBytesPerToken, type ModelShape } from './model-facts.js';

/**
 * Memory figures are binary (2^30 bytes) and printed as "GB", the way Apple counts unified memory:
 * a "32 GB" Mac has 32 × 2^30 bytes.
 */
export const GiB = 2 ** 30;

export type FitLabel = 'fits' | 'tight' | 'too-big';

/** A fit verdict as people read it: the enum stays for code and --json, the screen gets words. */
export const FIT_WORDS: Record<FitLabel, string> = { fits: 'fits', tight: 'tight', 'too-big': 'too big' };

export interface MachineMemory {
  totalBytes: number;
  source: 'sysctl' | 'os' | 'override';
  platform: NodeJS.Platform | string;
  /** `iogpu.wired_limit_mb` when the user raised the GPU limit (0 / absent = macOS default). */
  wiredLimitBytes?: number;
}

export interface Budget {
  bytes: number;
  /** The rule, in words, for the arithmetic line. */
  rule: string;
}

type Runner = (cmd: string, args: string[]) => Promise<string>;

const defaultRunner: Runner = (cmd, args) =>
  new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 3000 }, (err, stdout) => (err ? reject(err) : resolve(String(stdout)))),
  );

/** Unified memory: `sysctl -n hw.memsize` on macOS, `os.totalmem()` elsewhere. */
export async function detectMemory(opts: { platform?: string; run?: Runner; totalmem?: () => number } = {}): Promise<MachineMemory> {
  const platform = opts.platform ?? process.platform;
  const run = opts.run ?? defaultRunner;
  const fallback = (): MachineMemory => ({ totalBytes: (opts.totalmem ?? totalmem)(), source: 'os', platform });
  if (platform !== 'darwin') return fallback();
  let mem: MachineMemory;
  try {
    const bytes = Number((await run('sysctl', ['-n', 'hw.memsize'])).trim());
    mem = Number.isFinite(bytes) && bytes > 0 ? { totalBytes: bytes, source: 'sysctl', platform } : fallback();
  } catch {
    mem = fallback();
  }
  try {
    const mb = Number((await run('sysctl', ['-n', 'iogpu.wired_limit_mb'])).trim());
    if (Number.isFinite(mb) && mb > 0) mem.wiredLimitBytes = mb * 2 ** 20;
  } catch {
    // older macOS has no such key: the default applies
  }
  return mem;
}

/**
 * The GPU budget: Metal's recommendedMaxWorkingSetSize, which mlx-lm wires and warns above.
 * Rule (ANCHORS §5.1 and llama.cpp/mlx logs): 2/3 of RAM below 36 GB (5.46 GB of 8, 10.7 of 16,
 * 21.3 of 32), 3/4 from 36 GB up (27 of 36, 48 of 64, 96 of 128). Newer macOS gives a bit more on
 * big machines (≈107.5 of 128 observed), so the rule errs low. A raised `iogpu.wired_limit_mb` wins.
 */
export function gpuBudget(mem: Pick<MachineMemory, 'totalBytes' | 'wiredLimitBytes'>): Budget {
  if (mem.wiredLimitBytes && mem.wiredLimitBytes > 0) {
    return { bytes: mem.wiredLimitBytes, rule: `raised with iogpu.wired_limit_mb = ${Math.round(mem.wiredLimitBytes / 2 ** 20)}` };
  }
  const gb = mem.totalBytes / GiB;
  return gb < 36
    ? { bytes: (mem.totalBytes * 2) / 3, rule: `2/3 of ${formatGB(mem.totalBytes)}, the macOS default below 36 GB` }
    : { bytes: (mem.totalBytes * 3) / 4, rule: `3/4 of ${formatGB(mem.totalBytes)}, the macOS default from 36 GB` };
}

/** What "GPU budget" means, said where the words first appear on screen. */
export const GPU_BUDGET_MEANS = 'the share of memory macOS lets the GPU use';

/** Above this share of the budget a choice is "tight". */
export const TIGHT_SHARE = 0.8;
/** mlx_lm.server's own memory (Python, Metal buffers, activations) per process, on top of weights and KV. */
export const RUNTIME_OVERHEAD = 1 * GiB;

export interface EstimateInput {
  repoId: string;
  context: number;
  /** Sum of `model*.safetensors` sizes (best). */
  weightsBytes?: number;
  paramsB?: number;
  quantBits?: number;
  groupSize?: number;
  shape?: ModelShape;
  /** Offline hints (curated data), used when the cache and the Hub give nothing. */
  weightsBytesHint?: number;
  kvBytesPerTokenHint?: number;
  /**
   * Prompt-cache entries the server keeps (`--prompt-cache-size`), each up to one context's KV cache;
   * default: one role's worth (promptCacheEntries(1)). 0: no cache, one context's KV counted.
   */
  cacheEntries?: number;
}

/**
 * Entries of the bounded prompt cache for a server that serves `roles` roles: one conversation per
 * role, and never fewer than 2 (a turn's prompt and Aider's summary/commit call on the same model).
 */
export function promptCacheEntries(roles: number): number {
  return Math.max(2, Math.floor(roles));
}

export interface MemoryEstimate {
  repoId: string;
  context: number;
  weightsBytes?: number;
  weightsSource: 'files' | 'hint' | 'params' | 'unknown';
  kvBytes?: number;
  kvSource: 'config' | 'hint' | 'unknown';
  /** KV bytes per token (fp16), when known. */
  kvBytesPerToken?: number;
  /** The bounded prompt cache: entries × one context's KV, the request being served included (bytes unknown when the KV is). */
  promptCache: { entries: number; bytes?: number };
  overheadBytes: number;
  /** Lower bound when a part is unknown. */
  totalBytes: number;
  known: boolean;
  arithmetic: string;
}

/** Bytes per parameter for MLX affine quantization: bits + a 16-bit scale and bias per group. */
export function bytesPerParam(bits = 4, groupSize = 64): number {
  return bits >= 16 ? 2 : (bits + 32 / groupSize) / 8;
}

export function estimateModelMemory(input: EstimateInput): MemoryEstimate {
  const parts: string[] = [];
  let weightsBytes: number | undefined;
  let weightsSource: MemoryEstimate['weightsSource'] = 'unknown';
  if (input.weightsBytes && input.weightsBytes > 0) {
    weightsBytes = input.weightsBytes;
    weightsSource = 'files';
    parts.push(`weights ${formatGB(weightsBytes)}`);
  } else if (input.weightsBytesHint && input.weightsBytesHint > 0) {
    weightsBytes = input.weightsBytesHint;
    weightsSource = 'hint';
    parts.push(`weights ~${formatGB(weightsBytes)}`);
  } else if (input.paramsB) {
    const bits = input.quantBits ?? input.shape?.quantBits ?? 4;
    const bpp = bytesPerParam(bits, input.groupSize ?? input.shape?.groupSize ?? 64);
    weightsBytes = input.paramsB * 1e9 * bpp;
    weightsSource = 'params';
    parts.push(`weights ${formatGB(weightsBytes)} (${input.paramsB}B params × ${round(bpp, 4)} B at ${bits}-bit)`);
  } else parts.push('weights unknown');

  // The server's prompt cache keeps whole KV caches of recent prompts, `entries` of at most one
  // context each. mlx-lm 0.32 counts the request being served inside --prompt-cache-bytes (it trims
  // the cache to the bound minus the active requests' KV), so the bound is the KV total: entries × KV.
  const entries = Math.max(0, Math.floor(input.cacheEntries ?? promptCacheEntries(1)));
  const times = entries > 0 ? `prompt cache ${entries} × ` : '';
  let kvBytes: number | undefined;
  let kvSource: MemoryEstimate['kvSource'] = 'unknown';
  const perToken = input.shape ? kvBytesPerToken(input.shape) : undefined;
  if (perToken) {
    kvBytes = perToken * input.context;
    kvSource = 'config';
    const s = input.shape!;
    parts.push(`${times}KV ${formatGB(kvBytes)} (2 × ${s.layers} layers × ${s.kvHeads} KV heads × ${s.headDim} dim × 2 B × ${input.context} tokens)`);
  } else if (input.kvBytesPerTokenHint) {
    kvBytes = input.kvBytesPerTokenHint * input.context;
    kvSource = 'hint';
    parts.push(`${times}KV ${formatGB(kvBytes)} (${Math.round(input.kvBytesPerTokenHint / 1024)} KiB/token × ${input.context} tokens)`);
  } else parts.push(`${times}KV unknown (no config.json)`);
  const cacheBytes = kvBytes !== undefined && entries > 0 ? entries * kvBytes : undefined;

  parts.push(`runtime ${formatGB(RUNTIME_OVERHEAD)}`);
  const totalBytes = (weightsBytes ?? 0) + (cacheBytes ?? kvBytes ?? 0) + RUNTIME_OVERHEAD;
  const known = weightsBytes !== undefined && kvBytes !== undefined;
  return {
    repoId: input.repoId,
    context: input.context,
    weightsBytes,
    weightsSource,
    kvBytes,
    kvSource,
    ...(kvBytes !== undefined ? { kvBytesPerToken: kvBytes / input.context } : {}),
    promptCache: { entries, ...(cacheBytes !== undefined ? { bytes: cacheBytes } : {}) },
    overheadBytes: RUNTIME_OVERHEAD,
    totalBytes,
    known,
    arithmetic: `${parts.join(' + ')} = ${known ? '' : 'at least '}${formatGB(totalBytes)}`,
  };
}

export interface Fit {
  label: FitLabel;
  totalBytes: number;
  budgetBytes: number;
  /** totalBytes / budgetBytes */
  share: number;
  known: boolean;
  arithmetic: string;
}

export function labelFor(totalBytes: number, budget: Budget): FitLabel {
  const share = totalBytes / budget.bytes;
  return share > 1 ? 'too-big' : share > TIGHT_SHARE ? 'tight' : 'fits';
}

export function fitModel(estimate: MemoryEstimate, budget: Budget): Fit {
  const share = estimate.totalBytes / budget.bytes;
  const label = labelFor(estimate.totalBytes, budget);
  return {
    label,
    totalBytes: estimate.totalBytes,
    budgetBytes: budget.bytes,
    share,
    known: estimate.known,
    arithmetic: `${estimate.arithmetic} of ${formatGB(budget.bytes)} budget (${Math.round(share * 100)}%) → ${FIT_WORDS[label]}`,
  };
}

export interface RoleInput {
  role: string;
  input: EstimateInput;
}

export interface SetFit extends Fit {
  /** One mlx_lm.server per distinct model; roles that share a model share its process. */
  processes: { repoId: string; roles: string[]; estimate: MemoryEstimate }[];
}

/** All roles together: the processes' memory adds up. */
export function fitRoles(roles: RoleInput[], budget: Budget): SetFit {
  const byRepo = new Map<string, { roles: string[]; input: EstimateInput }>();
  for (const r of roles) {
    const p = byRepo.get(r.input.repoId);
    if (!p) byRepo.set(r.input.repoId, { roles: [r.role], input: { ...r.input } });
    else {
      p.roles.push(r.role);
      p.input.context = Math.max(p.input.context, r.input.context); // one server, the larger window
    }
  }
  // One prompt-cache entry per role that shares the server (at least 2), unless the caller set it.
  for (const p of byRepo.values()) if (p.input.cacheEntries === undefined) p.input.cacheEntries = promptCacheEntries(p.roles.length);
  const processes = [...byRepo.entries()].map(([repoId, p]) => ({ repoId, roles: p.roles, estimate: estimateModelMemory(p.input) }));
  const totalBytes = processes.reduce((a, p) => a + p.estimate.totalBytes, 0);
  const known = processes.every((p) => p.estimate.known);
  const share = totalBytes / budget.bytes;
  const label = labelFor(totalBytes, budget);
  const sum = processes.map((p) => `${p.roles.join('+')} ${formatGB(p.estimate.totalBytes)}`).join(' + ');
  return {
    label,
    totalBytes,
    budgetBytes: budget.bytes,
    share,
    known,
    processes,
    arithmetic: `${sum} = ${known ? '' : 'at least '}${formatGB(totalBytes)} of ${formatGB(budget.bytes)} budget (${Math.round(share * 100)}%) → ${FIT_WORDS[label]}`,
  };
}

export function formatGB(bytes: number): string {
  if (bytes < 2 ** 20) return `${Math.round(bytes / 1024)} KB`;
  if (bytes < GiB) return `${Math.round(bytes / 2 ** 20)} MB`;
  return `${round(bytes / GiB, 1)} GB`;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export interface RankFit extends Fit {
  host: string;
  rank: number;
  /** Pipeline: the layers this rank holds [start, end). */
  layers?: [number, number];
}

export interface GroupFit {
  label: FitLabel;
  ranks: RankFit[];
  known: boolean;
  arithmetic: string;
}

/**
 * mlx-lm's pipeline split (PipelineMixin.pipeline): layers divided evenly, the remainder going to
 * the first ranks; rank 0 takes the last layers (rank r holds the block counted from the end).
 */
export function pipelineLayers(layers: number, ranks: number): Array<[number, number]> {
  const per = Math.floor(layers / ranks);
  const extra = layers % ranks;
  const out: Array<[number, number]> = [];
  for (let r = 0; r < ranks; r++) {
    const n = per + (r < extra ? 1 : 0);
    const startFromEnd = Array.from({ length: r }, (_, i) => per + (i < extra ? 1 : 0)).reduce((a, b) => a + b, 0);
    const end = layers - startFromEnd;
    out.push([end - n, end]);
  }
  return out;
}

/**
 * One model split over hosts: each rank holds its share of the weights and of the KV cache
 * (tensor: 1/N of every layer's; pipeline: its layers'), plus a runtime of its own, against its
 * own host's budget. The group fits as well as its tightest rank.
 */
export function fitGroup(
  estimate: MemoryEstimate,
  hosts: Array<{ host: string; budget: Budget }>,
  parallel: 'tensor' | 'pipeline',
  layers?: number,
): GroupFit {
  const n = hosts.length;
  const split = parallel === 'pipeline' && layers && layers >= n ? pipelineLayers(layers, n) : undefined;
  const ranks = hosts.map(({ host, budget }, rank): RankFit => {
    const share = split && layers ? (split[rank]![1] - split[rank]![0]) / layers : 1 / n;
    const w = (estimate.weightsBytes ?? 0) * share;
    const kv = (estimate.kvBytes ?? 0) * share;
    const total = w + kv + RUNTIME_OVERHEAD;
    const label = labelFor(total, budget);
    const what = split ? `layers ${split[rank]![0]}–${split[rank]![1] - 1} of ${layers}` : `1/${n} of each layer`;
    return {
      host,
      rank,
      ...(split ? { layers: split[rank] } : {}),
      label,
      totalBytes: total,
      budgetBytes: budget.bytes,
      share: total / budget.bytes,
      known: estimate.known,
      arithmetic: `rank ${rank} on ${host} (${what}): weights ${formatGB(w)} + KV ${formatGB(kv)} + runtime ${formatGB(RUNTIME_OVERHEAD)} = ${estimate.known ? '' : 'at least '}${formatGB(total)} of ${formatGB(budget.bytes)} (${Math.round((total / budget.bytes) * 100)}%) → ${label}`,
    };
  });
  const order: FitLabel[] = ['fits', 'tight', 'too-big'];
  const label = ranks.reduce<FitLabel>((a, r) => (order.indexOf(r.label) > order.indexOf(a) ? r.label : a), 'fits');
  return { label, ranks, known: estimate.known, arithmetic: `${parallel} over ${n} hosts: ${ranks.map((r) => r.arithmetic).join('; ')} → ${label}` };
}
