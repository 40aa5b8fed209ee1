/**
 * Reads what the user pasted (Aider's output, a LiteLLM error, a server log, a Node stack) and pulls
 * out the facts the doctor acts on: exception classes, provider tags, HTTP status, the innermost
 * message, the URL, the model names, and named signals (SPEC §2.3, §4). Never throws; any input,
 * however large or binary, gets an answer in bounded time (the regexes have no nested quantifiers).
 */
import { isIdentificationProbe } from '../servers/probe-routes.js';

export type ErrorSignal =
  /** `… OpenAIException - Not Found`: unknown path, or model failure on mlx-lm ≤0.27.1 (SPEC §4 #1/#2). */
  | 'not-found-plain'
  /** The server looked the model name up on the Hub and it is not there (#1, #19). */
  | 'hf-repo-not-found'
  /** A model string that cannot even be a repo id: a URL, an `openai/…` name (#1). */
  | 'repo-id-invalid'
  /** mlx-lm ≤0.26.4 with an absolute --model path named in the request (#17). */
  | 'local-path'
  /** 404 with some other load/prompt error from mlx_lm.server (#1). */
  | 'model-load-failed'
  /** `{'detail': 'Not Found'}`: what a LiteLLM proxy (FastAPI) answers for a path it has no route for (#2). */
  | 'detail-not-found'
  /** The model string was a URL (aider#3551: `--model openai/http://…`). */
  | 'url-as-model'
  /** LiteLLM proxy: the name is not a `model_name` of its config (#11). */
  | 'invalid-model-name'
  /** LiteLLM proxy: every deployment of the group is cooling down (#12). */
  | 'no-deployments'
  /** 429 without the proxy's cooldown text. */
  | 'rate-limited'
  | 'connection-refused'
  /** The refused address was ::1 (localhost resolved to IPv6; mlx binds 127.0.0.1) (#7). */
  | 'ipv6-loopback'
  /** APIConnectionError without more detail. */
  | 'connection-error'
  /** The server dropped the socket without a response: a parameter failed validation (#16). */
  | 'remote-closed'
  | 'timeout'
  /** The OpenAI client has no key at all (#9). */
  | 'api-key-missing'
  /** A key was sent and refused (#10). */
  | 'auth-rejected'
  /** `LLM Provider NOT provided` (#4). */
  | 'provider-not-provided'
  /** Aider: `has hit a token limit!` / finish_reason length (#14). */
  | 'token-limit'
  /** Aider: `Unknown context window size and costs` (metadata missing). */
  | 'unknown-context-window'
  /** The request reached api.openai.com: the local base was not applied (#18). */
  | 'went-to-openai'
  /** mlx_lm.server's parameter validation text (`must be at most 1`) (#16). */
  | 'bad-parameter'
  /** Port already taken when a server started (#8). */
  | 'address-in-use'
  /** LiteLLM ≥1.108 refuses to start without general_settings.master_key. */
  | 'proxy-needs-master-key'
  /** LiteLLM could not import aider-mlx's callback module (aider_mlx_usage.py not next to the config). */
  | 'callback-module-missing'
  /** A server access log line: a POST to a path mlx_lm.server does not serve got 404 (#2). */
  | 'server-log-bad-path'
  /** A server log line showing the Hub lookup of a model name (#19). */
  | 'server-log-hub-lookup'
  /** The server log shows a download: a different valid repo id was requested (#6). */
  | 'model-download'
  /** Images or other non-text content parts (mlx_lm.server supports text only). */
  | 'content-not-text'
  /** The answer continues the transcript (`USER:` / `ASSISTANT:`): no chat template (#15). */
  | 'role-play';

export interface ParsedError {
  /** Characters looked at, and whether the input was cut to the analysis bound. */
  input: { chars: number; truncated: boolean; empty: boolean };
  /** LiteLLM/OpenAI exception classes, outermost first, consecutive repeats collapsed. */
  classes: string[];
  errorClass?: string;
  innerClass?: string;
  /** Provider tags (`OpenAIException`, `APIException`, `Hosted_vllmException`…), outermost first. */
  providers: string[];
  /** The innermost provider tag. */
  provider?: string;
  /** HTTP status of the innermost failure (explicit `Error code: N`, else implied by the class). */
  status?: number;
  /** Every status seen, outermost first. */
  statuses: number[];
  /** The innermost message, whitespace collapsed, at most 500 characters. */
  body?: string;
  /** The most telling non-documentation URL. */
  url?: string;
  /** Path of a request seen in a server log (`POST /v1/v1/chat/completions`). */
  requestPath?: string;
  host?: string;
  port?: number;
  /** The model Aider or LiteLLM was asked for (`model=…`, Aider's `Model:` line). */
  model?: string;
  /** The string mlx_lm.server tried to load (from the Hub URL or the repo-id error). */
  upstreamModel?: string;
  /** The proxy's model group (`Received Model Group=…`, `model group '…'`). */
  modelGroup?: string;
  /** An error wrapped inside another: LiteLLM on the client re-wrapping the proxy's error. */
  wrapped: boolean;
  /** The text shows a LiteLLM proxy in the path. */
  viaProxy: boolean;
  signals: ErrorSignal[];
  /** One line for people: `litellm.NotFoundError (OpenAIException, HTTP 404): Not Found`. */
  summary: string;
}

/** Enough for any real error paragraph; beyond it we keep the head and the tail. */
export const MAX_ANALYSED = 256 * 1024;

const KNOWN_CLASSES = [
  'NotFoundError',
  'BadRequestError',
  'AuthenticationError',
  'PermissionDeniedError',
  'RateLimitError',
  'Timeout',
  'APITimeoutError',
  'APIConnectionError',
  'APIError',
  'InternalServerError',
  'ServiceUnavailableError',
  'BadGatewayError',
  'ContextWindowExceededError',
  'UnprocessableEntityError',
  'UnsupportedParamsError',
  'RouterRateLimitError',
];

const CLASS_STATUS: Record<string, number> = {
  NotFoundError: 404,
  BadRequestError: 400,
  AuthenticationError: 401,
  PermissionDeniedError: 403,
  RateLimitError: 429,
  RouterRateLimitError: 429,
  Timeout: 408,
  APITimeoutError: 408,
  InternalServerError: 500,
  BadGatewayError: 502,
  ServiceUnavailableError: 503,
  UnprocessableEntityError: 422,
  ContextWindowExceededError: 400,
};

const DOC_HOSTS = /^(?:docs\.litellm\.ai|aider\.chat|github\.com|huggingface\.co\/docs|platform\.openai\.com|docs\.)/;
const SERVED_POST_PATHS = new Set(['/v1/chat/completions', '/chat/completions', '/v1/completions']);

/** Control characters (except tab and newline), ANSI escapes, CRLF. */
function clean(raw: string): string {
  return raw
    .replace(/\r\n?/g, '\n')
    .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g, '')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ');
}

/** Python reprs carry `\n` escapes; Aider wraps long lines at the terminal width. */
function flatten(text: string): string {
  return text.replace(/\\n/g, ' ').replace(/\s+/g, ' ').trim();
}

function trimToken(s: string): string {
  return s.replace(/^['"`(<]+/, '').replace(/[.,;:'"`)>\]}]+$/, '');
}

function firstMatch(re: RegExp, text: string, group = 1): string | undefined {
  const m = re.exec(text);
  const v = m?.[group];
  return v === undefined ? undefined : v;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/** Outermost first; `NotFoundError: NotFoundError:` counts once. */
function findClasses(flat: string): string[] {
  const found: Array<{ at: number; name: string }> = [];
  const prefixed = /\b(?:litellm|openai|httpx)\.(?:exceptions\.)?([A-Z][A-Za-z]{2,40})\b/g;
  for (let m = prefixed.exec(flat); m; m = prefixed.exec(flat)) found.push({ at: m.index, name: m[1]! });
  const bare = new RegExp(`(?<![.\\w])(${KNOWN_CLASSES.join('|')})(?=:)`, 'g');
  for (let m = bare.exec(flat); m; m = bare.exec(flat)) found.push({ at: m.index, name: m[1]! });
  found.sort((a, b) => a.at - b.at);
  const out: string[] = [];
  for (const f of found) {
    if (!/(Error|Timeout|Exception)$/.test(f.name)) continue;
    // `litellm.NotFoundError: NotFoundError: …` is one exception, not two.
    if (out[out.length - 1] !== f.name) out.push(f.name);
  }
  return out;
}

function findProviders(flat: string): string[] {
  const out: string[] = [];
  const re = /\b([A-Z][A-Za-z_]{1,40}Exception) - /g;
  for (let m = re.exec(flat); m; m = re.exec(flat)) out.push(m[1]!);
  return out;
}

/** The message after the last provider tag, up to the proxy's routing suffix. */
function innermostBody(text: string, flat: string): string | undefined {
  const re = /\b[A-Z][A-Za-z_]{1,40}Exception - /g;
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(flat); m; m = re.exec(flat)) last = m;
  let body: string | undefined;
  if (last) {
    body = flat.slice(last.index + last[0].length);
  } else {
    const line = firstMatch(/^[^\n]*(?:Error|error|ECONNREFUSED|refused|Exception|Not Found)[^\n]*$/m, text, 0);
    body = line ?? (text.trim() ? text.trim().split('\n')[0] : undefined);
    body = body ? flatten(body) : undefined;
  }
  if (!body) return undefined;
  body = body
    .split(/\. Received Model Group=| Received Model Group=|LiteLLM: model group| Available Model Group Fallbacks|LiteLLM Retried:/)[0]!
    .replace(/^Error code: \d{3} - /, '')
    .trim();
  const inner = firstMatch(/^\{\s*['"]error['"]\s*:\s*(?:\{\s*['"]message['"]\s*:\s*)?(['"])(.*?)\1/, body, 2);
  if (inner) body = inner;
  return body.length > 500 ? `${body.slice(0, 500)}…` : body;
}

function findUrl(flat: string): { url?: string; host?: string; port?: number } {
  const urls: string[] = [];
  const re = /\bhttps?:\/\/[^\s'"<>`)\]}]+/g;
  for (let m = re.exec(flat); m && urls.length < 50; m = re.exec(flat)) urls.push(trimToken(m[0]));
  const useful = urls.filter((u) => !DOC_HOSTS.test(u.replace(/^https?:\/\//, '')) && !u.includes('HISTORY.html'));
  const local = useful.find((u) => /\/\/(?:localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0)(?::|\/|$)/.test(u) && !u.includes('/api/models/'));
  const url = local ?? useful.find((u) => !u.includes('/api/models/')) ?? useful[0];
  let host: string | undefined;
  let port: number | undefined;
  if (url) {
    try {
      const u = new URL(url.replace(/<[^>]*>/g, '0'));
      host = u.hostname;
      port = u.port ? Number(u.port) : undefined;
    } catch {
      /* not a URL after all */
    }
  }
  // Node: `connect ECONNREFUSED ::1:8080`; urllib3: `host='localhost', port=8080`.
  const refused = /ECONNREFUSED\s+(\[?[0-9a-fA-F:.]{1,60}?\]?):(\d{1,5})(?![\d:])/.exec(flat);
  if (refused) {
    host = refused[1]!.replace(/^\[|\]$/g, '');
    port = Number(refused[2]);
  } else if (!host) {
    const py = /host='([^']{1,200})', port=(\d{1,5})/.exec(flat);
    if (py) {
      host = py[1];
      port = Number(py[2]);
    }
  }
  return { ...(url ? { url } : {}), ...(host ? { host } : {}), ...(port !== undefined ? { port } : {}) };
}

function findModels(text: string, flat: string) {
  const pick = (re: RegExp, src = flat) => {
    const v = firstMatch(re, src);
    return v === undefined ? undefined : trimToken(v) || undefined;
  };
  const model =
    pick(/Invalid model name passed in model=(\S{1,300})/) ??
    pick(/You passed model=(\S{1,300})/) ??
    pick(/Passed model=(\S{1,300})/) ??
    pick(/^(?:Main )?[Mm]odel: (\S{1,300}) with /m, text) ??
    pick(/Warning for (\S{1,300}): Unknown/) ??
    pick(/Model (\S{1,300}) has hit a token limit/) ??
    pick(/\bmodel=(\S{1,300})/);
  const upstreamModel =
    pick(/\/api\/models\/(\S{1,300}?)\/revision\//) ??
    pick(/Repo id must be in the form 'repo_name' or 'namespace\/repo_name': '([^']{1,300})'/) ??
    pick(/Repo id must use alphanumeric chars[^']{0,200}: '([^']{1,300})'/) ??
    pick(/Cannot have -- or \.\. in repo_id: '([^']{1,300})'/) ??
    pick(/model "([^"]{1,300})" not found/);
  const modelGroup = pick(/Received Model Group=(\S{1,300})/) ?? pick(/model group '([^']{1,300})'/);
  return { model, upstreamModel, modelGroup };
}

function statusesOf(flat: string, classes: string[]): number[] {
  const out: number[] = [];
  const re = /\bError code: (\d{3})\b|\bstatus(?:_code)?["']?\s*[:=]\s*(\d{3})\b|\bHTTP(?:\/\d\.\d)? (\d{3})\b/g;
  for (let m = re.exec(flat); m && out.length < 20; m = re.exec(flat)) out.push(Number(m[1] ?? m[2] ?? m[3]));
  const implied = classes.map((c) => CLASS_STATUS[c]).filter((s): s is number => s !== undefined);
  return out.length ? out : implied;
}

const SIGNALS: Array<[ErrorSignal, RegExp]> = [
  ['hf-repo-not-found', /Repository Not Found|RepositoryNotFoundError|RevisionNotFoundError/i],
  ['repo-id-invalid', /Repo id must (?:be in the form|use alphanumeric)|Cannot have -- or \.\. in repo_id|HFValidationError/],
  ['local-path', /Local models must be relative to the current working dir/],
  ['invalid-model-name', /Invalid model name passed in model=/i],
  ['no-deployments', /No deployments available for selected model/i],
  ['provider-not-provided', /LLM Provider NOT provided/i],
  ['api-key-missing', /api_key client option must be set|set(?:ting)? the OPENAI_API_KEY environment variable|Missing (?:OpenAI )?API key/i],
  ['remote-closed', /Remote end closed connection without response|RemoteDisconnected|Server disconnected without sending a response|socket hang up|other side closed|closed the connection without a response/i],
  ['timeout', /\blitellm\.Timeout\b|\bAPITimeoutError\b|Request timed out|\btimed out\b|ReadTimeout|ConnectTimeout|ETIMEDOUT|UND_ERR_(?:HEADERS|BODY|CONNECT)_TIMEOUT|TimeoutError/],
  ['token-limit', /has hit a token limit|finish_reason["']?\s*[:=]\s*["']length|Output tokens? limit/i],
  ['unknown-context-window', /Unknown context window size/i],
  ['went-to-openai', /api\.openai\.com|model_not_found|Incorrect API key provided|The model `[^`]{1,200}` does not exist/],
  ['bad-parameter', /\bmust be (?:of type|at least|at most)\b/],
  ['address-in-use', /Address already in use|EADDRINUSE|\[Errno (?:48|98)\]/],
  ['proxy-needs-master-key', /no master key is set|refused to start[^.]{0,40}master key/i],
  ['callback-module-missing', /No module named '?aider_mlx_usage|Could not import \w+ from aider_mlx_usage/],
  ['server-log-hub-lookup', /"GET \/api\/models\/\S{1,300}\/revision\/main HTTP/],
  ['model-download', /Fetching \d+ files|Downloading (?:shards|\S+\.safetensors)|snapshot_download/],
  ['content-not-text', /Only 'text' content type is supported/],
];

/** Parse pasted error text. Total: any string (or nothing) gets a ParsedError. */
export function parseErrorText(input: unknown): ParsedError {
  let raw = typeof input === 'string' ? input : input instanceof Uint8Array ? Buffer.from(input).toString('utf8') : '';
  const chars = raw.length;
  let truncated = false;
  if (raw.length > MAX_ANALYSED) {
    // The error paragraph is at the end of Aider's output; the first lines say which model.
    raw = `${raw.slice(0, MAX_ANALYSED / 4)}\n\n${raw.slice(raw.length - (MAX_ANALYSED * 3) / 4)}`;
    truncated = true;
  }
  const text = clean(raw);
  const flat = flatten(text);
  const empty = flat.length === 0;

  const classes = findClasses(flat);
  const providers = findProviders(flat);
  const statuses = statusesOf(flat, classes);
  const body = empty ? undefined : innermostBody(text, flat);
  const { url, host, port } = findUrl(flat);
  const { model, upstreamModel, modelGroup } = findModels(text, flat);

  const signals = new Set<ErrorSignal>();
  for (const [name, re] of SIGNALS) if (re.test(flat)) signals.add(name);

  const innerClass = classes[classes.length - 1];
  const hasClass = (...names: string[]) => classes.some((c) => names.includes(c));

  // A bare `Not Found` after the provider tag (or a raw body / log line saying just that).
  if (body !== undefined && /^(?:Error code: 404 - )?Not Found\.?$/.test(body.trim())) signals.add('not-found-plain');
  else if (/Exception - (?:Error code: 404 - )?Not Found(?:$|[.\s])(?!for url)/.test(flat)) signals.add('not-found-plain');
  else if (/^[ \t]*Not Found[ \t]*$/m.test(text) && !signals.has('hf-repo-not-found')) signals.add('not-found-plain');
  if (/\{\s*['"]detail['"]\s*:\s*['"]Not Found['"]\s*\}/.test(flat)) signals.add('detail-not-found');

  if (
    (hasClass('NotFoundError') || statuses.includes(404)) &&
    !signals.has('not-found-plain') &&
    !signals.has('detail-not-found') &&
    !signals.has('hf-repo-not-found') &&
    !signals.has('repo-id-invalid') &&
    !signals.has('local-path') &&
    !signals.has('content-not-text') &&
    !signals.has('went-to-openai')
  ) {
    signals.add('model-load-failed');
  }

  const refused = /ECONNREFUSED|Connection refused|\[Errno (?:61|111)\]|ConnectError|Cannot connect to host|Failed to establish a new connection|connect ECONNREFUSED/i.test(flat);
  if (refused) signals.add('connection-refused');
  if (/ECONNREFUSED\s+\[?::1\]?:\d|\[::1\]:\d|connect to ::1\b/.test(flat)) signals.add('ipv6-loopback');
  if (!refused && (hasClass('APIConnectionError') || /\bConnection error\b/i.test(flat)) && !signals.has('remote-closed') && !signals.has('timeout')) {
    signals.add('connection-error');
  }

  // An HF 401 (`401 Client Error … Repository Not Found`) is a missing repo, not a key problem.
  const hfOnly = signals.has('hf-repo-not-found') || signals.has('repo-id-invalid');
  if (
    !signals.has('api-key-missing') &&
    (hasClass('AuthenticationError', 'PermissionDeniedError') ||
      /Authentication Error|Invalid proxy server token|No api key passed in|Unauthorized|invalid[ _-]api[ _-]key|Incorrect API key|No connected db|no_db_connection/i.test(flat) ||
      (!hfOnly && statuses.includes(401)))
  ) {
    signals.add('auth-rejected');
  }
  if (!signals.has('no-deployments') && (hasClass('RateLimitError', 'RouterRateLimitError') || statuses.includes(429))) signals.add('rate-limited');

  const models = [model, upstreamModel, modelGroup].filter((m): m is string => m !== undefined);
  if (models.some((m) => /^(?:openai\/)?https?:\/\//i.test(m)) || /model=(?:openai\/)?https?:\/\//i.test(flat)) signals.add('url-as-model');

  // Access-log lines of mlx_lm.server: `"POST /v1/v1/chat/completions HTTP/1.1" 404 -`
  let requestPath: string | undefined;
  // The doctor's own identification probes 404 by design: they are not Aider's requests.
  const logRe = /"(POST|GET) (\/\S{0,300}) HTTP\/1\.[01]" 404\b/g;
  for (let m = logRe.exec(flat); m; m = logRe.exec(flat)) {
    const p = m[2]!;
    if (p.startsWith('/api/models/') || isIdentificationProbe(m[1]!, p)) continue;
    requestPath ??= p;
    if (!SERVED_POST_PATHS.has(p.split('?')[0]!) && !p.startsWith('/v1/models')) {
      signals.add('server-log-bad-path');
      requestPath = p;
    }
  }
  if (signals.has('server-log-hub-lookup')) signals.add('hf-repo-not-found');

  // Role-play continuation only counts when nothing else explains the text.
  if (classes.length === 0 && /(?:^|\n)[ \t]*USER:[^\n]*\n[\s\S]{0,2000}?\n[ \t]*ASSISTANT:/.test(text)) signals.add('role-play');

  const wrapped =
    classes.length >= 2 || providers.length >= 2 || /Exception - litellm\.\w+/.test(flat);
  const viaProxy =
    wrapped ||
    modelGroup !== undefined ||
    signals.has('invalid-model-name') ||
    signals.has('no-deployments') ||
    /Litellm_proxyException|litellm_proxy\/|LiteLLM (?:proxy|Router)/i.test(flat);

  const status = statuses.length ? statuses[statuses.length - 1] : innerClass ? CLASS_STATUS[innerClass] : undefined;
  const errorClass = classes[0];
  const provider = providers[providers.length - 1];

  const parsed: ParsedError = {
    input: { chars, truncated, empty },
    classes,
    ...(errorClass ? { errorClass } : {}),
    ...(innerClass ? { innerClass } : {}),
    providers,
    ...(provider ? { provider } : {}),
    ...(status !== undefined ? { status } : {}),
    statuses,
    ...(body ? { body } : {}),
    ...(url ? { url } : {}),
    ...(requestPath ? { requestPath } : {}),
    ...(host ? { host } : {}),
    ...(port !== undefined && Number.isFinite(port) ? { port } : {}),
    ...(model ? { model } : {}),
    ...(upstreamModel ? { upstreamModel } : {}),
    ...(modelGroup ? { modelGroup } : {}),
    wrapped,
    viaProxy,
    signals: unique([...signals]),
    summary: '',
  };
  parsed.summary = summarize(parsed);
  return parsed;
}

function summarize(p: ParsedError): string {
  if (p.input.empty) return 'nothing to read (the text is empty)';
  // The head names the error once: no "error text:" label in front of text that has no class (the
  // report already says "Your error:"), and the body does not repeat the class or an `Error:` prefix.
  const head = p.errorClass ? `litellm.${p.errorClass}` : p.signals.includes('connection-refused') ? 'connection refused' : undefined;
  const inner = p.wrapped && p.innerClass && p.innerClass !== p.errorClass ? ` wrapping ${p.innerClass}` : '';
  const tags = [p.provider, p.status !== undefined ? `HTTP ${p.status}` : undefined].filter(Boolean).join(', ');
  let text = p.body ?? '';
  if (head) {
    const echo = /^(?:(?:litellm|openai|httpx)\.(?:exceptions\.)?)?([A-Z][A-Za-z]{2,40}|Error):\s*/;
    for (let m = echo.exec(text); m && (m[1] === 'Error' || p.classes.includes(m[1]!)); m = echo.exec(text)) text = text.slice(m[0].length);
  }
  text = text.replace(/^(Error code: \d{3})\s+-$/, '$1');
  const body = text ? `${text.length > 120 ? `${text.slice(0, 120)}…` : text}` : '';
  if (!head) return body || (tags ? tags : 'text with no error in it');
  return `${head}${inner}${tags ? ` (${tags})` : ''}${body ? `: ${body}` : ''}`;
}
