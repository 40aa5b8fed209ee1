/**
 * A group with the real peers: two ranks of the real mlx_lm.server (distributed, ring backend on
 * 127.0.0.1) serving the tiny Qwen2 model, started by serve, behind the real LiteLLM proxy. Real
 * aider answers through it; rank 1 killed → the whole group is restarted and answers again; serve
 * stopped → no rank left. Prints the group's prefill and decode speed next to one process of the
 * same model, and the CPU the idle ranks burn (nothing asserted about the numbers).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensurePeers, type Peers } from './bootstrap.js';
import { chatBody, childEnv, freePort, httpRequest, makeTinyModel, missingPeers, runAider, startMlxServer, tempDir, TINY_EDITOR, type TinyModel } from './harness.js';
import { applyWrites, planWrites } from '../../src/lib/fs.js';
import { configPaths, type Env } from '../../src/lib/paths.js';
import { composeWrites } from '../../src/config/write.js';
import type { Plan } from '../../src/config/plan.js';
import { servedModels } from '../../src/config/names.js';
import { ownedLocations } from '../../src/service/locations.js';
import { startServing, type Serving } from '../../src/serve/serve.js';
import type { SupervisorEvent, UnitStatus } from '../../src/serve/supervisor.js';

let peers: Peers;
let serving: Serving | undefined;
/** One process of the same model, measured in the first test: the pipeline group is printed next to it. */
let singleSpeed: { prefill: number; decode: number } | undefined;

beforeAll(async () => {
  peers = await ensurePeers();
}, 900_000);
afterEach(async () => {
  await serving?.stop();
  serving = undefined;
});

function user(peerBins: string[]) {
  const home = tempDir('dist-home');
  const repo = path.join(home, 'project');
  fs.mkdirSync(repo);
  execFileSync('git', ['init', '-q', repo]);
  fs.writeFileSync(path.join(repo, 'hello.py'), 'print("hello")\n');
  const env = childEnv({ PATH: [...peerBins, process.env.PATH].join(':') }, home) as Env;
  return { home, repo, env };
}

function recorder() {
  const events: SupervisorEvent[] = [];
  const waitFor = async (pred: (u: UnitStatus) => boolean, timeoutMs: number) => {
    const start = Date.now();
    let seen = 0;
    for (;;) {
      for (; seen < events.length; seen++) {
        const e = events[seen]!;
        if (e.type === 'state' && pred(e.unit)) return e.unit;
      }
      if (Date.now() - start > timeoutMs) throw new Error('timed out waiting for a state');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { events, waitFor, onEvent: (e: SupervisorEvent) => void events.push(e) };
}

/** Alive and not a zombie. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill -0 said yes
  }
}

/** CPU seconds a process used (user + system), from /proc/<pid>/stat; undefined without /proc. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Share of one core each process burnt over `ms` while nobody asked anything. */
async function idleCpu(pids: number[], ms = 5000): Promise<string> {
  const a = pids.map(cpuSeconds);
  await new Promise((r) => setTimeout(r, ms));
  const b = pids.map(cpuSeconds);
  return pids.map((p, i) => (a[i] === undefined || b[i] === undefined ? `pid ${p}: n/a` : `pid ${p}: ${Math.round(((b[i]! - a[i]!) / (ms / 1000)) * 100)}% of a core`)).join(', ');
}

/** The eos tokens of the tiny model (its config and tokenizer), to bias away for a long decode. */
function eosIds(model: TinyModel): number[] {
  const cfg = JSON.parse(fs.readFileSync(path.join(model.snapshot, 'config.json'), 'utf8')) as { eos_token_id?: number | number[] };
  const tok = JSON.parse(fs.readFileSync(path.join(model.snapshot, 'tokenizer.json'), 'utf8')) as { added_tokens?: Array<{ id: number; content: string }> };
  const ids = new Set<number>([cfg.eos_token_id ?? []].flat());
  for (const t of tok.added_tokens ?? []) if (/<\|(im_end|endoftext)\|>/.test(t.content)) ids.add(t.id);
  return [...ids];
}

/**
 * Prefill and decode tok/s of an mlx_lm.server at `base` (…/v1), direct (not through the proxy).
 * Prefill: a long prompt, 1 token out. Decode: the same short prompt for 1 and for 65 tokens out
 * (eos biased away), the difference over 64 tokens. Each prompt starts with a fresh nonce so the
 * prompt cache cannot serve it.
 */
async function bench(base: string, model: TinyModel, nonce: () => string): Promise<{ prefill: number; decode: number }> {
  const bias = Object.fromEntries(eosIds(model).map((id) => [String(id), -1000]));
  const ask = async (content: string, maxTokens: number) => {
    const t0 = performance.now();
    const r = await httpRequest(`${base}/chat/completions`, {
      body: { ...chatBody('default_model', content, maxTokens), logit_bias: bias },
      timeoutMs: 120_000,
    });
    const ms = performance.now() - t0;
    expect(r.status, r.body).toBe(200);
    const usage = (JSON.parse(r.body) as { usage?: { prompt_tokens?: number; completion_tokens?: number } }).usage ?? {};
    return { ms, prompt: usage.prompt_tokens ?? 0, completion: usage.completion_tokens ?? 0 };
  };
  await ask(`${nonce()} warm up`, 4);
  const long = await ask(`${nonce()}${' the code and the file'.repeat(150)}`, 1);
  const one = await ask(`${nonce()} reply`, 1);
  const many = await ask(`${nonce()} reply`, 65);
  const decodeTokens = many.completion - one.completion;
  return {
    prefill: Math.round(long.prompt / (long.ms / 1000)),
    decode: Math.round(decodeTokens / Math.max(0.001, (many.ms - one.ms) / 1000)),
  };
}

async function writeConfigs(plan: Plan, env: Env): Promise<string> {
  const c = await composeWrites(plan, env);
  await applyWrites(await planWrites(c.changes), { backupRoot: configPaths(env).backups });
  return c.proxyKey;
}

function groupPlan(model: string, port: number, proxyPort: number, dir: string, parallel: 'tensor' | 'pipeline'): Plan {
  return {
    version: 1,
    mode: 'proxy',
    roles: {
      editor: {
        model,
        context: 2048,
        deployments: [{ host: '127.0.0.1', port, group: { hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }], parallel } }],
      },
    },
    proxy: { host: '127.0.0.1', port: proxyPort },
    requestTimeout: 600,
    aider: { scope: 'project', dir },
  };
}

describe('a group of two ranks with the real peers', () => {
  it('tensor: serve starts both ranks directly, the proxy and real aider answer through rank 0, a lost rank restarts the group, none is left after stop', async (ctx) => {
    const skip = missingPeers(peers, ['mlx', 'litellm', 'aider']);
    if (skip) return ctx.skip(skip);
    const hfHome = tempDir('hf');
    const model = await makeTinyModel(hfHome, TINY_EDITOR);
    const cfg = JSON.parse(fs.readFileSync(path.join(model.snapshot, 'config.json'), 'utf8')) as Record<string, number>;
    // What tensor parallel over 2 ranks needs of the model (checked by serve too).
    expect(cfg.num_attention_heads! % 2).toBe(0);
    expect(cfg.num_key_value_heads! % 2).toBe(0);

    const u = user([path.dirname(peers.mlx!.bin), path.dirname(peers.litellm!.bin)]);
    const env: Env = { ...u.env, HF_HOME: hfHome, HF_HUB_OFFLINE: '1' };
    const [pe, pp] = [await freePort(), await freePort()];
    const plan = groupPlan(model.repoId, pe, pp, u.repo, 'tensor');
    const key = await writeConfigs(plan, env);
    const rec = recorder();
    const t0 = Date.now();
    serving = await startServing(plan, { env, proxyKey: key, readyTimeoutMs: 180_000, checkEveryMs: 1000, onEvent: rec.onEvent, logDir: path.join(u.home, 'logs'),
      policy: { delaysMs: [1000], maxFailures: 4, stableMs: 60_000 } });
    const group = serving.initial[0]!;
    expect(serving.initial.map((s) => `${s.label}: ${s.state}`), JSON.stringify(serving.initial.map((s) => [s.message, s.logTail.slice(-8)]))).toEqual(['editor + weak: ready', 'proxy: ready']);
    expect(group.message).toMatch(/2 ranks, tensor parallel \(asked for\), ranks started directly/);
    expect(group.pids).toHaveLength(2);
    console.log(`[distributed.peers] tensor group (pids ${group.pids!.join(', ')}) + proxy up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // The ring hostfile: 0600, in aider-mlx's state folder, one 127.0.0.1 port per rank.
    const log = fs.readFileSync(serving.logFiles.get(group.id)!, 'utf8');
    const hostfile = fs.readdirSync(ownedLocations(env).run).find((f) => f.endsWith('.ring.hostfile.json'));
    const hostfilePath = path.join(u.home, '.local', 'share', 'aider-mlx', 'run', hostfile!);
    expect(fs.statSync(hostfilePath).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(hostfilePath, 'utf8'))).toEqual([[expect.stringMatching(/^127\.0\.0\.1:\d+$/)], [expect.stringMatching(/^127\.0\.0\.1:\d+$/)]]);
    expect(log).toMatch(/\[rank 0\]/);

    const name = servedModels(plan)[0]!.modelName;
    const through = () => httpRequest(`http://127.0.0.1:${pp}/v1/chat/completions`, { body: chatBody(name), headers: { authorization: `Bearer ${key}` }, timeoutMs: 60_000 });
    const a1 = await through();
    expect(a1.status, a1.body).toBe(200);
    expect(a1.body).toContain(model.answer);

    // Real aider, with the files setup wrote for this plan (the same as for one server).
    const aider = await runAider(['--message', 'Add a docstring to hello.py', 'hello.py'], { cwd: u.repo, home: u.home });
    expect(aider.output).not.toMatch(/litellm\.\w+Error/);
    expect(aider.output).toContain(model.answer);

    // Measured, printed, not asserted: the group next to one process of the same model.
    let n = 0;
    const nonce = () => `${Date.now()}${n++}`;
    const groupIdle = await idleCpu(group.pids!);
    const groupSpeed = await bench(`http://127.0.0.1:${pe}/v1`, model, nonce);
    const single = await startMlxServer({ model: model.repoId, hfHome });
    try {
      singleSpeed = await bench(single.baseUrl, model, nonce);
      const singlePid = Number(execFileSync('lsof', ['-t', '-iTCP:' + single.port, '-sTCP:LISTEN']).toString().trim().split('\n')[0]);
      const singleIdle = Number.isFinite(singlePid) && singlePid > 0 ? await idleCpu([singlePid]) : 'n/a';
      console.log(`[distributed.peers] tiny Qwen2, CPU: two-rank tensor group prefill ${groupSpeed.prefill} tok/s, decode ${groupSpeed.decode} tok/s; one process prefill ${singleSpeed.prefill} tok/s, decode ${singleSpeed.decode} tok/s`);
      console.log(`[distributed.peers] idle CPU over 5 s: group ranks ${groupIdle}; one process ${singleIdle}`);
    } finally {
      await single.stop();
    }

    // Rank 1 dies: the whole group is restarted (new pids for both) and answers again.
    const [rank0, rank1] = group.pids!;
    process.kill(rank1!, 'SIGKILL');
    const crashed = await rec.waitFor((s) => s.id === group.id && s.state === 'backoff', 30_000);
    expect(crashed.message).toMatch(/^crashed \(killed by a signal\); restarting in 1 s/);
    const back = await rec.waitFor((s) => s.id === group.id && s.state === 'ready' && s.pid !== rank0, 180_000);
    expect(back.pids).toHaveLength(2);
    expect(back.pids).not.toContain(rank0);
    expect(running(rank0!)).toBe(false);
    const a2 = await through();
    expect(a2.status, a2.body).toBe(200);
    expect(a2.body).toContain(model.answer);
    console.log(`[distributed.peers] rank 1 killed: group back, ${back.message}`);

    // serve stops: no rank left.
    await serving.stop();
    serving = undefined;
    for (const pid of [...group.pids!, ...back.pids!]) expect(running(pid), `pid ${pid}`).toBe(false);
  }, 600_000);

  it('pipeline: the same model split by layers answers through the proxy and real aider; none left after stop', async (ctx) => {
    const skip = missingPeers(peers, ['mlx', 'litellm', 'aider']);
    if (skip) return ctx.skip(skip);
    const hfHome = tempDir('hf');
    const model = await makeTinyModel(hfHome, TINY_EDITOR);
    // What pipeline parallel needs of the model (checked by serve too): an index, a layer per rank.
    expect(fs.existsSync(path.join(model.snapshot, 'model.safetensors.index.json'))).toBe(true);
    const cfg = JSON.parse(fs.readFileSync(path.join(model.snapshot, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg.model_type).toBe('qwen2');
    expect(cfg.num_hidden_layers).toBeGreaterThanOrEqual(2);

    const u = user([path.dirname(peers.mlx!.bin), path.dirname(peers.litellm!.bin)]);
    const env: Env = { ...u.env, HF_HOME: hfHome, HF_HUB_OFFLINE: '1' };
    const [pe, pp] = [await freePort(), await freePort()];
    const plan = groupPlan(model.repoId, pe, pp, u.repo, 'pipeline');
    const key = await writeConfigs(plan, env);
    const t0 = Date.now();
    serving = await startServing(plan, { env, proxyKey: key, readyTimeoutMs: 180_000, checkEveryMs: 1000, logDir: path.join(u.home, 'logs') });
    const group = serving.initial[0]!;
    expect(serving.initial.map((s) => `${s.label}: ${s.state}`), JSON.stringify(serving.initial.map((s) => [s.message, s.logTail.slice(-8)]))).toEqual(['editor + weak: ready', 'proxy: ready']);
    expect(group.message).toMatch(/2 ranks, pipeline parallel \(asked for\), ranks started directly/);
    console.log(`[distributed.peers] pipeline group (pids ${group.pids!.join(', ')}) + proxy up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const name = servedModels(plan)[0]!.modelName;
    const r = await httpRequest(`http://127.0.0.1:${pp}/v1/chat/completions`, { body: chatBody(name), headers: { authorization: `Bearer ${key}` }, timeoutMs: 60_000 });
    expect(r.status, r.body).toBe(200);
    expect(r.body).toContain(model.answer);
    const aider = await runAider(['--message', 'Add a docstring to hello.py', 'hello.py'], { cwd: u.repo, home: u.home });
    expect(aider.output).not.toMatch(/litellm\.\w+Error/);
    expect(aider.output).toContain(model.answer);

    let n = 0;
    const idle = await idleCpu(group.pids!);
    const speed = await bench(`http://127.0.0.1:${pe}/v1`, model, () => `${Date.now()}p${n++}`);
    console.log(`[distributed.peers] tiny Qwen2, CPU: two-rank pipeline group prefill ${speed.prefill} tok/s, decode ${speed.decode} tok/s${singleSpeed ? `; one process (first test) prefill ${singleSpeed.prefill} tok/s, decode ${singleSpeed.decode} tok/s` : ''}`);
    console.log(`[distributed.peers] idle CPU over 5 s: pipeline ranks ${idle}`);

    await serving.stop();
    serving = undefined;
    for (const pid of group.pids!) expect(running(pid), `pid ${pid}`).toBe(false);
  }, 400_000);
});
