/**
 * A group: one copy of a model split across several ranks (Macs, or processes on one Mac) by
 * mlx_lm.server's distributed mode. What the model allows (tensor or pipeline), the two hostfiles
 * (the ring's own, and mlx.launch's), and which ranks can be started without the launcher.
 *
 * Facts from mlx 0.32.4 / mlx-lm 0.32.2 (their source):
 * - mlx_lm.server runs distributed when `mx.distributed.init()` sees more than one rank: tensor
 *   parallel by default, `--pipeline` for pipeline parallel; rank 0 serves HTTP, the others only
 *   take part in generation. Adapters and draft models are refused in distributed mode.
 * - The ring backend reads MLX_RANK and MLX_HOSTFILE (a JSON list, one list of "ip:port" per rank).
 * - `mlx.launch --hostfile F --backend ring|jaccl` reads a list of {ssh, ips, rdma}; a host that is
 *   exactly 127.0.0.1 runs without ssh; a name with no IP is refused by the ring backend.
 * - Tensor parallel shards attention heads and KV heads: both must divide by the ranks (a model
 *   with one KV head on two ranks loads, then dies on the first request).
 * - Pipeline parallel needs model.safetensors.index.json (which files hold which layers).
 */
import type { Group, GroupHost } from './plan-schema.js';
import { rankAddress } from './plan-schema.js';

export type Parallel = 'tensor' | 'pipeline';

/** model_type values whose mlx-lm module has `shard` (tensor parallel), mlx-lm 0.32.2. */
export const TENSOR_TYPES: ReadonlySet<string> = new Set([
  'deepseek_v2', 'deepseek_v3', 'deepseek_v32', 'deepseek_v41', 'exaone_moe', 'glm4_moe', 'glm4_moe_lite', 'gpt_oss',
  'iquestloopcoder', 'kimi_k25', 'kimi_k3', 'llama', 'longcat_flash', 'longcat_flash_ngram', 'minimax', 'minimax_m3_vl',
  'ministral3', 'mistral4', 'muse_spark', 'qwen2', 'qwen3', 'qwen3_5', 'qwen3_moe', 'step3p5',
]);
/** model_type values whose mlx-lm module uses PipelineMixin (pipeline parallel), mlx-lm 0.32.2. */
export const PIPELINE_TYPES: ReadonlySet<string> = new Set([
  'bailing_hybrid', 'deepseek_v2', 'deepseek_v3', 'deepseek_v32', 'deepseek_v41', 'glm4_moe', 'glm4_moe_lite',
  'minimax_m3_vl', 'ministral3', 'mistral4', 'muse_spark', 'qwen2', 'qwen3_5', 'qwen3_moe', 'qwen3_next',
]);

/** What the group checks need from the model's files. */
export interface GroupModelFacts {
  modelType?: string;
  attentionHeads?: number;
  kvHeads?: number;
  layers?: number;
  /** model.safetensors.index.json is there. */
  hasIndex: boolean;
}

export type ParallelChoice = { ok: true; parallel: Parallel; note: string } | { ok: false; problem: string };

function tensorProblem(f: GroupModelFacts, ranks: number): string | undefined {
  const type = f.modelType ?? 'unknown';
  if (!TENSOR_TYPES.has(type)) return `mlx-lm has no tensor parallel for ${type} models`;
  if (f.attentionHeads === undefined || f.kvHeads === undefined) return 'its config.json does not give the attention and KV head counts';
  if (f.attentionHeads % ranks !== 0) return `its ${f.attentionHeads} attention heads do not divide by ${ranks} ranks`;
  if (f.kvHeads % ranks !== 0) return `its ${f.kvHeads} KV heads do not divide by ${ranks} ranks`;
  return undefined;
}

function pipelineProblem(f: GroupModelFacts, ranks: number): string | undefined {
  const type = f.modelType ?? 'unknown';
  if (!PIPELINE_TYPES.has(type)) return `mlx-lm has no pipeline parallel for ${type} models`;
  if (!f.hasIndex) return 'it has no model.safetensors.index.json (pipeline parallel reads it to find each rank\'s layers)';
  if (f.layers !== undefined && f.layers < ranks) return `its ${f.layers} layers are fewer than the ${ranks} ranks`;
  return undefined;
}

/**
 * Tensor or pipeline for this model on `ranks` ranks: the one asked for if the model allows it,
 * else tensor where possible (it splits every layer, so each token costs every rank the same),
 * else pipeline. A plain problem when neither works.
 */
export function chooseParallel(f: GroupModelFacts, ranks: number, wanted?: Parallel): ParallelChoice {
  const t = tensorProblem(f, ranks);
  const p = pipelineProblem(f, ranks);
  if (wanted === 'tensor') {
    return t
      ? { ok: false, problem: `tensor parallel cannot split this model over ${ranks} ranks: ${t}${p ? '' : '; parallel: pipeline would work'}` }
      : { ok: true, parallel: 'tensor', note: 'tensor parallel (asked for)' };
  }
  if (wanted === 'pipeline') {
    return p
      ? { ok: false, problem: `pipeline parallel cannot split this model over ${ranks} ranks: ${p}${t ? '' : '; parallel: tensor would work'}` }
      : { ok: true, parallel: 'pipeline', note: 'pipeline parallel (asked for)' };
  }
  if (!t) return { ok: true, parallel: 'tensor', note: 'tensor parallel (the model allows it)' };
  if (!p) return { ok: true, parallel: 'pipeline', note: `pipeline parallel (tensor cannot: ${t})` };
  return { ok: false, problem: `this model cannot be split over ${ranks} ranks: tensor parallel: ${t}; pipeline parallel: ${p}` };
}

/** Arguments a distributed mlx_lm.server refuses (it raises on load). */
export function refusedGroupArgs(args: readonly string[]): string | undefined {
  const bad = args.find((a) => a === '--adapter-path' || a === '--draft-model' || a.startsWith('--adapter-path=') || a.startsWith('--draft-model='));
  return bad ? `${bad.split('=')[0]} cannot be used with a group: mlx_lm.server refuses adapters and draft models in distributed mode` : undefined;
}

/** Every rank runs on this Mac (127.0.0.1): the ranks can be started directly, without mlx.launch. */
export function groupIsLocal(g: Group): boolean {
  return g.hosts.every((h) => h.ssh === '127.0.0.1');
}

/** The launcher's default first ring port (mlx.launch --starting-port). */
export const LAUNCH_DEFAULT_RING_PORT = 32323;

/** The ring's own hostfile (MLX_HOSTFILE): one ["ip:port"] per rank. */
export function ringHostfile(g: Group, ports: readonly number[]): string[][] {
  if (ports.length !== g.hosts.length) throw new Error(`ringHostfile: ${g.hosts.length} ranks, ${ports.length} ports`);
  return g.hosts.map((h, i) => [`${rankAddress(h) ?? h.ssh}:${ports[i]}`]);
}

/** mlx.launch's hostfile: {ssh, ips, rdma} per rank. */
export function launchHostfile(g: Group): Array<{ ssh: string; ips: string[]; rdma?: Array<string | null> }> {
  return g.hosts.map((h: GroupHost) => {
    const ip = rankAddress(h);
    return { ssh: h.ssh, ips: ip ? [ip] : [], ...(g.backend === 'jaccl' && h.rdma ? { rdma: h.rdma } : {}) };
  });
}

/** The command that starts a group through the launcher: its args after the `mlx.launch` binary. */
export function launchArgs(g: Group, hostfilePath: string, serverCmd: readonly string[]): string[] {
  return [
    '--hostfile', hostfilePath,
    '--backend', g.backend ?? 'ring',
    // ring: the first rank port; jaccl: the coordinator's port on rank 0.
    '--starting-port', String(g.ringPort ?? LAUNCH_DEFAULT_RING_PORT),
    '--', ...serverCmd,
  ];
}
