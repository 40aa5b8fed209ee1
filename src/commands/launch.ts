/**
 * `aider-mlx launch [-- aider args]`: start what is down (a background `serve`), check that every
 * server answers, then run Aider in the project with the files setup wrote, in this terminal.
 * `aider-mlx stop` stops what aider-mlx runs in the background.
 */
import { EXIT, UsageError } from '../errors.js';
import { parseFlags } from '../lib/args.js';
import { which } from '../lib/exec.js';
import { configPaths, tildify, type Env, selfCommand } from '../lib/paths.js';
import { readPlan } from '../config/plan-file.js';
import type { Plan } from '../config/plan.js';
import { toolEnv } from '../serve/units.js';
import { stopBackground } from '../serve/background.js';
import { installedAgents } from '../service/launchd.js';
import { profileArgs } from '../config/profile.js';
import { execAider } from './aider.js';
import { ensureRunning, type RunningResult } from '../serve/ensure-running.js';

export { ensureRunning, type RunningResult };

const USAGE = 'Usage: aider-mlx launch [--stand-in] [--timeout SECONDS] [-- aider options and files]';

export interface LaunchIo {
  env: Env;
  cwd: string;
  err: (s: string) => void;
  /** Aider's stdio: the terminal (default), or nothing (tests). */
  stdio?: 'inherit' | 'ignore';
}

/** Where Aider runs and with which arguments, for the files the plan wrote. */
export function aiderInvocation(plan: Plan, env: Env, cwd: string, extra: string[]): { cwd: string; args: string[] } {
  if (plan.aider.scope === 'profile') return { cwd, args: [...profileArgs(configPaths(env).profile), ...extra] };
  if (plan.aider.scope === 'project') return { cwd: plan.aider.dir, args: extra };
  return { cwd, args: extra };
}

export function findAider(env: Env): string {
  const bin = which('aider', toolEnv(env));
  if (!bin) throw new UsageError('aider is not installed (not found on PATH).', `Install it: \`${selfCommand()} install aider\`.`);
  return bin;
}

export async function runLaunch(args: string[], io: LaunchIo): Promise<number> {
  const cut = args.indexOf('--');
  const own = cut < 0 ? args : args.slice(0, cut);
  const extra = cut < 0 ? [] : args.slice(cut + 1);
  const values = parseFlags(own, { 'stand-in': { type: 'boolean' }, timeout: { type: 'string' } }, { command: 'launch', usage: USAGE }).values as {
    'stand-in'?: boolean;
    timeout?: string;
  };
  const timeoutSec = values.timeout === undefined ? 600 : Number(values.timeout);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw new UsageError(`--timeout must be a number of seconds (got "${values.timeout}").`, USAGE);
  const { env } = io;
  const plan = await readPlan(env);
  if (!plan) throw new UsageError(`No plan yet at ${tildify(configPaths(env).plan, env)}.`, `Run \`${selfCommand()} setup\` first.`);
  const bin = findAider(env);
  // Start-at-login agents of ours: launchd runs the servers (a serve would fight it for the ports).
  const agents = (await installedAgents(env, process.platform)).size > 0;
  const self = selfCommand();
  if (agents) io.err(`launchd runs the servers (\`${self} service status\` shows them): waiting for them to answer\n`);
  await ensureRunning(plan, { env, standIn: values['stand-in'] ?? false, timeoutSec, say: (l) => io.err(`${l}\n`), ...(agents ? { start: false } : {}) });
  const how = aiderInvocation(plan, env, io.cwd, extra);
  // `stop` stops only the background serve: what launchd keeps up goes with the agents.
  const stays = agents ? `launchd keeps the servers up: \`${self} service uninstall\` stops them for good` : `the servers stay up in the background: \`${self} stop\` stops them`;
  io.err(`Starting aider in ${tildify(how.cwd, env)} (${stays})\n`);
  return execAider(bin, how.args, { cwd: how.cwd, env, stdio: io.stdio ?? 'inherit' });
}

/** After the wizard's "Start Aider now?" (its face closed): the same as `launch`, in its folder. */
export async function launchAfterWizard(l: { env: Env; cwd: string; standIn: boolean }, io: { err: (s: string) => void; stdio?: 'inherit' | 'ignore' }): Promise<number> {
  return runLaunch(l.standIn ? ['--stand-in'] : [], { env: l.env, cwd: l.cwd, err: io.err, ...(io.stdio ? { stdio: io.stdio } : {}) });
}

export async function runLaunchCommand(args: string[]): Promise<number> {
  return runLaunch(args, { env: process.env, cwd: process.cwd(), err: (s) => void process.stderr.write(s) });
}

/** `aider-mlx stop`: the background serve, its whole process group; nothing it did not start. */
export async function runStop(args: string[], io: { env: Env; out: (s: string) => void }): Promise<number> {
  parseFlags(args, {}, { command: 'stop', usage: 'Usage: aider-mlx stop' });
  const r = await stopBackground(io.env);
  if (r.stopped) io.out(`Stopped aider-mlx serve (pid ${r.stopped.pid}, running since ${r.stopped.since}) and what it started.\n`);
  else if (r.stale) io.out(`aider-mlx serve (pid ${r.stale.pid}) was not running any more; removed its pid file.\n`);
  else io.out('Nothing of aider-mlx runs in the background.\n');
  return EXIT.ok;
}

export async function runStopCommand(args: string[]): Promise<number> {
  return runStop(args, { env: process.env, out: (s) => void process.stdout.write(s) });
}
