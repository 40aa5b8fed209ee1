import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from '../config/plan.js';
import { planToYaml } from '../config/plan-file.js';
import { configPaths, type Env } from '../lib/paths.js';
import { findFreePort, isPortFree } from '../servers/ports.js';
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
    expect(o.err).toMatch(new RegExp(`✓ editor \\+ weak 127\\.0\\.0\\.1:${a} \\(mlx-community/Qwen2\\.5-Coder-7B-Instruct-4bit\\): ready — ready in [\\d.]+ s: answered in \\d+ ms \\(pid \\d+\\)`));
    expect(o.err).toContain('All 2 up.');
    expect(o.err).toContain('code: npx aider-mlx aider');
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
    expect(o.err).toMatch(/✗ proxy 127\.0\.0\.1:\d+: failed — litellm is not installed \(not on PATH\): `aider-mlx install litellm`/);
    expect(o.err).toContain('2 of 3 up.');
  });

  it('without a plan says to run setup', async () => {
    const { io: i } = io();
    await expect(runServe([], i)).rejects.toThrow(/No plan yet/);
  });
});
