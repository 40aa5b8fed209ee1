/**
 * `serve` in the background: a detached `aider-mlx serve --plain` whose output goes to a log file,
 * with a pid file beside it (~/.local/share/aider-mlx/serve.pid and serve.log, 0600 in a 0700
 * folder). `launch` and the wizard start it, `stop` stops it, `status` shows it. A pid is only ever
 * signalled when its command line is still the serve we started: never a process we did not start.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configPaths, packageRoot, type Env } from '../lib/paths.js';
import { ownedLocations } from '../service/locations.js';

export interface BackgroundRecord {
  pid: number;
  /** ISO time it was started. */
  since: string;
  log: string;
  standIn: boolean;
  /** sha256 of plan.yaml when it started: another digest now means it serves an older setup. */
  planDigest: string;
  /** What it runs (for the command-line check). */
  argv: string[];
  /**
   * Servers the wizard started, verified and handed over (each model loads once): the serve adopts
   * them, and `stop` stops them with it. Each one's process group and its command line then.
   */
  handedOver?: Array<{ pid: number; command: string; port: number }>;
}

export interface BackgroundState {
  record: BackgroundRecord;
  /** The process is alive and is still our serve. */
  running: boolean;
  /** When it is not: the servers handed to it that still run (the very processes), which `stop` stops. */
  leftRunning?: NonNullable<BackgroundRecord['handedOver']>;
}

export function backgroundPaths(env: Env): { dir: string; pidFile: string; log: string } {
  const dir = ownedLocations(env).data;
  return { dir, pidFile: join(dir, 'serve.pid'), log: join(dir, 'serve.log') };
}

export async function planDigest(env: Env): Promise<string> {
  const text = await readFile(configPaths(env).plan).catch(() => Buffer.from(''));
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** A command line that is `aider-mlx serve …` (bin/aider-mlx.js, an npx shim, or the bundle). */
export function isServeCommandLine(line: string | undefined): boolean {
  return Boolean(line && /aider-mlx(?:\.js)?\s+serve(?:\s|$)/.test(line));
}

/** `ps` where there is no /proc (macOS); the process runner loads only then. */
async function ps(args: string[]) {
  const { run } = await import('../lib/exec.js');
  return run('ps', args, { timeoutMs: 5000 }).catch(() => undefined);
}

/** The full command line of a pid, or undefined (gone, or not ours to see). */
export async function commandLineOf(pid: number): Promise<string | undefined> {
  const proc = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (proc !== undefined) return proc.split('\0').filter(Boolean).join(' ') || undefined;
  const r = await ps(['-o', 'command=', '-p', String(pid)]);
  const line = r?.code === 0 ? r.stdout.trim() : '';
  return line || undefined;
}

/** The parent pid of a pid (for "is this server a child of a serve?"). */
export async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat !== undefined) {
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
  }
  const r = await ps(['-o', 'ppid=', '-p', String(pid)]);
  const n = Number(r?.stdout.trim());
  return r?.code === 0 && Number.isInteger(n) && n > 0 ? n : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid file, and whether that serve still runs. Undefined: no pid file (or not one of ours). */
export async function readBackground(env: Env): Promise<BackgroundState | undefined> {
  const text = await readFile(backgroundPaths(env).pidFile, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let record: BackgroundRecord;
  try {
    record = JSON.parse(text) as BackgroundRecord;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(record?.pid) || record.pid <= 1) return undefined;
  const running = alive(record.pid) && isServeCommandLine(await commandLineOf(record.pid));
  const left = !running && record.handedOver?.length ? await stillHandedOver(record.handedOver) : [];
  return { record, running, ...(left.length ? { leftRunning: left } : {}) };
}

/**
 * Start `aider-mlx serve --plain` detached (its own session and process group, so it outlives this
 * command and the terminal), its output appended to the log. Resolves once the pid file is written.
 */
export async function startBackground(env: Env, o: { standIn?: boolean; timeoutSec?: number; handedOver?: BackgroundRecord['handedOver'] } = {}): Promise<BackgroundRecord> {
  const paths = backgroundPaths(env);
  // Servers handed to an earlier serve that stopped (a crash, a kill) and still run as they were:
  // this serve adopts them as it adopts any server answering its port, and its record keeps them,
  // so `stop` still stops them and they do not run on unowned, holding their model's memory.
  const before = await readBackground(env);
  const given = new Set((o.handedOver ?? []).map((h) => h.pid));
  const kept = (before?.leftRunning ?? []).filter((h) => !given.has(h.pid));
  const handedOver = [...(o.handedOver ?? []), ...kept];
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  await chmod(paths.dir, 0o700).catch(() => undefined);
  const argv = [process.execPath, join(packageRoot(), 'bin', 'aider-mlx.js'), 'serve', '--plain', ...(o.standIn ? ['--stand-in'] : []), ...(o.timeoutSec ? ['--timeout', String(o.timeoutSec)] : [])];
  const fd = openSync(paths.log, 'a', 0o600);
  await chmod(paths.log, 0o600).catch(() => undefined);
  const since = new Date().toISOString();
  writeSync(fd, `\n[aider-mlx ${since}] starting in the background: aider-mlx serve --plain${o.standIn ? ' --stand-in' : ''}\n`);
  let child;
  try {
    child = spawn(argv[0]!, argv.slice(1), {
      env: env as NodeJS.ProcessEnv,
      cwd: ownedLocations(env).data,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start `aider-mlx serve` in the background');
  child.unref();
  const record: BackgroundRecord = {
    pid, since, log: paths.log, standIn: Boolean(o.standIn), planDigest: await planDigest(env), argv,
    ...(handedOver.length ? { handedOver } : {}),
  };
  await writeFile(paths.pidFile, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
  await chmod(paths.pidFile, 0o600).catch(() => undefined);
  return record;
}

/** The handed-over servers that are still the very process they were (alive, same command line). */
async function stillHandedOver(list: NonNullable<BackgroundRecord['handedOver']>): Promise<NonNullable<BackgroundRecord['handedOver']>> {
  const same = await Promise.all(list.map(async (h) => Number.isInteger(h.pid) && h.pid > 1 && alive(h.pid) && (await commandLineOf(h.pid)) === h.command));
  return list.filter((_, i) => same[i]);
}

/** Whether the process group led by `pid` still has a member. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stop a serve we can vouch for: SIGTERM to its whole process group (it stops what it started),
 * SIGKILL after `graceMs`. Only when its command line is still `aider-mlx serve`.
 */
export async function stopServePid(pid: number, graceMs = 15_000): Promise<boolean> {
  if (!alive(pid) || !isServeCommandLine(await commandLineOf(pid))) return false;
  const signal = (s: NodeJS.Signals) => {
    try {
      // The background serve leads its own group; a serve in a terminal may not: then only it.
      process.kill(groupAlive(pid) ? -pid : pid, s);
    } catch {
      try {
        process.kill(pid, s);
      } catch {
        /* gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid) || groupAlive(pid)) {
    signal('SIGKILL');
    const end = Date.now() + 3000;
    while ((alive(pid) || groupAlive(pid)) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Stop the background serve (the pid file's); the pid file goes either way. */
export async function stopBackground(env: Env): Promise<{ stopped?: BackgroundRecord; stale?: BackgroundRecord }> {
  const state = await readBackground(env);
  if (!state) return {};
  const stopped = state.running ? await stopServePid(state.record.pid) : false;
  // What the wizard handed over: stopped too, when it is still the very process (same command line).
  await Promise.all((state.record.handedOver ?? []).map((h) => stopHandedOver(h)));
  await rm(backgroundPaths(env).pidFile, { force: true });
  return stopped ? { stopped: state.record } : { stale: state.record };
}

/** SIGTERM to a handed-over server's process group, SIGKILL after `graceMs`; only if it is still that server. */
export async function stopHandedOver(h: { pid: number; command: string }, graceMs = 10_000): Promise<boolean> {
  if (!Number.isInteger(h.pid) || h.pid <= 1 || !alive(h.pid) || (await commandLineOf(h.pid)) !== h.command) return false;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(groupAlive(h.pid) ? -h.pid : h.pid, s);
    } catch {
      /* gone */
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while ((alive(h.pid) || groupAlive(h.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(h.pid) || groupAlive(h.pid)) {
    signal('SIGKILL');
    const end = Date.now() + 3000;
    while ((alive(h.pid) || groupAlive(h.pid)) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * The serve aider-mlx runs that owns the process `pid` (a server on a port): the pid itself or one
 * of its parents is `aider-mlx serve`. Undefined when nothing of ours is behind it.
 */
export async function serveBehind(pid: number, env: Env): Promise<{ pid: number; background: boolean } | undefined> {
  const bg = await readBackground(env);
  // A server the wizard handed over to the background serve: that serve is behind it.
  if (bg?.running && bg.record.handedOver?.some((h) => h.pid === pid)) return { pid: bg.record.pid, background: true };
  let p: number | undefined = pid;
  for (let i = 0; p && p > 1 && i < 6; i++) {
    if (isServeCommandLine(await commandLineOf(p))) return { pid: p, background: Boolean(bg?.running && bg.record.pid === p) };
    p = await parentOf(p);
  }
  return undefined;
}
