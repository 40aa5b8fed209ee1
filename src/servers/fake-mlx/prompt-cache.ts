/**
 * The stand-in's prompt cache, after mlx_lm.server 0.32.2's LRUPromptCache (models/cache.py): each
 * finished turn stores its tokens (prompt + reply); the next prompt reuses the longest common
 * prefix with a stored one. A stored sequence the prompt extends is reused whole; one that goes
 * further or elsewhere is trimmed to the common prefix, at most the prompt's length less one (the
 * last token is always processed). An exact match reuses everything. `cached_tokens` is that count.
 */
import type { FakeState } from './state.js';

export const DEFAULT_PROMPT_CACHE_SIZE = 10;

function commonPrefix(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** How many of `tokens` the cache already holds for `model` (fetch_nearest_cache). */
export function cachedPrefix(st: FakeState, model: string, tokens: readonly string[]): number {
  let best = 0;
  for (const entry of st.promptCache.get(model) ?? []) {
    const cp = commonPrefix(entry, tokens);
    if (cp === tokens.length && entry.length === tokens.length) return tokens.length;
    best = Math.max(best, cp === entry.length ? cp : Math.min(tokens.length - 1, cp));
  }
  return Math.max(0, best);
}

/** Store a finished turn's tokens (insert_cache): its prefixes go, the oldest entry goes past the size. */
export function storeTurn(st: FakeState, model: string, tokens: string[]): void {
  const size = st.opts.promptCacheSize ?? DEFAULT_PROMPT_CACHE_SIZE;
  const kept = (st.promptCache.get(model) ?? []).filter((e) => !(e.length <= tokens.length && commonPrefix(e, tokens) === e.length));
  kept.push(tokens);
  while (kept.length > size) kept.shift();
  st.promptCache.set(model, kept);
}
