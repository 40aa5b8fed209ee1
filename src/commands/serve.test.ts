import { selfCommand } from '../lib/paths.js';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from '../config/plan.js';
import { planToYaml } from '../config/plan-file.js';
import { configPaths, packageRoot, type Env } from '../lib/paths.js';
import { ownedLocations } from '../service/locations.js';
import { connectable, findFreePort, isPortFree } from '../servers/ports.js';
import { runServe } from './serve.js';

let home: string;
let env: Env;

beforeEach(() => {
  home = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-serve-cmd-'));
  env = { HOME: home, PATH: process.env.PATH };
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

async function writePlan(mode: Plan['mode']): Promise<number[]> {
  const a = await findFreePort('127.0.0.1');
  const b = await findFreePort('127.0.0.1', undefined, { avoid: [a] });
  const p = await findFreePort('127.0.0.1', undefined, { avoid: [a, b] });
  const plan: Plan = {
    version: 1,
    mode,
    roles: {
      editor: { model: 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', context: 8192, deployments: [{ host: '127.0.0.1', port: a }] },
      architect: { model: 'mlx-community/QwQ-32B-4bit', context: 8192, deployments: [{ host: '127.0.0.1', port: b }] },
    },
    proxy: { host: '127.0.0.1', port: p },
    requestTimeout: 600,
    aider: { scope: 'profile', dir: configPaths(env).profile },
  };
  fs.mkdirSync(configPaths(env).dir, { recursive: true });
  fs.writeFileSync(configPaths(env).plan, planToYaml(plan));
  return [a, b, p];
}

function io(stop: Promise<NodeJS.Signals> = new Promise(() => undefined)) {
  const o = { out: '', err: '' };
  return { o, io: { env, out: (s: string) => void (o.out += s), err: (s: string) => void (o.err += s), stopSignal: stop } };
}

describe('aider-mlx serve', () => {
  it('--once brings the plan up, prints one line per change and a summary, then stops what it started', async () => {
    const [a, b] = await writePlan('direct');
    const { o, io: i } = io();
    expect(await runServe(['--stand-in', '--once'], i)).toBe(0);
    expect(o.err).toMatch(new RegExp(`✓ editor \\+ weak 127\\.0\\.0\\.1:${a} \\(mlx-community/Qwen2\\.5-Coder-7B-Instruct-4bit\\): ready in [\\d.]+ s: answered in \\d+ ms \\(pid \\d+\\)`));
    expect(o.err).toContain('All 2 up.');
    // Each line says its state once ("starting", not "starting — starting").
    for (const l of o.err.split('\n')) expect(l, o.err).not.toMatch(/\b(\w+) — \1\b/);
    expect(o.err).toMatch(/: starting\n/);
    expect(o.err).toMatch(/: stopped\n/);
    // It has stopped them by the end: no "Ctrl-C stops …", no "code: …" as if they ran on.
    expect(o.err).not.toContain('Ctrl-C');
    expect(o.err).not.toContain('code: ');
    expect(o.err).toMatch(/log ~\/\.local\/share\/aider-mlx\/logs\/editor_weak_127\.0\.0\.1_\d+\.log/);
    expect(await isPortFree('127.0.0.1', a!)).toBe(true);
    expect(await isPortFree('127.0.0.1', b!)).toBe(true);
  });

  it('SIGTERM stops everything it started and exits 0; SIGINT exits 130', async () => {
    const [a] = await writePlan('direct');
    for (const [sig, code] of [['SIGTERM', 0], ['SIGINT', 130]] as const) {
      let send!: (s: NodeJS.Signals) => void;
      const { o, io: i } = io(new Promise((r) => (send = r)));
      const running = runServe(['--stand-in'], i);
      for (let t = 0; !o.err.includes('All 2 up.'); t++) {
        if (t > 300) throw new Error(o.err);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await isPortFree('127.0.0.1', a!)).toBe(false);
      // Still running: how to code now, and how to stop it.
      expect(o.err).toContain(`code: ${selfCommand()} aider`);
      expect(o.err).toContain('Ctrl-C stops what serve started');
      send(sig);
      expect(await running).toBe(code);
      expect(await isPortFree('127.0.0.1', a!)).toBe(true);
      expect(o.err).toContain('stopping what serve started');
    }
  });

  it('--json prints one JSON object per state change', async () => {
    await writePlan('direct');
    const { o, io: i } = io();
    await runServe(['--stand-in', '--once', '--json'], i);
    const events = o.out.trim().split('\n').map((l) => JSON.parse(l) as { state: string; label: string });
    expect(events.filter((e) => e.state === 'ready').map((e) => e.label).sort()).toEqual(["architect", "editor + weak"]);
  });

  it('proxy mode without litellm: the servers come up, the proxy says how to install it', async () => {
    await writePlan('proxy');
    fs.writeFileSync(configPaths(env).litellm, 'model_list: []\n', { mode: 0o600 }); // a key file: only its owner reads it
    env.PATH = '/usr/bin:/bin';
    const { o, io: i } = io();
    expect(await runServe(['--stand-in', '--once'], i)).toBe(1);
    expect(o.err).toContain(`: failed — litellm is not installed (not on PATH): ${selfCommand()} install litellm   (pinned;`);
    // The install command named once, not as `aider-mlx install litellm` and again as this copy's.
    const proxyLine = o.err.split('\n').find((l) => l.includes('✗ proxy'))!;
    expect(proxyLine.split('install litellm').length - 1, proxyLine).toBe(1);
    expect(o.err).toContain('2 of 3 up.');
    expect(o.err).not.toContain('Ctrl-C');
  });

  it('--verbose and the log files redact what the children print, line by line (L8)', async () => {
    await writePlan('direct');
    // An mlx_lm.server that prints keys, one of them split across two writes, then serves.
    const bin = join(home, 'fakebin');
    fs.mkdirSync(bin);
    fs.writeFileSync(
      join(bin, 'mlx_lm.server'),
      [
        '#!/bin/sh',
        "printf 'env: OPENAI_API_KEY=sk-openai-ENVSE'",
        'sleep 0.3',
        "printf 'CRET-0123456789abcdef HF_TOKEN=hf_ENVSECRETabcdefgh\\n'",
        "printf 'POST /v1 Authorization: Bearer ENVSECRET-bearer-0123456789\\n'",
        'echo "my service says $MY_SERVICE_TOKEN"',
        `exec "${process.execPath}" "${join(packageRoot(), 'bin', 'aider-mlx.js')}" fake-mlx-server "$@"`,
      ].join('\n') + '\n',
      { mode: 0o755 },
    );
    env.PATH = `${bin}:${process.env.PATH}`;
    env.MY_SERVICE_TOKEN = 'plainENVSECRETvalue';
    const { o, io: i } = io();
    expect(await runServe(['--verbose', '--once'], i)).toBe(0);
    expect(o.err).toContain('env: OPENAI_API_KEY=<redacted> HF_TOKEN=<redacted>');
    expect(o.err).toContain('Authorization: Bearer <redacted>');
    expect(o.err).toContain('my service says <redacted>');
    expect(o.err).not.toContain('ENVSECRET');
    const logs = ownedLocations(env).logs;
    const text = fs.readdirSync(logs).map((f) => fs.readFileSync(join(logs, f), 'utf8')).join('');
    expect(text).toContain('env: OPENAI_API_KEY=<redacted> HF_TOKEN=<redacted>');
    expect(text).not.toContain('ENVSECRET');
  });

  it('without a plan says to run setup', async () => {
    const { io: i } = io();
    await expect(runServe([], i)).rejects.toThrow(/No plan yet/);
  });
});

describe('aider-mlx serve on a port the server cannot bind', () => {
  /** A one-model direct plan on `port`, and an mlx_lm.server on PATH that fails to bind with `error`. */
  async function failingServer(port: number, error: string[]): Promise<void> {
    const plan: Plan = {
      version: 1,
      mode: 'direct',
      roles: { editor: { model: 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', context: 8192, deployments: [{ host: '127.0.0.1', port }] } },
      proxy: { host: '127.0.0.1', port: 4000 },
      requestTimeout: 600,
      aider: { scope: 'profile', dir: configPaths(env).profile },
    };
    fs.mkdirSync(configPaths(env).dir, { recursive: true });
    fs.writeFileSync(configPaths(env).plan, planToYaml(plan));
    const bin = join(home, 'fakebin');
    fs.mkdirSync(bin);
    const lines = error.map((l) => `echo '${l}' >&2`).join('\n');
    fs.writeFileSync(join(bin, 'mlx_lm.server'), `#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n${lines}\nexit 1\n`, { mode: 0o755 });
    env.PATH = `${bin}:${process.env.PATH}`;
  }

  /** A port below 1024 nothing listens on (as root it binds; as a user it is refused before starting). */
  async function lowPort(): Promise<number> {
    for (let p = 1023; p > 900; p--) if (await isPortFree('127.0.0.1', p)) return p;
    for (let p = 1023; p > 900; p--) if (!(await connectable('127.0.0.1', p))) return p;
    throw new Error('no quiet port below 1024');
  }

  it('permission denied: names the cause (ports below 1024 need root) and gives up within --timeout', async () => {
    const port = await lowPort();
    await failingServer(port, ['  File "/usr/lib/python3.12/socketserver.py", line 473, in server_bind', '    self.socket.bind(self.server_address)', 'PermissionError: [Errno 13] Permission denied']);
    const { o, io: i } = io();
    const timeoutSec = 4;
    const t0 = Date.now();
    expect(await runServe(['--once', '--timeout', String(timeoutSec)], i)).toBe(1);
    expect(Date.now() - t0).toBeLessThan(timeoutSec * 1000 + 2500);
    expect(o.err).toContain(`permission denied on port ${port}: ports below 1024 need root; choose a port ≥ 1024`);
    expect(o.err).not.toMatch(/restarting in/);
  }, 60_000);

  it('address in use: says so and gives up within --timeout instead of backing off', async () => {
    const port = await findFreePort('127.0.0.1');
    await failingServer(port, ['  File "/usr/lib/python3.12/socketserver.py", line 473, in server_bind', 'OSError: [Errno 98] Address already in use']);
    const { o, io: i } = io();
    const timeoutSec = 4;
    const t0 = Date.now();
    expect(await runServe(['--once', '--timeout', String(timeoutSec)], i)).toBe(1);
    expect(Date.now() - t0).toBeLessThan(timeoutSec * 1000 + 2500);
    expect(o.err).toContain(`port ${port} is already in use`);
    expect(o.err).not.toMatch(/restarting in/);
  }, 60_000);
});
