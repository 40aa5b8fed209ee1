import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../errors.js';
import { which } from '../lib/exec.js';
import { configPaths, tildify, type Env } from '../lib/paths.js';
import { AIDER_FILES } from '../config/render.js';

/** The arguments that make aider read only the isolated profile. */
export function profileArgs(profileDir: string): string[] {
  return [
    '--config', join(profileDir, AIDER_FILES.conf),
    '--model-settings-file', join(profileDir, AIDER_FILES.settings),
    '--model-metadata-file', join(profileDir, AIDER_FILES.metadata),
  ];
}

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
  return execAider(aider, [...profileArgs(dir), ...args], { env, cwd: process.cwd(), stdio: 'inherit' });
}

/**
 * Run aider as if exec'd: this terminal's stdio, its exit code. Ctrl-C reaches aider itself (same
 * process group), so this process only waits; SIGTERM is passed on.
 */
export async function execAider(bin: string, args: string[], o: { env: Env; cwd: string; stdio: 'inherit' | 'ignore' }): Promise<number> {
  const child = execa(bin, args, { stdio: o.stdio, reject: false, cwd: o.cwd, env: o.env as NodeJS.ProcessEnv, extendEnv: false });
  const ignore = () => undefined;
  const forward = () => child.kill('SIGTERM');
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  try {
    const r = await child;
    if (r.failed && r.exitCode === undefined && !r.signal) throw new UsageError(`Could not run ${bin}: ${r.shortMessage ?? 'it did not start'}.`, 'Reinstall it: `npx aider-mlx install aider --force`.');
    return r.exitCode ?? (r.signal === 'SIGINT' ? 130 : 1);
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGTERM', forward);
  }
}
