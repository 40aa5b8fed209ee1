/**
 * What a model family needs in Aider's model settings. Aider's built-in generic rules only fire on
 * hosted names (SPEC §3.9), so we write explicit entries. Order matters: first match wins.
 */
export interface FamilyTraits {
  family: string;
  /** Emits <think>…</think>: Aider must strip it before parsing edits. */
  reasoning: boolean;
  temperature?: number;
  topP?: number;
}

const FAMILIES: Array<{ test: RegExp } & FamilyTraits> = [
  { test: /qwq/i, family: 'qwq', reasoning: true, temperature: 0.6, topP: 0.95 },
  { test: /deepseek-r1|r1-distill/i, family: 'deepseek-r1', reasoning: true, temperature: 0.6, topP: 0.95 },
  // Qwen3 coder/instruct-2507 variants do not think; plain Qwen3 does.
  { test: /qwen3.*(coder|instruct-2507)/i, family: 'qwen3-instruct', reasoning: false, temperature: 0.7, topP: 0.8 },
  { test: /qwen3/i, family: 'qwen3', reasoning: true, temperature: 0.6, topP: 0.95 },
  { test: /gpt-oss/i, family: 'gpt-oss', reasoning: true, temperature: 1.0, topP: 1.0 },
  { test: /magistral|phi-4-reasoning|reason|thinking/i, family: 'reasoning', reasoning: true, temperature: 0.6, topP: 0.95 },
  { test: /qwen2\.5-coder|qwen2-5-coder/i, family: 'qwen2.5-coder', reasoning: false },
  { test: /devstral|codestral|mistral/i, family: 'mistral', reasoning: false, temperature: 0.15 },
  { test: /llama/i, family: 'llama', reasoning: false },
  { test: /gemma/i, family: 'gemma', reasoning: false },
];

export function familyOf(model: string): FamilyTraits {
  const hit = FAMILIES.find((f) => f.test.test(model));
  if (!hit) return { family: 'generic', reasoning: false };
  const { test: _t, ...traits } = hit;
  return traits;
}

/** Parameters in billions from a name like `Qwen2.5-Coder-14B-Instruct` or `Qwen3-30B-A3B`. */
export function paramsFromName(model: string): number | undefined {
  const base = model.split('/').pop() ?? model;
  const m = base.match(/(?:^|[-_.])(\d+(?:\.\d+)?)[bB](?=$|[-_.])/);
  return m ? Number(m[1]) : undefined;
}

/**
 * Small models garble search/replace blocks; Aider's own defaults give `diff` to ≥14B coders.
 * Unknown size: `diff` (most MLX coding picks are ≥14B).
 */
export function editFormatFor(model: string): 'diff' | 'whole' {
  const b = paramsFromName(model);
  return b !== undefined && b < 14 ? 'whole' : 'diff';
}
