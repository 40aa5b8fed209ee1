// Supervision against real processes: the stand-in mlx_lm.server (bin/aider-mlx.js fake-mlx-server),
// killed, frozen, or replaced on PATH by scripts that exit or never load.
import * as fs from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../config/plan.js';
import { packageRoot } from '../lib/paths.js';
import { launchMlxServer, type LaunchedServer } from '../servers/launch.js';
import { findFreePort, isPortFree } from '../servers/ports.js';
import { probeChat } from '../servers/probe.js';
import { startServing, type Serving } from './serve.js';
import type { SupervisorEvent, UnitStatus } from './supervisor.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const ARCHITECT = 'mlx-community/QwQ-32B-4bit';
const BIN = join(packageRoot(), 'bin', 'aider-mlx.js');
const FAST = { delaysMs: [100, 200], maxFailures: 3, stableMs: 60_000 };

let dir: string;
let serving: Serving | undefined;
const extra: LaunchedServer[] = [];
const holders: net.Server[] = [];
const sockets = new Set<net.Socket>();

beforeAll(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-serve-'));
});
afterEach(async () => {
  await serving?.stop();
  serving = undefined;
  await Promise.all(extra.splice(0).map((s) => s.stop()));
  for (const s of sockets) s.destroy();
  await Promise.all(holders.splice(0).map((h) => new Promise((r) => h.close(r))));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function plan(roles: Plan['roles'], mode: Plan['mode'] = 'direct'): Plan {
  return {
    version: 1,
    mode,
    roles,
    proxy: { host: '127.0.0.1', port: 4000 },
    requestTimeout: 600,
    aider: { scope: 'profile', dir: join(dir, 'profile') },
  };
}
const role = (model: string, ...ports: number[]) => ({ model, context: 8192, deployments: ports.map((port) => ({ host: '127.0.0.1', port })) });

async function ports(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await findFreePort('127.0.0.1', undefined, { avoid: out }));
  return out;
}

/** A folder with an `mlx_lm.server` script, put first on PATH. */
function fakeOnPath(name: string, body: string): Record<string, string | undefined> {
  const bin = join(dir, name);
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(join(bin, 'mlx_lm.server'), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}`, HOME: dir };
}

function recorder() {
  const events: SupervisorEvent[] = [];
  const states = (id?: string) =>
    events.flatMap((e) => (e.type === 'state' && (!id || e.unit.id === id) ? [`${e.unit.state}: ${e.unit.message}`] : []));
  const waitFor = async (pred: (u: UnitStatus) => boolean, timeoutMs = 20_000) => {
    const start = Date.now();
    let seen = events.length;
    for (;;) {
      for (; seen < events.length; seen++) {
        const e = events[seen]!;
        if (e.type === 'state' && pred(e.unit)) return e.unit;
      }
      if (Date.now() - start > timeoutMs) throw new Error(`timed out; states so far:\n${states().join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { events, states, waitFor, onEvent: (e: SupervisorEvent) => void events.push(e) };
}

describe('serve: start, adopt, stop', () => {
  it('starts every deployment, adopts a server already serving its model, and stops only what it started', async () => {
    const [a, b, c] = await ports(3);
    const adopted = launchMlxServer({ model: ARCHITECT, port: c!, kind: 'stand-in' });
    extra.push(adopted);
    expect((await adopted.ready({ timeoutMs: 15_000 })).ok).toBe(true);

    const rec = recorder();
    serving = await startServing(plan({ editor: role(EDITOR, a!, b!), architect: role(ARCHITECT, c!) }), {
      env: { ...process.env, HOME: dir }, kind: 'stand-in', readyTimeoutMs: 15_000, policy: FAST, onEvent: rec.onEvent, logDir: join(dir, 'logs'),
    });
    const byPort = new Map(serving.initial.map((u) => [u.port, u]));
    expect(byPort.get(a!)).toMatchObject({ state: 'ready', owned: true });
    expect(byPort.get(b!)).toMatchObject({ state: 'ready', owned: true });
    expect(byPort.get(c!)).toMatchObject({ state: 'adopted', owned: false });
    expect(byPort.get(c!)!.message).toMatch(/adopted the mlx_lm.server already serving it \(pid \d+\)/);
    for (const p of [a!, b!, c!]) expect((await probeChat(`http://127.0.0.1:${p}/v1`, 'default_model', { timeoutMs: 5000 })).ok).toBe(true);
    // Each started server logs to its own file.
    const log = fs.readFileSync(serving.logFiles.get(byPort.get(a!)!.id)!, 'utf8');
    expect(log).toMatch(/Starting httpd at 127\.0\.0\.1 on port \d+/);
    expect(log).toContain('"POST /v1/chat/completions HTTP/1.1" 200');

    await serving.stop();
    serving = undefined;
    expect(await isPortFree('127.0.0.1', a!)).toBe(true);
    expect(await isPortFree('127.0.0.1', b!)).toBe(true);
    expect((await probeChat(`http://127.0.0.1:${c}/v1`, 'default_model', { timeoutMs: 5000 })).ok).toBe(true);
  });

  it('reports a port held by something else, with what holds it, and starts nothing there', async () => {
    const [a, b] = await ports(2);
    const holder = net.createServer((s) => {
      s.on('error', () => undefined);
      s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi');
      sockets.add(s);
    });
    holders.push(holder);
    await new Promise<void>((r) => holder.listen(a, '127.0.0.1', r));
    const other = launchMlxServer({ model: 'mlx-community/other-model-4bit', port: b!, kind: 'stand-in' });
    extra.push(other);
    expect((await other.ready({ timeoutMs: 15_000 })).ok).toBe(true);

    serving = await startServing(plan({ editor: role(EDITOR, a!), architect: role(ARCHITECT, b!) }), {
      env: { ...process.env, HOME: dir }, kind: 'stand-in', readyTimeoutMs: 10_000, policy: FAST,
    });
    const [ed, arch] = serving.initial;
    expect(ed!.state).toBe('blocked');
    expect(ed!.message).toContain(`port ${a} is held by node (pid ${process.pid}`);
    expect(arch!.state).toBe('blocked');
    expect(arch!.message).toContain('an mlx_lm.server for another model (mlx-community/other-model-4bit)');
  });
});

describe('serve: supervision', () => {
  it('restarts a crashed server with backoff and says so', async () => {
    const [a] = await ports(1);
    const rec = recorder();
    serving = await startServing(plan({ editor: role(EDITOR, a!) }), {
      env: { ...process.env, HOME: dir }, kind: 'stand-in', readyTimeoutMs: 15_000, policy: FAST, checkEveryMs: 200, onEvent: rec.onEvent,
    });
    const first = serving.initial[0]!;
    expect(first.state).toBe('ready');
    process.kill(-first.pid!, 'SIGKILL');
    const backoff = await rec.waitFor((u) => u.state === 'backoff');
    expect(backoff.message).toMatch(/^crashed \(killed by a signal\); restarting in 100 ms \(1 of 3\)$/);
    const again = await rec.waitFor((u) => u.state === 'ready');
    expect(again.pid).not.toBe(first.pid);
    expect(again.message).toMatch(/ready in [\d.]+ s \(restart 1\)/);
    expect((await probeChat(`http://127.0.0.1:${a}/v1`, 'default_model', { timeoutMs: 5000 })).ok).toBe(true);
  });

  it('kills and restarts a server that stops answering (hung)', async () => {
    const [a] = await ports(1);
    const rec = recorder();
    serving = await startServing(plan({ editor: role(EDITOR, a!) }), {
      env: { ...process.env, HOME: dir }, kind: 'stand-in', readyTimeoutMs: 15_000, policy: FAST,
      checkEveryMs: 200, checkTimeoutMs: 300, hungAfter: 2, onEvent: rec.onEvent,
    });
    const first = serving.initial[0]!;
    process.kill(-first.pid!, 'SIGSTOP'); // alive, port open, answers nothing
    const backoff = await rec.waitFor((u) => u.state === 'backoff');
    expect(backoff.message).toMatch(/^stopped answering \(2 checks in a row\); restarting/);
    const again = await rec.waitFor((u) => u.state === 'ready');
    expect(again.pid).not.toBe(first.pid);
    expect(() => process.kill(first.pid!, 0)).toThrow(); // the frozen one is gone, not left behind
  });

  it('gives up on a server that exits at once, after the backoff, showing its last words', async () => {
    const [a] = await ports(1);
    const env = fakeOnPath('exits', `echo "ModuleNotFoundError: No module named 'mlx'" >&2\nexit 1`);
    const rec = recorder();
    const started = Date.now();
    serving = await startServing(plan({ editor: role(EDITOR, a!) }), { env, kind: 'mlx', readyTimeoutMs: 15_000, policy: FAST, onEvent: rec.onEvent });
    const u = serving.initial[0]!;
    expect(u.state).toBe('failed');
    expect(u.message).toMatch(/^exited while starting \(exit code 1\); gave up after 3 failures in a row — last output: .*No module named 'mlx'/);
    expect(rec.states().filter((s) => s.startsWith('backoff'))).toEqual([
      expect.stringMatching(/restarting in 100 ms \(1 of 3\)$/),
      expect.stringMatching(/restarting in 200 ms \(2 of 3\)$/),
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('restarts a server that never finishes loading, then gives up', async () => {
    const [a] = await ports(1);
    const env = fakeOnPath('loads-forever', `exec "${process.execPath}" "${BIN}" fake-mlx-server --loading-ms 600000 "$@"`);
    const rec = recorder();
    serving = await startServing(plan({ editor: role(EDITOR, a!) }), {
      env, kind: 'mlx', readyTimeoutMs: 1500, policy: { ...FAST, maxFailures: 2 }, onEvent: rec.onEvent,
    });
    const u = serving.initial[0]!;
    expect(u.state).toBe('failed');
    expect(u.message).toMatch(/^did not answer a completion: .*gave up after 2 failures/);
    expect(await isPortFree('127.0.0.1', a!)).toBe(true); // the loading ones were killed
  });

  it('says at once when mlx_lm.server is not installed, and does not retry', async () => {
    const [a] = await ports(1);
    const rec = recorder();
    serving = await startServing(plan({ editor: role(EDITOR, a!) }), {
      env: { HOME: dir, PATH: join(dir, 'empty-bin') }, kind: 'mlx', readyTimeoutMs: 5000, policy: FAST, onEvent: rec.onEvent,
    });
    expect(serving.initial[0]).toMatchObject({ state: 'failed', message: expect.stringMatching(/not installed/) });
    expect(rec.states().some((s) => s.startsWith('backoff'))).toBe(false);
  });
});
