/**
 * Turns stay where their cache is, proved with the REAL LiteLLM proxy: the litellm.yaml aider-mlx
 * renders for two servers of one model (router_settings: session_affinity) in front of two stand-in
 * mlx_lm.servers. One session id's turns all land on one server; with that server stopped, the
 * next turn is answered by the other (failover), and the session stays there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensurePeers } from './bootstrap.js';
import { chatBody, freePort, httpRequest, missingPeers, startChild, startLitellm, tempDir, type LitellmProxy, type Spawned } from './harness.js';
import { renderFiles, renderUsageCallback, usageCallbackPath } from '../../src/config/render.js';
import { litellmModelName } from '../../src/config/names.js';
import { newProxyKey } from '../../src/config/secrets.js';
import { PLAN_VERSION, type Plan } from '../../src/config/plan.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/aider-mlx.js');
const MODEL = 'aider-mlx-test/tiny-editor';
const NAME = litellmModelName(MODEL);
const HEADER = 'x-litellm-session-id';

interface Stand {
  port: number;
  proc: Spawned;
  /** chat completions this server answered so far */
  posts(): number;
}

let skip: string | null = null;
let servers: Stand[] = [];
let proxy: LitellmProxy | undefined;
let key = '';

/** `aider-mlx fake-mlx-server --port 0`, its port read from its own start line. */
async function standIn(dir: string, i: number): Promise<Stand> {
  const proc = startChild(process.execPath, [BIN, 'fake-mlx-server', '--model', MODEL, '--port', '0'], { env: { ...process.env, NO_COLOR: '1' }, logPath: path.join(dir, `server-${i}.log`) });
  const t0 = Date.now();
  for (;;) {
    const m = proc.log().match(/Starting httpd at 127\.0\.0\.1 on port (\d+)/);
    if (m) return { port: Number(m[1]), proc, posts: () => (proc.log().match(/"POST \/v1\/chat\/completions HTTP\/1\.[01]" 200/g) ?? []).length };
    if (Date.now() - t0 > 30_000) throw new Error(`the stand-in did not start:\n${proc.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  if (!fs.existsSync(path.resolve(import.meta.dirname, '../../dist'))) {
    skip = 'dist/ is not built: run `npx tsup` first';
    return;
  }
  skip = missingPeers(await ensurePeers(), ['litellm']);
  if (skip) return;
  const dir = tempDir('affinity');
  servers = [await standIn(dir, 0), await standIn(dir, 1)];
  const plan: Plan = {
    version: PLAN_VERSION,
    mode: 'proxy',
    roles: { editor: { model: MODEL, context: 2048, deployments: servers.map((s) => ({ host: '127.0.0.1', port: s.port })) } },
    proxy: { host: '127.0.0.1', port: await freePort() },
    requestTimeout: 30,
    aider: { scope: 'profile', dir: path.join(dir, 'aider') },
  };
  key = newProxyKey();
  const configPath = path.join(dir, 'litellm.yaml');
  const files = renderFiles(plan, { litellmConfig: configPath, aiderDir: plan.aider.dir, proxyKey: key });
  fs.writeFileSync(configPath, files.litellm, { mode: 0o600 });
  // As setup writes it: the usage callback the config names, next to it.
  fs.writeFileSync(usageCallbackPath(configPath), renderUsageCallback(path.join(dir, 'turns.jsonl')), { mode: 0o600 });
  // What Aider will send: the header, in the model's extra_params.
  expect(parse(files.settings)[0].extra_params.extra_headers[HEADER]).toMatch(/^aider-mlx-/);
  proxy = await startLitellm(configPath, {}, { port: plan.proxy.port });
}, 600_000);

afterAll(async () => {
  await proxy?.stop();
  await Promise.all(servers.map((s) => s.proc.stop()));
});

async function turn(session: string, n: number) {
  const r = await httpRequest(`${proxy!.baseUrl}/chat/completions`, {
    body: chatBody(NAME, `turn ${n} of ${session}`),
    headers: { authorization: `Bearer ${key}`, [HEADER]: session },
    timeoutMs: 60_000,
  });
  expect(r.status, r.body).toBe(200);
}

/** Which server answered each of `count` turns of `session` (its index in `servers`). */
async function turns(session: string, count: number): Promise<number[]> {
  const where: number[] = [];
  for (let n = 0; n < count; n++) {
    const before = servers.map((s) => s.posts());
    await turn(session, n);
    const after = servers.map((s) => s.posts());
    const moved = after.map((a, i) => a - before[i]!);
    expect(moved.reduce((a, b) => a + b), `one server answered turn ${n}`).toBe(1);
    where.push(moved.indexOf(1));
  }
  return where;
}

describe('session affinity through the real LiteLLM proxy', () => {
  it('8 turns of one session land on one server; other sessions are answered too; a stopped server fails over', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const a = await turns('session-a', 8);
    expect(new Set(a).size, `session-a went to ${a.join(',')}`).toBe(1);
    // Other ids may land on either server; each one stays where it first landed.
    for (const id of ['session-b', 'session-c', 'session-d']) expect(new Set(await turns(id, 3)).size).toBe(1);

    // The server holding session-a goes away: its next turn is answered by the other one.
    const home = a[0]!;
    await servers[home]!.proc.stop();
    const after = await turns('session-a', 3);
    expect(after).toEqual([1 - home, 1 - home, 1 - home]);
  }, 300_000);
});
