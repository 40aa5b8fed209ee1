import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  hfLoadErrorText,
  pyJson,
  runFakeServerCommand,
  startFakeMlxServer,
  type FakeMlxServer,
  type FakeMlxServerOptions,
} from './fake-mlx-server.js';

const MODEL = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const servers: FakeMlxServer[] = [];

async function start(o: Partial<FakeMlxServerOptions> = {}): Promise<FakeMlxServer> {
  const s = await startFakeMlxServer({ model: MODEL, port: 0, ...o });
  servers.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const chat = (s: FakeMlxServer, body: unknown, path = '/v1/chat/completions') =>
  fetch(`${s.rootUrl}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const ping = (model?: string, extra: Record<string, unknown> = {}) => ({
  ...(model === undefined ? {} : { model }),
  messages: [{ role: 'user', content: 'ping' }],
  max_tokens: 1,
  ...extra,
});

/** Raw HTTP, for what fetch will not send (no Content-Length); resolves with everything until close. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('close', () => resolve(out));
    s.on('error', reject);
    s.write(text);
  });
}

/** SSE `data:` payloads, plus comment lines. */
function parseSse(text: string): { data: unknown[]; done: boolean; comments: string[] } {
  const data: unknown[] = [];
  const comments: string[] = [];
  let done = false;
  for (const block of text.split('\n\n')) {
    if (!block) continue;
    if (block.startsWith(':')) comments.push(block);
    else if (block === 'data: [DONE]') done = true;
    else if (block.startsWith('data: ')) data.push(JSON.parse(block.slice(6)));
  }
  return { data, done, comments };
}

describe('routes (0.32 behaviour)', () => {
  it('answers GET /health with the exact bytes and JSON content type', async () => {
    const s = await start();
    const r = await fetch(`${s.rootUrl}/health`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('server')).toMatch(/^BaseHTTP\/0\.6 Python\/3/);
    expect(await r.text()).toBe('{"status": "ok"}');
  });

  it('lists models under any /v1/models path, without owned_by', async () => {
    const s = await start({ cachedModels: ['mlx-community/QwQ-32B-4bit'] });
    const list = (await (await fetch(`${s.baseUrl}/models`)).json()) as { object: string; data: Array<Record<string, unknown>> };
    expect(list.object).toBe('list');
    // The cache's models, in no served-first order (the real one lists a set).
    expect(list.data.map((m) => m.id)).toEqual([MODEL, 'mlx-community/QwQ-32B-4bit'].sort());
    expect(Object.keys(list.data[0]!).sort()).toEqual(['created', 'id', 'object']);
    const one = (await (await fetch(`${s.baseUrl}/models/${MODEL}`)).json()) as { data: unknown[] };
    expect(one.data).toHaveLength(1);
  });

  it('answers unknown paths with 404, JSON content type and the plain bytes Not Found', async () => {
    const s = await start();
    for (const [method, path] of [
      ['GET', '/models'],
      ['GET', '/'],
      ['POST', '/v1/responses'],
      ['POST', '/v1/v1/chat/completions'],
      ['POST', '/v1/chat/completions/chat/completions'],
      ['POST', '/v1/chat/completions?x=1'],
    ] as const) {
      const r = await fetch(`${s.rootUrl}${path}`, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(await r.text()).toBe('Not Found');
    }
  });

  it('answers OPTIONS with 204 and CORS headers; other methods with the stdlib 501', async () => {
    const s = await start();
    const o = await fetch(`${s.baseUrl}/chat/completions`, { method: 'OPTIONS' });
    expect(o.status).toBe(204);
    expect(o.headers.get('access-control-allow-origin')).toBe('*');
    const d = await fetch(`${s.baseUrl}/models`, { method: 'DELETE' });
    expect(d.status).toBe(501);
    expect(await d.text()).toContain("Unsupported method ('DELETE')");
  });

  it('serves chat on /v1/chat/completions and /chat/completions with the SPEC §1.7 shape', async () => {
    const s = await start();
    for (const path of ['/v1/chat/completions', '/chat/completions']) {
      const r = await chat(s, ping('default_model'), path);
      expect(r.status).toBe(200);
      const j = (await r.json()) as Record<string, any>;
      expect(j.id).toMatch(/^chatcmpl-[0-9a-f-]{36}$/);
      expect(j.object).toBe('chat.completion');
      expect(j.model).toBe('default_model');
      expect(j.system_fingerprint).toMatch(/^0\.32\.0-/);
      expect(typeof j.created).toBe('number');
      expect(j.choices[0]).toEqual({ index: 0, finish_reason: 'length', message: { role: 'assistant', content: 'pong' } });
      expect(j.usage.completion_tokens).toBe(1);
      expect(j.usage.total_tokens).toBe(j.usage.prompt_tokens + 1);
    }
  });

  it('accepts default_model, no model, and the exact --model string; echoes what was sent', async () => {
    const s = await start();
    for (const model of ['default_model', undefined, MODEL]) {
      const r = await chat(s, ping(model, { max_tokens: 10 }));
      expect(r.status).toBe(200);
      const j = (await r.json()) as Record<string, any>;
      expect(j.model).toBe(model ?? 'default_model');
      expect(j.choices[0].finish_reason).toBe('stop');
    }
  });

  it('serves /v1/completions with text_completion', async () => {
    const s = await start();
    const r = await chat(s, { prompt: 'ping', max_tokens: 5 }, '/v1/completions');
    const j = (await r.json()) as Record<string, any>;
    expect(j.id).toMatch(/^cmpl-/);
    expect(j.object).toBe('text_completion');
    expect(j.choices[0].text).toBe('pong');
  });

  it('records requests and writes an access-log line per request', async () => {
    const lines: string[] = [];
    const s = await start({ log: (l) => lines.push(l) });
    await chat(s, ping());
    await fetch(`${s.rootUrl}/health`);
    expect(s.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ['POST', '/v1/chat/completions', 200],
      ['GET', '/health', 200],
    ]);
    expect(s.requests[0]!.body).toMatchObject({ max_tokens: 1 });
    // Before it, the prompt cache's INFO lines (as mlx_lm/server.py logs them before the prefill).
    expect(lines.filter((l) => !/ - INFO - Prompt /.test(l))[0]).toMatch(/^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4} \d\d:\d\d:\d\d\] "POST \/v1\/chat\/completions HTTP\/1\.1" 200 -$/);
  });
});

describe('model field: the second kind of 404', () => {
  it('answers an unknown short name with the HF Repository Not Found error as JSON', async () => {
    const s = await start();
    const r = await chat(s, ping('qwen-coder'));
    expect(r.status).toBe(404);
    const text = await r.text();
    expect(text.startsWith('{"error": "401 Client Error.')).toBe(true);
    expect((JSON.parse(text) as { error: string }).error).toContain(
      'Repository Not Found for url: https://huggingface.co/api/models/qwen-coder/revision/main',
    );
  });

  it('answers a URL or a path with more than one / with the Repo id must be error', async () => {
    const s = await start();
    const r = await chat(s, ping('http://127.0.0.1:8081/v1'));
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({
      error:
        "Repo id must be in the form 'repo_name' or 'namespace/repo_name': 'http://127.0.0.1:8081/v1'. Use `repo_type` argument if needed.",
    });
  });

  it('swaps to a cached model named in the request', async () => {
    const s = await start({ cachedModels: ['mlx-community/QwQ-32B-4bit'] });
    expect((await chat(s, ping('mlx-community/QwQ-32B-4bit'))).status).toBe(200);
    expect(s.loadedModel).toBe('mlx-community/QwQ-32B-4bit');
    expect((await chat(s, ping('default_model'))).status).toBe(200);
    expect(s.loadedModel).toBe(MODEL);
  });

  it('formats load failures by version: plain ≤0.27, raw text 0.28–0.31.1, JSON ≥0.31.2', async () => {
    const old = await start({ version: '0.27' });
    const a = await chat(old, ping('qwen-coder'));
    expect([a.status, await a.text()]).toEqual([404, 'Not Found']);
    const mid = await start({ version: '0.31.1' });
    const b = await chat(mid, ping('qwen-coder'));
    expect(b.status).toBe(404);
    expect(await b.text()).toMatch(/^401 Client Error\..*Repository Not Found/s);
  });

  it('answers 404 for non-text content parts (images)', async () => {
    const s = await start();
    const r = await chat(s, { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] });
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: "Only 'text' content type is supported." });
  });

  it("with HF_HUB_OFFLINE=1 a name not in the cache fails on the cache (snapshot_download's LocalEntryNotFoundError), not at the Hub", async () => {
    const s = await start({ hubOffline: true, cachedModels: ['mlx-community/QwQ-32B-4bit'] });
    const r = await chat(s, ping('qwen-coder'));
    expect(r.status).toBe(404);
    expect(await r.text()).toBe(
      '{"error": "Cannot find an appropriate cached snapshot folder for the specified revision on the local disk and ' +
        "outgoing traffic has been disabled. To enable repo look-ups and downloads online, set 'HF_HUB_OFFLINE=0' as environment variable.\"}",
    );
    // validate_repo_id runs before any lookup, offline too; a cached repo still loads.
    expect(await (await chat(s, ping('http://127.0.0.1:8081/v1'))).json()).toEqual({ error: hfLoadErrorText('http://127.0.0.1:8081/v1') });
    expect((await chat(s, ping('mlx-community/QwQ-32B-4bit'))).status).toBe(200);
  });

  it('builds the HF messages for names the Hub rejects', () => {
    expect(hfLoadErrorText('a/b/c')).toMatch(/^Repo id must be in the form/);
    expect(hfLoadErrorText('openai:x')).toMatch(/^Repo id must use alphanumeric chars/);
    expect(hfLoadErrorText('org/model')).toContain('Repository Not Found');
  });
});

describe('request errors', () => {
  it('answers 411 without Content-Length', async () => {
    const s = await start();
    const out = await raw(s.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(out).toMatch(/^HTTP\/1\.1 411 /);
    expect(out.endsWith('{"error": "Content-Length header is required"}')).toBe(true);
  });

  it('answers 400 for invalid JSON and for a non-object body', async () => {
    const s = await start();
    const bad = await chat(s, '{not json');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^Invalid JSON in request body: Expecting/);
    const arr = await chat(s, '[1, 2]');
    expect(arr.status).toBe(400);
    expect(await arr.text()).toBe('{"error": "Request should be a JSON dictionary"}');
  });

  it('closes the socket without a response on a parameter that fails validation', async () => {
    const lines: string[] = [];
    const s = await start({ log: (l) => lines.push(l) });
    await expect(chat(s, ping(undefined, { top_p: 2 }))).rejects.toThrow();
    await expect(chat(s, { model: 'default_model' })).rejects.toThrow(); // no messages
    expect(lines.join('\n')).toContain('ValueError: top_p must be at most 1');
    expect(lines.join('\n')).toContain('AssertionError: Request did not contain messages');
  });

  it('drops the socket for a missing Content-Length on servers before 0.31.2', async () => {
    const s = await start({ version: '0.30.0' });
    const out = await raw(s.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(out).toBe('');
  });
});

describe('generation', () => {
  it('stops at the server max_tokens (512) when the request sends none', async () => {
    const s = await start();
    const r = await chat(s, { messages: [{ role: 'user', content: 'Write a long essay about foxes.' }] });
    const j = (await r.json()) as Record<string, any>;
    expect(j.choices[0].finish_reason).toBe('length');
    expect(j.usage.completion_tokens).toBe(512);
    expect(j.choices[0].message.content.split(' ')).toHaveLength(512);
  });

  it('honours the --max-tokens option and max_completion_tokens', async () => {
    const s = await start({ maxTokens: 20 });
    const a = (await (await chat(s, { messages: [{ role: 'user', content: 'a long story' }] })).json()) as Record<string, any>;
    expect(a.usage.completion_tokens).toBe(20);
    const b = (await (await chat(s, { messages: [{ role: 'user', content: 'a long story' }], max_completion_tokens: 3 })).json()) as Record<string, any>;
    expect(b.usage.completion_tokens).toBe(3);
  });

  it('answers the aider probe with its single word, and cuts at stop sequences', async () => {
    const s = await start();
    const a = (await (await chat(s, { messages: [{ role: 'user', content: 'Reply with the single word: pong' }] })).json()) as Record<string, any>;
    expect(a.choices[0].message.content).toBe('pong');
    const b = (await (await chat(s, { messages: [{ role: 'user', content: 'a long story' }], stop: 'fox' })).json()) as Record<string, any>;
    expect(b.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'The quick brown ' } });
  });

  it('streams SSE chunks, a finish chunk, the usage chunk and [DONE]', async () => {
    const s = await start();
    const r = await chat(s, ping(undefined, { stream: true, max_tokens: 5, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'tell a long story' }] }));
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const { data, done } = parseSse(await r.text());
    expect(done).toBe(true);
    const chunks = data as Array<Record<string, any>>;
    const deltas = chunks.slice(0, 5);
    expect(deltas.every((c) => c.object === 'chat.completion.chunk' && c.choices[0].finish_reason === null)).toBe(true);
    expect(deltas.map((c) => c.choices[0].delta.content).join('')).toBe('The quick brown fox jumps');
    expect(chunks[5]!.choices[0]).toEqual({ index: 0, finish_reason: 'length', delta: { role: 'assistant' } });
    expect(chunks[6]).toMatchObject({ object: 'chat.completion', choices: [], usage: { completion_tokens: 5 } });
    expect(chunks).toHaveLength(7);
  });

  it('omits the usage chunk without include_usage', async () => {
    const s = await start();
    const { data, done } = parseSse(await (await chat(s, ping(undefined, { stream: true }))).text());
    expect(done).toBe(true);
    expect(data).toHaveLength(2);
  });
});

describe('faults', () => {
  it('hang: accepts and never answers (the client pays its timeout)', async () => {
    const s = await start({ faults: { hang: true } });
    const t0 = Date.now();
    await expect(fetch(`${s.rootUrl}/health`, { signal: AbortSignal.timeout(300) })).rejects.toThrow(/timeout|aborted/i);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    s.setFaults({ hang: false });
    expect((await fetch(`${s.rootUrl}/health`)).status).toBe(200);
  });

  it('delayMs: completions take at least that long; health does not', async () => {
    const s = await start({ faults: { delayMs: 200 } });
    const t0 = Date.now();
    await (await fetch(`${s.rootUrl}/health`)).text();
    expect(Date.now() - t0).toBeLessThan(150);
    await (await chat(s, ping())).json();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it('delayMs while streaming: keepalive comments come first', async () => {
    const s = await start({ faults: { delayMs: 50 } });
    const { comments } = parseSse(await (await chat(s, ping(undefined, { stream: true }))).text());
    expect(comments[0]).toMatch(/^: keepalive \d+\/\d+$/);
  });

  it('loading: health is ok while chat waits until ready', async () => {
    const s = await start({ faults: { loading: true } });
    expect((await fetch(`${s.rootUrl}/health`)).status).toBe(200);
    let answered = false;
    const pending = chat(s, ping()).then((r) => {
      answered = true;
      return r.status;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(answered).toBe(false);
    s.setFaults({ loading: false });
    expect(await pending).toBe(200);
  });

  it('loading as a number of ms clears itself', async () => {
    const s = await start({ faults: { loading: 100 } });
    const t0 = Date.now();
    expect((await chat(s, ping())).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(80);
  });

  it('closeWithoutResponse: the socket closes with no HTTP answer', async () => {
    const s = await start({ faults: { closeWithoutResponse: true } });
    const err = await chat(s, ping()).catch((e: Error & { cause?: { code?: string } }) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { cause?: { code?: string } }).cause?.code).toBe('UND_ERR_SOCKET');
    expect((await fetch(`${s.rootUrl}/health`)).status).toBe(200);
  });

  it('crashAfter: serves N requests, then the port is refused', async () => {
    const s = await start({ faults: { crashAfter: 2 } });
    expect((await fetch(`${s.rootUrl}/health`)).status).toBe(200);
    expect((await chat(s, ping())).status).toBe(200);
    await expect(fetch(`${s.rootUrl}/health`)).rejects.toThrow();
    expect(s.crashed).toBe(true);
    const err = await fetch(`${s.rootUrl}/health`).catch((e: { cause?: { code?: string } }) => e);
    expect((err as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
  });

  it('reasoning: a reasoning field on 0.32, <think> tags in content on older servers', async () => {
    const s = await start({ faults: { reasoning: true } });
    const j = (await (await chat(s, ping(undefined, { max_tokens: 100 }))).json()) as Record<string, any>;
    expect(j.choices[0].message.reasoning).toMatch(/^\nOkay, .*short\.$/s);
    expect(j.choices[0].message.content).toBe('\n\npong');
    const one = (await (await chat(s, ping())).json()) as Record<string, any>;
    expect(one.choices[0].message).toEqual({ role: 'assistant', content: null });

    const old = await start({ version: '0.29', faults: { reasoning: true } });
    const k = (await (await chat(old, ping(undefined, { max_tokens: 100 }))).json()) as Record<string, any>;
    expect(k.choices[0].message.content).toMatch(/^<think>\nOkay.*<\/think>\n\npong$/s);
  });

  it('noChatTemplate: the answer rambles on as a USER:/ASSISTANT: transcript', async () => {
    const s = await start({ faults: { noChatTemplate: true } });
    const j = (await (await chat(s, ping(undefined, { max_tokens: 50 }))).json()) as Record<string, any>;
    expect(j.choices[0].message.content).toContain('ASSISTANT:');
    expect(s.faults.noChatTemplate).toBe(true);
  });

  it("identity 'other': Ollama-like answers (owned_by, Go 404s, no /health)", async () => {
    const s = await start({ faults: { identity: 'other' } });
    const h = await fetch(`${s.rootUrl}/health`);
    expect([h.status, await h.text()]).toEqual([404, '404 page not found']);
    const m = (await (await fetch(`${s.baseUrl}/models`)).json()) as { data: Array<{ owned_by: string }> };
    expect(m.data[0]!.owned_by).toBe('library');
    expect(await (await fetch(`${s.rootUrl}/`)).text()).toBe('Ollama is running');
    const bad = await chat(s, ping('default_model'));
    expect(bad.status).toBe(404);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('not found, try pulling it first');
  });
});

describe('versions', () => {
  it('has no /health before 0.24 and no GET at all before 0.18.2', async () => {
    const a = await start({ version: '0.22.0' });
    const h = await fetch(`${a.rootUrl}/health`);
    expect([h.status, await h.text()]).toEqual([404, 'Not Found']);
    expect((await fetch(`${a.baseUrl}/models`)).status).toBe(200);
    const b = await start({ version: '0.18.0' });
    expect((await fetch(`${b.rootUrl}/health`)).status).toBe(501);
  });

  it('matches /v1/models exactly before 0.26.1', async () => {
    const s = await start({ version: '0.26.0' });
    expect((await fetch(`${s.baseUrl}/models/${MODEL}`)).status).toBe(404);
  });

  it('before 0.27, an absolute local --model sent verbatim fails to load', async () => {
    const s = await start({ version: '0.26.4', model: '/Users/me/models/qwen' });
    const r = await chat(s, ping('/Users/me/models/qwen'));
    expect([r.status, await r.text()]).toEqual([404, 'Not Found']);
  });
});

describe('pyJson', () => {
  it('writes Python json.dumps bytes', () => {
    expect(pyJson({ a: [1, 'é'], b: null, c: { d: true } })).toBe('{"a": [1, "\\u00e9"], "b": null, "c": {"d": true}}');
  });
});

describe('runFakeServerCommand', () => {
  it('prints the ready line, serves, and returns 0 when stopped', async () => {
    const ac = new AbortController();
    let err = '';
    const ready = new Promise<number>((resolve) => {
      const code = runFakeServerCommand(['--model', MODEL, '--port', '0', '--max-tokens', '7', '--log-level', 'INFO'], {
        stderr: (s) => {
          err += s;
          const m = /Starting httpd at 127\.0\.0\.1 on port (\d+)\.\.\./.exec(err);
          if (m) resolve(Number(m[1]));
        },
        signal: ac.signal,
      });
      void code.then((c) => (err += `\nexit ${c}`));
    });
    const port = await ready;
    const r = (await (await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ messages: [{ role: 'user', content: 'a long story' }] }),
    })).json()) as Record<string, any>;
    expect(r.usage.completion_tokens).toBe(7);
    expect(err).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - INFO - Starting httpd/);
    ac.abort();
    await expect.poll(() => err).toContain('exit 0');
  });

  it('reads HF_HUB_OFFLINE from its environment, as the real server does', async () => {
    const ac = new AbortController();
    let err = '';
    const port = await new Promise<number>((resolve) => {
      void runFakeServerCommand(['--model', MODEL, '--port', '0'], {
        env: { HF_HUB_OFFLINE: '1' },
        stderr: (t) => {
          err += t;
          const m = /on port (\d+)\.\.\./.exec(err);
          if (m) resolve(Number(m[1]));
        },
        signal: ac.signal,
      });
    });
    try {
      const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(ping('qwen-coder')) });
      expect(r.status).toBe(404);
      expect(((await r.json()) as { error: string }).error).toMatch(/^Cannot find an appropriate cached snapshot folder/);
    } finally {
      ac.abort();
    }
  });

  it('exits 1 with the Python error when the port is taken', async () => {
    const s = await start();
    let err = '';
    const code = await runFakeServerCommand(['--model', MODEL, '--port', String(s.port)], { stderr: (t) => (err += t) });
    expect(code).toBe(1);
    expect(err).toMatch(/OSError: \[Errno \d+\] Address already in use/);
  });

  it('rejects unknown flags and a missing --model as usage errors', async () => {
    await expect(runFakeServerCommand(['--model', 'x', '--bogus'])).rejects.toThrow(/bogus/);
    await expect(runFakeServerCommand([])).rejects.toThrow(/--model/);
  });
});
