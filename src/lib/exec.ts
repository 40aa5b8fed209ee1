import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import { StringDecoder } from 'node:string_decoder';
import type { Env } from './paths.js';
import { envSecrets, lineRedactor } from './redact.js';

/**
 * The watchdog: one tiny process per aider-mlx run, in its own session, reading a pipe from us.
 * Each service's process group (and each scratch folder) is registered on it; when the pipe
 * closes (we exited, were killed with SIGKILL, or died with the terminal) it sends SIGTERM to
 * every group still registered, SIGKILL after a grace period, and removes the folders. So nothing
 * we start outlives us, however we end.
 */
const WATCHDOG_SRC = `
const fs = require('node:fs');
const groups = new Set(), paths = new Set();
let rest = '';
process.stdin.on('data', (c) => {
  const lines = (rest + c).split('\\n');
  rest = lines.pop();
  for (const l of lines) {
    const [op, ...v] = l.split(' ');
    const arg = v.join(' ');
    if (op === 'pg') groups.add(Number(arg));
    else if (op === 'unpg') groups.delete(Number(arg));
    else if (op === 'rm') paths.add(arg);
    else if (op === 'unrm') paths.delete(arg);
  }
});
const alive = (g) => { try { process.kill(-g, 0); return true; } catch { return false; } };
const kill = (g, s) => { try { process.kill(-g, s); } catch {} };
const clean = () => {
  for (const p of paths) { try { fs.rmSync(p, { recursive: true, force: true }); } catch {} }
  process.exit(0);
};
const end = () => {
  for (const g of groups) kill(g, 'SIGTERM');
  const t0 = Date.now();
  const tick = () => {
    const left = [...groups].filter(alive);
    if (left.length === 0) return clean();
    if (Date.now() - t0 > 3000) { for (const g of left) kill(g, 'SIGKILL'); return setTimeout(clean, 100); }
    setTimeout(tick, 50);
  };
  tick();
};
process.stdin.on('end', end);
process.stdin.on('error', end);
for (const s of ['SIGINT', 'SIGHUP', 'SIGTERM']) process.on(s, end);
`;

let dog: ChildProcess | undefined;
let dogFailed = false;

function watchdog(): ChildProcess | undefined {
  if (dogFailed) return undefined;
  if (!dog) {
    try {
      dog = spawn(process.execPath, ['-e', WATCHDOG_SRC], { stdio: ['pipe', 'ignore', 'ignore'], detached: true, env: {} });
    } catch {
      dogFailed = true;
      return undefined;
    }
    dog.on('error', () => {
      dogFailed = true;
    });
    dog.stdin?.on('error', () => undefined);
    dog.unref();
    (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }
  return dog;
}

/** Send one line to the watchdog; `done` runs once the line is in the pipe (or there is no watchdog). */
function tell(line: string, done?: () => void): void {
  const d = watchdog();
  if (!d?.stdin || dogFailed) {
    done?.();
    return;
  }
  // The callback comes once the line was handed to the kernel: from then on our death cannot lose it.
  d.stdin.write(`${line}\n`, () => done?.());
}

/** From now until `unguard`, the process group `pgid` is killed if this process ends. */
export function guardGroup(pgid: number, done?: () => void): void {
  tell(`pg ${pgid}`, done);
}
export function unguardGroup(pgid: number): void {
  if (dog) tell(`unpg ${pgid}`);
}
/** The folder is removed if this process ends before `unguardPath` (scratch files with secrets). */
export function guardPath(path: string): void {
  if (!path.includes('\n')) tell(`rm ${path}`);
}
export function unguardPath(path: string): void {
  if (dog && !path.includes('\n')) tell(`unrm ${path}`);
}

/** The one place that spawns processes: argument arrays only, never a shell string. */
export async function run(
  cmd: string,
  args: string[],
  opts: { env?: Env; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa(cmd, args, {
    env: opts.env as NodeJS.ProcessEnv | undefined,
    extendEnv: opts.env === undefined,
    cwd: opts.cwd,
    timeout: opts.timeoutMs,
    reject: false,
    stdin: 'ignore',
  });
  return { code: r.exitCode ?? (r.failed ? 1 : 0), stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/**
 * Every service starts behind a gate: a fixed `sh` script that waits for one line on its stdin and
 * only then execs the real command (its arguments pass as "$@", never parsed by the shell; stdin
 * becomes /dev/null again). We send that line once the service's process group is registered
 * with the watchdog. Without the gate, the child already runs while we are still between
 * spawn() and the registration (execa's set-up after the fork takes milliseconds, tens under
 * load): a SIGKILL landing there left a rank nobody knew of. With it, dying before the line
 * closes the pipe, `read` fails and the gate exits without starting anything.
 */
const GATE = 'read -r go || exit 125; exec "$@" </dev/null';

/**
 * Start a long-running child in its own process group; the caller stops it (the whole group dies
 * with SIGTERM then SIGKILL). If this process ends first, in any way, the watchdog stops it.
 */
export function spawnService(
  cmd: string,
  args: string[],
  opts: {
    env?: Env;
    cwd?: string;
    onLine?: (line: string) => void;
    /**
     * Its output goes to this file (appended, 0600) instead of a pipe, and is read back from it for
     * `onLine`: the process can then outlive us (`release`) without writing into a closed pipe.
     */
    logFile?: string;
  },
): { child: ResultPromise; stop: () => Promise<void>; release: () => void } {
  // The watchdog first, so it is up (and its pipe open) before anything of ours runs.
  watchdog();
  const fd = opts.logFile ? openSync(opts.logFile, 'a', 0o600) : undefined;
  // Only what this start writes is read back (the file may hold earlier runs).
  const logStart = fd === undefined ? 0 : fstatSync(fd).size;
  let child: ResultPromise;
  try {
    child = execa('/bin/sh', ['-c', GATE, 'aider-mlx-gate', cmd, ...args], {
      env: opts.env as NodeJS.ProcessEnv | undefined,
      extendEnv: opts.env === undefined,
      cwd: opts.cwd,
      reject: false,
      stdin: 'pipe',
      // A file descriptor, not execa's `{ file }` (which pipes through us): the child writes the file itself.
      ...(fd === undefined ? { all: true as const } : ({ stdout: fd, stderr: fd } as unknown as { stdout: 'ignore'; stderr: 'ignore' })),
      detached: true,
      buffer: false,
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  child.stdin?.on('error', () => undefined);
  const pid = child.pid;
  if (pid !== undefined) {
    guardGroup(pid, () => child.stdin?.end('go\n'));
    // The leader is gone: whatever it left in its group goes too, then the watchdog forgets it.
    const reaped = () => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* nothing left */
      }
      unguardGroup(pid);
    };
    void child.then(reaped, reaped);
  } else {
    child.stdin?.end();
  }
  let untail = () => undefined as void;
  if (opts.onLine && child.all) {
    // Whole lines only, each redacted (a key the child prints may come in two chunks).
    const lines = lineRedactor(opts.onLine, envSecrets((opts.env ?? process.env) as Record<string, string | undefined>));
    const utf8 = new StringDecoder('utf8');
    child.all.on('data', (chunk: Buffer) => lines.write(utf8.write(chunk)));
    child.all.on('end', () => {
      lines.write(utf8.end());
      lines.end();
    });
  } else if (opts.onLine && opts.logFile) {
    untail = tailFile(opts.logFile, lineRedactor(opts.onLine, envSecrets((opts.env ?? process.env) as Record<string, string | undefined>)), child, logStart);
  }
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* already gone */
      }
    };
    killGroup('SIGTERM');
    const timer = setTimeout(() => killGroup('SIGKILL'), 5000);
    await child.catch(() => undefined);
    clearTimeout(timer);
  };
  // From now on it is not ours: the watchdog forgets it and its log is no longer read.
  const release = () => {
    untail();
    if (pid !== undefined) unguardGroup(pid);
    // Nor does it keep us alive.
    child.unref();
  };
  return { child, stop, release };
}

/** Read what is appended to `path` (from `from`) into `lines` until the child exits or `untail`. */
function tailFile(path: string, lines: { write(s: string): void; end(): void }, child: Promise<unknown>, from: number): () => void {
  let fd: number | undefined;
  let pos = from;
  try {
    fd = openSync(path, 'r');
  } catch {
    return () => undefined;
  }
  const utf8 = new StringDecoder('utf8');
  const buf = Buffer.alloc(64 * 1024);
  const drain = () => {
    if (fd === undefined) return;
    for (;;) {
      let n = 0;
      try {
        n = readSync(fd, buf, 0, buf.length, pos);
      } catch {
        return;
      }
      if (n <= 0) return;
      pos += n;
      lines.write(utf8.write(buf.subarray(0, n)));
    }
  };
  const timer = setInterval(drain, 150);
  timer.unref();
  let done = false;
  const stop = () => {
    if (done) return;
    done = true;
    clearInterval(timer);
    drain();
    lines.write(utf8.end());
    lines.end();
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  void child.then(stop, stop);
  return stop;
}

export { which } from './which.js';
