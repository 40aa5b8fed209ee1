/** What the catalogue needs from a model's `config.json` (and from its name when there is none). */
export interface ModelShape {
  modelType?: string;
  layers?: number;
  kvHeads?: number;
  headDim?: number;
  hiddenSize?: number;
  attentionHeads?: number;
  maxContext?: number;
  /** MLX quantization (`quantization` in an MLX config.json). */
  quantBits?: number;
  groupSize?: number;
  /** Rough parameter count from the config, in billions (used only when the name says nothing). */
  paramsB?: number;
}

type Json = Record<string, unknown>;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);

/** Read the fields we use; tolerant of any shape (a broken config gives an empty result). */
export function parseModelConfig(raw: unknown): ModelShape {
  const top = obj(raw);
  if (!top) return {};
  // Vision-language and some newer configs keep the language model under text_config.
  const text = obj(top.text_config) ?? obj(top.llm_config) ?? {};
  const pick = (k: string) => num(top[k]) ?? num(text[k]);
  const layers = pick('num_hidden_layers') ?? pick('n_layer') ?? pick('num_layers');
  const attentionHeads = pick('num_attention_heads') ?? pick('n_head');
  const kvHeads = pick('num_key_value_heads') ?? pick('n_head_kv') ?? attentionHeads;
  const hiddenSize = pick('hidden_size') ?? pick('n_embd') ?? pick('d_model');
  const headDim = pick('head_dim') ?? (hiddenSize && attentionHeads ? hiddenSize / attentionHeads : undefined);
  const quant = obj(top.quantization) ?? obj(top.quantization_config);
  const shape: ModelShape = {
    modelType: (typeof top.model_type === 'string' ? top.model_type : undefined) ??
      (typeof text.model_type === 'string' ? text.model_type : undefined),
    layers,
    kvHeads,
    headDim,
    hiddenSize,
    attentionHeads,
    maxContext: pick('max_position_embeddings') ?? pick('n_positions') ?? pick('max_sequence_length'),
    quantBits: num(quant?.bits),
    groupSize: num(quant?.group_size),
  };
  shape.paramsB = estimateParamsB(top, text);
  for (const k of Object.keys(shape) as (keyof ModelShape)[]) if (shape[k] === undefined) delete shape[k];
  return shape;
}

/** Dense transformer count: embeddings + per layer attention and MLP (MoE: every expert). */
function estimateParamsB(top: Json, text: Json): number | undefined {
  const pick = (k: string) => num(top[k]) ?? num(text[k]);
  const h = pick('hidden_size');
  const layers = pick('num_hidden_layers');
  const heads = pick('num_attention_heads');
  const vocab = pick('vocab_size');
  if (!h || !layers || !heads || !vocab) return undefined;
  const kv = pick('num_key_value_heads') ?? heads;
  const hd = pick('head_dim') ?? h / heads;
  const attn = h * heads * hd * 2 + h * kv * hd * 2;
  const experts = pick('num_experts') ?? pick('num_local_experts') ?? pick('n_routed_experts');
  const moeInter = pick('moe_intermediate_size');
  const inter = pick('intermediate_size') ?? 4 * h;
  const mlp = experts ? experts * 3 * h * (moeInter ?? inter) + (pick('n_shared_experts') ?? 0) * 3 * h * (moeInter ?? inter) : 3 * h * inter;
  const tied = top.tie_word_embeddings === true || text.tie_word_embeddings === true;
  const total = vocab * h * (tied ? 1 : 2) + layers * (attn + mlp);
  return Math.round(total / 1e7) / 100;
}

/** fp16 KV cache bytes per token: 2 (K and V) × layers × KV heads × head dim × 2 bytes. */
export function kvBytesPerToken(shape: ModelShape): number | undefined {
  const { layers, kvHeads, headDim } = shape;
  if (!layers || !kvHeads || !headDim) return undefined;
  return 2 * layers * kvHeads * headDim * 2;
}

export interface NameFacts {
  /** Total parameters in billions (MoE: all experts). */
  paramsB?: number;
  /** Active parameters per token for MoE names like `30B-A3B`. */
  activeParamsB?: number;
  quantBits?: number;
  /** `4bit`, `8bit-DWQ`, `mxfp4`, `bf16`… as written in the name. */
  quantLabel?: string;
}

/** A name segment: between -, _ or . (or the ends). Built once: the catalogue parses every cached repo's name. */
const segment = (re: RegExp) => new RegExp(`(?:^|[-_.])${re.source}(?=$|[-_.])`, 'i');
const NAME_RE = {
  moe: segment(/(\d+)x(\d+(?:\.\d+)?)B/),
  size: segment(/(\d+(?:\.\d+)?)([BM])/),
  active: segment(/A(\d+(?:\.\d+)?)B/),
  bits: segment(/(\d+)-?bits?((?:[-_](?:DWQ|AWQ|mixed|gs\d+))*)/),
  other: segment(/(mxfp4|nvfp4|bf16|fp16|f16|fp8|q4|q8)/),
};

/** Facts from a repo name: `Qwen2.5-Coder-14B-Instruct-4bit`, `Qwen3-30B-A3B-4bit`, `gemma-3-270m-it-bf16`… */
export function parseRepoName(repoId: string): NameFacts {
  const name = repoId.split('/').pop() ?? repoId;
  const facts: NameFacts = {};
  const seg = (k: keyof typeof NAME_RE) => name.match(NAME_RE[k]);
  const moe = seg('moe');
  const size = seg('size');
  if (moe) facts.paramsB = Number(moe[1]) * Number(moe[2]);
  else if (size) facts.paramsB = Number(size[1]) / (size[2]!.toUpperCase() === 'M' ? 1000 : 1);
  const active = seg('active');
  if (active) facts.activeParamsB = Number(active[1]);
  const bits = seg('bits');
  if (bits) {
    facts.quantBits = Number(bits[1]);
    facts.quantLabel = `${bits[1]}bit${bits[2] ?? ''}`;
  } else {
    const other = seg('other');
    if (other) {
      const l = other[1]!.toLowerCase();
      facts.quantLabel = l;
      facts.quantBits = /4/.test(l) ? 4 : /8/.test(l) ? 8 : 16;
    }
  }
  return facts;
}
