/**
 * The built CLI in a pseudo-terminal (python3's pty module, bridge.py), with every byte it writes
 * kept: for tests of what reaches the terminal, escape sequences included. tmux shows the screen;
 * this shows the stream.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BIN } from './tmux.js';

const BRIDGE = join(import.meta.dirname, 'bridge.py');

export function python3Available(): boolean {
  return spawnSync('python3', ['-c', 'import pty, termios'], { stdio: 'ignore' }).status === 0;
}

export interface ByteRun {
  /** Everything written so far, as bytes. */
  bytes(): Buffer;
  /** The same, decoded. */
  text(): string;
  /** Bytes to the terminal, as typed keys: '\r' is Enter, '\x03' Ctrl-C. */
  send(keys: string): void;
  /** Resolves with the text once `what` appears after `from` (an index into text()). */
  waitFor(what: string | RegExp, o?: { timeoutMs?: number; from?: number }): Promise<string>;
  /** Resolves once the output has ended with a prompt and stayed so: the CLI waits for an answer. */
  waitForPrompt(timeoutMs?: number): Promise<'prompt' | 'exited'>;
  exited: Promise<number>;
  stop(): void;
}

/** What a line prompt ends with: `Choose [1]: `, `[Y/n] `, `[y/N] `, `value [default]: `, `Name: `. */
const PROMPT_END = /(\[[Yy]\/[Nn]\] |: )$/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startBytes(args: string[], o: { env: Record<string, string>; cwd: string; cols?: number; rows?: number }): ByteRun {
  // env -i: the CLI sees exactly o.env (no CI from the test runner).
  const child = spawn(
    'python3',
    [BRIDGE, String(o.cols ?? 100), String(o.rows ?? 30), '--', '/usr/bin/env', '-i', ...Object.entries(o.env).map(([k, v]) => `${k}=${v}`), process.execPath, BIN, ...args],
    { cwd: o.cwd, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const chunks: Buffer[] = [];
  let total = Buffer.alloc(0);
  let changedAt = Date.now();
  child.stdout.on('data', (b: Buffer) => {
    chunks.push(b);
    total = Buffer.concat(chunks);
    changedAt = Date.now();
  });
  let done = false;
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => {
      done = true;
      resolve(code ?? (signal ? 128 : 1));
    }),
  );
  const text = () => total.toString('utf8');
  return {
    bytes: () => total,
    text,
    send(keys) {
      child.stdin.write(keys);
    },
    async waitFor(what, w = {}) {
      const until = Date.now() + (w.timeoutMs ?? 30_000);
      for (;;) {
        const t = text().slice(w.from ?? 0);
        if (typeof what === 'string' ? t.includes(what) : what.test(t)) return text();
        if (done || Date.now() > until) throw new Error(`pty: ${done ? 'exited' : 'timed out'} waiting for ${String(what)}; output:\n${text().slice(-3000)}`);
        await sleep(50);
      }
    },
    async waitForPrompt(timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        if (done) return 'exited';
        if (PROMPT_END.test(text()) && Date.now() - changedAt > 250) return 'prompt';
        if (Date.now() > until) throw new Error(`pty: no prompt within ${timeoutMs} ms; output:\n${text().slice(-3000)}`);
        await sleep(50);
      }
    },
    exited,
    stop() {
      if (!done) child.kill('SIGKILL');
    },
  };
}

/** Bytes a plain terminal shows as they are: printable text, newlines (the pty's \r\n), nothing else. */
export function nonPlainBytes(b: Buffer): string[] {
  const bad: string[] = [];
  const s = b.toString('utf8');
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0a) continue;
    if (c === 0x0d && s[i + 1] === '\n') continue;
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0) || c === 0xfffd) bad.push(`${JSON.stringify(s[i])} at ${i}: …${JSON.stringify(s.slice(Math.max(0, i - 40), i + 20))}`);
  }
  return bad;
}
