/**
 * Where the shipped curated list is, and the build's parse of it, on their own: the doctor's and serve's start commands need the
 * path (prompt-cache.ts), not the list's schema (curated.ts loads zod).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.js';
import type { HubEnv } from './env.js';

export const CURATED_FILE = 'data/curated-models.yaml';

declare const __AIDER_MLX_CURATED__: { text: string; json: string } | undefined;
/** The shipped list's text and the build's parse of it (tsup.config.ts); undefined when run from source. */
export const BUILT_IN_CURATED = typeof __AIDER_MLX_CURATED__ === 'undefined' ? undefined : __AIDER_MLX_CURATED__;

/** The shipped file sits at the package root: dist/.. from the bundle, src/hub/../.. from source. */
export function curatedPath(env: HubEnv = {}): string {
  if (env.AIDER_MLX_CURATED_MODELS) return env.AIDER_MLX_CURATED_MODELS;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, CURATED_FILE);
    if (existsSync(p)) return p;
    dir = resolve(dir, '..');
  }
  throw new AppError(`aider-mlx cannot find ${CURATED_FILE}: the package is incomplete.`, 'Reinstall aider-mlx (`npx aider-mlx@latest`).');
}
