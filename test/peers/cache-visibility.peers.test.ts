/**
 * The prompt cache is visible, proved with the REAL LiteLLM proxy: the files aider-mlx writes for
 * proxy mode (litellm.yaml + aider_mlx_usage.py next to it) make the proxy load the callback; a
 * streamed two-turn conversation (no stream_options, as Aider sends it) leaves two lines in the
 * turns log whose cached_tokens agree with what the server says it processed; `status --json`
 * reports the second turn as a hit.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePeers } from './bootstrap.js';
import { freePort, httpRequest, missingPeers, startChild, startLitellm, tempDir, type LitellmProxy, type Spawned } from './harness.js';
import { composeWrites } from '../../src/config/write.js';
import { configPaths } from '../../src/lib/paths.js';
import { litellmModelName, servedModels } from '../../src/config/names.js';
import { PLAN_VERSION, type Plan } from '../../src/config/plan.js';
import { ownedLocations } from '../../src/service/locations.js';
import { logFileName, serverUnitId } from '../../src/serve/metrics.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/aider-mlx.js');
const MODEL = 'aider-mlx-test/tiny-editor';
const NAME = litellmModelName(MODEL);

let skip: string | null = null;
let server: Spawned | undefined;
let proxy: LitellmProxy | undefined;
let env: Record<string, string> = {};
let key = '';
let serverPort = 0;

beforeAll(async () => {
  if (!fs.existsSync(path.resolve(import.meta.dirname, '../../dist'))) {
    skip = 'dist/ is not built: run `npx tsup` first';
    return;
  }
  skip = missingPeers(await ensurePeers(), ['litellm']);
  if (skip) return;
  const dir = tempDir('cachevis');
  env = { HOME: path.join(dir, 'home'), XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' };
  const port = await freePort();
  serverPort = port;
  const plan: Plan = {
    version: PLAN_VERSION,
    mode: 'proxy',
    roles: { editor: { model: MODEL, context: 4096, deployments: [{ host: '127.0.0.1', port }] } },
    proxy: { host: '127.0.0.1', port: await freePort() },
    requestTimeout: 30,
    aider: { scope: 'profile', dir: path.join(dir, 'config', 'aider-mlx', 'aider') },
  };
  // The server's log where serve keeps it: status reads its `Prompt Cache` lines from there.
  const logPath = path.join(ownedLocations(env).logs, logFileName(serverUnitId(servedModels(plan)[0]!.roles, { host: '127.0.0.1', port })));
  server = startChild(process.execPath, [BIN, 'fake-mlx-server', '--model', MODEL, '--port', String(port)], { env: { ...process.env, NO_COLOR: '1' }, logPath });
  for (const t0 = Date.now(); !/Starting httpd at/.test(server.log()); ) {
    if (Date.now() - t0 > 20_000) throw new Error(`the stand-in did not start:\n${server.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // Exactly what setup writes (minus the journal): the plan, litellm.yaml, the callback, Aider's files.
  const w = await composeWrites(plan, env);
  for (const c of w.changes) {
    fs.mkdirSync(path.dirname(c.path), { recursive: true });
    fs.writeFileSync(c.path, c.content, { mode: c.mode ?? 0o644 });
  }
  key = w.proxyKey;
  proxy = await startLitellm(configPaths(env).litellm, {}, { port: plan.proxy.port });
}, 600_000);

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

/** A streamed turn, as Aider sends it: stream true, no stream_options. The reply text. */
async function streamedTurn(messages: Array<{ role: string; content: string }>): Promise<string> {
  const r = await httpRequest(`${proxy!.baseUrl}/chat/completions`, {
    body: { model: NAME, messages, stream: true, max_tokens: 8 },
    headers: { authorization: `Bearer ${key}`, 'x-litellm-session-id': 'cachevis-1' },
    timeoutMs: 30_000,
  });
  expect(r.status, r.body).toBe(200);
  return r.body
    .split('\n')
    .filter((l) => l.startsWith('data: {'))
    .map((l) => (JSON.parse(l.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content ?? '')
    .join('');
}

describe('prompt cache visibility through the real LiteLLM proxy', () => {
  it('the callback aider-mlx writes notes each streamed turn; status --json shows the hit', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const turns = ownedLocations(env).turns;
    const sys = { role: 'system', content: 'You are Aider, an expert software developer. '.repeat(40) };
    const q1 = { role: 'user', content: 'Add a docstring to main.py' };
    const a1 = await streamedTurn([sys, q1]);
    await streamedTurn([sys, q1, { role: 'assistant', content: a1 }, { role: 'user', content: 'Now add a test.' }]);

    // The callback runs after the answer is sent: wait for its two lines.
    for (const t0 = Date.now(); (fs.existsSync(turns) ? fs.readFileSync(turns, 'utf8').trim().split('\n').length : 0) < 2; ) {
      if (Date.now() - t0 > 15_000) throw new Error(`no turns noted in ${turns}:\n${proxy!.log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(fs.statSync(turns).mode & 0o777).toBe(0o600);
    const lines = fs.readFileSync(turns, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    const text = JSON.stringify(lines);
    expect(text).not.toContain('docstring');
    expect(text).not.toContain(key);
    const noted = [NAME, `http://127.0.0.1:${serverPort}/v1`, 'cachevis-1', true];
    expect(lines.map((l) => [l.model_group, l.api_base, l.session, l.stream])).toEqual([noted, noted]);
    // What the server says it processed: `Prompt processing progress: n/n` with n = the uncached tokens.
    const processed = [...server!.log().matchAll(/Prompt processing progress: (\d+)\/\1$/gm)].map((m) => Number(m[1]));
    expect(processed).toEqual(lines.map((l) => (l.prompt_tokens as number) - (l.cached_tokens as number)));
    expect(lines[0]!.cached_tokens).toBe(0);
    expect(lines[1]!.cached_tokens as number).toBeGreaterThan(lines[0]!.prompt_tokens as number);

    const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'status', '--json'], { env: { ...env, NO_COLOR: '1' } }).catch((e: { stdout: string }) => e);
    const status = JSON.parse(stdout) as { hops: Array<{ kind: string; promptCache?: { turns: number; hits: number; line: string; server?: { sequences: number } } }> };
    const pc = status.hops.find((h) => h.kind === 'deployment')!.promptCache!;
    expect(pc).toMatchObject({ turns: 2, hits: 1 });
    expect(pc.line).toMatch(/^prompt cache: 1 of 2 recent turns hit \(\d+% of prompt tokens cached\)$/);
    expect(pc.server?.sequences).toBe(1);
  }, 60_000);
});
