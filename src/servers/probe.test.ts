import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeMlxServer, type FakeMlxServer, type FakeMlxServerOptions } from './fake-mlx-server.js';
import { findFreePort } from './ports.js';
import {
  classifyError,
  classifyNotFound,
  diagnoseNotFound,
  identifyServer,
  normalizeApiBase,
  probeChat,
  probeHealth,
  probeLitellm,
  probeModels,
  probeTcp,
  waitForChat,
  type WaitInfo,
} from './probe.js';

const MODEL = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const T = { timeoutMs: 2000 };
const cleanup: Array<() => Promise<void>> = [];

async function start(o: Partial<FakeMlxServerOptions> = {}): Promise<FakeMlxServer> {
  const s = await startFakeMlxServer({ model: MODEL, port: 0, ...o });
  cleanup.push(() => s.close());
  return s;
}

/** A port nothing listens on: bind, note it, close. */
async function closedPort(): Promise<number> {
  return findFreePort('127.0.0.1');
}

/** Just enough of a LiteLLM proxy for the probes (SPEC §2.6). */
async function fakeLitellm(masterKey?: string, wrongKey: 401 | 400 = 401): Promise<{ root: string; port: number }> {
  const srv = http.createServer((req, res) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/health/liveliness') return json(200, "I'm alive!");
    if (req.url === '/v1/models' || req.url === '/models') {
      if (masterKey && req.headers.authorization && req.headers.authorization !== `Bearer ${masterKey}` && wrongKey === 400) {
        // LiteLLM 1.108 without a database looks any other key up as a virtual key.
        return json(400, { error: { message: 'No connected db.', type: 'no_db_connection', param: 'None', code: '400' } });
      }
      if (masterKey && req.headers.authorization !== `Bearer ${masterKey}`) {
        return json(401, { error: { message: 'Authentication Error, No api key passed in.', type: 'auth_error', param: 'None', code: '401' } });
      }
      return json(200, {
        object: 'list',
        data: ['mlx-qwen2.5-coder-7b', 'mlx-qwq-32b'].map((id) => ({ id, object: 'model', created: 1677610602, owned_by: 'openai' })),
      });
    }
    return json(404, { detail: 'Not Found' });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => srv.close(() => r())));
  const port = (srv.address() as net.AddressInfo).port;
  return { root: `http://127.0.0.1:${port}`, port };
}

afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

describe('probeTcp', () => {
  it('connects to a listener', async () => {
    const s = await start();
    expect(await probeTcp('127.0.0.1', s.port, T)).toMatchObject({ ok: true });
  });

  it('reports refused in milliseconds', async () => {
    const r = await probeTcp('127.0.0.1', await closedPort(), T);
    expect(r).toMatchObject({ ok: false, error: { kind: 'refused', code: 'ECONNREFUSED' } });
    expect(r.latencyMs).toBeLessThan(500);
  });

  it('bounds a black hole by timeoutMs', async () => {
    const r = await probeTcp('10.255.255.1', 9, { timeoutMs: 150, connect: () => new net.Socket() });
    expect(r.error?.kind).toBe('timeout');
    expect(r.latencyMs).toBeGreaterThanOrEqual(140);
  });

  it('stops at once when the caller aborts', async () => {
    const ac = new AbortController();
    const p = probeTcp('127.0.0.1', 9, { timeoutMs: 5000, signal: ac.signal, connect: () => new net.Socket() });
    ac.abort();
    expect((await p).error?.kind).toBe('aborted');
  });
});

describe('probeHealth / probeModels', () => {
  it('passes on {"status": "ok"} and lists models without owned_by', async () => {
    const s = await start();
    const h = await probeHealth(s.rootUrl, T);
    expect(h).toMatchObject({ ok: true, status: 200, hasHealth: true, bodyHead: '{"status": "ok"}' });
    const m = await probeModels(s.baseUrl, T);
    expect(m).toMatchObject({ ok: true, models: [MODEL], ownedBy: [] });
  });

  it('accepts a base with /v1 for health too', async () => {
    const s = await start();
    expect((await probeHealth(s.baseUrl, T)).ok).toBe(true);
  });

  it('flags a server without /health (mlx-lm < 0.24)', async () => {
    const s = await start({ version: '0.22' });
    expect(await probeHealth(s.rootUrl, T)).toMatchObject({ ok: false, hasHealth: false, status: 404, error: { kind: 'http' } });
  });

  it('fails GET /models without /v1 (SPEC §4 #3)', async () => {
    const s = await start();
    const m = await probeModels(s.rootUrl, T);
    expect(m).toMatchObject({ ok: false, status: 404, bodyHead: 'Not Found', error: { kind: 'http', message: 'HTTP 404: Not Found' } });
  });

  it('costs one timeout against a hung server', async () => {
    const s = await start({ faults: { hang: true } });
    const h = await probeHealth(s.rootUrl, { timeoutMs: 200 });
    expect(h.error?.kind).toBe('timeout');
    expect(h.latencyMs).toBeGreaterThanOrEqual(190);
    expect(h.latencyMs).toBeLessThan(1500);
  });
});

describe('probeChat', () => {
  it('passes on a 1-token chat.completion and reads the version from the fingerprint', async () => {
    const s = await start();
    const r = await probeChat(s.baseUrl, 'default_model', T);
    expect(r).toMatchObject({ ok: true, status: 200, content: 'pong', finishReason: 'length', echoedModel: 'default_model', serverVersion: '0.32.0' });
    expect(s.requests.at(-1)?.body).toEqual({ model: 'default_model', messages: [{ role: 'user', content: 'ping' }], max_tokens: 1, stream: false });
  });

  it('passes for a reasoning model with empty content', async () => {
    const s = await start({ faults: { reasoning: true } });
    expect(await probeChat(s.baseUrl, MODEL, T)).toMatchObject({ ok: true, content: null });
  });

  it('sends the API key as a bearer token', async () => {
    const s = await start();
    await probeChat(s.baseUrl, 'default_model', { ...T, apiKey: 'sk-local' });
    expect(s.requests.at(-1)?.headers.authorization).toBe('Bearer sk-local');
  });

  it('without max_tokens shows the 512 default (SPEC §4 #14)', async () => {
    const s = await start();
    const r = await probeChat(s.baseUrl, 'default_model', { ...T, maxTokens: null, prompt: 'Write a long essay about the sea.' });
    expect(r).toMatchObject({ ok: true, finishReason: 'length', usage: { completion_tokens: 512 } });
  });

  it('classifies a wrong model name as a model 404', async () => {
    const s = await start();
    const r = await probeChat(s.baseUrl, 'qwen-coder', T);
    expect(r).toMatchObject({ ok: false, status: 404, notFound: 'model', error: { kind: 'http' } });
    expect(r.bodyHead).toContain('Repository Not Found');
  });

  it('classifies a doubled /v1 as a path 404', async () => {
    const s = await start();
    expect(await probeChat(`${s.baseUrl}/v1`, 'default_model', T)).toMatchObject({ status: 404, notFound: 'path' });
  });

  it('calls a plain Not Found on the right route ambiguous (old servers)', async () => {
    const s = await start({ version: '0.27.1' });
    expect(await probeChat(s.baseUrl, 'qwen-coder', T)).toMatchObject({ status: 404, notFound: 'ambiguous' });
  });

  it('reports a socket closed without response as reset', async () => {
    const s = await start({ faults: { closeWithoutResponse: true } });
    expect((await probeChat(s.baseUrl, 'default_model', T)).error?.kind).toBe('reset');
  });

  it('reports refused for a port nobody listens on', async () => {
    const r = await probeChat(`http://127.0.0.1:${await closedPort()}/v1`, 'default_model', T);
    expect(r.error).toMatchObject({ kind: 'refused' });
  });
});

describe('classifyError', () => {
  const fails = (cause: unknown) => (async () => {
    throw Object.assign(new TypeError('fetch failed'), { cause });
  }) as unknown as typeof fetch;

  it('maps undici/errno codes through cause and AggregateError', async () => {
    const dns = await probeHealth('http://no-such-host.invalid:8080', { ...T, fetch: fails(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })) });
    expect(dns.error?.kind).toBe('dns');
    const agg = new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), Object.assign(new Error('y'), { code: 'ENETUNREACH' })]);
    expect(classifyError(Object.assign(new TypeError('fetch failed'), { cause: agg })).kind).toBe('refused');
    expect(classifyError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'UND_ERR_SOCKET', message: 'other side closed' } })).kind).toBe('reset');
    expect(classifyError(new DOMException('t', 'TimeoutError')).kind).toBe('timeout');
    expect(classifyError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'UND_ERR_HEADERS_TIMEOUT' } })).kind).toBe('timeout');
  });

  it('says aborted when the caller cancelled', () => {
    const ac = new AbortController();
    ac.abort();
    expect(classifyError(new DOMException('a', 'AbortError'), ac.signal).kind).toBe('aborted');
  });
});

describe('classifyNotFound', () => {
  it.each([
    [404, 'Not Found', undefined, 'path'],
    [404, 'Not Found', '/v1/v1/chat/completions', 'path'],
    [404, 'Not Found', '/v1/chat/completions', 'ambiguous'],
    [404, '{"error": "401 Client Error.\\n\\nRepository Not Found for url: https://huggingface.co/api/models/x/revision/main."}', undefined, 'model'],
    [404, "Repo id must be in the form 'repo_name' or 'namespace/repo_name': 'a/b/c'. Use `repo_type` argument if needed.", undefined, 'model'],
    [404, '{"error": "Only \'text\' content type is supported."}', undefined, 'model'],
    [404, 'Local models must be relative to the current working dir.', undefined, 'model'],
    [404, '{"detail":"Not Found"}', undefined, 'path'],
    [404, '{"error":{"message":"litellm.NotFoundError: NotFoundError: OpenAIException - Not Found. Received Model Group=x","code":"404"}}', undefined, 'ambiguous'],
    [404, '', undefined, 'ambiguous'],
    [404, '404 page not found', undefined, 'ambiguous'],
    [200, '{}', undefined, undefined],
  ] as const)('%i %s (%s) → %s', (status, body, path, kind) => {
    expect(classifyNotFound(status, body, path)).toBe(kind);
  });
});

describe('diagnoseNotFound (SPEC §4 #1)', () => {
  it('on an old server, a name default_model fixes is a model problem', async () => {
    const s = await start({ version: '0.27' });
    const d = await diagnoseNotFound(s.baseUrl, 'qwen-coder', T);
    expect(d.kind).toBe('model');
    expect(d.retry?.ok).toBe(true);
  });

  it('the same 404 for default_model means the path is wrong', async () => {
    const s = await start({ version: '0.27' });
    const d = await diagnoseNotFound(`${s.baseUrl}/chat/completions`, 'qwen-coder', T);
    expect(d.kind).toBe('path');
  });

  it('a new server says so in one request', async () => {
    const s = await start();
    const d = await diagnoseNotFound(s.baseUrl, 'qwen-coder', T);
    expect(d.kind).toBe('model');
    expect(d.retry).toBeUndefined();
  });
});

describe('identifyServer', () => {
  it('recognises mlx_lm.server 0.32', async () => {
    const s = await start();
    const id = await identifyServer('127.0.0.1', s.port, T);
    expect(id.kind).toBe('mlx_lm.server');
    expect(id.hasHealth).toBe(true);
    expect(id.models).toEqual([MODEL]);
    expect(id.evidence.join('\n')).toContain('POST /v1/responses → 404 with the plain bytes "Not Found"');
    expect(id.evidence.join('\n')).toContain('GET /health → {"status": "ok"}');
  });

  it('recognises an old mlx_lm.server without /health', async () => {
    const s = await start({ version: '0.22' });
    const id = await identifyServer('127.0.0.1', s.port, T);
    expect(id).toMatchObject({ kind: 'mlx_lm.server', hasHealth: false });
  });

  it('recognises a very old mlx_lm.server without GET routes', async () => {
    const s = await start({ version: '0.18.0' });
    expect((await identifyServer('127.0.0.1', s.port, T)).kind).toBe('mlx_lm.server');
  });

  it('recognises a LiteLLM proxy', async () => {
    const p = await fakeLitellm('sk-proxy');
    const id = await identifyServer('127.0.0.1', p.port, T);
    expect(id.kind).toBe('litellm');
    expect(id.evidence[0]).toContain("I'm alive!");
  });

  it('calls an Ollama-like server other', async () => {
    const s = await start({ faults: { identity: 'other' } });
    const id = await identifyServer('127.0.0.1', s.port, T);
    expect(id).toMatchObject({ kind: 'other', looksLike: 'Ollama' });
  });

  it('says none for a closed port, quickly', async () => {
    const id = await identifyServer('127.0.0.1', await closedPort(), T);
    expect(id).toMatchObject({ kind: 'none', error: { kind: 'refused' } });
    expect(id.latencyMs).toBeLessThan(500);
  });

  it('costs one timeout against a hung server', async () => {
    const s = await start({ faults: { hang: true } });
    const id = await identifyServer('127.0.0.1', s.port, { timeoutMs: 200 });
    expect(id).toMatchObject({ kind: 'other', error: { kind: 'timeout' } });
    expect(id.latencyMs).toBeLessThan(1000);
  });
});

describe('probeLitellm', () => {
  it('reads the model names with the key', async () => {
    const p = await fakeLitellm('sk-proxy');
    const r = await probeLitellm(p.root, { ...T, apiKey: 'sk-proxy' });
    expect(r).toMatchObject({ ok: true, authFailed: false, names: ['mlx-qwen2.5-coder-7b', 'mlx-qwq-32b'] });
  });

  it('says when the master key is missing (SPEC §4 #10)', async () => {
    const p = await fakeLitellm('sk-proxy');
    const r = await probeLitellm(`${p.root}/v1`, T);
    expect(r).toMatchObject({ ok: false, authFailed: true, liveliness: { ok: true } });
    expect(r.models.error?.message).toContain('master_key');
  });

  it('reads LiteLLM\'s 400 "No connected db." for a wrong key as a refused key', async () => {
    const p = await fakeLitellm('sk-proxy', 400);
    const r = await probeLitellm(p.root, { ...T, apiKey: 'sk-wrong' });
    expect(r).toMatchObject({ ok: false, authFailed: true, models: { status: 400 } });
    expect(r.models.error?.message).toContain('not the master_key');
    expect(await probeLitellm(p.root, { ...T, apiKey: 'sk-proxy' })).toMatchObject({ ok: true, authFailed: false });
  });

  it('fails liveliness on an mlx server', async () => {
    const s = await start();
    const r = await probeLitellm(s.rootUrl, T);
    expect(r.liveliness).toMatchObject({ ok: false, status: 404 });
  });
});

describe('normalizeApiBase (SPEC §4 #2, #3, #7)', () => {
  it.each([
    ['http://127.0.0.1:8080/v1', 'http://127.0.0.1:8080/v1', 0],
    ['http://127.0.0.1:8080/v1/', 'http://127.0.0.1:8080/v1', 1],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080/v1', 1],
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8080/v1', 1],
    ['http://127.0.0.1:8080/v1/v1', 'http://127.0.0.1:8080/v1', 1],
    ['http://127.0.0.1:8080/v1/chat/completions', 'http://127.0.0.1:8080/v1', 1],
    ['http://127.0.0.1:8080/v1/chat/completions/', 'http://127.0.0.1:8080/v1', 2],
    ['http://127.0.0.1:8080/chat/completions', 'http://127.0.0.1:8080/v1', 2],
    ['http://127.0.0.1:4000/v1/models', 'http://127.0.0.1:4000/v1', 1],
    ['http://localhost:8081/v1', 'http://127.0.0.1:8081/v1', 1],
    ['127.0.0.1:8080/v1', 'http://127.0.0.1:8080/v1', 1],
    ['  http://127.0.0.1:8080/v1?x=1 ', 'http://127.0.0.1:8080/v1', 1],
    ['https://127.0.0.1:8080/v1', 'http://127.0.0.1:8080/v1', 1],
  ])('%s → %s', (input, base, problems) => {
    const r = normalizeApiBase(input);
    expect(r.base).toBe(base);
    expect(r.problems, r.problems.join('; ')).toHaveLength(problems);
    expect(r.valid).toBe(true);
    expect(r.root).toBe(base.replace(/\/v1$/, ''));
  });

  it('flags what it cannot fix', () => {
    expect(normalizeApiBase('http://127.0.0.1:8080/api').problems[0]).toMatch(/unexpected path/);
    expect(normalizeApiBase('http://127.0.0.1/v1').problems[0]).toMatch(/no port/);
    expect(normalizeApiBase('http://').valid).toBe(false);
  });
});

describe('waitForChat', () => {
  it('waits while the model loads, reporting it, then passes', async () => {
    const s = await start({ faults: { loading: 300 } });
    const seen: WaitInfo[] = [];
    const r = await waitForChat(s.baseUrl, 'default_model', { timeoutMs: 5000, intervalMs: 50, onWait: (i) => seen.push(i) });
    expect(r.ok).toBe(true);
    expect(r.attempts).toBe(1);
    expect(seen.some((i) => i.waitingFor === 'load')).toBe(true);
  });

  it('waits for the server to listen', async () => {
    const port = await closedPort();
    const seen: WaitInfo[] = [];
    setTimeout(() => void start({ port }), 300);
    const r = await waitForChat(`http://127.0.0.1:${port}/v1`, 'default_model', { timeoutMs: 5000, intervalMs: 50, onWait: (i) => seen.push(i) });
    expect(r.ok).toBe(true);
    expect(r.attempts).toBeGreaterThan(1);
    expect(seen[0]?.waitingFor).toBe('listen');
  });

  it('stops at once on a model 404', async () => {
    const s = await start();
    const r = await waitForChat(s.baseUrl, 'qwen-coder', { timeoutMs: 5000, intervalMs: 50 });
    expect(r).toMatchObject({ ok: false, attempts: 1, notFound: 'model' });
  });

  it('gives up at timeoutMs', async () => {
    const r = await waitForChat(`http://127.0.0.1:${await closedPort()}/v1`, 'default_model', { timeoutMs: 300, intervalMs: 50 });
    expect(r.ok).toBe(false);
    expect(r.error?.kind).toBe('refused');
    expect(r.waitedMs).toBeLessThan(1000);
  });

  it('retries after a crash-like reset', async () => {
    const s = await start({ faults: { closeWithoutResponse: true } });
    setTimeout(() => s.setFaults({ closeWithoutResponse: false }), 150);
    const r = await waitForChat(s.baseUrl, 'default_model', { timeoutMs: 5000, intervalMs: 50 });
    expect(r.ok).toBe(true);
    expect(r.attempts).toBeGreaterThan(1);
  });
});

describe('probeTcp input', () => {
  it('returns other for a port out of range instead of throwing', async () => {
    expect((await probeTcp('127.0.0.1', 70000, T)).error?.kind).toBe('other');
  });
});

describe('identification evidence never carries markup (D5)', () => {
  // What `python3 -m http.server` answers a POST with.
  const PAGE = '<!DOCTYPE HTML>\n<html lang="en">\n    <head>\n        <meta charset="utf-8">\n        <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n        <p>Error code: 501</p>\n    </body>\n</html>\n';
  it('another HTTP server answering with an HTML page: "an HTML page" with its title, one line, the probe still tagged', async () => {
    const paths: string[] = [];
    const srv = http.createServer((req, res) => {
      paths.push(`${req.method} ${req.url}`);
      res.writeHead(req.method === 'POST' ? 501 : 404, { 'Content-Type': 'text/html;charset=utf-8' });
      res.end(PAGE);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => srv.close(() => r())));
    const port = (srv.address() as net.AddressInfo).port;
    const id = await identifyServer('127.0.0.1', port, T);
    expect(id.kind).toBe('other');
    const line = id.evidence.find((e) => e.startsWith('POST /v1/responses'));
    expect(line).toBe('POST /v1/responses → 501 an HTML page ("Error response")');
    for (const e of id.evidence) expect(e).not.toMatch(/[<>\n\r]/);
    expect(paths).toContain('POST /v1/responses?from=aider-mlx-probe');
  });

  it('bodyGist: whitespace and control characters collapsed; markup named, never shown', async () => {
    const { bodyGist } = await import('./probe.js');
    expect(bodyGist('Not\n  Implemented\r\n\t\u001b[31m')).toBe('Not Implemented [31m');
    expect(bodyGist('<html><body>hi</body></html>')).toBe('an HTML page');
    expect(bodyGist('<?xml version="1.0"?><error/>')).toBe('a markup document (not HTML)');
    expect(bodyGist('x'.repeat(100), 10)).toBe(`${'x'.repeat(10)}…`);
  });
});
