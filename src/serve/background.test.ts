/**
 * A background serve that stopped (a crash, a kill -9) while servers the wizard handed to it still
 * run: `status` says so, and the next background serve keeps them in its record, so `stop` still
 * stops them instead of leaving them running unowned with their model in memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundLine } from '../commands/status.js';
import { backgroundPaths, commandLineOf, readBackground, startBackground, stopBackground } from './background.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function home() {
  const dir = mkdtempSync(join(tmpdir(), 'aider-mlx-bg-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { HOME: dir, XDG_CONFIG_HOME: join(dir, '.config'), XDG_DATA_HOME: join(dir, '.local', 'share'), XDG_CACHE_HOME: join(dir, '.cache'), PATH: process.env.PATH };
}

/** A long-lived process in its own group, as a handed-over server is. */
async function server(): Promise<{ child: ChildProcess; command: string }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'mlx_lm.server-stand-in'], { detached: true, stdio: 'ignore' });
  cleanups.push(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  let command: string | undefined;
  for (let i = 0; i < 50 && !command?.includes('stand-in'); i++) {
    await new Promise((r) => setTimeout(r, 20));
    command = await commandLineOf(child.pid!);
  }
  return { child, command: command! };
}

/** A pid that is not running any more. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => c.on('exit', r));
  return c.pid!;
}

const aliveNow = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('servers handed to a background serve that stopped', () => {
  it('status names them; the next background serve keeps them in its record, and stop stops them', async () => {
    const env = home();
    const s = await server();
    const paths = backgroundPaths(env);
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(
      paths.pidFile,
      JSON.stringify({
        pid: await deadPid(),
        since: new Date().toISOString(),
        log: paths.log,
        standIn: true,
        planDigest: 'x',
        argv: ['node', 'aider-mlx.js', 'serve'],
        handedOver: [
          { pid: s.child.pid, command: s.command, port: 41001 },
          // Its pid is alive but is another program now: not a server of ours any more.
          { pid: process.pid, command: 'mlx_lm.server --model gone --port 41002', port: 41002 },
        ],
      }),
    );

    const before = (await readBackground(env))!;
    expect(before.running).toBe(false);
    expect(before.leftRunning?.map((h) => h.pid)).toEqual([s.child.pid]);
    const line = backgroundLine(before, env)!;
    expect(line).toContain('no longer running, but the server handed to it still run');
    expect(line).toContain(`port 41001, pid ${s.child.pid}`);
    expect(line).toContain('stop` stops them');

    // A new background serve (here it finds no plan and exits: its record is what counts).
    const record = await startBackground(env, { standIn: true });
    expect(record.handedOver?.map((h) => h.pid)).toEqual([s.child.pid]);
    expect((await readBackground(env))?.record.handedOver?.map((h) => h.port)).toEqual([41001]);

    await stopBackground(env);
    for (let i = 0; i < 100 && aliveNow(s.child.pid!); i++) await new Promise((r) => setTimeout(r, 50));
    expect(aliveNow(s.child.pid!)).toBe(false);
    expect(aliveNow(process.pid)).toBe(true);
  }, 30_000);
});
