/**
 * Probes of mlx_lm.server and the LiteLLM proxy, shared by setup, `status` and the doctor
 * (SPEC §1, §2.6, §4). Every probe is bounded by `timeoutMs`, takes the caller's AbortSignal,
 * and never throws for network trouble: failures come back classified.
 */
import net from 'node:net';
import { sleep } from '../lib/sleep.js';
import { httpFetch } from '../lib/http-fetch.js';
import { UNKNOWN_ROUTE_PROBE } from './probe-routes.js';

export type ProbeErrorKind = 'refused' | 'timeout' | 'reset' | 'dns' | 'http' | 'aborted' | 'other';

export interface ProbeError {
  kind: ProbeErrorKind;
  message: string;
  /** errno / undici code when there was one (ECONNREFUSED, UND_ERR_SOCKET, …). */
  code?: string;
}

export interface ProbeOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

export interface ProbeResult {
  /** The probe's own pass condition (see each probe). */
  ok: boolean;
  method: 'GET' | 'POST';
  url: string;
  status?: number;
  contentType?: string;
  /** The Server header: `BaseHTTP/0.6 Python/3.x` for mlx_lm.server. */
  server?: string;
  /** The first ~300 characters of the body. */
  bodyHead: string;
  latencyMs: number;
  error?: ProbeError;
  /** The status and headers came but the body did not end (see error). */
  bodyUnfinished?: boolean;
}

export interface TcpProbe {
  ok: boolean;
  host: string;
  port: number;
  latencyMs: number;
  error?: ProbeError;
}

const BODY_HEAD = 300;
const SERVED_POST_PATHS = ['/v1/chat/completions', '/chat/completions', '/v1/completions'];

/** `http://127.0.0.1:8080` (brackets an IPv6 literal). */
export function rootUrl(host: string, port: number): string {
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

/** The server root of an API base: `http://h:p/v1` → `http://h:p`. */
export function rootFromBase(base: string): string {
  return base.replace(/\/+$/, '').replace(/\/v1$/, '');
}

// ---- errors ------------------------------------------------------------------------------------

const CODE_KIND: Record<string, ProbeErrorKind> = {
  ECONNREFUSED: 'refused',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_NONAME: 'dns',
  EAI_FAIL: 'dns',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  UND_ERR_CLOSED: 'reset',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
};

function errorCodes(err: unknown, depth = 0): string[] {
  if (!err || typeof err !== 'object' || depth > 4) return [];
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown[] };
  const own = typeof e.code === 'string' ? [e.code] : [];
  const nested = [...(e.errors ?? []).flatMap((x) => errorCodes(x, depth + 1)), ...errorCodes(e.cause, depth + 1)];
  return [...own, ...nested];
}

/** Turns what fetch / net throw into one of the kinds callers act on. */
export function classifyError(err: unknown, userSignal?: AbortSignal): ProbeError {
  if (userSignal?.aborted) return { kind: 'aborted', message: 'cancelled' };
  const e = err as { name?: string; message?: string; cause?: { message?: string } };
  if (e?.name === 'TimeoutError') return { kind: 'timeout', message: 'no answer before the timeout' };
  if (e?.name === 'AbortError') return { kind: 'aborted', message: 'cancelled' };
  const codes = errorCodes(err);
  // ECONNREFUSED wins over a sibling IPv6 failure inside an AggregateError.
  const ranked: ProbeErrorKind[] = ['refused', 'dns', 'reset', 'timeout'];
  for (const kind of ranked) {
    const code = codes.find((c) => CODE_KIND[c] === kind);
    if (code) return { kind, code, message: describeCode(code, e) };
  }
  const detail = e?.cause?.message ?? e?.message ?? String(err);
  if (/other side closed|socket hang up|closed/i.test(detail)) {
    return { kind: 'reset', message: 'the server closed the connection without a response' };
  }
  return { kind: 'other', code: codes[0], message: detail };
}

function describeCode(code: string, e: { message?: string; cause?: { message?: string } }): string {
  switch (CODE_KIND[code]) {
    case 'refused':
      return 'connection refused: nothing is listening there';
    case 'dns':
      return `the host name does not resolve (${code})`;
    case 'reset':
      return 'the server closed the connection without a response';
    case 'timeout':
      return code === 'UND_ERR_HEADERS_TIMEOUT'
        ? "no response headers within Node's 300 s limit"
        : `timed out (${code})`;
    default:
      return e.cause?.message ?? e.message ?? code;
  }
}

// ---- TCP ---------------------------------------------------------------------------------------

export type Connect = (o: { host: string; port: number }) => net.Socket;

/** Connect and close: refused answers in milliseconds; a black hole costs `timeoutMs`. */
export function probeTcp(
  host: string,
  port: number,
  opts: { timeoutMs: number; signal?: AbortSignal; connect?: Connect },
): Promise<TcpProbe> {
  const started = performance.now();
  const done = (error?: ProbeError): TcpProbe => ({
    ok: !error,
    host,
    port,
    latencyMs: Math.round(performance.now() - started),
    ...(error ? { error } : {}),
  });
  if (opts.signal?.aborted) return Promise.resolve(done({ kind: 'aborted', message: 'cancelled' }));
  return new Promise((resolve) => {
    let socket: net.Socket;
    try {
      socket = (opts.connect ?? net.connect)({ host, port });
    } catch (err) {
      return resolve(done({ kind: 'other', message: (err as Error).message })); // e.g. port out of range
    }
    const finish = (error?: ProbeError) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(done(error));
    };
    const onAbort = () => finish({ kind: 'aborted', message: 'cancelled' });
    const timer = setTimeout(
      () => finish({ kind: 'timeout', message: `no TCP answer from ${host}:${port} within ${opts.timeoutMs} ms` }),
      opts.timeoutMs,
    );
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish());
    socket.once('error', (err) => finish(classifyError(err)));
  });
}

// ---- HTTP core ---------------------------------------------------------------------------------

interface Raw extends ProbeResult {
  body: string;
  json?: unknown;
}

/**
 * A body as evidence in a line of text: control characters and runs of whitespace made one space;
 * an HTML page (or other markup) said in words, with its <title> when it has one, never its tags.
 */
export function bodyGist(text: string, max = 60): string {
  const flat = text.replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  if (/^<(?:!doctype\s+html|html|head|body)\b/i.test(flat) || /<(?:html|body|title)\b[^>]*>/i.test(flat)) {
    const title = /<title[^>]*>([^<]*)/i.exec(flat)?.[1]?.trim();
    return title ? `an HTML page ("${cut(title, max)}")` : 'an HTML page';
  }
  if (/^<[?!a-z]/i.test(flat)) return 'a markup document (not HTML)';
  return cut(flat, max);
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function head(text: string): string {
  return text.length > BODY_HEAD ? `${text.slice(0, BODY_HEAD)}…` : text;
}

async function request(
  method: 'GET' | 'POST',
  url: string,
  opts: ProbeOptions & { body?: unknown; apiKey?: string },
): Promise<Raw> {
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  const signals = [AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])];
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.apiKey) headers.Authorization = `Bearer ${opts.apiKey}`;
  let res: Response;
  try {
    res = await (opts.fetch ?? (httpFetch as unknown as typeof fetch))(url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.any(signals),
    });
  } catch (err) {
    return { ok: false, method, url, bodyHead: '', latencyMs: latency(), body: '', error: classifyError(err, opts.signal) };
  }
  const answered = {
    method,
    url,
    status: res.status,
    contentType: res.headers.get('content-type') ?? undefined,
    server: res.headers.get('server') ?? undefined,
  };
  let body: string;
  try {
    body = await res.text();
  } catch (err) {
    // The status line and headers came, the body did not end (an endless or stalled stream).
    const e = classifyError(err, opts.signal);
    const error: ProbeError =
      e.kind === 'timeout'
        ? { kind: 'timeout', message: `HTTP ${res.status} came, but its body did not end within ${seconds(opts.timeoutMs)} (an endless or stalled stream)` }
        : e;
    return { ok: false, ...answered, bodyHead: '', latencyMs: latency(), body: '', error, bodyUnfinished: true };
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    /* not JSON: kept as text */
  }
  return { ok: res.ok, ...answered, bodyHead: head(body), latencyMs: latency(), body, json };
}

/** `3 s`, `0.4 s`. */
export function seconds(ms: number): string {
  return `${ms >= 10_000 || ms % 1000 === 0 ? Math.round(ms / 1000) : Math.round(ms / 100) / 10} s`;
}

function strip({ body: _body, json: _json, ...rest }: Raw): ProbeResult {
  return rest;
}

function httpError(r: Raw, why?: string): ProbeError {
  const text = r.body.trim().replace(/\s+/g, ' ').slice(0, 120);
  return { kind: 'http', message: why ?? `HTTP ${r.status}${text ? `: ${text}` : ''}` };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- mlx_lm.server probes ----------------------------------------------------------------------

export interface HealthProbe extends ProbeResult {
  /** false when the server has no /health (mlx-lm < 0.24 answers 404 `Not Found`). */
  hasHealth: boolean;
}

/** GET {root}/health → pass on 200 `{"status": "ok"}`. It does not say the model is loaded. */
export async function probeHealth(root: string, opts: ProbeOptions): Promise<HealthProbe> {
  const r = await request('GET', `${rootFromBase(root)}/health`, opts);
  const ok = r.status === 200 && isObject(r.json) && r.json.status === 'ok';
  return {
    ...strip(r),
    ok,
    hasHealth: r.status !== undefined && r.status !== 404 && r.status !== 501,
    ...(r.error ? {} : ok ? {} : { error: httpError(r, r.status === 200 ? 'HTTP 200 but not {"status": "ok"}' : undefined) }),
  };
}

export interface ModelsProbe extends ProbeResult {
  models: string[];
  /** OpenAI-style `owned_by` on the entries: mlx_lm.server never sends it. */
  ownedBy: string[];
}

/** GET {base}/models (base includes /v1) → pass on 200 `{"object": "list", "data": [...]}`. */
export async function probeModels(base: string, opts: ProbeOptions & { apiKey?: string }): Promise<ModelsProbe> {
  const r = await request('GET', `${base.replace(/\/+$/, '')}/models`, opts);
  const list = isObject(r.json) && r.json.object === 'list' && Array.isArray(r.json.data) ? r.json.data : undefined;
  const ok = r.status === 200 && list !== undefined;
  const entries = (list ?? []).filter(isObject);
  return {
    ...strip(r),
    ok,
    models: entries.map((m) => String(m.id)),
    ownedBy: entries.flatMap((m) => (typeof m.owned_by === 'string' ? [m.owned_by] : [])),
    ...(r.error ? {} : ok ? {} : { error: httpError(r, r.status === 200 ? 'HTTP 200 but not a model list' : undefined) }),
  };
}

export type NotFoundKind = 'path' | 'model' | 'ambiguous';

/**
 * Why a 404 happened (SPEC §0.1, §4 #1). `path`: the route does not exist (plain `Not Found`).
 * `model`: the server failed to load the requested model (HF errors, any JSON error). `ambiguous`:
 * plain `Not Found` on a route mlx_lm.server does serve (≤0.27.1 answers model failures that way),
 * a proxy relaying such a `Not Found`, or a body we do not recognise. Undefined unless status is 404.
 */
export function classifyNotFound(status: number, body: string, requestPath?: string): NotFoundKind | undefined {
  if (status !== 404) return undefined;
  const text = body.trim();
  if (/Repository Not Found|Repo id must|Cannot have -- or \.\.|Local models must be relative|RevisionNotFound|huggingface\.co\/api\/models/i.test(text)) {
    return 'model';
  }
  if (text === 'Not Found') {
    const path = requestPath?.split('?')[0];
    return path !== undefined && SERVED_POST_PATHS.includes(path) && !requestPath!.includes('?') ? 'ambiguous' : 'path';
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text === '' || /<html|page not found/i.test(text) ? 'ambiguous' : 'model'; // 0.28–0.31.1: raw exception text
  }
  const message = isObject(json)
    ? String(
        (isObject(json.error) ? json.error.message : json.error) ?? json.detail ?? json.message ?? '',
      )
    : '';
  if (/^Not Found$/i.test(message.trim())) return 'path'; // FastAPI / generic route 404
  if (/-\s*Not Found(\.|$)/.test(message)) return 'ambiguous'; // a proxy relaying a plain upstream Not Found
  if (/not found, try pulling/i.test(message)) return 'model';
  return 'model';
}

export interface ChatProbe extends ProbeResult {
  /** The model string sent. */
  model: string;
  /** What the server echoed in `model`. */
  echoedModel?: string;
  content?: string | null;
  reasoning?: string;
  finishReason?: string;
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number };
  /** mlx-lm version, read from `system_fingerprint` ("0.32.0-…"). */
  serverVersion?: string;
  /** Set on a 404: see classifyNotFound. */
  notFound?: NotFoundKind;
}

export function versionFromFingerprint(fp: unknown): string | undefined {
  return typeof fp === 'string' ? /^(\d+\.\d+\.\d+)-/.exec(fp)?.[1] : undefined;
}

/**
 * POST {base}/chat/completions with a 1-token "ping" → pass on 200 `object: "chat.completion"`.
 * Reasoning models may answer with empty content: that still passes.
 */
export async function probeChat(
  base: string,
  model: string,
  opts: ProbeOptions & {
    apiKey?: string;
    /** Default 1; null sends none, so the server's default (512) applies (SPEC §4 #14). */
    maxTokens?: number | null;
    prompt?: string;
    extraBody?: Record<string, unknown>;
  },
): Promise<ChatProbe> {
  const url = `${base.replace(/\/+$/, '')}/chat/completions`;
  const body: Record<string, unknown> = {
    model,
    messages: [{ role: 'user', content: opts.prompt ?? 'ping' }],
    ...(opts.maxTokens === null ? {} : { max_tokens: opts.maxTokens ?? 1 }),
    stream: false,
    ...opts.extraBody,
  };
  const r = await request('POST', url, { ...opts, body });
  const j = isObject(r.json) ? r.json : undefined;
  const ok = r.status === 200 && j?.object === 'chat.completion';
  const choice = Array.isArray(j?.choices) && isObject(j.choices[0]) ? j.choices[0] : undefined;
  const message = isObject(choice?.message) ? choice.message : undefined;
  const result: ChatProbe = { ...strip(r), ok, model };
  if (j) {
    if (typeof j.model === 'string') result.echoedModel = j.model;
    const v = versionFromFingerprint(j.system_fingerprint);
    if (v) result.serverVersion = v;
    if (isObject(j.usage)) result.usage = j.usage as ChatProbe['usage'];
  }
  if (message) {
    result.content = typeof message.content === 'string' ? message.content : null;
    if (typeof message.reasoning === 'string') result.reasoning = message.reasoning;
    else if (typeof message.reasoning_content === 'string') result.reasoning = message.reasoning_content;
  }
  if (typeof choice?.finish_reason === 'string') result.finishReason = choice.finish_reason;
  if (r.status === 404) result.notFound = classifyNotFound(404, r.body, new URL(url).pathname);
  if (!r.error && !ok) result.error = httpError(r, r.status === 200 ? 'HTTP 200 but not a chat.completion' : undefined);
  return result;
}

export interface NotFoundDiagnosis {
  kind: NotFoundKind | 'ok';
  evidence: string[];
  first: ChatProbe;
  retry?: ChatProbe;
}

/**
 * SPEC §4 #1: send the model; on an ambiguous `Not Found`, repeat with `default_model`. 200 then
 * means the name was wrong; the same 404 means the path is.
 */
export async function diagnoseNotFound(
  base: string,
  model: string,
  opts: ProbeOptions & { apiKey?: string },
): Promise<NotFoundDiagnosis> {
  const first = await probeChat(base, model, opts);
  if (first.ok) return { kind: 'ok', evidence: [`"${model}" answered`], first };
  if (first.notFound === undefined) return { kind: 'ambiguous', evidence: [first.error?.message ?? 'no answer'], first };
  if (first.notFound !== 'ambiguous') {
    return { kind: first.notFound, evidence: [`404 for "${model}": ${first.bodyHead.split('\n')[0]}`], first };
  }
  if (model === 'default_model') {
    return { kind: 'path', evidence: ['even default_model gets 404 Not Found: the URL path is wrong'], first };
  }
  const retry = await probeChat(base, 'default_model', opts);
  if (retry.ok) {
    return {
      kind: 'model',
      evidence: [`"${model}" gets 404 Not Found but default_model answers: the server cannot load that name`],
      first,
      retry,
    };
  }
  if (retry.status === 404 && retry.notFound !== 'model') {
    return { kind: 'path', evidence: ['default_model gets the same 404 Not Found: the URL path is wrong'], first, retry };
  }
  return { kind: 'ambiguous', evidence: [`default_model: ${retry.error?.message ?? `HTTP ${retry.status}`}`], first, retry };
}

// ---- who is on the port ------------------------------------------------------------------------

export type ServerKind = 'mlx_lm.server' | 'litellm' | 'other' | 'none';

export interface ServerIdentity {
  kind: ServerKind;
  /** Human-readable reasons, in the order they were found. */
  evidence: string[];
  /** For `other`: a guess at the product (Ollama, LM Studio, vLLM). */
  looksLike?: string;
  /** For mlx: false on mlx-lm < 0.24 (no /health). */
  hasHealth?: boolean;
  /** What GET /v1/models listed. */
  models?: string[];
  latencyMs: number;
  /** It accepts connections but sent no HTTP answer at all within the timeout (hung, loading, or not HTTP). */
  noHttpAnswer?: boolean;
  tcp: TcpProbe;
  probes: { health?: HealthProbe; models?: ModelsProbe; liveliness?: ProbeResult; unknownRoute?: ProbeResult; /** The key /v1/models was asked with. */ modelsKey?: string };
  error?: ProbeError;
}

const OWNED_BY_HINTS: Record<string, string> = { library: 'Ollama', organization_owner: 'LM Studio', vllm: 'vLLM' };

/**
 * Who answers on host:port (SPEC §4 #8). mlx_lm.server: an unknown route gets 404 with the plain
 * bytes `Not Found` (POST /v1/responses), /health is `{"status": "ok"}` (or that same 404 before
 * 0.24), /v1/models has no `owned_by`. LiteLLM: GET /health/liveliness → "I'm alive!".
 */
export async function identifyServer(host: string, port: number, opts: ProbeOptions & { livelinessFirst?: boolean; apiKey?: string }): Promise<ServerIdentity> {
  const started = performance.now();
  const root = rootUrl(host, port);
  // One round for an mlx_lm.server: the connection test and its requests at once (a dead port
  // refuses them all in milliseconds, a hung one costs one timeout). Everything sent is harmless to
  // any server: GETs, and an empty POST to a route mlx_lm.server does not have.
  // A LiteLLM proxy says so on its liveliness route. Where one is likely (the base Aider sends to),
  // it is asked in the same round; elsewhere only when the answers are not mlx_lm.server's.
  // With the key Aider sends there (`apiKey`), the model list is also a LiteLLM proxy's answer to
  // that key (litellmFromIdentity): one request for both questions.
  const { apiKey, ...plain } = opts;
  const livelinessP = opts.livelinessFirst ? request('GET', `${root}/health/liveliness`, plain) : undefined;
  const [tcp, health, models, unknown] = await Promise.all([
    probeTcp(host, port, plain),
    probeHealth(root, plain),
    probeModels(`${root}/v1`, apiKey ? { ...plain, apiKey } : plain),
    request('POST', `${root}${UNKNOWN_ROUTE_PROBE}`, { ...plain, body: {} }),
  ]);
  const base = { tcp, probes: {} as ServerIdentity['probes'], evidence: [] as string[] };
  const latency = () => Math.round(performance.now() - started);
  if (!tcp.ok) {
    return { ...base, kind: 'none', evidence: [tcp.error!.message], latencyMs: latency(), error: tcp.error };
  }
  const probes: ServerIdentity['probes'] = { health, models, unknownRoute: strip(unknown), ...(apiKey ? { modelsKey: apiKey } : {}) };
  const evidence: string[] = [];
  const done = (kind: ServerKind, extra: Partial<ServerIdentity> = {}): ServerIdentity => ({
    kind,
    evidence,
    tcp,
    probes,
    latencyMs: latency(),
    ...(models.ok ? { models: models.models } : {}),
    ...extra,
  });

  const answered = [health, models, unknown].filter((r) => r.status !== undefined);
  if (answered.length === 0) {
    const error = health.error ?? models.error;
    evidence.push(`accepts TCP connections but gave no HTTP answer (${error?.message ?? 'no response'})`);
    return done('other', { error, ...(error?.kind === 'timeout' ? { noHttpAnswer: true } : {}) });
  }

  const plainNotFound = unknown.status === 404 && unknown.body === 'Not Found';
  const get501 = health.status === 501 && /Unsupported method/.test(health.bodyHead);
  const healthNotFound = health.status === 404 && health.bodyHead === 'Not Found';
  const modelsMlx = models.ok && models.ownedBy.length === 0;
  const healthLike = health.ok || healthNotFound || get501;
  if (!(plainNotFound && healthLike && (modelsMlx || get501))) {
    // Not mlx_lm.server: a LiteLLM proxy on the port (a common mix-up) says so on its liveliness
    // route. Within the same timeout as the first round: what is left of it, if anything.
    const left = Math.round(started + opts.timeoutMs - performance.now());
    const liveliness = livelinessP ? await livelinessP : left >= 50 ? await request('GET', `${root}/health/liveliness`, { ...plain, timeoutMs: left }) : undefined;
    if (liveliness) probes.liveliness = strip(liveliness);
    if (liveliness?.status === 200 && liveliness.body.includes("I'm alive!")) {
      evidence.push(`GET /health/liveliness → ${bodyGist(liveliness.body)}`);
      return done('litellm');
    }
  }

  const unfinished = [health, models, unknown].find((r) => r.bodyUnfinished);
  if (unfinished) evidence.push(`${unfinished.method} ${new URL(unfinished.url).pathname} → ${unfinished.error?.message ?? `HTTP ${unfinished.status} with a body that never ended`}`);
  if (plainNotFound) evidence.push('POST /v1/responses → 404 with the plain bytes "Not Found"');
  if (health.ok && health.bodyHead === '{"status": "ok"}') evidence.push('GET /health → {"status": "ok"}');
  else if (healthNotFound) evidence.push('GET /health → 404 Not Found (mlx-lm older than 0.24)');
  else if (get501) evidence.push("GET → 501 Unsupported method ('GET') (mlx-lm older than 0.18.2)");
  if (modelsMlx) evidence.push('GET /v1/models → a list without owned_by');
  if (health.server?.startsWith('BaseHTTP/')) evidence.push(`Server: ${health.server}`);

  if (plainNotFound && healthLike && (modelsMlx || get501)) {
    return done('mlx_lm.server', { hasHealth: health.ok });
  }

  const owner = models.ownedBy[0];
  if (owner) evidence.push(`GET /v1/models entries carry owned_by "${owner}" (mlx_lm.server never sends it)`);
  if (!plainNotFound) {
    evidence.push(`POST /v1/responses → ${unknown.status ?? unknown.error?.message} ${bodyGist(unknown.body)}`.trim());
  }
  const looksLike = owner ? OWNED_BY_HINTS[owner] : undefined;
  return done('other', looksLike ? { looksLike } : {});
}

// ---- LiteLLM proxy -----------------------------------------------------------------------------

export interface LitellmProbe {
  /** Alive, and the model list could be read. */
  ok: boolean;
  liveliness: ProbeResult;
  models: ModelsProbe;
  /** The `model_name`s the proxy serves. */
  names: string[];
  /** 401/403 (or LiteLLM's 400 "No connected db.") on /v1/models: the proxy has a master_key and ours is missing or wrong. */
  authFailed: boolean;
}

/** GET /health/liveliness (no auth) and GET /v1/models (with the key) on the proxy root. */
export async function probeLitellm(root: string, opts: ProbeOptions & { apiKey?: string }): Promise<LitellmProbe> {
  const r = rootFromBase(root);
  const [alive, models] = await Promise.all([
    request('GET', `${r}/health/liveliness`, opts),
    probeModels(`${r}/v1`, opts),
  ]);
  return litellmJudged(strip(alive), models, opts.apiKey);
}

/**
 * probeLitellm's answer from what identifyServer already asked a LiteLLM proxy (its liveliness,
 * and /v1/models with `apiKey`); undefined when it did not ask both (then probe).
 */
export function litellmFromIdentity(id: ServerIdentity, apiKey: string | undefined): LitellmProbe | undefined {
  const { liveliness, models, modelsKey } = id.probes;
  if (id.kind !== 'litellm' || !liveliness || !models || modelsKey !== apiKey) return undefined;
  return litellmJudged(liveliness, models, apiKey);
}

function litellmJudged(alive: ProbeResult, modelsIn: ModelsProbe, apiKey: string | undefined): LitellmProbe {
  const models = { ...modelsIn };
  const aliveOk = alive.status === 200 && alive.bodyHead.includes("I'm alive!");
  const liveliness: ProbeResult = {
    ...alive,
    ok: aliveOk,
    ...(alive.error ? {} : aliveOk ? {} : { error: { kind: 'http' as const, message: `HTTP ${alive.status}: not a LiteLLM liveliness answer` } }),
  };
  // A key that is not the master key is looked up as a virtual key; without a database LiteLLM
  // (1.108) answers 400 "No connected db." instead of 401. Either way the key was refused.
  const noDb = models.status === 400 && /No connected db|no_db_connection/i.test(models.bodyHead);
  const authFailed = models.status === 401 || models.status === 403 || noDb;
  if (authFailed) {
    models.error = {
      kind: 'http',
      message: noDb
        ? 'HTTP 400 "No connected db.": LiteLLM looked the key up as a virtual key, so it is not the master_key'
        : apiKey
          ? `HTTP ${models.status}: the proxy rejected the key (it must equal general_settings.master_key)`
          : `HTTP ${models.status}: the proxy has a master_key; send it as the API key`,
    };
  }
  return { ok: aliveOk && models.ok, liveliness, models, names: models.models, authFailed };
}

// ---- readiness ---------------------------------------------------------------------------------

export interface WaitInfo {
  /** `listen`: nothing accepts connections yet; `load`: a completion is pending (download/load); `retry`: last attempt failed, trying again. */
  waitingFor: 'listen' | 'load' | 'retry';
  attempt: number;
  elapsedMs: number;
  message: string;
  last?: ChatProbe;
}

export interface WaitResult extends ChatProbe {
  attempts: number;
  waitedMs: number;
}

/**
 * Polls until a real 1-token completion answers (SPEC §1.9: /health says nothing about the model).
 * A pending request is the normal state while the server downloads or loads: it is reported every
 * `intervalMs` through `onWait`. Refused/reset/5xx are retried until `timeoutMs`; a model 404 is
 * final (waiting will not fix a name).
 */
export async function waitForChat(
  base: string,
  model: string,
  opts: ProbeOptions & { intervalMs?: number; apiKey?: string; onWait?: (info: WaitInfo) => void },
): Promise<WaitResult> {
  const started = performance.now();
  const interval = opts.intervalMs ?? 1000;
  const elapsed = () => Math.round(performance.now() - started);
  const deadline = started + opts.timeoutMs;
  let attempt = 0;
  let last: ChatProbe | undefined;
  const finish = (r: ChatProbe): WaitResult => ({ ...r, attempts: attempt, waitedMs: elapsed() });

  for (;;) {
    attempt++;
    const remaining = Math.max(1, Math.round(deadline - performance.now()));
    const ticker = setInterval(
      () =>
        opts.onWait?.({
          waitingFor: 'load',
          attempt,
          elapsedMs: elapsed(),
          message: `waiting for ${model} to answer (the server may be downloading or loading it)`,
          ...(last ? { last } : {}),
        }),
      interval,
    );
    const r = await probeChat(base, model, { ...opts, timeoutMs: remaining }).finally(() => clearInterval(ticker));
    last = r;
    if (r.ok) return finish(r);
    const kind = r.error?.kind;
    // A 4xx will not change by waiting, except a proxy's cooldown (429) or a 408.
    const final =
      kind === 'aborted' ||
      kind === 'dns' ||
      (r.status !== undefined && r.status < 500 && r.status !== 408 && r.status !== 429);
    if (final || performance.now() + interval >= deadline) return finish(r);
    opts.onWait?.({
      waitingFor: kind === 'refused' ? 'listen' : 'retry',
      attempt,
      elapsedMs: elapsed(),
      message:
        kind === 'refused'
          ? `waiting for the server at ${rootFromBase(base)} to listen`
          : `retrying: ${r.error?.message ?? `HTTP ${r.status}`}`,
      last: r,
    });
    if (!(await sleep(interval, opts.signal))) return finish({ ...r, error: { kind: 'aborted', message: 'cancelled' } });
  }
}

// ---- API base ----------------------------------------------------------------------------------

export interface NormalizedBase {
  base: string;
  /** `http://127.0.0.1:8080`, for /health. */
  root: string;
  /** What was wrong and fixed (or, for the last ones, only flagged). Empty when the input was right. */
  problems: string[];
  /** False when the input is not a URL at all (then base is the trimmed input). */
  valid: boolean;
}

/**
 * SPEC §4 #2/#3 and #7: strip a trailing `/` and a pasted endpoint, collapse `/v1/v1`, add the
 * missing `/v1`, use 127.0.0.1 for `localhost`.
 */
export function normalizeApiBase(input: string): NormalizedBase {
  const problems: string[] = [];
  let text = input.trim();
  if (!/^[a-z][a-z\d+.-]*:\/\//i.test(text)) {
    text = `http://${text}`;
    problems.push('added the missing http://');
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { base: input.trim(), root: input.trim(), problems: ['not a URL'], valid: false };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { base: input.trim(), root: input.trim(), problems: [`${url.protocol} is not http`], valid: false };
  }
  if (url.search || url.hash) {
    problems.push('removed the query string (the server matches paths exactly)');
    url.search = '';
    url.hash = '';
  }
  if (url.username || url.password) problems.push('credentials in the URL are not used: pass an API key instead');
  const loopbackName = url.hostname.toLowerCase() === 'localhost';
  if (loopbackName || url.hostname === '0.0.0.0' || url.hostname === '[::]') {
    problems.push(
      loopbackName
        ? `"${url.hostname}" can resolve to ::1 while mlx_lm.server listens on 127.0.0.1 only: use 127.0.0.1`
        : `${url.hostname} is a listen address, not one to connect to: use 127.0.0.1`,
    );
    url.hostname = '127.0.0.1';
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol === 'https:' && loopback) {
    problems.push('mlx_lm.server and a local LiteLLM proxy speak plain http, not https');
    url.protocol = 'http:';
  }

  let path = url.pathname;
  if (/\/{2,}/.test(path)) path = path.replace(/\/{2,}/g, '/');
  if (path.length > 1 && path.endsWith('/')) {
    path = path.replace(/\/+$/, '');
    problems.push('removed the trailing /');
  }
  const endpoint = /\/(chat\/completions|completions|models|responses)$/.exec(path);
  if (endpoint) {
    path = path.slice(0, -endpoint[0].length);
    problems.push(`removed the endpoint /${endpoint[1]}: the client appends it to the base itself`);
  }
  if (/(\/v1){2,}$/.test(path)) {
    path = path.replace(/(\/v1){2,}$/, '/v1');
    problems.push('collapsed a doubled /v1');
  }
  if (path === '/' || path === '') {
    path = '/v1';
    problems.push('added /v1: chat works without it on mlx_lm.server, but /v1/models does not');
  } else if (!path.endsWith('/v1')) {
    problems.push(`unexpected path ${path}: an mlx_lm.server or LiteLLM base ends in /v1`);
  }
  if (!url.port && loopback) problems.push(`no port: this means port ${url.protocol === 'https:' ? 443 : 80}`);

  const root = `${url.protocol}//${url.host}`;
  return { base: `${root}${path}`, root, problems, valid: true };
}
