import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../errors.js';
import { which } from '../lib/exec.js';
import { configPaths, tildify } from '../lib/paths.js';
import { AIDER_FILES } from '../config/render.js';
import { profileArgs } from '../config/profile.js';

/** `aider-mlx aider [args…]`: aider with the profile written by `setup --scope profile`. */
export async function runAiderCommand(args: string[]): Promise<number> {
  const env = process.env;
  const dir = configPaths(env).profile;
  if (!existsSync(join(dir, AIDER_FILES.conf))) {
    throw new UsageError(`There is no aider-mlx profile at ${tildify(dir, env)}.`, 'Create it with `aider-mlx setup --scope profile`.');
  }
  const aider = which('aider', env);
  if (!aider) {
    throw new UsageError('aider is not installed (not found on PATH).', "Install it: uv tool install aider-chat   (or: pipx install aider-chat)");
  }
  const child = execa(aider, [...profileArgs(dir), ...args], { stdio: 'inherit', reject: false });
  // The terminal already sends Ctrl-C to aider (same process group): stay alive until it exits.
  const ignore = () => undefined;
  const forward = () => child.kill('SIGTERM');
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  const r = await child;
  process.off('SIGINT', ignore);
  process.off('SIGTERM', forward);
  return r.exitCode ?? (r.signal === 'SIGINT' ? 130 : 1);
}
