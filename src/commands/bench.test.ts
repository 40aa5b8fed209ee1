/**
 * `aider-mlx bench` in-process against stand-in servers (and a stand-in proxy in front of them),
 * a throwaway HOME: the table or JSON, the results kept, `status` and `models` showing them.
 */
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeMlxServer, type FakeMlxServer } from '../servers/fake-mlx-server.js';
import { planToYaml } from '../config/plan-file.js';
import { PLAN_VERSION, type Plan } from '../config/plan.js';
import { configPaths } from '../lib/paths.js';
import { litellmModelName } from '../config/names.js';
import { benchPath, readBench } from '../bench/store.js';
import { runBench } from './bench.js';
import { hopBench, renderStatus } from './status.js';
import { renderCatalogue } from './models.js';
import type { HopStatus } from '../servers/status.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function home(): Record<string, string> {
  const h = mkdtempSync(join(tmpdir(), 'aider-mlx-bench-'));
  cleanups.push(() => rmSync(h, { recursive: true, force: true }));
  return { HOME: h };
}

function writePlan(env: Record<string, string>, plan: Plan): void {
  const p = configPaths(env);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  writeFileSync(p.plan, planToYaml(plan), { mode: 0o600 });
}

async function standIn(prefill = 5000): Promise<FakeMlxServer> {
  const s = await startFakeMlxServer({ model: EDITOR, faults: { prefillTokPerSec: prefill } });
  cleanups.push(() => s.close());
  return s;
}

/** A pass-through "proxy": checks the key, forwards to the server, records what it saw. */
async function proxyTo(target: FakeMlxServer, key: string): Promise<{ port: number; seen: Array<{ auth?: string; session?: string; model?: string }> }> {
  const seen: Array<{ auth?: string; session?: string; model?: string }> = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw) as { model?: string };
      seen.push({ auth: req.headers.authorization, session: req.headers['x-litellm-session-id'] as string | undefined, model: body.model });
      if (req.headers.authorization !== `Bearer ${key}`) return void res.writeHead(401).end('{"error":"bad key"}');
      const out = JSON.stringify({ ...body, model: 'default_model' });
      const up = http.request({ host: '127.0.0.1', port: target.port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) } }, (r) => {
        res.writeHead(r.statusCode ?? 500, r.headers);
        r.pipe(res);
      });
      up.end(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as AddressInfo).port, seen };
}

function plan(over: Partial<Plan> & { ports: number[] }): Plan {
  const { ports, ...rest } = over;
  return {
    version: PLAN_VERSION,
    mode: 'direct',
    roles: { editor: { model: EDITOR, context: 8192, deployments: ports.map((port) => ({ host: '127.0.0.1', port })) } },
    proxy: { host: '127.0.0.1', port: 4000 },
    requestTimeout: 600,
    aider: { scope: 'profile', dir: '/tmp/nowhere' },
    ...rest,
  };
}

function io(env: Record<string, string>) {
  const o = { out: '', err: '' };
  return { o, io: { env, out: (s: string) => void (o.out += s), err: (s: string) => void (o.err += s) } };
}

describe('aider-mlx bench', () => {
  it('direct: a cold turn and a follow-up per server, the server\'s figures, a table, the results kept (0600)', async () => {
    const env = home();
    const s = await standIn(4000);
    writePlan(env, plan({ ports: [s.port] }));
    const { o, io: bio } = io(env);
    expect(await runBench(['--tokens', '2000'], bio)).toBe(0);
    expect(o.err).toMatch(/editor \+ weak \(mlx-community\/Qwen2\.5-Coder-7B-Instruct-4bit\) direct on 127\.0\.0\.1:\d+: 2 turns, a ~2000-token Aider prompt \(context 8192\)/);
    expect(o.err).toMatch(/turn 1\/2: first token [\d.]+ s, \d+ prompt tokens, 0 cached/);
    expect(o.out).toMatch(/server\s+via\s+prompt tok\s+cold 1st token\s+prefill tok\/s\s+decode tok\/s\s+follow-up 1st token\s+cached tok/);
    expect(o.out).toContain('Request timeouts from these speeds');
    const [r] = readBench(env);
    expect(r).toMatchObject({ model: EDITOR, via: 'direct', port: s.port, context: 8192, promptWords: 2000 });
    // What the stand-in counted is what is kept.
    expect(r!.promptTokens).toBeGreaterThan(2000);
    expect(r!.followUpCachedTokens).toBeGreaterThan(r!.promptTokens! / 2);
    expect(r!.followUpTtftMs!).toBeLessThan(r!.coldTtftMs);
    expect(r!.prefillTokPerSec!).toBeGreaterThan(2000);
    expect(r!.prefillTokPerSec!).toBeLessThan(4200);
    expect(statSync(benchPath(env)).mode & 0o777).toBe(0o600);
    // Shown by status (one line under the server) and models (under the model).
    const hop: HopStatus = { kind: 'deployment', roles: ['editor'], model: EDITOR, host: '127.0.0.1', port: s.port, up: true, answers: 'mlx_lm.server', latencyMs: 3, detail: [] };
    const text = renderStatus(plan({ ports: [s.port] }), [hop], env, undefined, readBench(env));
    expect(text).toMatch(new RegExp(`127\\.0\\.0\\.1:${s.port}: running.*\\n    last bench \\(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d\\): prefill \\d+ tok/s, decode [\\d.]+ tok/s, first token [\\d.]+ s cold, [\\d.]+ s on follow-up \\(\\d+ of \\d+ tokens cached\\)`));
    const cat = { memory: { totalBytes: 32 * 2 ** 30, source: 'override', platform: 'darwin' }, budget: { bytes: 24 * 2 ** 30, rule: 'r' }, cacheDir: '/c', cacheExists: true, cached: [], hub: [], hubStatus: { kind: 'offline', message: 'offline.' }, search: { author: 'mlx-community' }, curated: { tier: { memory: 32 }, source: '/x', picks: [{ role: 'editor', repoId: EDITOR, reason: 'r', fit: { label: 'fits', known: true, totalBytes: 1, arithmetic: 'a' }, context: 8192 }], unavailable: [] } };
    expect(renderCatalogue(cat as never, env, readBench(env))).toMatch(/editor\s+· mlx-community\/Qwen2\.5-Coder-7B-Instruct-4bit[^\n]*\n(?:\s{6}(?!bench).*\n){2,}?\s{6}bench \d{4}-\d\d-\d\d \d\d:\d\d on \S+: prefill/);
  });

  it('says which timeouts changed and what writes them; a run that changes none says so (D-G)', async () => {
    const env = home();
    const s = await standIn(4000);
    // A 1 s floor: the measured speed sets the timeout (2 × 8192 ÷ ~4000 tok/s → 5 s).
    writePlan(env, plan({ ports: [s.port], requestTimeout: 1 }));
    const first = io(env);
    expect(await runBench(['--tokens', '200', '--turns', '1'], first.io)).toBe(0);
    expect(first.o.out).toContain(`still have the old timeouts (${EDITOR}: 1 s → 5 s): run \`aider-mlx reconfigure --yes\` to write these.`);
    expect(first.o.out).not.toContain('next time');
    const again = io(env);
    expect(await runBench(['--tokens', '200', '--turns', '1', '--json'], again.io)).toBe(0);
    expect(JSON.parse(again.o.out)).toMatchObject({ timeouts: { [EDITOR]: 5 }, timeoutsChanged: [] });
    const third = io(env);
    expect(await runBench(['--tokens', '200', '--turns', '1'], third.io)).toBe(0);
    expect(third.o.out).toContain('The same timeouts as before this run: nothing to rewrite.');
  });

  it('--json; through the proxy too, with its key and a session id; a second run replaces the first', async () => {
    const env = home();
    const s = await standIn();
    const s2 = await standIn();
    const key = 'sk-aider-mlx-' + 'a'.repeat(48);
    const p = await proxyTo(s, key);
    const pl = plan({ ports: [s.port, s2.port], mode: 'proxy', proxy: { host: '127.0.0.1', port: p.port } });
    writePlan(env, pl);
    writeFileSync(join(configPaths(env).dir, 'litellm.yaml'), `general_settings:\n  master_key: "${key}"\n`, { mode: 0o600 });
    const { o, io: bio } = io(env);
    const code = await runBench(['--json', '--tokens', '200', '--turns', '3'], bio);
    expect(code, o.out).toBe(0);
    const j = JSON.parse(o.out);
    expect(j.ok).toBe(true);
    expect(j.results.map((r: { via: string; port: number }) => `${r.via}:${r.port}`)).toEqual([`direct:${s.port}`, `direct:${s2.port}`, `proxy:${p.port}`]);
    expect(j.results[2].record.turns).toHaveLength(3);
    expect(j.results[2].record.followUpCachedTokens).toBeGreaterThan(0);
    expect(j.timeouts).toEqual({ [EDITOR]: 600 });
    // Two servers of one model: the proxy turns carry one session id, so LiteLLM keeps them on one server.
    expect(p.seen).toHaveLength(3);
    expect(new Set(p.seen.map((x) => x.session)).size).toBe(1);
    expect(p.seen[0]!.session).toMatch(/^aider-mlx-bench-[0-9a-f]{12}$/);
    expect(p.seen.every((x) => x.model === litellmModelName(EDITOR) && x.auth === `Bearer ${key}`)).toBe(true);
    expect(readBench(env)).toHaveLength(3);
    const statusHop: HopStatus = { kind: 'proxy', roles: [], host: '127.0.0.1', port: p.port, up: true, answers: 'litellm', latencyMs: 1, detail: [] };
    expect(hopBench(pl, statusHop, readBench(env))).toHaveLength(1);
    const again = io(env);
    expect(await runBench(['--json', '--tokens', '100', '--turns', '1', '--role', 'editor'], again.io)).toBe(0);
    expect(readBench(env)).toHaveLength(3);
    expect(readBench(env).every((r) => r.promptWords === 100)).toBe(true);
  });

  it('a server that is down: its row says so and what to do, the others are measured, exit 1', async () => {
    const env = home();
    const s = await standIn();
    const gone = await standIn();
    const port = gone.port;
    await gone.close();
    writePlan(env, plan({ ports: [s.port, port] }));
    const { o, io: bio } = io(env);
    expect(await runBench([], bio)).toBe(1);
    expect(o.out).toContain(`editor+weak 127.0.0.1:${port}  direct  ✗ nothing listens on 127.0.0.1:${port} (start it with \`aider-mlx serve\`, or \`aider-mlx launch\`)`);
    expect(readBench(env).map((r) => r.port)).toEqual([s.port]);
  });

  it('bad input: one message, exit 2, nothing run', async () => {
    const env = home();
    const { io: bio } = io(env);
    await expect(runBench([], bio)).rejects.toThrow(/No plan yet/);
    writePlan(env, plan({ ports: [1] }));
    await expect(runBench(['--tokens', 'lots'], bio)).rejects.toThrow(/--tokens must be a whole number from 32/);
    await expect(runBench(['--role', 'boss'], bio)).rejects.toThrow(/--role must be editor, architect or weak/);
    await expect(runBench(['--role', 'architect'], bio)).rejects.toThrow(/The plan has no architect role/);
    await expect(runBench(['--tokns', '5'], bio)).rejects.toMatchObject({ message: expect.stringMatching(/Unknown option --tokns/), tryThis: expect.stringMatching(/Did you mean --tokens\?/), exitCode: 2 });
  });
});
