/**
 * Starting a group (see config/group.ts): on this Mac alone, each rank directly (identical
 * mlx_lm.server arguments, MLX_RANK and MLX_HOSTFILE: no mlx.launch, whose I/O loop spins a core
 * for as long as it runs); across Macs, through `mlx.launch --hostfile`. Every rank (or the
 * launcher) is a spawned service: its own process group, registered with the watchdog, so none
 * outlives serve however serve ends.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { chooseParallel, groupIsLocal, launchArgs, launchHostfile, ringHostfile, type GroupModelFacts, type Parallel, type ParallelChoice } from '../config/group.js';
import { isLocalPath, type Group } from '../config/plan.js';
import { spawnService, which } from '../lib/exec.js';
import { homeDir, type Env } from '../lib/paths.js';
import { scanCachedModel } from '../hub/cache.js';
import { parseModelConfig } from '../hub/model-facts.js';
import { ownedLocations } from '../service/locations.js';
import { serverArgs, serverCommand, type ServerKind } from '../servers/launch.js';
import type { UnitProcess } from './supervisor.js';

/** The model's folder on this Mac (a local path, or its Hugging Face cache snapshot), if there. */
async function modelFolder(model: string, env: Env): Promise<string | undefined> {
  if (isLocalPath(model)) {
    const p = model.startsWith('~') ? join(homeDir(env), model.slice(1)) : model;
    return existsSync(p) ? p : undefined;
  }
  const cached = await scanCachedModel(model, { env }).catch(() => undefined);
  return cached?.snapshotPath;
}

/** What the checks need, from the model's files on this Mac; undefined when they are not here. */
export async function readGroupModelFacts(model: string, env: Env): Promise<GroupModelFacts | undefined> {
  const dir = await modelFolder(model, env);
  if (!dir) return undefined;
  const raw = await readFile(join(dir, 'config.json'), 'utf8').then((t) => JSON.parse(t) as unknown, () => undefined);
  if (raw === undefined) return undefined;
  const shape = parseModelConfig(raw);
  return {
    ...(shape.modelType ? { modelType: shape.modelType } : {}),
    ...(shape.attentionHeads ? { attentionHeads: shape.attentionHeads } : {}),
    ...(shape.kvHeads ? { kvHeads: shape.kvHeads } : {}),
    ...(shape.layers ? { layers: shape.layers } : {}),
    hasIndex: existsSync(join(dir, 'model.safetensors.index.json')),
  };
}

/**
 * Tensor or pipeline for this group and model. Without the model's files here (a model only on
 * the other Macs, or not downloaded yet) nothing can be checked: the plan's choice, else tensor.
 */
export async function groupParallel(model: string, g: Group, env: Env): Promise<ParallelChoice> {
  const facts = await readGroupModelFacts(model, env);
  if (!facts) return { ok: true, parallel: g.parallel ?? 'tensor', note: `${g.parallel ?? 'tensor'} parallel (the model's files are not on this Mac to check)` };
  return chooseParallel(facts, g.hosts.length, g.parallel);
}

/** `n` ports free on 127.0.0.1 now (each listened on with port 0, then released). */
export async function freeLoopbackPorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Where a group's hostfile lives: aider-mlx's state folder, mode 0600 (it names this Mac's ports). */
export function hostfilePath(env: Env, port: number, kind: 'ring' | 'launch'): string {
  return join(ownedLocations(env).run, `group-${port}.${kind}.hostfile.json`);
}

async function writeHostfile(path: string, data: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(data)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
}

export interface GroupStart {
  model: string;
  group: Group;
  parallel: Parallel;
  /** Rank 0's HTTP address. */
  host: string;
  port: number;
  maxTokens?: number;
  kind?: ServerKind;
  env: Env;
  onLine: (line: string) => void;
}

export interface GroupProcess extends UnitProcess {
  /** Each rank's pid (direct ranks), or the launcher's. */
  pids: number[];
  /** How it was started. */
  via: 'ranks' | 'mlx.launch';
  hostfile: string;
}

function exitCodeOf(r: unknown): number | null {
  return r && typeof r === 'object' && 'exitCode' in r ? ((r as { exitCode?: number }).exitCode ?? null) : null;
}

/** Start every rank; `exited` resolves when the first one exits (the group cannot work without it). */
export async function startGroup(o: GroupStart): Promise<GroupProcess> {
  const cmd = serverCommand(o.kind ?? 'mlx', o.env);
  if (!cmd) throw new Error('mlx_lm.server is not installed (not found on PATH)');
  const args = [...cmd.slice(1), ...serverArgs({ model: o.model, port: o.port, host: o.host, ...(o.maxTokens ? { maxTokens: o.maxTokens } : {}) })];
  if (o.parallel === 'pipeline') args.push('--pipeline');
  const log: string[] = [];
  const line = (prefix: string) => (l: string) => {
    const text = `${prefix}${l}`;
    log.push(text);
    if (log.length > 200) log.shift();
    o.onLine(text);
  };

  if (groupIsLocal(o.group)) {
    const n = o.group.hosts.length;
    const ports = o.group.ringPort !== undefined ? Array.from({ length: n }, (_, i) => o.group.ringPort! + i) : await freeLoopbackPorts(n);
    const hostfile = hostfilePath(o.env, o.port, 'ring');
    await writeHostfile(hostfile, ringHostfile(o.group, ports));
    const ranks = o.group.hosts.map((_, rank) =>
      spawnService(cmd[0]!, args, { env: { ...o.env, MLX_RANK: String(rank), MLX_HOSTFILE: hostfile }, onLine: line(`[rank ${rank}] `) }),
    );
    const pids = ranks.map((r) => r.child.pid).filter((p): p is number => p !== undefined);
    const exits = ranks.map((r, rank) => r.child.then((x) => ({ rank, code: exitCodeOf(x) }), () => ({ rank, code: null })));
    const first = Promise.race(exits);
    void first.then(({ rank, code }) => line('')(`[aider-mlx] rank ${rank} exited (${code === null ? 'killed by a signal' : `exit code ${code}`}): the group stops with it`));
    return {
      pid: pids[0],
      pids,
      via: 'ranks',
      hostfile,
      exited: first.then((e) => e.code),
      log,
      stop: async () => {
        await Promise.all(ranks.map((r) => r.stop()));
      },
    };
  }

  // Across Macs: mlx.launch ssh-es into each host (the same venv path must exist on each).
  const launcher = join(dirname(cmd[0]!), 'mlx.launch');
  const bin = existsSync(launcher) ? launcher : which('mlx.launch', o.env);
  if (!bin) throw new Error('mlx.launch is not installed (it comes with mlx, next to mlx_lm.server)');
  const hostfile = hostfilePath(o.env, o.port, 'launch');
  await writeHostfile(hostfile, launchHostfile(o.group));
  const s = spawnService(bin, launchArgs(o.group, hostfile, [cmd[0]!, ...args]), { env: o.env, onLine: line('') });
  return {
    pid: s.child.pid,
    pids: s.child.pid !== undefined ? [s.child.pid] : [],
    via: 'mlx.launch',
    hostfile,
    exited: s.child.then(exitCodeOf, () => null),
    log,
    stop: s.stop,
  };
}
