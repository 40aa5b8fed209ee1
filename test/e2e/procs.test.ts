/**
 * setup and the processes it starts: a proxy port held by someone else stops setup (nothing
 * written); the scratch LiteLLM dies with setup however setup ends (SIGKILL, SIGHUP) and leaves no
 * copy of the config (master key) behind.
 */
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeMlxServer, type FakeMlxServer } from '../../src/servers/fake-mlx-server.js';
import { connectable, findFreePort, isPortFree } from '../../src/servers/ports.js';
import { BIN, cli, flat, sandbox, withFakeLitellm, type Sandbox } from './helpers.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
let editor: FakeMlxServer;

beforeAll(async () => {
  editor = await startFakeMlxServer({ model: EDITOR });
});
afterAll(async () => {
  await editor.close();
});

const written = (s: Sandbox) => ({
  plan: existsSync(join(s.config, 'plan.yaml')),
  litellm: existsSync(join(s.config, 'litellm.yaml')),
  conf: existsSync(join(s.repo, '.aider.conf.yml')),
  settings: existsSync(join(s.repo, '.aider.model.settings.yml')),
  metadata: existsSync(join(s.repo, '.aider.model.metadata.json')),
});
const NOTHING = { plan: false, litellm: false, conf: false, settings: false, metadata: false };

/** A plain TCP listener (not HTTP, like an SSH server): the kind of holder that answers nothing. */
async function squat(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((c) => {
    sockets.add(c);
    c.on('error', () => undefined);
    c.write('SSH-2.0-OpenSSH_9.6\r\n');
    c.on('close', () => sockets.delete(c));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () =>
      new Promise((r) => {
        for (const c of sockets) c.destroy();
        srv.close(() => r());
      }),
  };
}

describe('setup when the proxy port is held by another program', () => {
  for (const withLitellm of [true, false]) {
    it(`refuses (exit 2), names the holder and a free port, writes nothing${withLitellm ? '' : ' (litellm not installed)'}`, async () => {
      const s = sandbox();
      const held = await squat();
      try {
        const env = withLitellm ? withFakeLitellm(s) : s.env;
        const r = await cli(['setup', '--yes', '--mode', 'proxy', '--editor', EDITOR, '--editor-port', String(editor.port), '--proxy-port', String(held.port), '--timeout', '5'], { cwd: s.repo, env });
        expect(r.stderr).not.toMatch(/Unexpected|\n\s+at /);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`Port ${held.port}, the proxy's port, is held by`);
        // lsof names the holder: this test process.
        expect(r.stderr).toContain(`pid ${process.pid}`);
        const free = Number(/--proxy-port (\d+)/.exec(r.stderr)?.[1]);
        expect(free).toBeGreaterThan(0);
        expect(free).not.toBe(held.port);
        expect(await isPortFree('127.0.0.1', free)).toBe(true);
        expect(r.stdout).not.toMatch(/✓ proxy/);
        expect(written(s)).toEqual(NOTHING);
      } finally {
        await held.close();
      }
    });
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie nobody reaps yet (no init in a container) is dead for our purpose.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return process.platform !== 'linux';
  }
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("setup's scratch LiteLLM dies with setup", () => {
  for (const sig of ['SIGKILL', 'SIGHUP'] as const) {
    it(`${sig} to setup while LiteLLM is checked: LiteLLM and its child are gone, no config copy left`, async () => {
      const s = sandbox();
      const tmp = join(s.root, 'tmp');
      mkdirSync(tmp);
      const pidFile = join(s.root, 'litellm.pids');
      const env = withFakeLitellm(s, { TMPDIR: tmp, FAKE_LITELLM_PIDS: pidFile, FAKE_LITELLM_MODE: 'hang' });
      const proxyPort = await findFreePort('127.0.0.1', undefined, { avoid: [editor.port] });
      const child = spawn(process.execPath, [BIN, 'setup', '--yes', '--mode', 'proxy', '--editor', EDITOR, '--editor-port', String(editor.port), '--proxy-port', String(proxyPort), '--timeout', '60'], {
        cwd: s.repo,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      try {
        await until('the litellm child and its worker', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim().split('\n').length >= 2, 30_000);
        const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
        // It is up: listening on the plan's port (free before), with the scratch config.
        await until('litellm to listen', async () => !(await isPortFree('127.0.0.1', proxyPort)), 10_000);
        child.kill(sig);
        const code = await closed;
        // A hangup is handled like Ctrl-C: cancelled cleanly (SIGKILL cannot be handled).
        if (sig === 'SIGHUP') {
          expect(code).toBe(130);
          expect(out).toContain('Cancelled.');
        }
        await until(`litellm (${pids.join(', ')}) to exit`, () => pids.every((p) => !alive(p)), 8000);
        // The port is released a moment after the process is gone: poll, bounded.
        let free = false;
        for (let i = 0; i < 40 && !(free = await isPortFree('127.0.0.1', proxyPort)); i++) await new Promise((r) => setTimeout(r, 100));
        expect(free).toBe(true);
        const scratch = join(s.home, '.local/share/aider-mlx/run/scratch');
        await until('the scratch config to be removed', () => !existsSync(scratch) || readdirSync(scratch).length === 0, 5000);
        expect(readdirSync(tmp).filter((n) => n.startsWith('aider-mlx-proxy-'))).toEqual([]);
        expect(written(s)).toEqual(NOTHING);
      } finally {
        child.kill('SIGKILL');
        if (existsSync(pidFile)) for (const p of readFileSync(pidFile, 'utf8').trim().split('\n').map(Number)) if (alive(p)) process.kill(p, 'SIGKILL');
      }
    }, 60_000);
  }
});

describe('scratch configs a killed run left behind', () => {
  it('the next setup removes them: ours of a dead process, and old ones in the temp folder', async () => {
    const s = sandbox();
    const tmp = join(s.root, 'tmp');
    let dead = 4_000_000;
    while (alive(dead)) dead--;
    const ours = join(s.home, '.local/share/aider-mlx/run/scratch', `proxy-check-${dead}-abc123`);
    const old = join(tmp, 'aider-mlx-proxy-Xy12Zq');
    for (const d of [ours, old]) {
      mkdirSync(d, { recursive: true, mode: 0o700 });
      writeFileSync(join(d, 'litellm.yaml'), 'general_settings:\n  master_key: sk-aider-mlx-leftover\n', { mode: 0o600 });
    }
    const env = withFakeLitellm(s, { TMPDIR: tmp });
    const proxyPort = await findFreePort('127.0.0.1', undefined, { avoid: [editor.port] });
    const r = await cli(['setup', '--yes', '--mode', 'proxy', '--editor', EDITOR, '--editor-port', String(editor.port), '--proxy-port', String(proxyPort), '--timeout', '3'], { cwd: s.repo, env });
    expect(r.stdout).toMatch(/proxy/); // the LiteLLM check ran (the stand-in fails it: no matter here)
    expect(existsSync(ours)).toBe(false);
    expect(existsSync(old)).toBe(false);
  });
});

/** Where the kernel lets anyone bind (Linux sysctl); 1024 elsewhere. */
function unprivilegedStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
  } catch {
    return 1024;
  }
}

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  if (statSync(path).isDirectory()) for (const n of readdirSync(path)) chownTree(join(path, n), uid);
}

describe('setup on a port below 1024 it may not bind', () => {
  // As root nothing is refused: run the CLI as nobody. macOS lets anyone bind low ports: nothing to test.
  const asNobody = process.getuid?.() === 0;
  it.skipIf(unprivilegedStart() < 1000 || process.platform === 'darwin')('refuses with the reason (exit 2) and writes nothing', async () => {
    let port = 0;
    for (let p = 999; p > 900 && !port; p--) if (!(await connectable('127.0.0.1', p))) port = p;
    expect(port).toBeGreaterThan(0);
    const s = sandbox();
    if (asNobody) chownTree(s.root, 65534);
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'setup', '--yes', '--mode', 'proxy', '--editor', EDITOR, '--editor-port', String(port), '--timeout', '3'], {
        cwd: s.repo,
        env: s.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(asNobody ? { uid: 65534, gid: 65534 } : {}),
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(r.out).not.toMatch(/Unexpected|\n\s+at /);
    expect(r.code).toBe(2);
    expect(flat(r.out)).toContain(`--editor-port ${port}: permission denied: ports below 1024 need root; choose a port ≥ 1024.`);
    expect(written(s)).toEqual(NOTHING);
  });
});
