import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../errors.js';
import { which } from '../lib/exec.js';
import { configPaths, tildify, type Env } from '../lib/paths.js';
import { AIDER_FILES } from '../config/render.js';
import { newSessionId, perRunSettings, profileArgs } from '../config/profile.js';
import { ownedLocations } from '../service/locations.js';

/**
 * With several servers of a model behind the proxy, this run gets its own session id: a copy of the
 * profile's model settings with the id in its x-litellm-session-id header, removed at exit.
 */
function runSettingsFile(dir: string, env: NodeJS.ProcessEnv): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, AIDER_FILES.settings), 'utf8');
  } catch {
    return undefined;
  }
  const copy = perRunSettings(text, newSessionId());
  if (!copy) return undefined;
  const run = ownedLocations(env).run;
  try {
    mkdirSync(run, { recursive: true, mode: 0o700 });
    const path = join(run, `aider-${process.pid}-${Date.now()}${AIDER_FILES.settings}`);
    writeFileSync(path, copy, { mode: 0o600 });
    return path;
  } catch {
    return undefined; // the profile's own id still keeps turns together
  }
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
  const settings = runSettingsFile(dir, env);
  try {
    return await execAider(aider, [...profileArgs(dir, settings ? { modelSettingsFile: settings } : {}), ...args], { env, cwd: process.cwd(), stdio: 'inherit' });
  } finally {
    // The per-run copy of the model settings (its own session id) goes with the run.
    if (settings) rmSync(settings, { force: true });
  }
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
