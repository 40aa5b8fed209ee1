import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAN_VERSION, type Plan } from '../config/plan.js';
import type { ServedModelSource } from '../servers/ports.js';
import { startFakeMlxServer, type FakeMlxServer } from '../servers/fake-mlx-server.js';
import { verifyServers } from './verify.js';

const A = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
let server: FakeMlxServer;
beforeAll(async () => {
  server = await startFakeMlxServer({ model: A, port: 0 });
});
afterAll(async () => {
  await server.close();
});

const plan = (mode: 'proxy' | 'direct', model = A): Plan => ({
  version: PLAN_VERSION,
  mode,
  roles: { editor: { model, context: 32768, deployments: [{ host: '127.0.0.1', port: server.port }] } },
  proxy: { host: '127.0.0.1', port: 4000 },
  requestTimeout: 600,
  aider: { scope: 'project', dir: '/tmp' },
});

const chatModels = () =>
  server.requests.filter((q) => q.method === 'POST' && q.path.endsWith('/chat/completions')).map((q) => (q.body as { model?: string }).model);

async function verify(p: Plan, source: ServedModelSource) {
  server.requests.length = 0;
  const seen: Array<[string, number, string]> = [];
  const r = await verifyServers(p, {
    env: { HOME: '/nonexistent-home' },
    timeoutMs: 3000,
    servedModel: async (host, port, planned) => {
      seen.push([host, port, planned]);
      return source;
    },
  });
  return { ...r, seen };
}

describe('verifyServers: which model the server serves', () => {
  it('a remote server is "unconfirmed", not a pass that claims the model; only default_model is sent, even in direct mode', async () => {
    for (const mode of ['proxy', 'direct'] as const) {
      const r = await verify(plan(mode), { kind: 'remote' });
      expect(r.badInput).toEqual([]);
      expect(r.checks).toHaveLength(1);
      const c = r.checks[0]!;
      expect(c.status).toBe('warn');
      expect(c.title).toMatch(/which model it serves is unconfirmed/);
      expect(c.title).not.toMatch(/serves mlx-community/);
      expect(c.observed).toMatch(/another machine: its command line cannot be read from here/);
      if (mode === 'direct') expect(c.observed).toContain(`"${A}" was not sent`);
      expect(chatModels()).toEqual(['default_model']);
    }
  });

  it('an unreadable command line says why, and is unconfirmed too', async () => {
    const r = await verify(plan('proxy'), { kind: 'unreadable', why: 'the command line of Python (pid 7) could not be read' });
    expect(r.checks[0]).toMatchObject({ status: 'warn', observed: 'the command line of Python (pid 7) could not be read' });
  });

  it('another --model on its command line fails without sending anything to the server', async () => {
    const r = await verify(plan('direct', 'mlx-community/Llama-3.2-1B-Instruct-4bit'), { kind: 'cmdline', model: A, pid: 99 });
    expect(r.checks[0]).toMatchObject({ status: 'fail' });
    expect(r.checks[0]!.observed).toBe(`127.0.0.1:${server.port} serves ${A} (from its command line, pid 99), not mlx-community/Llama-3.2-1B-Instruct-4bit`);
    expect(chatModels()).toEqual([]);
  });

  it('the same --model passes; direct mode sends the exact --model, proxy mode default_model', async () => {
    for (const [mode, sent] of [['proxy', 'default_model'], ['direct', A]] as const) {
      const r = await verify(plan(mode), { kind: 'cmdline', model: A, pid: 99 });
      expect(r.checks[0]).toMatchObject({ status: 'pass' });
      expect(r.checks[0]!.title).toContain(`serves ${A} (from its command line)`);
      expect(chatModels()).toEqual([sent]);
      expect(r.seen).toEqual([['127.0.0.1', server.port, A]]);
    }
  });

  it('a --model equal but for ~ and a trailing / is the same model; direct mode then sends only default_model', async () => {
    const r = await verify(plan('direct', '~/models/qwen'), { kind: 'cmdline', model: '/nonexistent-home/models/qwen/', pid: 5 });
    expect(r.badInput).toEqual([]);
    expect(r.checks[0]).toMatchObject({ status: 'warn' });
    expect(r.checks[0]!.observed).toMatch(/not exactly "~\/models\/qwen"/);
    expect(chatModels()).toEqual(['default_model']);
  });
});
