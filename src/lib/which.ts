import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Env } from './paths.js';
import { ownedLocations } from '../service/locations.js';

/** Find an executable on PATH without spawning anything. Apart from exec.ts so it does not load execa. */
export function which(cmd: string, env: Env = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* keep looking */
    }
  }
  return undefined;
}

/**
 * Where aider-mlx's own installs put a tool's console scripts, which need not be on PATH: the links
 * in ~/.local/bin (where uv and pipx put theirs too), then the venv aider-mlx made for the package.
 */
export function ownToolDirs(pkg: string, env: Env): string[] {
  const loc = ownedLocations(env);
  return [loc.localBin, join(loc.venvs, pkg, 'bin')];
}

/**
 * A Python tool's console script: on PATH, else where aider-mlx installed it (`onPath` false: the
 * caller says where, and adds the folder to what it runs with).
 */
export function findToolBin(cmd: string, pkg: string, env: Env = process.env): { bin: string; onPath: boolean } | undefined {
  const found = which(cmd, env);
  if (found) return { bin: found, onPath: true };
  const own = which(cmd, { PATH: ownToolDirs(pkg, env).join(delimiter) });
  return own ? { bin: own, onPath: false } : undefined;
}
