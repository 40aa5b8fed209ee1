/**
 * The built CLI in a real pseudo-terminal (Python's `pty` module: a tiny relay), its raw output fed
 * byte for byte into a headless xterm.js of the same size: what a person would see, frame by frame.
 * Keys go in as raw bytes (one write per call: a paste is one write); a resize changes the pty and
 * the emulator together.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import xterm from '@xterm/headless';
import { rm } from 'node:fs/promises';
import { afterEach, describe } from 'vitest';
import { BIN } from './tmux.js';

const { Terminal } = xterm;

export function ptyAvailable(): boolean {
  return spawnSync('python3', ['-c', 'import pty, termios, fcntl']).status === 0;
}

// The relay: fork the command on a new pty of the given size; master → stdout, stdin → master,
// lines "rows cols" on fd 3 resize the pty (the kernel sends SIGWINCH); exits with the child's code.
const RELAY = String.raw`
import os, pty, sys, select, struct, fcntl, termios, errno
rows, cols = int(sys.argv[1]), int(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execvp(sys.argv[3], sys.argv[3:])
ins = [fd, 0, 3]
ctl = b''
while True:
    try:
        r, _, _ = select.select(ins, [], [])
    except InterruptedError:
        continue
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            data = b''
        if not data:
            break
        while data:
            data = data[os.write(1, data):]
    if 0 in r:
        data = os.read(0, 65536)
        if data:
            while data:
                data = data[os.write(fd, data):]
        else:
            ins.remove(0)
    if 3 in r:
        data = os.read(3, 4096)
        if not data:
            ins.remove(3)
        ctl += data
        while b'\n' in ctl:
            line, ctl = ctl.split(b'\n', 1)
            r2, c2 = map(int, line.split())
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', r2, c2, 0, 0))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, 'waitstatus_to_exitcode') else (status >> 8))
`;

export const KEY = {
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  home: '\x1b[H',
  end: '\x1b[F',
  del: '\x1b[3~',
  backspace: '\x7f',
  enter: '\r',
  esc: '\x1b',
} as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Emulated {
  marker: string;
  /** Every byte the CLI wrote, as received. */
  raw(): string;
  /** The visible rows of the emulator (viewport only), right-trimmed. */
  screen(): string[];
  /**
   * The visible rows (`all`: the whole buffer), each with whether the terminal wrapped the row
   * above onto it (a line too long for the width).
   */
  rows(o?: { all?: boolean }): Array<{ text: string; wrapped: boolean }>;
  /** The whole buffer: scrollback and viewport. */
  all(): string[];
  /** One write to the pty: a key, or a paste. */
  write(bytes: string): void;
  /** Wait until `what` is on the visible screen. */
  waitFor(what: string | RegExp, timeoutMs?: number): Promise<string[]>;
  /** Wait until no output has arrived for `quietMs` (and the emulator has parsed it all). */
  settle(quietMs?: number, timeoutMs?: number): Promise<string[]>;
  resize(cols: number, rows: number): Promise<void>;
  exited(timeoutMs?: number): Promise<number | null>;
  stop(): Promise<void>;
}

export async function startEmulated(args: string[], o: { env: Record<string, string>; cwd: string; cols: number; rows: number }): Promise<Emulated> {
  const marker = randomUUID();
  const env = { ...o.env, AIDER_MLX_PTY_RUN: marker, TERM: o.env.TERM ?? 'xterm-256color' };
  delete (env as Record<string, string | undefined>).CI;
  const term = new Terminal({ cols: o.cols, rows: o.rows, allowProposedApi: true, scrollback: 5000 });
  const child: ChildProcess = spawn('python3', ['-c', RELAY, String(o.rows), String(o.cols), process.execPath, BIN, ...args], {
    cwd: o.cwd,
    env,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  let lastData = Date.now();
  // Quiet is counted from the last key too: a key's answer takes a moment to come.
  let lastWrite = 0;
  let pending = 0;
  let code: number | null | undefined;
  const exit = new Promise<number | null>((res) => child.on('exit', (c) => res((code = c))));
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    raw += d;
    lastData = Date.now();
    pending++;
    term.write(d, () => pending--);
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));

  const lines = (from: number, to: number) => {
    const b = term.buffer.active;
    const out: string[] = [];
    for (let i = from; i < to; i++) out.push((b.getLine(i)?.translateToString(true) ?? '').replace(/\s+$/, ''));
    return out;
  };
  const screen = () => lines(term.buffer.active.viewportY, term.buffer.active.viewportY + term.rows);
  const dump = () => `screen (${term.cols}×${term.rows}):\n${screen().map((l) => `|${l}`).join('\n')}${stderr ? `\nrelay stderr: ${stderr}` : ''}`;

  return {
    marker,
    raw: () => raw,
    screen,
    rows: (o = {}) => {
      const b = term.buffer.active;
      const from = o.all ? 0 : b.viewportY;
      return lines(from, o.all ? b.length : from + term.rows).map((text, k) => ({ text, wrapped: Boolean(b.getLine(from + k)?.isWrapped) }));
    },
    all: () => lines(0, term.buffer.active.length),
    write(bytes) {
      lastWrite = Date.now();
      child.stdin!.write(bytes);
    },
    async waitFor(what, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        if (pending === 0) {
          const s = screen();
          const text = s.join('\n');
          if (typeof what === 'string' ? text.includes(what) : what.test(text)) return s;
        }
        if (Date.now() > until) throw new Error(`emulator: timed out after ${timeoutMs} ms waiting for ${String(what)}; ${dump()}`);
        if (code !== undefined) throw new Error(`emulator: the CLI exited (${code}) while waiting for ${String(what)}; ${dump()}`);
        await sleep(40);
      }
    },
    async settle(quietMs = 250, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        if (pending === 0 && Date.now() - Math.max(lastData, lastWrite) >= quietMs) return screen();
        if (Date.now() > until) throw new Error(`emulator: output never settled; ${dump()}`);
        await sleep(25);
      }
    },
    async resize(cols, rows) {
      lastWrite = Date.now();
      term.resize(cols, rows);
      child.stdio[3] && (child.stdio[3] as NodeJS.WritableStream).write(`${rows} ${cols}\n`);
      await sleep(50);
    },
    exited: async (timeoutMs = 20_000) =>
      Promise.race([exit, sleep(timeoutMs).then(() => Promise.reject(new Error(`emulator: the CLI did not exit within ${timeoutMs} ms; ${dump()}`)))]),
    async stop() {
      if (code === undefined) {
        child.kill('SIGTERM');
        await Promise.race([exit, sleep(3000)]);
      }
      term.dispose();
    },
  };
}

/**
 * A test file's emulated runs and their sandboxes (push onto `runs` and `roots`): each stopped and
 * removed after every test. `describePty` skips the file's tests where there is no pty.
 */
export function emulatedRuns(): { runs: Emulated[]; roots: string[]; describePty: typeof describe | typeof describe.skip } {
  const runs: Emulated[] = [];
  const roots: string[] = [];
  afterEach(async () => {
    for (const r of runs.splice(0)) await r.stop();
    for (const d of roots.splice(0)) await rm(d, { recursive: true, force: true });
  });
  return { runs, roots, describePty: ptyAvailable() ? describe : describe.skip };
}
