// Starting and supervising a group with stand-in ranks: a `mlx_lm.server` script on PATH that
// prints what it was given and sleeps. The real ranks are in test/peers/distributed.peers.test.ts.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { planToYaml } from '../config/plan-file.js';
import type { Plan } from '../config/plan.js';
import { configPaths, packageRoot } from '../lib/paths.js';
import { findFreePort } from '../servers/ports.js';
import { ownedLocations } from '../service/locations.js';
import { formatEvent } from './plain.js';
import { ServeView } from './view.js';
import { startServing } from './serve.js';
import type { UnitStatus } from './supervisor.js';
import { startGroup, type GroupProcess } from './group.js';
import { Supervisor, type SupervisorEvent, type UnitProcess, type UnitSpec } from './supervisor.js';

let dir: string;
const started: GroupProcess[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-group-'));
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((g) => g.stop()));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fakeServer(): Record<string, string | undefined> {
  const bin = join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(
    join(bin, 'mlx_lm.server'),
    '#!/bin/sh\necho "rank=$MLX_RANK hostfile=$MLX_HOSTFILE args=$*"\necho "file=$(cat "$MLX_HOSTFILE")"\nexec sleep 600\n',
    { mode: 0o755 },
  );
  return { PATH: `${bin}${delimiter}${process.env.PATH}`, HOME: join(dir, 'home'), XDG_DATA_HOME: join(dir, 'data') };
}

/** Alive and not a zombie (a killed orphan whose new parent has not reaped it yet runs nothing). */
const running = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(0) is all there is
  }
};

async function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('startGroup on this Mac: the ranks directly', () => {
  it('N identical servers with MLX_RANK and MLX_HOSTFILE (a 0600 ring hostfile in the state folder); the first exit ends the group; stop leaves none', async () => {
    const env = fakeServer();
    const lines: string[] = [];
    const g = await startGroup({
      model: 'org/m', group: { hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }], ringPort: 29600 }, parallel: 'pipeline',
      host: '127.0.0.1', port: 8090, env, onLine: (l) => lines.push(l),
    });
    started.push(g);
    expect(g.via).toBe('ranks');
    expect(g.pids).toHaveLength(3);
    await until(() => lines.filter((l) => /^\[rank \d\] file=/.test(l)).length === 3);
    const hostfile = join(ownedLocations(env).run, 'group-8090.ring.hostfile.json');
    expect(g.hostfile).toBe(hostfile);
    expect(fs.statSync(hostfile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(hostfile, 'utf8')).toBe('[["127.0.0.1:29600"],["127.0.0.1:29601"],["127.0.0.1:29602"]]\n');
    const args = '--model org/m --host 127.0.0.1 --port 8090 --pipeline';
    for (const r of [0, 1, 2]) expect(lines).toContain(`[rank ${r}] rank=${r} hostfile=${hostfile} args=${args}`);

    let code: number | null | undefined;
    void g.exited.then((c) => (code = c));
    process.kill(g.pids[2]!, 'SIGKILL');
    await until(() => code !== undefined);
    expect(code).toBeNull();
    expect(lines).toContain('[aider-mlx] rank 2 exited (killed by a signal): the group stops with it');
    // The others are still there until the supervisor stops the group.
    expect(running(g.pids[0]!) && running(g.pids[1]!)).toBe(true);
    await g.stop();
    await until(() => g.pids.every((p) => !running(p)));
  });

  it('free ring ports when the plan gives none', async () => {
    const env = fakeServer();
    const lines: string[] = [];
    const g = await startGroup({ model: 'org/m', group: { hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }] }, parallel: 'tensor', host: '127.0.0.1', port: 8091, env, onLine: (l) => lines.push(l) });
    started.push(g);
    const ports = (JSON.parse(fs.readFileSync(g.hostfile, 'utf8')) as string[][]).map(([a]) => Number(a!.split(':')[1]));
    expect(ports).toHaveLength(2);
    expect(new Set(ports).size).toBe(2);
    await until(() => lines.some((l) => l.startsWith('[rank 1] rank=1') && !l.includes('--pipeline')));
  });
});

describe('the supervisor and a group', () => {
  it('rank 0 answering 503 restarts the whole unit at once, and every rank is killed', async () => {
    const env = fakeServer();
    const events: SupervisorEvent[] = [];
    const groups: GroupProcess[] = [];
    let checks = 0;
    const unit: UnitSpec = {
      id: 'editor@127.0.0.1:8092', kind: 'server', label: 'editor', host: '127.0.0.1', port: 8092,
      inspect: async () => ({ action: 'start' }),
      start: async (onLine): Promise<UnitProcess> => {
        const g = await startGroup({ model: 'org/m', group: { hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }] }, parallel: 'tensor', host: '127.0.0.1', port: 8092, env, onLine });
        groups.push(g);
        started.push(g);
        return g;
      },
      ready: async () => ({ ok: true, message: 'answered' }),
      // The first group: healthy once, then 503. The second stays healthy.
      alive: async () => (groups.length === 1 && ++checks > 1 ? { broken: 'rank 0 reports 503 on /health (a rank of the group is gone)' } : true),
    };
    const sup = new Supervisor([unit], { readyTimeoutMs: 5000, checkEveryMs: 50, hungAfter: 100, policy: { delaysMs: [50], maxFailures: 3, stableMs: 60_000 }, onEvent: (e) => events.push(e) });
    const first = await sup.start();
    expect(first[0]!.pids).toEqual(groups[0]!.pids);
    await until(() => groups.length === 2 && sup.snapshot()[0]!.state === 'ready');
    const states = events.flatMap((e) => (e.type === 'state' ? [`${e.unit.state}: ${e.unit.message.replace(/[\d.]+ s/, 'N s')}`] : []));
    expect(states).toContain('backoff: rank 0 reports 503 on /health (a rank of the group is gone); restarting in 50 ms (1 of 3)');
    for (const p of groups[0]!.pids) expect(running(p)).toBe(false);
    expect(sup.snapshot()[0]!.pids).toEqual(groups[1]!.pids);
    await sup.stop();
    for (const p of groups[1]!.pids) expect(running(p)).toBe(false);
    expect(sup.snapshot()[0]!.pids).toBeUndefined();
  });
});

describe('serve killed outright', () => {
  // A rank used to outlive serve here (1 run in 3, more under load): it ran before serve had
  // registered it with the watchdog, and serve died in between. Services now start behind a gate.
  it('SIGKILL of serve while a group starts: the watchdog stops every rank', { timeout: 60_000 }, async () => {
    const env = fakeServer();
    const home = env.HOME!;
    fs.mkdirSync(home, { recursive: true });
    // Each rank writes its pid, then never answers (serve waits for it to be ready).
    fs.writeFileSync(join(dir, 'bin', 'mlx_lm.server'), '#!/bin/sh\necho $$ > "$HOME/rank$MLX_RANK.pid"\nexec sleep 600\n', { mode: 0o755 });
    const port = await findFreePort('127.0.0.1');
    const plan: Plan = {
      version: 1, mode: 'direct',
      roles: { editor: { model: 'org/m', context: 8192, deployments: [{ host: '127.0.0.1', port, group: { hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }] } }] } },
      proxy: { host: '127.0.0.1', port: 4000 }, requestTimeout: 600, aider: { scope: 'profile', dir: configPaths(env).profile },
    };
    fs.mkdirSync(configPaths(env).dir, { recursive: true });
    fs.writeFileSync(configPaths(env).plan, planToYaml(plan));
    const serve = spawn(process.execPath, [join(packageRoot(), 'bin', 'aider-mlx.js'), 'serve'], { env: { ...env, NO_COLOR: '1' }, stdio: 'ignore' });
    const pidFiles = [0, 1].map((r) => join(home, `rank${r}.pid`));
    await until(() => pidFiles.every((f) => fs.existsSync(f) && fs.readFileSync(f, 'utf8').trim() !== ''), 30_000);
    const pids = pidFiles.map((f) => Number(fs.readFileSync(f, 'utf8').trim()));
    expect(pids.every(running)).toBe(true);
    serve.kill('SIGKILL');
    try {
      await until(() => pids.every((p) => !running(p)), 15_000);
    } catch (e) {
      // What is left, to tell a lost registration (no watchdog left) from a slow one.
      const ps = execFileSync('ps', ['-eo', 'pid,ppid,pgid,stat,args'], { encoding: 'utf8' }).split('\n');
      console.log(`ranks ${pids.join(', ')}; left:\n${ps.filter((l) => /sleep 600|node -e/.test(l)).map((l) => l.slice(0, 100)).join('\n')}`);
      throw e;
    } finally {
      // Never leave a rank behind, whatever the outcome.
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });
});

describe('a group on the screen', () => {
  const unit: UnitStatus = {
    id: 'editor@127.0.0.1:8080', kind: 'server', label: 'editor', host: '127.0.0.1', port: 8080, state: 'ready', message: 'ready in 5 s',
    pid: 101, pids: [101, 102], owned: true, restarts: 0, failures: 0, since: 0, logTail: [],
  };
  it('the plain line names every rank; the dashboard counts the memory of all of them', () => {
    expect(formatEvent({ type: 'state', at: 0, unit, previous: 'starting' })[0]).toMatch(/: ready in 5 s \(pids 101, 102\)$/);
    const v = new ServeView([unit]);
    expect(v.pids()).toEqual([101, 102]);
    v.setMemory(new Map([[101, 1000], [102, 500]]));
    expect(v.snapshot().rows[0]!.rssBytes).toBe(1500);
  });
});

describe('serve refuses a group the model cannot be split for', () => {
  it('one KV head on two ranks and no index: blocked with the reason, nothing started', async () => {
    const env = fakeServer();
    const model = join(dir, 'one-kv-head');
    fs.mkdirSync(model, { recursive: true });
    fs.writeFileSync(join(model, 'config.json'), JSON.stringify({ model_type: 'qwen2', num_attention_heads: 4, num_key_value_heads: 1, num_hidden_layers: 2 }));
    const port = await findFreePort('127.0.0.1');
    const plan: Plan = {
      version: 1, mode: 'direct',
      roles: { editor: { model, context: 8192, deployments: [{ host: '127.0.0.1', port, group: { hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }] } }] } },
      proxy: { host: '127.0.0.1', port: 4000 }, requestTimeout: 600, aider: { scope: 'profile', dir: configPaths(env).profile },
    };
    const s = await startServing(plan, { env, readyTimeoutMs: 5000 });
    try {
      expect(s.initial.map((u) => [u.state, u.message])).toEqual([[
        'blocked',
        "this model cannot be split over 2 ranks: tensor parallel: its 1 KV heads do not divide by 2 ranks; pipeline parallel: it has no model.safetensors.index.json (pipeline parallel reads it to find each rank's layers) (change parallel or the hosts of the group in plan.yaml)",
      ]]);
      expect(fs.existsSync(join(ownedLocations(env).run, `group-${port}.ring.hostfile.json`))).toBe(false);
    } finally {
      await s.stop();
    }
  });
});

describe('startGroup across Macs: through mlx.launch', () => {
  it("mlx.launch next to mlx_lm.server, given the 0600 launch hostfile, the backend, the first ring port and the server's command", async () => {
    const env = fakeServer();
    fs.writeFileSync(join(dir, 'bin', 'mlx.launch'), '#!/bin/sh\necho "launch $*"\nwhile [ "$1" != "--hostfile" ]; do shift; done\necho "hostfile $(cat "$2")"\nexec sleep 600\n', { mode: 0o755 });
    const lines: string[] = [];
    const g = await startGroup({
      model: 'org/m', group: { hosts: [{ ssh: 'mac1.local', address: '192.168.0.1' }, { ssh: 'mac2.local', address: '192.168.0.2' }], ringPort: 29500 }, parallel: 'tensor',
      host: 'mac1.local', port: 8093, env, onLine: (l) => lines.push(l),
    });
    started.push(g);
    expect(g.via).toBe('mlx.launch');
    expect(g.pids).toHaveLength(1);
    await until(() => lines.some((l) => l.startsWith('hostfile ')));
    const hostfile = join(ownedLocations(env).run, 'group-8093.launch.hostfile.json');
    expect(fs.statSync(hostfile).mode & 0o777).toBe(0o600);
    expect(lines).toContain(`launch --hostfile ${hostfile} --backend ring --starting-port 29500 -- ${join(dir, 'bin', 'mlx_lm.server')} --model org/m --host mac1.local --port 8093`);
    expect(lines).toContain('hostfile [{"ssh":"mac1.local","ips":["192.168.0.1"]},{"ssh":"mac2.local","ips":["192.168.0.2"]}]');
    await g.stop();
    expect(running(g.pids[0]!)).toBe(false);
  });
});
