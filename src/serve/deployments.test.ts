// Several deployments of one role, on loopback with stand-in servers: status and serve see each
// one; a deployment on another machine is watched, never started, with what it exposes said plainly.
import { afterEach, describe, expect, it } from 'vitest';
import type { Plan } from '../config/plan.js';
import { collectStatus } from '../servers/status.js';
import { renderStatus } from '../commands/status.js';
import { launchMlxServer, type LaunchedServer } from '../servers/launch.js';
import { findFreePort } from '../servers/ports.js';
import { startServing, type Serving } from './serve.js';
import { exposureWarning, isLoopback, tunnelCommand } from './remote.js';

const MODEL = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const started: LaunchedServer[] = [];
let serving: Serving | undefined;
afterEach(async () => {
  await serving?.stop();
  serving = undefined;
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

const plan = (deployments: Array<{ host: string; port: number }>): Plan => ({
  version: 1,
  mode: 'direct',
  roles: { editor: { model: MODEL, context: 8192, deployments } },
  proxy: { host: '127.0.0.1', port: 4000 },
  requestTimeout: 600,
  aider: { scope: 'profile', dir: '/tmp/unused' },
});

describe('several deployments', () => {
  it('status checks each deployment of a role on its own', async () => {
    const up = await findFreePort('127.0.0.1');
    const down = await findFreePort('127.0.0.1', undefined, { avoid: [up] });
    const s = launchMlxServer({ model: MODEL, port: up, kind: 'stand-in' });
    started.push(s);
    expect((await s.ready({ timeoutMs: 15_000 })).ok).toBe(true);
    const hops = await collectStatus(plan([{ host: '127.0.0.1', port: up }, { host: '127.0.0.1', port: down }]), { timeoutMs: 3000 });
    expect(hops.map((h) => [h.port, h.up, h.answers])).toEqual([
      [up, true, 'mlx_lm.server'],
      [down, false, 'none'],
    ]);
    // On screen: plain words, not the probe's enum ("down (none, 26 ms)").
    const text = renderStatus(plan([{ host: '127.0.0.1', port: up }, { host: '127.0.0.1', port: down }]), hops, {});
    expect(text).toMatch(new RegExp(`127\\.0\\.0\\.1:${up}: running, answered in \\d+ ms`));
    expect(text).toContain(`127.0.0.1:${down}: not running: nothing listens on that port`);
    expect(text).not.toMatch(/\b(up|down)\b|answers: |\(none/);
  });

  it('serve starts the local ones and only watches the one on another machine', async () => {
    const local = await findFreePort('127.0.0.1');
    // TEST-NET-1: never routed, so it stands for a Mac that is not answering.
    const remote = { host: '192.0.2.10', port: 8080 };
    serving = await startServing(plan([{ host: '127.0.0.1', port: local }, remote]), {
      env: { ...process.env }, kind: 'stand-in', readyTimeoutMs: 1500, checkEveryMs: 60_000,
    });
    const [a, b] = serving.initial;
    expect(a).toMatchObject({ state: 'ready', owned: true, port: local });
    expect(b).toMatchObject({ state: 'down', owned: false, host: '192.0.2.10' });
    expect(b!.message).toContain('on another machine: watched, not started');
    expect(b!.message).toContain('mlx_lm.server has no authentication');
    expect(b!.message).toContain('ssh -N -L 18080:127.0.0.1:8080 <you>@192.0.2.10');
  });

  it('knows loopback, and words the tunnel', () => {
    expect(['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '192.168.1.20', 'mac-studio.local', '::'].some(isLoopback)).toBe(false);
    expect(tunnelCommand({ host: 'studio.local', port: 8081 }, 18081, 'me')).toBe('ssh -N -L 18081:127.0.0.1:8081 me@studio.local');
    expect(exposureWarning({ host: 'studio.local', port: 8081 })).toMatch(/anyone who can reach that address can use the model/);
  });
});
