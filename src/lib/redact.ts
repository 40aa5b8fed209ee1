/**
 * The one redactor: every text aider-mlx shows (diffs, --dry-run, --json, log lines, error
 * messages, the review screen, serve's pass-through of child output) goes through redact().
 * It keeps the name of a key and replaces its value, so a diff still says which key changes:
 *   `openai-api-key: sk-proj-…` → `openai-api-key: <redacted>`.
 * No imports: the CLI entry uses it to print errors without loading anything else.
 */

export const REDACTED = '<redacted>';

/** Values that are not secrets though they sit under a key's name (LOCAL_API_KEY of config/names.ts, placeholders). */
const PUBLIC_VALUES = new Set(['sk-aider-mlx-local', 'sk-local', 'null', '~', 'true', 'false', 'none', 'None', 'xxx', REDACTED]);
const isPublic = (v: string) => PUBLIC_VALUES.has(v) || v.startsWith('os.environ/') || v.startsWith('$') || v.includes(REDACTED) || v === '' || v === '""' || v === "''";

/**
 * Names whose value is a secret: openai-api-key, anthropic-api-key, any *-api-key, api_key, api-key,
 * apiKey, master_key, HF_TOKEN, hf_token, *_API_KEY, *_TOKEN, *_SECRET, *_PASSWORD, x-api-key.
 * `token` only as the name's last word: max_tokens, tokenizer and 1-token stay as they are, and so
 * does a price per token (input_cost_per_token: 0 in Aider's model metadata).
 */
const NAME = String.raw`[A-Za-z0-9_.-]*?(?:api[-_]?key|master[-_]?key|access[-_]?key|secret(?:[-_]?key)?|(?<!per[-_])token|password|passwd)(?![A-Za-z0-9_])`;
const NAME_START = String.raw`(?<![A-Za-z0-9_.-])`;

/** A whole line `name: value` / `name=value` (YAML, env, .ini), after an optional diff prefix: any value. */
const LINE_RE = new RegExp(
  String.raw`^([+\- ]?[ \t]*(?:export[ \t]+|-[ \t]+)?["']?${NAME}["']?[ \t]*[:=][ \t]*)("(?:[^"\\\r\n]|\\.)*"|'[^'\r\n]*'|[^\s#'"][^\r\n]*?)(,?(?:[ \t]+#[^\r\n]*)?[ \t]*\r?)$`,
  'gim',
);
/** `name: value`, `"name": "value"`, `name=value` anywhere in a line (JSON, logs, query strings): values of 8+ characters. */
const INLINE_RE = new RegExp(String.raw`${NAME_START}(${NAME}\\?["']?[ \t]*[:=][ \t]*\\?["']?)([^\s"'\\,;&}\]<>)]{8,})`, 'gi');
/** `--api-key VALUE`, `--hf-token VALUE`. */
const FLAG_RE = /(--[A-Za-z0-9-]*?(?:api-key|master-key|token|secret|password)[ \t]+)([^\s"'<-][^\s"'<]{5,})/gi;
/** `Authorization: Bearer …`, `Authorization: Basic …`, `authorization=…`. */
const AUTH_RE = /\b(authorization\\?["']?[ \t]*[:=][ \t]*\\?["']?(?:(?:Bearer|Basic|Token|Bot)[ \t]+)?)(?!(?:Bearer|Basic|Token|Bot)\b)([^\s"'\\,;}<]{6,})/gi;
const BEARER_RE = /\b(Bearer[ \t]+)([A-Za-z0-9._~+/=-]{8,})/g;
/** Shapes of keys wherever they appear; the first group stays, so `sk-…` still reads as a key. */
const TOKEN_RES: RegExp[] = [
  /\b(sk-[A-Za-z0-9_-]{2})[A-Za-z0-9_-]{6,}/g, // OpenAI sk-…, sk-proj-…, Anthropic sk-ant-…, LiteLLM keys
  /\b(hf_)(?=[A-Za-z0-9]*[A-Z0-9])[A-Za-z0-9]{8,}/g, // Hugging Face (hf_transfer, all lower case, is a package)
  /\b(gh[pousr]_)[A-Za-z0-9]{20,}/g,
  /\b(github_pat_)[A-Za-z0-9_]{20,}/g,
  /\b(xox[abprs]-)[A-Za-z0-9-]{10,}/g,
  /\b(AIza)[0-9A-Za-z_-]{30,}/g,
  /\b(AKIA)[0-9A-Z]{16}\b/g,
];

/** What every pattern above has in it: a name's word (key, secret, token, password), a header, a key's prefix. */
const ANY_RE = /key|secret|token|passw|authorization|bearer|sk-|hf_|gh[pousr]_|github_pat_|xox[abprs]-|AIza|AKIA/i;

function keepQuotes(v: string): string {
  const q = v[0];
  return (q === '"' || q === "'") && v.length >= 2 && v.endsWith(q) ? `${q}${REDACTED}${q}` : REDACTED;
}
const unquote = (v: string) => (/^(["']).*\1$/.test(v) ? v.slice(1, -1) : v);

/**
 * Replace every secret in text meant for a terminal, a log or --json: the known values given
 * (the proxy's master key, keys read from the environment) and anything shaped or named like a key.
 */
export function redact(text: string, secrets: ReadonlyArray<string | undefined> = []): string {
  return redactKnown(text, knownOf(secrets));
}

/** The values to replace wherever they appear, longest first (one inside another goes whole). */
function knownOf(secrets: ReadonlyArray<string | undefined>): string[] {
  return [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 8 && !isPublic(s)))].sort((a, b) => b.length - a.length);
}

function redactKnown(text: string, known: string[]): string {
  let out = text;
  // Every pattern below needs one of these words or prefixes: a text with none of them and none of
  // the known values is returned as it is (most of a --json report), after one scan instead of twelve.
  if (!ANY_RE.test(text) && !known.some((s) => text.includes(s))) return text;
  for (const s of known) out = out.split(s).join(REDACTED);
  out = out.replace(LINE_RE, (m, lead: string, value: string, tail: string) => (isPublic(unquote(value)) ? m : `${lead}${keepQuotes(value)}${tail}`));
  for (const re of [INLINE_RE, FLAG_RE, AUTH_RE, BEARER_RE]) {
    out = out.replace(re, (m, keep: string, value: string) => (isPublic(value) ? m : `${keep}${REDACTED}`));
  }
  for (const re of TOKEN_RES) out = out.replace(re, (m, keep: string) => (isPublic(m) ? m : `${keep}${REDACTED}`));
  return out;
}

const SECRET_NAME_RE = new RegExp(`^${NAME}$`, 'i');
/** A word every such name has: most names have none, and this test is much cheaper than the one above. */
const NAME_WORD_RE = /key|secret|token|passw/i;

/** True for a key's name whose value is a secret (`openai-api-key`, `HF_TOKEN`, `apiKey`…). */
export function isSecretName(name: string): boolean {
  return NAME_WORD_RE.test(name) && SECRET_NAME_RE.test(name);
}

/** redact() through a value for --json: every string, and the whole value of a key named like a secret. */
export function redactDeep<T>(v: T, secrets: ReadonlyArray<string | undefined> = []): T {
  const known = knownOf(secrets);
  const deep = <U>(x: U): U => {
    if (typeof x === 'string') return redactKnown(x, known) as U;
    if (Array.isArray(x)) return x.map(deep) as U;
    if (x && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
      return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, typeof y === 'string' && isSecretName(k) && !isPublic(y) ? REDACTED : deep(y)])) as U;
    }
    return x;
  };
  return deep(v);
}

/** The values of the environment's secrets (OPENAI_API_KEY, HF_TOKEN, *_SECRET…), to redact wherever they turn up. */
export function envSecrets(env: Record<string, string | undefined>): string[] {
  return Object.entries(env).flatMap(([k, v]) => (v && v.length >= 8 && isSecretName(k) && !isPublic(v) ? [v] : []));
}

/**
 * A writer of complete lines from chunks: a secret split across two chunks of a child's output is
 * still whole when it is redacted. `end()` passes on a last line without a newline.
 */
export function lineRedactor(onLine: (line: string) => void, secrets: ReadonlyArray<string | undefined> = []) {
  let rest = '';
  return {
    write(chunk: string): void {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) onLine(redact(l, secrets));
    },
    end(): void {
      if (rest) onLine(redact(rest, secrets));
      rest = '';
    },
  };
}
