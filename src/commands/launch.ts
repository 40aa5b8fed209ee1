/**
 * `aider-mlx launch [-- aider args]`: start what is down (a background `serve`), check that every
 * server answers, then run Aider in the project with the files setup wrote, in this terminal.
 * `aider-mlx stop` stops what aider-mlx runs in the background.
 */
import { AppError, EXIT, UsageError, VerifyError } from '../errors.js';
import { parseFlags } from '../lib/args.js';
import { which } from '../lib/exec.js';
import { configPaths, tildify, type Env } from '../lib/paths.js';
import { readPlan } from '../config/plan-file.js';
import { apiBase, servedModels } from '../config/names.js';
import type { Plan } from '../config/plan.js';
import { waitForChat } from '../servers/probe.js';
import { isLoopback } from '../serve/remote.js';
import { toolEnv } from '../serve/units.js';
import { planDigest, readBackground, startBackground, stopBackground, type BackgroundRecord } from '../serve/background.js';
import { readFile } from 'node:fs/promises';
import { collectStatus, type HopStatus } from '../servers/status.js';
import { profileArgs } from '../config/profile.js';
import { execAider } from './aider.js';

const USAGE = 'Usage: aider-mlx launch [--stand-in] [--timeout SECONDS] [-- aider options and files]';

export interface LaunchIo {
  env: Env;
  cwd: string;
  err: (s: string) => void;
  /** Aider's stdio: the terminal (default), or nothing (tests). */
  stdio?: 'inherit' | 'ignore';
}

function hopName(h: HopStatus): string {
  return `${h.kind === 'proxy' ? 'proxy' : h.roles.join(' + ')} on ${h.host}:${h.port}`;
}

async function logTail(path: string, n = 6): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim()).slice(-n).join('\n  ');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface RunningResult {
  /** The background serve, when one runs (started now or before). */
  background?: BackgroundRecord;
  /** It was started (or restarted) by this call. */
  started: boolean;
}

/**
 * Everything the plan needs answers, or is started: a background serve when something local is
 * down and none runs (one that runs an older plan is restarted). Then every server gets a 1-token
 * completion. Throws with the log's last lines when the serve gives up.
 */
export async function ensureRunning(
  plan: Plan,
  o: { env: Env; standIn?: boolean; timeoutSec?: number; say?: (line: string) => void; signal?: AbortSignal; restart?: boolean },
): Promise<RunningResult> {
  const { env } = o;
  const say = o.say ?? (() => undefined);
  const timeoutSec = o.timeoutSec ?? 600;
  let bg = await readBackground(env);
  if (bg?.running && (o.restart || bg.record.planDigest !== (await planDigest(env)))) {
    say(`Restarting aider-mlx serve (pid ${bg.record.pid}): ${o.restart ? 'asked to' : 'the setup changed since it started'}`);
    await stopBackground(env);
    bg = undefined;
  }
  let hops = await collectStatus(plan, { timeoutMs: 3000, env });
  let record = bg?.running ? bg.record : undefined;
  let started = false;
  const down = hops.filter((h) => !h.up);
  if (down.length && !record) {
    const local = down.filter((h) => isLoopback(h.host));
    if (local.length === 0) throw new VerifyError(`Not answering: ${down.map(hopName).join(', ')}; aider-mlx only starts servers on this machine.`, 'Start them where they run, then try again (`aider-mlx status` shows each one).');
    record = await startBackground(env, { standIn: o.standIn ?? false, timeoutSec });
    started = true;
    say(`Started aider-mlx serve in the background (pid ${record.pid}); its log: ${tildify(record.log, env)}`);
  }
  const deadline = Date.now() + timeoutSec * 1000;
  let last = '';
  while (!hops.every((h) => h.up)) {
    if (o.signal?.aborted) throw new AppError('Cancelled while waiting for the servers.', 'They keep starting in the background: `aider-mlx status` shows them, `aider-mlx stop` stops them.');
    if (record && !alive(record.pid)) {
      throw new VerifyError(
        `aider-mlx serve stopped before everything answered (${hops.filter((h) => !h.up).map(hopName).join(', ')} down). Its log says:\n  ${await logTail(record.log)}`,
        `The whole log: ${tildify(record.log, env)}; \`aider-mlx doctor\` says what is wrong.`,
      );
    }
    if (Date.now() > deadline) {
      throw new VerifyError(`Not answering after ${timeoutSec} s: ${hops.filter((h) => !h.up).map(hopName).join(', ')}.`, `${record ? `The log: ${tildify(record.log, env)}. ` : ''}Allow more time with --timeout, or run \`aider-mlx doctor\`.`);
    }
    const waiting = `waiting for ${hops.filter((h) => !h.up).map(hopName).join(', ')}`;
    if (waiting !== last) say(`${waiting}…`);
    last = waiting;
    await new Promise((r) => setTimeout(r, 500));
    hops = await collectStatus(plan, { timeoutMs: 3000, env });
  }
  // Listening is not answering: every model server gets a real 1-token completion.
  for (const m of servedModels(plan)) {
    for (const d of m.deployments) {
      const r = await waitForChat(apiBase(d), m.upstream, { timeoutMs: Math.max(5000, deadline - Date.now()), intervalMs: 1000, ...(o.signal ? { signal: o.signal } : {}) });
      if (!r.ok) throw new VerifyError(`${m.roles.join(' + ')} on ${d.host}:${d.port} is up but did not answer a completion: ${r.error?.message ?? `HTTP ${r.status}`}.`, 'Run `aider-mlx doctor`.');
      say(`✓ ${m.roles.join(' + ')}: ${m.model} on ${d.host}:${d.port} answered (${Math.round(r.latencyMs)} ms)`);
    }
  }
  if (plan.mode === 'proxy') say(`✓ proxy on ${plan.proxy.host}:${plan.proxy.port} serves ${servedModels(plan).map((m) => m.modelName).join(', ')}`);
  return { ...(record ? { background: record } : {}), started };
}

/** Where Aider runs and with which arguments, for the files the plan wrote. */
export function aiderInvocation(plan: Plan, env: Env, cwd: string, extra: string[]): { cwd: string; args: string[] } {
  if (plan.aider.scope === 'profile') return { cwd, args: [...profileArgs(configPaths(env).profile), ...extra] };
  if (plan.aider.scope === 'project') return { cwd: plan.aider.dir, args: extra };
  return { cwd, args: extra };
}

export function findAider(env: Env): string {
  const bin = which('aider', toolEnv(env));
  if (!bin) throw new UsageError('aider is not installed (not found on PATH).', 'Install it: `npx aider-mlx install aider`.');
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
  if (!plan) throw new UsageError(`No plan yet at ${tildify(configPaths(env).plan, env)}.`, 'Run `npx aider-mlx setup` first.');
  const bin = findAider(env);
  await ensureRunning(plan, { env, standIn: values['stand-in'] ?? false, timeoutSec, say: (l) => io.err(`${l}\n`) });
  const how = aiderInvocation(plan, env, io.cwd, extra);
  io.err(`Starting aider in ${tildify(how.cwd, env)} (the servers stay up in the background: \`aider-mlx stop\` stops them)\n`);
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
