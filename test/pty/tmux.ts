/**
 * Runs the built CLI in a real pseudo-terminal: a tmux session on its own socket (never the user's
 * tmux), 80×24 by default. Keys go in with `send-keys`, the screen comes back with `capture-pane`.
 * CI is removed from the child's environment (the CLI would otherwise pick its non-interactive face).
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin', 'aider-mlx.js');

export function tmuxAvailable(): boolean {
  return spawnSync('tmux', ['-V']).status === 0;
}

function tmux(socket: string, args: string[]): Promise<string> {
  return new Promise((res, rej) =>
    execFile('tmux', ['-u', '-L', socket, ...args], { timeout: 10_000 }, (err, stdout) => (err ? rej(err) : res(String(stdout)))),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface PtyRun {
  /** Marks every process of this run (children inherit it): how leftovers are found. */
  marker: string;
  /** The visible screen (and `history` lines of scrollback above it). */
  screen(history?: number): Promise<string>;
  waitFor(what: string | RegExp, timeoutMs?: number, history?: number): Promise<string>;
  /** tmux key names: Enter, Escape, Up, Down, End, C-c, or literal text with `type`. */
  keys(...keys: string[]): Promise<void>;
  type(text: string): Promise<void>;
  /** The exit code, once the CLI has exited. */
  exited(timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startPty(
  args: string[],
  o: { env: Record<string, string>; cwd: string; cols?: number; rows?: number },
): Promise<PtyRun> {
  const socket = `aider-mlx-pty-${process.pid}-${randomUUID().slice(0, 8)}`;
  const dir = await mkdtemp(join(tmpdir(), 'aider-mlx-pty-'));
  const exitFile = join(dir, 'exit');
  const marker = randomUUID();
  const env = { ...o.env, AIDER_MLX_PTY_RUN: marker, TERM: o.env.TERM ?? 'xterm-256color' };
  const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  // The script runs inside the pty: a clean environment (no CI), then the CLI, then its exit code.
  // Like a login shell, the script outlives a Ctrl-C that reaches the CLI as SIGINT (the line face
  // leaves the terminal in line mode): the trap is reset to the default in the CLI itself.
  const script = [
    '#!/bin/sh',
    `cd ${q(o.cwd)} || exit 99`,
    `exec env -i ${Object.entries(env).map(([k, v]) => q(`${k}=${v}`)).join(' ')} sh -c ${q(`trap true INT; ${q(process.execPath)} ${q(BIN)} ${args.map(q).join(' ')}; echo $? > ${q(exitFile)}; sleep 600`)}`,
  ].join('\n');
  await writeFile(join(dir, 'run.sh'), script, { mode: 0o700 });
  await tmux(socket, ['-f', '/dev/null', 'new-session', '-d', '-x', String(o.cols ?? 80), '-y', String(o.rows ?? 24), join(dir, 'run.sh')]);
  await tmux(socket, ['set-option', '-g', 'history-limit', '5000']).catch(() => undefined);

  const screen = async (history = 0) => {
    const out = await tmux(socket, ['capture-pane', '-p', '-t', '0', ...(history ? ['-S', String(-history)] : [])]);
    return out.replace(/\s+$/gm, '');
  };
  return {
    marker,
    screen,
    async waitFor(what, timeoutMs = 15_000, history = 0) {
      const until = Date.now() + timeoutMs;
      let last = '';
      for (;;) {
        last = await screen(history).catch(() => last);
        if (typeof what === 'string' ? last.includes(what) : what.test(last)) return last;
        if (Date.now() > until) throw new Error(`pty: timed out after ${timeoutMs} ms waiting for ${String(what)}; screen:\n${last}`);
        await sleep(100);
      }
    },
    async keys(...keys) {
      for (const k of keys) {
        // A screen attaches its key handler just after its first frame; a human is never faster.
        await sleep(150);
        await tmux(socket, ['send-keys', '-t', '0', k]);
      }
      await sleep(150);
    },
    async type(text) {
      await sleep(150);
      await tmux(socket, ['send-keys', '-t', '0', '-l', text]);
      await sleep(100);
    },
    async exited(timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        if (existsSync(exitFile)) {
          const t = (await readFile(exitFile, 'utf8')).trim();
          if (t) return Number(t);
        }
        if (Date.now() > until) throw new Error(`pty: the CLI did not exit within ${timeoutMs} ms; screen:\n${await screen(50).catch(() => '')}`);
        await sleep(100);
      }
    },
    async stop() {
      await tmux(socket, ['kill-server']).catch(() => undefined);
      // tmux leaves the socket file of a killed server behind.
      await rm(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Processes (other than tmux's shell) that carry this run's marker: what a run left behind. */
export function processesWithMarker(marker: string): Array<{ pid: number; cmd: string; argv0: string }> {
  const out: Array<{ pid: number; cmd: string; argv0: string }> = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const environ = readFileSync(`/proc/${e}/environ`, 'utf8');
      if (!environ.includes(`AIDER_MLX_PTY_RUN=${marker}`)) continue;
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean);
      out.push({ pid: Number(e), cmd: argv.join(' '), argv0: argv[0] ?? '' });
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

/** The Node processes of the run (the CLI and the servers it started), not the wrapper's shell/sleep. */
export function nodeLeftovers(marker: string): Array<{ pid: number; cmd: string }> {
  return processesWithMarker(marker)
    .filter((p) => p.argv0 === process.execPath)
    .map(({ pid, cmd }) => ({ pid, cmd }));
}

export async function waitNoLeftovers(marker: string, timeoutMs = 8000): Promise<Array<{ pid: number; cmd: string }>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const left = nodeLeftovers(marker);
    if (!left.length || Date.now() > until) return left;
    await sleep(100);
  }
}
