/**
 * A stand-in for `mlx_lm.server` (HEAD 0.32.x by default): same routes, statuses, headers and body
 * bytes, with a deterministic "model" and switchable faults. `--demo` ships it; tests reuse it.
 * Behaviour is read from ml-explore/mlx-lm `mlx_lm/server.py` (see SPEC §1).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { isAbsolute } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export interface FakeMlxFaults {
  /** Accept the connection and the request, never answer. */
  hang?: boolean;
  /** Prompt-processing time before the first token of a completion. */
  delayMs?: number;
  /** Model still loading (≥0.31.3): /health answers, completions wait. `true` until cleared; a number = ms. */
  loading?: boolean | number;
  /** Completions: drop the socket without a response, as the server does when a parameter fails validation. */
  closeWithoutResponse?: boolean;
  /** Serve N requests, then die: the N+1th request's socket is dropped and the port stops listening. */
  crashAfter?: number;
  /** A thinking model: `field` = `message.reasoning` (≥0.30.1), `tags` = `<think>…</think>` in content, `true` = by version. */
  reasoning?: boolean | 'field' | 'tags';
  /** The tokenizer has no chat template: the server silently falls back to `USER:/ASSISTANT:` role-play. */
  noChatTemplate?: boolean;
  /** `other` imitates a different server on the port (Ollama-like answers). */
  identity?: 'mlx' | 'other';
}

export interface FakeMlxServerOptions {
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** The `--model` the server was started with. */
  model: string;
  /** mlx-lm version to imitate, e.g. '0.32' (default), '0.31.1', '0.27'. A missing patch counts as .0. */
  version?: string;
  /** The server's `--max-tokens` (default 512). */
  maxTokens?: number;
  /** Other repo ids "in the HF cache": listed by /v1/models, and a request naming one swaps the model. */
  cachedModels?: string[];
  faults?: FakeMlxFaults;
  /** One line per request, like the stdlib access log (plus tracebacks for dropped requests). */
  log?: (line: string) => void;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Parsed JSON, or the raw text when it is not JSON; absent when empty. */
  body?: unknown;
  headers: http.IncomingHttpHeaders;
  at: number;
  /** The status sent; absent while pending, or when the socket was dropped. */
  status?: number;
}

export interface FakeMlxServer {
  host: string;
  port: number;
  /** http://127.0.0.1:PORT */
  rootUrl: string;
  /** http://127.0.0.1:PORT/v1 */
  baseUrl: string;
  model: string;
  version: string;
  requests: RecordedRequest[];
  readonly faults: Readonly<FakeMlxFaults>;
  /** The repo currently resident (changes when a request names a cached model). */
  readonly loadedModel: string;
  readonly crashed: boolean;
  /** Merge fault switches (pass `false`/`undefined` to clear one). */
  setFaults(f: Partial<FakeMlxFaults>): void;
  close(): Promise<void>;
}

type Version = [number, number, number];

export function parseMlxVersion(v: string): Version {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(v.trim());
  if (!m) throw new UsageError(`"${v}" is not an mlx-lm version.`, 'Use a version like 0.32 or 0.31.1.');
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

function atLeast(v: Version, min: string): boolean {
  const m = parseMlxVersion(min);
  for (let i = 0; i < 3; i++) if (v[i] !== m[i]) return v[i]! > m[i]!;
  return true;
}

/** What changed between versions, in one place (SPEC §1.2, §1.4, §1.8). */
function featuresOf(v: Version) {
  return {
    getRoutes: atLeast(v, '0.18.2'),
    health: atLeast(v, '0.24.0'),
    modelsPrefix: atLeast(v, '0.26.1'),
    keepalive: atLeast(v, '0.26.4'),
    exactModelIsDefault: atLeast(v, '0.27.0'),
    reasoningField: atLeast(v, '0.30.1'),
    requestErrors: atLeast(v, '0.31.2'),
    loadErrorBody: atLeast(v, '0.31.2') ? 'json' : atLeast(v, '0.28.0') ? 'text' : 'plain',
  } as const;
}

/** Python's json.dumps defaults (", " and ": " separators, ASCII only), so body bytes match. */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyJson).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.map(([k, v]) => `${pyJson(k)}: ${pyJson(v)}`).join(', ')}}`;
}

const HF_REPO_ID = /^(\b[\w\-.]+\b\/)?\b[\w\-.]{1,96}\b$/u;

/** The exception text huggingface_hub raises for a name that is not a reachable repo. */
export function hfLoadErrorText(name: string): string {
  if (name.split('/').length - 1 > 1) {
    return `Repo id must be in the form 'repo_name' or 'namespace/repo_name': '${name}'. Use \`repo_type\` argument if needed.`;
  }
  if (!HF_REPO_ID.test(name)) {
    return (
      "Repo id must use alphanumeric chars, '-', '_' or '.'. The name cannot start or end with '-' or '.' " +
      `and the maximum length is 96: '${name}'.`
    );
  }
  if (name.includes('--') || name.includes('..')) return `Cannot have -- or .. in repo_id: '${name}'.`;
  return (
    '401 Client Error. (Request ID: Root=1-6744a1b2-0d6f3c1e5a2b4c7d8e9f0a1b;00000000-0000-4000-8000-000000000000)\n\n' +
    `Repository Not Found for url: https://huggingface.co/api/models/${name}/revision/main.\n` +
    'Please make sure you specified the correct `repo_id` and `repo_type`.\n' +
    'If you are trying to access a private or gated repo, make sure you are authenticated. ' +
    'For more details, see https://huggingface.co/docs/huggingface_hub/authentication\n' +
    'Invalid username or password.'
  );
}

/** Python's BaseHTTPRequestHandler.log_date_time_string: "25/Nov/2026 10:00:00". */
function logDate(d = new Date()): string {
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getDate())}/${mon}/${d.getFullYear()} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Python logging's asctime: "2026-11-25 10:00:00,123". */
function asctime(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())},${p(d.getMilliseconds(), 3)}`;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

// ---- the deterministic "model" ---------------------------------------------------------------

const FILLER = 'The quick brown fox jumps over the lazy dog while the patient model keeps on writing.'.split(' ');
const THINKING = 'Okay, the user wants an answer. Let me think about what they asked and keep it short.'.split(' ');
const LONG_REQUEST = /\b(long|essay|story|detailed|verbose|at least \d+|\d{3,}\s+words|count (up )?to|as many)\b/i;

function words(s: string): string[] {
  return s.split(/\s+/).filter(Boolean);
}

/** The whole answer the stand-in would give with no token limit, as words. */
function naturalAnswer(prompt: string, model: string): string[] {
  const single = /single word[:\s]+["'`]?([\w-]+)/i.exec(prompt);
  if (single) return [single[1]!];
  if (/\bping\b/i.test(prompt)) return ['pong'];
  if (LONG_REQUEST.test(prompt)) return Array.from({ length: 4096 }, (_, i) => FILLER[i % FILLER.length]!);
  return ['This', 'is', 'the', 'aider-mlx', 'stand-in', 'for', `${model}.`, 'You', 'said:', ...words(prompt).slice(0, 12)];
}

/** Word tokens with the leading space a BPE tokenizer would give them. */
function asTokens(ws: string[]): string[] {
  return ws.map((w, i) => (i === 0 ? w : ` ${w}`));
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === 'object' && 'text' in p ? String((p as { text: unknown }).text) : '')).join('');
  }
  return content == null ? '' : String(content);
}

interface Generated {
  /** Per token: which channel its text goes to. */
  tokens: Array<{ text: string; channel: 'content' | 'reasoning' | 'control' }>;
  finishReason: 'stop' | 'length';
}

function generate(opts: {
  prompt: string;
  model: string;
  maxTokens: number;
  stop: string[];
  reasoning: 'field' | 'tags' | undefined;
  noChatTemplate: boolean;
}): Generated {
  let answer = naturalAnswer(opts.prompt, opts.model);
  if (opts.noChatTemplate) {
    // Without a template the model continues the transcript instead of answering once.
    answer = [...answer, '\nUSER:', ...words(opts.prompt).slice(0, 6), '\nASSISTANT:', ...answer];
  }
  const all: Generated['tokens'] = [];
  if (opts.reasoning) {
    const control = opts.reasoning === 'field' ? 'control' : 'content';
    const think = opts.reasoning === 'field' ? 'reasoning' : 'content';
    all.push({ text: '<think>', channel: control });
    all.push({ text: '\n', channel: think });
    for (const t of asTokens(THINKING)) all.push({ text: t, channel: think });
    all.push({ text: '</think>', channel: control });
    all.push({ text: '\n\n', channel: 'content' });
  }
  for (const t of asTokens(answer)) all.push({ text: t, channel: 'content' });

  const out: Generated['tokens'] = [];
  let content = '';
  for (const tok of all) {
    if (out.length >= opts.maxTokens) return { tokens: out, finishReason: 'length' };
    if (tok.channel === 'content') {
      const next = content + tok.text;
      const hit = opts.stop.map((s) => (s ? next.indexOf(s) : -1)).filter((i) => i >= 0);
      if (hit.length) {
        const cut = Math.min(...hit) - content.length;
        if (cut > 0) out.push({ text: tok.text.slice(0, cut), channel: 'content' });
        return { tokens: out, finishReason: 'stop' };
      }
      content = next;
    }
    out.push(tok);
  }
  // The end-of-sequence token is generated (and counted) too: a reply that fills max_tokens exactly is "length".
  if (out.length >= opts.maxTokens) return { tokens: out, finishReason: 'length' };
  out.push({ text: '', channel: 'control' });
  return { tokens: out, finishReason: 'stop' };
}

// ---- the server --------------------------------------------------------------------------------

const SERVER_HEADER = 'BaseHTTP/0.6 Python/3.12.8';

class RequestError extends Error {}

export async function startFakeMlxServer(opts: FakeMlxServerOptions): Promise<FakeMlxServer> {
  const host = opts.host ?? '127.0.0.1';
  const versionText = opts.version ?? '0.32';
  const version = parseMlxVersion(versionText);
  const feat = featuresOf(version);
  const cliMaxTokens = opts.maxTokens ?? 512;
  const cached = opts.cachedModels ?? [];
  const fingerprint = `${version.join('.')}-0.29.1-macOS-15.1-arm64-arm-64bit-applegpu_g15s`;
  const log = opts.log ?? (() => {});

  let faults: FakeMlxFaults = {};
  let loadingTimer: NodeJS.Timeout | undefined;
  let readyWaiters: Array<() => void> = [];
  let loadedModel = opts.model;
  let served = 0;
  let crashed = false;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const isLoading = () => Boolean(faults.loading);
  const releaseWaiters = () => {
    const w = readyWaiters;
    readyWaiters = [];
    for (const f of w) f();
  };
  const setFaults = (f: Partial<FakeMlxFaults>) => {
    faults = { ...faults, ...f };
    if ('loading' in f) {
      clearTimeout(loadingTimer);
      if (typeof f.loading === 'number') {
        loadingTimer = setTimeout(() => {
          faults = { ...faults, loading: false };
          releaseWaiters();
        }, f.loading);
      } else if (!f.loading) releaseWaiters();
    }
  };
  setFaults(opts.faults ?? {});

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  const untilReady = () => (isLoading() ? new Promise<void>((r) => readyWaiters.push(r)) : Promise.resolve());

  const server = http.createServer();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  const crash = () => {
    crashed = true;
    server.close();
    for (const s of sockets) s.destroy();
  };

  function traceback(req: http.IncomingMessage, exc: string) {
    const sock = req.socket;
    log('-'.repeat(40));
    log(`Exception occurred during processing of request from ('${sock.remoteAddress}', ${sock.remotePort})`);
    log('Traceback (most recent call last):');
    log(exc);
    log('-'.repeat(40));
  }

  /** Python's protocol is HTTP/1.0: one request per connection, so say so. */
  function head(res: http.ServerResponse, status: number, extra: Record<string, string> = {}, json = true) {
    const headers: Record<string, string> = { Server: SERVER_HEADER, Connection: 'close' };
    if (json) headers['Content-type'] = 'application/json';
    headers['Access-Control-Allow-Origin'] = '*';
    headers['Access-Control-Allow-Methods'] = '*';
    headers['Access-Control-Allow-Headers'] = '*';
    res.writeHead(status, { ...headers, ...extra });
  }
  function send(res: http.ServerResponse, status: number, body: string) {
    // Python ends these bodies by closing the socket; a length says the same without chunking.
    head(res, status, { 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(body);
  }
  function notFound(res: http.ServerResponse) {
    send(res, 404, 'Not Found');
  }
  function unsupported(res: http.ServerResponse, method: string) {
    // http.server's send_error page for a method with no do_<METHOD>.
    const body =
      '<!DOCTYPE HTML>\n<html lang="en">\n    <head>\n        <meta charset="utf-8">\n' +
      '        <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n' +
      `        <p>Error code: 501</p>\n        <p>Message: Unsupported method ('${method}').</p>\n` +
      '        <p>Error code explanation: 501 - Server does not support this operation.</p>\n    </body>\n</html>\n';
    res.writeHead(501, {
      Server: SERVER_HEADER,
      Connection: 'close',
      'Content-Type': 'text/html;charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
    });
    res.end(body);
  }
  function drop(req: http.IncomingMessage, exc: string) {
    traceback(req, exc);
    req.socket.destroy();
  }

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const rec: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, at: Date.now() };
      if (raw) {
        try {
          rec.body = JSON.parse(raw);
        } catch {
          rec.body = raw;
        }
      }
      requests.push(rec);
      res.on('finish', () => {
        rec.status = res.statusCode;
        log(`${req.socket.remoteAddress ?? '127.0.0.1'} - - [${logDate()}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} -`);
      });

      if (crashed) return req.socket.destroy();
      if (faults.crashAfter !== undefined && served >= faults.crashAfter) return crash();
      served++;
      if (faults.hang) return; // held open until close()

      const work = faults.identity === 'other' ? handleOther(req, res, raw) : handleMlx(req, res, raw);
      work.catch((err: unknown) => {
        if (err instanceof RequestError) return drop(req, err.message);
        drop(req, `RuntimeError: ${(err as Error).message}`);
      });
    });
  });

  async function handleMlx(req: http.IncomingMessage, res: http.ServerResponse, raw: string) {
    const method = req.method ?? '';
    const path = req.url ?? '';
    if (method === 'OPTIONS') {
      head(res, 204);
      return void res.end();
    }
    if (method === 'GET') {
      if (!feat.getRoutes) return unsupported(res, method);
      const isModels = feat.modelsPrefix ? path.startsWith('/v1/models') : path === '/v1/models';
      if (isModels) return sendModels(res, path);
      if (path === '/health' && feat.health) return send(res, 200, '{"status": "ok"}');
      return notFound(res);
    }
    if (method !== 'POST') return unsupported(res, method);

    const kind = path === '/v1/chat/completions' || path === '/chat/completions' ? 'chat' : path === '/v1/completions' ? 'text' : undefined;
    if (!kind) return notFound(res);

    const cl = req.headers['content-length'];
    if (cl === undefined) {
      if (!feat.requestErrors) throw new RequestError("TypeError: int() argument must be a string, a bytes-like object or a real number, not 'NoneType'");
      return send(res, 411, pyJson({ error: 'Content-Length header is required' }));
    }
    if (!/^\s*[+-]?\d+\s*$/.test(cl)) {
      if (!feat.requestErrors) throw new RequestError(`ValueError: invalid literal for int() with base 10: '${cl}'`);
      return send(res, 400, pyJson({ error: 'Invalid Content-Length header' }));
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch (e) {
      return send(res, 400, pyJson({ error: `Invalid JSON in request body: ${pythonJsonError(raw, e as Error)}` }));
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      if (!feat.requestErrors) throw new RequestError(`AssertionError: Request should be dict, but got ${pyTypeName(body)}`);
      return send(res, 400, pyJson({ error: 'Request should be a JSON dictionary' }));
    }
    const b = body as Record<string, unknown>;

    // Validation raises outside any handler: the socket just closes (SPEC §1.8).
    if (faults.closeWithoutResponse) throw new RequestError('ValueError: fault injected: closeWithoutResponse');
    validate(b);
    if (kind === 'chat' && !('messages' in b)) throw new RequestError('AssertionError: Request did not contain messages');
    if (kind === 'text' && !('prompt' in b)) throw new RequestError('AssertionError: Request did not contain a prompt');

    const requested = (b.model as string | undefined) ?? 'default_model';
    const stream = b.stream === true;
    const maxTokens = (requestedMaxTokens(b) ?? cliMaxTokens) as number;
    const stop = b.stop == null ? [] : typeof b.stop === 'string' ? [b.stop] : (b.stop as unknown[]).map(String);
    const streamOptions = b.stream_options as Record<string, unknown> | undefined | null;

    await untilReady();
    const loadError = resolveModel(requested);
    let prompt = '';
    let promptTokens = 0;
    let contentError: string | undefined;
    if (kind === 'chat') {
      const messages = Array.isArray(b.messages) ? (b.messages as Array<Record<string, unknown>>) : [];
      for (const m of messages) {
        if (Array.isArray(m?.content) && m.content.some((p: { type?: unknown }) => p?.type !== 'text')) {
          contentError = "Only 'text' content type is supported.";
        }
        promptTokens += words(textOf(m?.content)).length + 4;
      }
      promptTokens += 3;
      const lastUser = [...messages].reverse().find((m) => m?.role === 'user');
      prompt = textOf(lastUser?.content ?? messages.at(-1)?.content);
    } else {
      prompt = textOf(b.prompt);
      promptTokens = words(prompt).length + 1;
    }
    const failure = loadError ?? contentError;
    if (failure !== undefined) {
      const text =
        feat.loadErrorBody === 'json' ? pyJson({ error: failure }) : feat.loadErrorBody === 'text' ? failure : 'Not Found';
      return send(res, 404, text);
    }

    const reasoning =
      faults.reasoning === true ? (feat.reasoningField ? 'field' : 'tags') : faults.reasoning || undefined;
    const gen = generate({
      prompt,
      model: loadedModel,
      maxTokens,
      stop,
      reasoning: kind === 'chat' ? reasoning : reasoning && 'tags',
      noChatTemplate: Boolean(faults.noChatTemplate) && kind === 'chat',
    });
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const object = kind === 'chat' ? (stream ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion';
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: gen.tokens.length,
      total_tokens: promptTokens + gen.tokens.length,
      prompt_tokens_details: { cached_tokens: 0 },
    };
    const frame = (finish: string | null, content: string, reasoningText: string) => {
      const choice: Record<string, unknown> = { index: 0, finish_reason: finish };
      if (kind === 'chat') {
        const key = stream ? 'delta' : 'message';
        const msg: Record<string, unknown> = { role: 'assistant' };
        if (!stream) msg.content = content ? content : null;
        else if (content) msg.content = content;
        if (reasoningText) msg.reasoning = reasoningText;
        choice[key] = msg;
      } else choice.text = content;
      return { id, system_fingerprint: fingerprint, object, model: requested, created, choices: [choice] };
    };

    if (!stream) {
      if (faults.delayMs) await sleep(faults.delayMs);
      const content = gen.tokens.filter((t) => t.channel === 'content').map((t) => t.text).join('');
      const reasoningText = gen.tokens.filter((t) => t.channel === 'reasoning').map((t) => t.text).join('');
      const out = pyJson({ ...frame(gen.finishReason, content, reasoningText), usage });
      head(res, 200, { 'Content-Length': String(Buffer.byteLength(out)) });
      return void res.end(out);
    }

    res.writeHead(200, {
      Server: SERVER_HEADER,
      Connection: 'close',
      'Content-type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': '*',
      'Access-Control-Allow-Headers': '*',
    });
    res.flushHeaders();
    if (faults.delayMs) {
      // Prompt processing: keepalive comments stop clients timing out (≥0.26.4).
      const steps = Math.max(1, Math.ceil(faults.delayMs / 1000));
      for (let i = 1; i <= steps; i++) {
        await sleep(faults.delayMs / steps);
        if (feat.keepalive) res.write(`: keepalive ${i * 256}/${steps * 256}\n\n`);
      }
    }
    for (const t of gen.tokens) {
      if (t.channel === 'control') continue;
      const data = frame(null, t.channel === 'content' ? t.text : '', t.channel === 'reasoning' ? t.text : '');
      res.write(`data: ${pyJson(data)}\n\n`);
    }
    res.write(`data: ${pyJson(frame(gen.finishReason, '', ''))}\n\n`);
    if (streamOptions != null) {
      if (!streamOptions.include_usage && !('include_usage' in streamOptions)) {
        // HEAD indexes stream_options["include_usage"]: the stream just ends (SPEC §1.7).
        traceback(req, "KeyError: 'include_usage'");
        return void res.destroy();
      }
      if (streamOptions.include_usage) {
        const u = { id, system_fingerprint: fingerprint, object: 'chat.completion', model: requested, created, choices: [], usage };
        res.write(`data: ${pyJson(u)}\n\n`);
      }
    }
    res.end('data: [DONE]\n\n');
  }

  /** ModelProvider.load: map the name, or "download" it (SPEC §1.4). Returns the exception text on failure. */
  function resolveModel(requested: string): string | undefined {
    if (requested === 'default_model') {
      loadedModel = opts.model;
      return undefined;
    }
    if (requested === opts.model) {
      if (!feat.exactModelIsDefault && isAbsolute(requested)) return 'Local models must be relative to the current working dir.';
      loadedModel = opts.model;
      return undefined;
    }
    if (requested === loadedModel || cached.includes(requested)) {
      loadedModel = requested;
      return undefined;
    }
    return hfLoadErrorText(requested);
  }

  function sendModels(res: http.ServerResponse, path: string) {
    const parts = path.split('/');
    const filter = parts.length > 3 ? parts.slice(3).join('/') : undefined;
    const created = Math.floor(Date.now() / 1000);
    const ids = [...new Set([opts.model, ...cached])];
    const data = ids.filter((id) => filter === undefined || id === filter).map((id) => ({ id, object: 'model', created }));
    send(res, 200, pyJson({ object: 'list', data }));
  }

  /** An Ollama-like server holding the port: OpenAI routes with owned_by, Go-style 404s. */
  async function handleOther(req: http.IncomingMessage, res: http.ServerResponse, raw: string) {
    const path = (req.url ?? '').split('?')[0];
    const plain = (status: number, body: string) => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
      res.end(body);
    };
    const json = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) });
      res.end(text);
    };
    const created = Math.floor(Date.now() / 1000);
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    if (req.method === 'GET' && (path === '/' || path === '')) return plain(200, 'Ollama is running');
    if (req.method === 'GET' && path === '/api/version') return json(200, { version: '0.5.7' });
    if (req.method === 'GET' && path === '/api/tags') return json(200, { models: [{ name: opts.model, model: opts.model }] });
    if (req.method === 'GET' && path === '/v1/models') {
      return json(200, { object: 'list', data: [{ id: opts.model, object: 'model', created, owned_by: 'library' }] });
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      let b: Record<string, unknown>;
      try {
        b = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return json(400, { error: { message: 'invalid character in request body', type: 'invalid_request_error', param: null, code: null } });
      }
      if (b.model !== opts.model) {
        return json(404, {
          error: { message: `model "${String(b.model)}" not found, try pulling it first`, type: 'api_error', param: null, code: null },
        });
      }
      const messages = Array.isArray(b.messages) ? (b.messages as Array<Record<string, unknown>>) : [];
      const gen = generate({
        prompt: textOf(messages.at(-1)?.content),
        model: opts.model,
        maxTokens: typeof b.max_tokens === 'number' ? b.max_tokens : 4096,
        stop: [],
        reasoning: undefined,
        noChatTemplate: false,
      });
      return json(200, {
        id: `chatcmpl-${Math.floor(Math.random() * 1000)}`,
        object: 'chat.completion',
        created,
        model: opts.model,
        system_fingerprint: 'fp_ollama',
        choices: [{ index: 0, message: { role: 'assistant', content: gen.tokens.map((t) => t.text).join('') }, finish_reason: gen.finishReason }],
        usage: { prompt_tokens: 10, completion_tokens: gen.tokens.length, total_tokens: 10 + gen.tokens.length },
      });
    }
    return plain(404, '404 page not found');
  }

  function validate(b: Record<string, unknown>) {
    const int = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
    const num = (v: unknown) => typeof v === 'number';
    const check = (name: string, value: unknown, ok: boolean, type: string, min?: number, max?: number) => {
      if (!ok) throw new RequestError(`ValueError: ${name} must be of type ${type}`);
      if (min !== undefined && (value as number) < min) throw new RequestError(`ValueError: ${name} must be at least ${min}`);
      if (max !== undefined && (value as number) > max) throw new RequestError(`ValueError: ${name} must be at most ${max}`);
    };
    const get = (k: string) => b[k];
    const has = (k: string) => b[k] !== undefined;
    if (has('stream')) check('stream', get('stream'), typeof get('stream') === 'boolean', 'bool');
    const mt = requestedMaxTokens(b);
    if (mt !== undefined) check('max_tokens', mt, int(mt), 'int', 0);
    if (has('temperature')) check('temperature', get('temperature'), num(get('temperature')), "('float', 'int')", 0);
    if (has('top_p')) check('top_p', get('top_p'), num(get('top_p')), "('float', 'int')", 0, 1);
    if (has('top_k')) check('top_k', get('top_k'), int(get('top_k')), 'int', 0);
    if (has('min_p')) check('min_p', get('min_p'), num(get('min_p')), "('float', 'int')", 0, 1);
    if (has('logprobs')) check('logprobs', get('logprobs'), typeof get('logprobs') === 'boolean', 'bool');
    if (has('model')) check('requested_model', get('model'), typeof get('model') === 'string', 'str');
    if (get('seed') != null) check('seed', get('seed'), int(get('seed')), 'int');
    if (get('logit_bias') != null) {
      const lb = get('logit_bias');
      check('logit_bias', lb, typeof lb === 'object' && !Array.isArray(lb), 'dict');
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: opts.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const rootUrl = `http://${hostForUrl(host)}:${port}`;

  return {
    host,
    port,
    rootUrl,
    baseUrl: `${rootUrl}/v1`,
    model: opts.model,
    version: versionText,
    requests,
    get faults() {
      return faults;
    },
    get loadedModel() {
      return loadedModel;
    },
    get crashed() {
      return crashed;
    },
    setFaults,
    close: () =>
      new Promise<void>((resolve) => {
        clearTimeout(loadingTimer);
        for (const t of timers) clearTimeout(t);
        timers.clear();
        readyWaiters = [];
        for (const s of sockets) s.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** `max_completion_tokens`, else `max_tokens` (an explicit null is kept: it fails validation). */
function requestedMaxTokens(b: Record<string, unknown>): unknown {
  if (b.max_completion_tokens != null) return b.max_completion_tokens;
  return 'max_tokens' in b ? b.max_tokens : undefined;
}

function pyTypeName(v: unknown): string {
  if (Array.isArray(v)) return "<class 'list'>";
  if (v === null) return "<class 'NoneType'>";
  if (typeof v === 'string') return "<class 'str'>";
  if (typeof v === 'boolean') return "<class 'bool'>";
  if (typeof v === 'number') return Number.isInteger(v) ? "<class 'int'>" : "<class 'float'>";
  return "<class 'dict'>";
}

/** Roughly Python's JSONDecodeError text, e.g. "Expecting value: line 1 column 1 (char 0)". */
function pythonJsonError(raw: string, err: Error): string {
  const lead = raw.length - raw.trimStart().length;
  if (raw.trimStart().startsWith('{')) {
    const pos = Number(/position (\d+)/.exec(err.message)?.[1] ?? lead + 1);
    const before = raw.slice(0, pos);
    const col = pos - before.lastIndexOf('\n');
    return `Expecting property name enclosed in double quotes: line ${before.split('\n').length} column ${col} (char ${pos})`;
  }
  const before = raw.slice(0, lead);
  return `Expecting value: line ${before.split('\n').length} column ${lead - before.lastIndexOf('\n')} (char ${lead})`;
}

// ---- the hidden CLI command --------------------------------------------------------------------

/** Flags of the real `mlx_lm.server` we accept and ignore, so a launcher can pass the same argv. */
const IGNORED_VALUE_FLAGS = [
  'adapter-path',
  'allowed-origins',
  'draft-model',
  'num-draft-tokens',
  'log-level',
  'chat-template',
  'temp',
  'top-p',
  'top-k',
  'min-p',
  'chat-template-args',
  'decode-concurrency',
  'prompt-concurrency',
  'prefill-step-size',
  'prompt-cache-size',
  'prompt-cache-bytes',
] as const;
const IGNORED_BOOL_FLAGS = ['trust-remote-code', 'use-default-chat-template', 'pipeline'] as const;

/**
 * `aider-mlx fake-mlx-server --model X [--port N] [--host H] [--max-tokens N] [--version V]`
 * (+ `--reasoning`, `--no-chat-template`, `--delay-ms N`, `--loading-ms N`). Logs to stderr like
 * the real server, runs until SIGINT/SIGTERM.
 */
export async function runFakeServerCommand(
  args: string[],
  io: { stderr?: (s: string) => void; signal?: AbortSignal } = {},
): Promise<number> {
  const err = io.stderr ?? ((s: string) => void process.stderr.write(s));
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    model: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'max-tokens': { type: 'string' },
    version: { type: 'string' },
    'delay-ms': { type: 'string' },
    'loading-ms': { type: 'string' },
    reasoning: { type: 'boolean' },
    'no-chat-template': { type: 'boolean' },
  };
  for (const f of IGNORED_VALUE_FLAGS) options[f] = { type: 'string' };
  for (const f of IGNORED_BOOL_FLAGS) options[f] = { type: 'boolean' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new UsageError(`fake-mlx-server: ${(e as Error).message}`, 'Usage: aider-mlx fake-mlx-server --model ID [--port N] [--host H]');
  }
  const model = values.model as string | undefined;
  if (!model) throw new UsageError('fake-mlx-server needs --model.', 'Usage: aider-mlx fake-mlx-server --model ID [--port N]');
  const int = (name: string, fallback: number | undefined) => {
    const v = values[name] as string | undefined;
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number, got "${v}".`);
    return Number(v);
  };
  const host = (values.host as string | undefined) ?? '127.0.0.1';
  const port = int('port', 8080)!;
  const delayMs = int('delay-ms', undefined);
  const loadingMs = int('loading-ms', undefined);

  let server: FakeMlxServer;
  try {
    server = await startFakeMlxServer({
      host,
      port,
      model,
      version: values.version as string | undefined,
      maxTokens: int('max-tokens', undefined),
      faults: {
        reasoning: values.reasoning === true ? true : undefined,
        noChatTemplate: values['no-chat-template'] === true,
        delayMs,
        loading: loadingMs,
      },
      log: (line) => err(`${line}\n`),
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') err(`OSError: [Errno ${process.platform === 'darwin' ? 48 : 98}] Address already in use\n`);
    else err(`OSError: ${(e as Error).message}\n`);
    return 1;
  }
  err('mlx_lm/server.py: UserWarning: mlx_lm.server is not recommended for production as it only implements basic security checks.\n');
  err(`${asctime()} - INFO - Starting httpd at ${host} on port ${server.port}...\n`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop, { once: true });
  });
  await server.close();
  return 0;
}
