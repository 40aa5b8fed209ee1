import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseErrorText, MAX_ANALYSED } from './error-text.js';
import { suspectsFromText } from './causes.js';

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/peer-errors');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const top = (text: string) => suspectsFromText(parseErrorText(text))[0]?.cause;

describe('captured texts of the real tools (test/fixtures/peer-errors)', () => {
  it('aider → mlx_lm.server with an alias as the model: the Hub lookup 404 (cause C1)', () => {
    const p = parseErrorText(fixture('aider-alias-as-upstream-model.txt'));
    expect(p).toMatchObject({
      errorClass: 'NotFoundError',
      provider: 'OpenAIException',
      status: 404,
      model: 'openai/qwen-coder',
      upstreamModel: 'qwen-coder',
      wrapped: false,
      viaProxy: false,
    });
    expect(p.signals).toContain('hf-repo-not-found');
    expect(p.signals).not.toContain('auth-rejected');
    expect(p.body).toContain('Repository Not Found');
    expect(top(fixture('aider-alias-as-upstream-model.txt'))).toBe('C1');
  });

  it.each(['aider-doubled-v1-base.txt', 'aider-full-endpoint-as-base.txt'])('%s: a bare Not Found points at the path first (C2), then the old-server model case (C1)', (name) => {
    const p = parseErrorText(fixture(name));
    expect(p).toMatchObject({ errorClass: 'NotFoundError', provider: 'OpenAIException', status: 404, body: 'Not Found', model: 'openai/default_model' });
    expect(p.signals).toContain('not-found-plain');
    expect(suspectsFromText(p).map((s) => s.cause).slice(0, 2)).toEqual(['C2', 'C1']);
  });

  it('aider → LiteLLM proxy → mlx: the proxy error re-wrapped by the client (doubled)', () => {
    const p = parseErrorText(fixture('aider-via-litellm-proxy-bad-upstream-model.txt'));
    expect(p.classes).toEqual(['BadRequestError', 'NotFoundError']);
    expect(p).toMatchObject({ errorClass: 'BadRequestError', innerClass: 'NotFoundError', status: 404, wrapped: true, viaProxy: true, modelGroup: 'qwen-coder' });
    expect(p.providers).toEqual(['OpenAIException', 'OpenAIException']);
    expect(p.signals).toContain('model-load-failed');
    expect(top(fixture('aider-via-litellm-proxy-bad-upstream-model.txt'))).toBe('C1');
  });

  it('LiteLLM refusing to start without a master key', () => {
    const p = parseErrorText(fixture('litellm-proxy-no-master-key.txt'));
    expect(p.signals).toContain('proxy-needs-master-key');
    expect(top(fixture('litellm-proxy-no-master-key.txt'))).toBe('master-key');
  });

  it('the raw mlx_lm.server bodies', () => {
    const model = JSON.parse(fixture('mlx-unknown-model.json')) as { body: { error: string } };
    expect(parseErrorText(JSON.stringify(model.body)).signals).toContain('hf-repo-not-found');
    expect(parseErrorText(model.body.error).upstreamModel).toBe('qwen-coder');
    const path = JSON.parse(fixture('mlx-unknown-path.json')) as { body: string };
    expect(parseErrorText(path.body).signals).toContain('not-found-plain');
  });

  // Captured by test/doctor/doctor.peers.test.ts (aider 0.86.2 → LiteLLM proxy 1.108.7), as printed.
  it('real: a name the proxy does not serve (400 Invalid model name, wrapped by Aider\'s line width)', () => {
    const text =
      'Main model: openai/mlx-tiny-arch with architect edit format\nEditor model: openai/mlx-tiny-editor with editor-diff edit format\n\n' +
      'litellm.BadRequestError: OpenAIException - /chat/completions: Invalid model name\npassed in model=mlx-tiny-arch. Call `/v1/models` to view available models for \nyour key.\n';
    const p = parseErrorText(text);
    expect(p).toMatchObject({ errorClass: 'BadRequestError', status: 400, model: 'mlx-tiny-arch', viaProxy: true });
    expect(top(text)).toBe('C11');
  });

  it("real: a key that is not the proxy's master key (LiteLLM answers 400 No connected db.)", () => {
    const text = 'Main model: openai/mlx-tiny-architect with architect edit format\n\nlitellm.BadRequestError: OpenAIException - No connected db.\n';
    const p = parseErrorText(text);
    expect(p.signals).toContain('auth-rejected');
    expect(top(text)).toBe('C10');
  });

  it('parses every captured fixture without throwing and finds a signal in each', () => {
    for (const f of readdirSync(FIXTURES)) {
      const p = parseErrorText(fixture(f));
      expect(p.signals.length, f).toBeGreaterThan(0);
    }
  });
});

describe('texts from SPEC §2.3 / §4 and their variants', () => {
  const cases: Array<[string, string, Record<string, unknown>, string[], string | undefined]> = [
    [
      'APIException tag',
      'litellm.NotFoundError: NotFoundError: APIException - Not Found',
      { provider: 'APIException', status: 404 },
      ['not-found-plain'],
      'C2',
    ],
    [
      'Hosted_vllmException with a URL as the model (aider#3551)',
      "litellm.NotFoundError: NotFoundError: Hosted_vllmException - Error code: 404 - {'error': \"Repo id must be in the form 'repo_name' or 'namespace/repo_name': 'http://localhost:8081/v1'. Use `repo_type` argument if needed.\"}",
      { provider: 'Hosted_vllmException', upstreamModel: 'http://localhost:8081/v1' },
      ['repo-id-invalid', 'url-as-model'],
      'C1',
    ],
    [
      'doubled wrapping through the proxy',
      'litellm.NotFoundError: NotFoundError: OpenAIException - litellm.NotFoundError: NotFoundError: OpenAIException - Not Found. Received Model Group=mlx-qwq-32b\nAvailable Model Group Fallbacks=None',
      { wrapped: true, viaProxy: true, modelGroup: 'mlx-qwq-32b', body: 'Not Found', classes: ['NotFoundError'] },
      ['not-found-plain'],
      'C2',
    ],
    [
      '400 invalid model name from the proxy',
      "litellm.BadRequestError: OpenAIException - Error code: 400 - {'error': {'message': '/chat/completions: Invalid model name passed in model=mlx-qwen. Call `/v1/models` to view available models for your key.', 'type': 'invalid_request_error', 'param': 'model', 'code': '400'}}",
      { status: 400, model: 'mlx-qwen', viaProxy: true },
      ['invalid-model-name'],
      'C11',
    ],
    [
      '429 no deployments (cooldown)',
      "litellm.RateLimitError: RateLimitError: OpenAIException - Error code: 429 - {'error': {'message': 'No deployments available for selected model, Try again in 60 seconds. Passed model=mlx-qwq-32b. pre-call-checks=False, allowed_model_region=n/a', 'type': 'None', 'param': 'None', 'code': '429'}}",
      { status: 429, model: 'mlx-qwq-32b' },
      ['no-deployments'],
      'C12',
    ],
    [
      'Node: ECONNREFUSED on ::1',
      'Error: connect ECONNREFUSED ::1:8080\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)',
      { host: '::1', port: 8080 },
      ['connection-refused', 'ipv6-loopback'],
      'C7',
    ],
    [
      'Node fetch: ECONNREFUSED on 127.0.0.1',
      'TypeError: fetch failed\n    at node:internal/deps/undici/undici:13502:13 {\n  [cause]: Error: connect ECONNREFUSED 127.0.0.1:8081',
      { host: '127.0.0.1', port: 8081 },
      ['connection-refused'],
      'C7',
    ],
    [
      'LiteLLM connection error',
      'litellm.APIConnectionError: APIConnectionError: OpenAIException - Connection error.',
      { errorClass: 'APIConnectionError' },
      ['connection-error'],
      'C7',
    ],
    ['timeout', 'litellm.Timeout: APITimeoutError - Request timed out. Error_str: Request timed out.', { errorClass: 'Timeout' }, ['timeout'], 'C13'],
    [
      'no API key at all',
      'litellm.AuthenticationError: AuthenticationError: OpenAIException - The api_key client option must be set either by passing api_key to the client or by setting the OPENAI_API_KEY environment variable',
      { errorClass: 'AuthenticationError' },
      ['api-key-missing'],
      'C9',
    ],
    [
      'key refused by the proxy',
      "litellm.AuthenticationError: AuthenticationError: OpenAIException - Error code: 401 - {'error': {'message': 'Authentication Error, Invalid proxy server token passed. Received API Key = sk-...abcd', 'type': 'auth_error', 'param': 'None', 'code': '401'}}",
      { status: 401 },
      ['auth-rejected'],
      'C10',
    ],
    [
      'LLM Provider NOT provided',
      "litellm.BadRequestError: LLM Provider NOT provided. Pass in the LLM provider you are trying to call. You passed model=mlx-community/Qwen2.5-Coder-14B-Instruct-4bit\n Pass model as E.g. For 'Huggingface' inference endpoints pass in `completion(model='huggingface/starcoder',..)` Learn more: https://docs.litellm.ai/docs/providers",
      { model: 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit', errorClass: 'BadRequestError' },
      ['provider-not-provided'],
      'C4',
    ],
    [
      'the Hub 401 of 0.28–0.31.1 is a missing repo, not a key problem',
      'litellm.NotFoundError: NotFoundError: OpenAIException - 401 Client Error. (Request ID: Root=1-6744a1b2)\n\nRepository Not Found for url: https://huggingface.co/api/models/qwen-coder/revision/main.\nInvalid username or password.',
      { upstreamModel: 'qwen-coder' },
      ['hf-repo-not-found'],
      'C1',
    ],
    ['old server and an absolute path', 'litellm.NotFoundError: NotFoundError: OpenAIException - Local models must be relative to the current working dir.', {}, ['local-path'], 'C17'],
    ['dropped connection', 'litellm.APIConnectionError: APIConnectionError: OpenAIException - Remote end closed connection without response', {}, ['remote-closed'], 'C16'],
    ['server access log: a doubled /v1', '127.0.0.1 - - [25/Nov/2026 10:00:00] "POST /v1/v1/chat/completions HTTP/1.1" 404 -', { requestPath: '/v1/v1/chat/completions' }, ['server-log-bad-path'], 'C2'],
    [
      'server log: the Hub lookup of a model name (SPEC #19)',
      '127.0.0.1 - - [25/Nov/2026 10:00:00] "GET /api/models/test/revision/main HTTP/1.1" 404 -\n127.0.0.1 - - [25/Nov/2026 10:00:00] "POST /v1/chat/completions HTTP/1.1" 404 -',
      {},
      ['server-log-hub-lookup'],
      'C1',
    ],
    ['token limit', 'Model openai/mlx-qwq-32b has hit a token limit!\nToken counts below are approximate.', { model: 'openai/mlx-qwq-32b' }, ['token-limit'], 'C14'],
    ['unknown context window', 'Warning for openai/mlx-qwq: Unknown context window size and costs, using sane defaults.', { model: 'openai/mlx-qwq' }, ['unknown-context-window'], 'metadata'],
    ['port taken', 'OSError: [Errno 48] Address already in use', {}, ['address-in-use'], 'C8'],
    [
      'the request reached api.openai.com',
      "litellm.NotFoundError: NotFoundError: OpenAIException - Error code: 404 - {'error': {'message': 'The model `mlx-qwen` does not exist or you do not have access to it.', 'type': 'invalid_request_error', 'param': None, 'code': 'model_not_found'}}",
      {},
      ['went-to-openai'],
      'C18',
    ],
    ['parameter validation', 'ValueError: top_p must be at most 1', {}, ['bad-parameter'], 'C16'],
  ];

  it.each(cases)('%s', (_name, text, fields, signals, cause) => {
    const p = parseErrorText(text);
    expect(p).toMatchObject(fields);
    for (const s of signals) expect(p.signals).toContain(s);
    expect(top(text)).toBe(cause);
  });

  it('does not call the Hub 401 an auth problem, and does not call a model_not_found a local load failure', () => {
    expect(parseErrorText(cases[12]![1]).signals).not.toContain('auth-rejected');
    expect(parseErrorText(cases[20]![1]).signals).not.toContain('model-load-failed');
  });

  it('reads ANSI colours, CRLF and Aider\'s line wrapping', () => {
    const text = '\u001b[31mlitellm.NotFoundError: NotFoundError: OpenAIException - Error code: 404 -\r\n{\'error\': \'404 Client Error.\\n\\nRepository\r\nNot Found for url: \r\nhttp://127.0.0.1:9/api/models/qwen-coder/revision/main.\'}\u001b[0m';
    const p = parseErrorText(text);
    expect(p.signals).toContain('hf-repo-not-found');
    expect(p.upstreamModel).toBe('qwen-coder');
  });

  it('summarises in one line', () => {
    expect(parseErrorText('litellm.NotFoundError: NotFoundError: OpenAIException - Not Found').summary).toBe('litellm.NotFoundError (OpenAIException, HTTP 404): Not Found');
    expect(parseErrorText(fixture('aider-via-litellm-proxy-bad-upstream-model.txt')).summary).toMatch(/^litellm\.BadRequestError wrapping NotFoundError \(OpenAIException, HTTP 404\)/);
  });

  it('names the error once, for every kind: no "error text:" label, no class or "Error:" said twice', () => {
    const cases: Array<[string, string]> = [
      // LiteLLM 1.108's refusal (world e): no exception class in it
      ['LiteLLM proxy refused to start: no master key is set, so every request would be accepted without authentication. The fix is printed once the server exits.', 'LiteLLM proxy refused to start: no master key is set, so every request would be accepted without authentication. The fix…'],
      ['litellm.APIConnectionError: Connection error.', 'litellm.APIConnectionError: Connection error.'],
      ['openai.APIConnectionError: Connection error.', 'litellm.APIConnectionError: Connection error.'],
      ['litellm.Timeout: Request timed out', 'litellm.Timeout (HTTP 408): Request timed out'],
      ['Error: connect ECONNREFUSED 127.0.0.1:8080', 'connection refused: connect ECONNREFUSED 127.0.0.1:8080'],
      ['127.0.0.1 - - [01/Dec/2026 10:00:00] "POST /v1/v1/chat/completions HTTP/1.1" 404 -', '127.0.0.1 - - [01/Dec/2026 10:00:00] "POST /v1/v1/chat/completions HTTP/1.1" 404 -'],
      ['Error code: 404', 'Error code: 404'],
      ["litellm.BadRequestError: OpenAIException - litellm.NotFoundError: NotFoundError:\nOpenAIException - Error code: 404 - \n", 'litellm.BadRequestError wrapping NotFoundError (OpenAIException, HTTP 404): Error code: 404'],
    ];
    for (const [text, summary] of cases) {
      const s = parseErrorText(text).summary;
      expect(s, text).toBe(summary);
      expect(s).not.toMatch(/^error text\b/);
      expect(s).not.toMatch(/(\w+(?:Error|Timeout)): (?:litellm\.|openai\.)?\1\b/);
    }
  });
});

// ---- property tests: any input, bounded time, never a throw ------------------------------------

/** mulberry32: reproducible randomness. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAGMENTS = [
  'litellm.', 'NotFoundError', ': ', 'OpenAIException - ', 'APIException - ', 'Error code: 404 - ', "{'error': '", "'}", 'Not Found',
  'Repository Not Found for url: ', 'http://127.0.0.1:8080/v1', '/api/models/', '/revision/main', 'model=', 'Received Model Group=',
  'ECONNREFUSED ::1:', '8080', 'Invalid model name passed in model=', 'No deployments available', '\n', '\n\n', ' ', '"POST /v1/v1/chat/completions HTTP/1.1" 404',
  'Repo id must be in the form ', "'", '"', '\\n', '\u001b[31m', '\u0000', '\ufffd', 'Model: openai/x with whole edit format', 'USER:', 'ASSISTANT:',
];

function shapeOk(p: ReturnType<typeof parseErrorText>) {
  expect(typeof p.summary).toBe('string');
  expect(Array.isArray(p.signals)).toBe(true);
  expect(Array.isArray(p.classes)).toBe(true);
  if (p.body !== undefined) expect(p.body.length).toBeLessThanOrEqual(501);
  if (p.status !== undefined) expect(Number.isInteger(p.status)).toBe(true);
  JSON.stringify(p);
}

describe('parseErrorText never crashes (property tests)', () => {
  it('empty, blank and non-string input', () => {
    for (const x of ['', ' ', '\n\n\t', undefined, null, 42, {}, new Uint8Array(0)]) {
      const p = parseErrorText(x);
      shapeOk(p);
      expect(p.input.empty).toBe(true);
      expect(p.signals).toEqual([]);
    }
  });

  it('500 random splices of real error fragments', () => {
    const r = rng(6);
    for (let i = 0; i < 500; i++) {
      const n = Math.floor(r() * 40);
      const text = Array.from({ length: n }, () => FRAGMENTS[Math.floor(r() * FRAGMENTS.length)]).join('');
      shapeOk(parseErrorText(text));
    }
  });

  it('200 random unicode strings', () => {
    const r = rng(7);
    for (let i = 0; i < 200; i++) {
      const len = Math.floor(r() * 2000);
      const text = String.fromCodePoint(...Array.from({ length: len }, () => Math.floor(r() * 0xd7ff)));
      shapeOk(parseErrorText(text));
    }
  });

  it('binary input (random bytes) and a 1 MB binary buffer', () => {
    const r = rng(8);
    for (let i = 0; i < 50; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(r() * 5000) }, () => Math.floor(r() * 256));
      shapeOk(parseErrorText(bytes));
      shapeOk(parseErrorText(Buffer.from(bytes).toString('latin1')));
    }
    const big = Uint8Array.from({ length: 1024 * 1024 }, () => Math.floor(r() * 256));
    const t0 = performance.now();
    shapeOk(parseErrorText(big));
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it.each([
    ['1 MB of one letter', 'a'.repeat(1024 * 1024)],
    ['1 MB of provider tags', 'OpenAIException - '.repeat(60_000)],
    ['1 MB of URLs', 'http://127.0.0.1:8080/'.repeat(50_000)],
    ['1 MB of Hub paths with no end', '/api/models/'.repeat(90_000)],
    ['1 MB of model=', 'model='.repeat(180_000)],
    ['1 MB of refused ::1', 'ECONNREFUSED ::1:'.repeat(60_000)],
    ['1 MB of newlines', '\n'.repeat(1024 * 1024)],
    ['1 MB of spaces and tabs', ' \t'.repeat(512 * 1024)],
    ['1 MB of CRLF', '\r\n'.repeat(512 * 1024)],
    ['1 MB of dict openings', "{'error': '".repeat(90_000)],
    ['1 MB of litellm. prefixes', 'litellm.NotFoundError: '.repeat(45_000)],
    ['1 MB of escapes', '\\n\u001b['.repeat(170_000)],
    ['1 MB of Not Found lines', 'Not Found\n'.repeat(100_000)],
    ['1 MB of log lines', '"POST /v1/v1/chat/completions HTTP/1.1" 404 -\n'.repeat(22_000)],
    ['1 MB of USER: turns', 'USER: hi\nASSISTANT: hi\n'.repeat(45_000)],
    ['1 MB with the error at the very end', `${'x'.repeat(1024 * 1024)}\nlitellm.NotFoundError: NotFoundError: OpenAIException - Not Found`],
  ])('%s: bounded time, no throw', (_name, text) => {
    const t0 = performance.now();
    const p = parseErrorText(text);
    shapeOk(p);
    expect(performance.now() - t0).toBeLessThan(3000);
    if (text.length > MAX_ANALYSED) expect(p.input.truncated).toBe(true);
  });

  it('keeps the error at the end of a huge paste (Aider prints it last)', () => {
    const p = parseErrorText(`Model: openai/mlx-x with diff edit format\n${'y'.repeat(2 * 1024 * 1024)}\nlitellm.NotFoundError: NotFoundError: OpenAIException - Not Found`);
    expect(p.signals).toContain('not-found-plain');
    expect(p.model).toBe('openai/mlx-x');
  });
});
