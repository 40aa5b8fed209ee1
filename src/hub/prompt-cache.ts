/**
 * The bounded prompt cache of one mlx_lm.server, from the same arithmetic as the memory fit
 * (fit.ts): `promptCacheEntries(roles)` entries, each one context's KV cache.
 *
 * mlx-lm 0.32.2: `--prompt-cache-size N` (int, default 10) caps the number of cached KV caches;
 * `--prompt-cache-bytes B` (a size: plain bytes, or a decimal "M"/"G" suffix; default no limit)
 * caps their bytes, active requests included. We pass plain bytes: no unit to get wrong.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BUILT_IN_CURATED, curatedPath } from './curated-path.js';
import { hubCacheDir, isRepoId, repoFolderName, type HubEnv } from './env.js';
import { promptCacheEntries } from './fit.js';
import { kvBytesPerToken, parseModelConfig } from './model-facts.js';

export interface PromptCacheBound {
  /** `--prompt-cache-size` */
  entries: number;
  /** `--prompt-cache-bytes`; absent when the model's KV size is unknown here (no config.json). */
  bytes?: number;
}

/**
 * mlx_lm.server 0.32.2 also caches a chat's system prompt as an entry of its own while the request
 * runs (a "system" segment, dropped again as a prefix when the turn's entry goes in). Counted
 * against --prompt-cache-size, it made a 2-entry cache evict the other conversation's entry on
 * every turn (the server's LRU drops assistant entries first). One slot more keeps both.
 */
export const SYSTEM_SEGMENT_SLOTS = 1;

/** The argv part for mlx_lm.server. */
export function promptCacheArgs(b: PromptCacheBound | undefined): string[] {
  if (!b) return [];
  const args = ['--prompt-cache-size', String(b.entries + SYSTEM_SEGMENT_SLOTS)];
  if (b.bytes !== undefined && b.bytes > 0) args.push('--prompt-cache-bytes', String(Math.ceil(b.bytes)));
  return args;
}

function expandHome(p: string, env: HubEnv): string {
  const home = env.HOME ?? '';
  return p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p;
}

/** The config.json of a local model folder, or of the cached snapshot of a Hub repo. */
function configPathOf(model: string, env: HubEnv): string | undefined {
  if (!isRepoId(model)) return join(expandHome(model, env), 'config.json');
  const repo = join(hubCacheDir(env), repoFolderName(model));
  let rev: string | undefined;
  try {
    rev = readFileSync(join(repo, 'refs', 'main'), 'utf8').trim();
  } catch {
    try {
      const snaps = readdirSync(join(repo, 'snapshots'));
      rev = snaps.sort((a, b) => statSync(join(repo, 'snapshots', b)).mtimeMs - statSync(join(repo, 'snapshots', a)).mtimeMs)[0];
    } catch {
      return undefined;
    }
  }
  return rev ? join(repo, 'snapshots', rev, 'config.json') : undefined;
}

/** fp16 KV bytes per token of a model, from its config.json on this machine; undefined when unknown. */
export function localKvBytesPerToken(model: string, env: HubEnv): number | undefined {
  const path = configPathOf(model, env);
  if (!path) return undefined;
  try {
    return kvBytesPerToken(parseModelConfig(JSON.parse(readFileSync(path, 'utf8'))));
  } catch {
    return undefined;
  }
}

/**
 * The curated list's offline hint (`approx.kvKiBPerToken`) for a model not on this machine yet:
 * a server started before its download (mlx_lm.server fetches it) still gets a byte bound.
 */
export function curatedKvBytesPerToken(model: string, env: HubEnv): number | undefined {
  try {
    const text = readFileSync(curatedPath(env), 'utf8');
    // The shipped text: the build's parse of it (as `models` uses), not the YAML parser again.
    const doc = (BUILT_IN_CURATED && text === BUILT_IN_CURATED.text ? JSON.parse(BUILT_IN_CURATED.json) : parse(text)) as { tiers?: Array<{ picks?: Array<{ repo?: string; approx?: { kvKiBPerToken?: number } }> }> };
    for (const t of doc?.tiers ?? []) for (const p of t.picks ?? []) if (p.repo === model && p.approx?.kvKiBPerToken) return p.approx.kvKiBPerToken * 1024;
  } catch {
    /* no list, or a broken one: the models command says so */
  }
  return undefined;
}

/**
 * The bound for a server of `model` serving `roles` roles at `context` tokens. `kvPerTokenHint`
 * (e.g. the wizard's sizing) is used when the model's config.json is not on this machine.
 */
export function promptCacheFor(
  m: { model: string; roles: readonly unknown[]; context: number },
  env: HubEnv,
  kvPerTokenHint?: number,
): PromptCacheBound {
  const entries = promptCacheEntries(m.roles.length);
  const perToken = localKvBytesPerToken(m.model, env) ?? kvPerTokenHint ?? (isRepoId(m.model) ? curatedKvBytesPerToken(m.model, env) : undefined);
  return perToken ? { entries, bytes: entries * perToken * m.context } : { entries };
}
