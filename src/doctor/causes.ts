/**
 * The root causes of SPEC §4 (plus two the real tools taught us), which checks can confirm each,
 * and how pasted error text points at them. `rankCauses` joins the two: what the text suggests,
 * weighed by what the checks found now.
 */
import type { ErrorSignal, ParsedError } from './error-text.js';
import type { DoctorCheck } from './types.js';

export interface Cause {
  id: string;
  /** The row of SPEC §4, when it is one. */
  spec?: number;
  title: string;
  /** Check ids that can confirm it; `*` matches any run of characters. */
  checks: string[];
}

export const CAUSES: Cause[] = [
  { id: 'C1', spec: 1, title: 'The model name that reaches mlx_lm.server is not `default_model` or its exact --model, so the server tries to load it from the Hub and answers 404', checks: ['config.litellm.upstream', 'server.*.model', 'aider.names'] },
  { id: 'C2', spec: 2, title: 'The API base has a doubled /v1 or a pasted endpoint, so requests go to a path the server does not have', checks: ['config.litellm.api_base', 'aider.api_base', 'server.*.path'] },
  { id: 'C3', spec: 3, title: 'The API base lacks /v1: chat works, /models does not', checks: ['config.litellm.api_base', 'aider.api_base', 'server.*.path'] },
  { id: 'C4', spec: 4, title: 'A model name has no provider prefix (LiteLLM: "LLM Provider NOT provided")', checks: ['aider.prefix', 'config.litellm.prefix'] },
  { id: 'C5', spec: 5, title: "Two openai/ models share Aider's single OPENAI_API_BASE", checks: ['aider.roles', 'aider.api_base'] },
  { id: 'C6', spec: 6, title: 'A different valid model id is sent: the server downloads it and swaps models', checks: ['config.litellm.upstream', 'server.*.model'] },
  { id: 'C7', spec: 7, title: 'Nothing listens where the request goes (server not running, wrong port, or localhost resolving to ::1)', checks: ['server.*.reachable', 'proxy.alive', 'config.litellm.api_base', 'aider.api_base'] },
  { id: 'C8', spec: 8, title: 'Another program holds the port', checks: ['server.*.identity', 'proxy.alive'] },
  { id: 'C9', spec: 9, title: 'No API key for the openai/ provider (any non-empty string works for mlx_lm.server)', checks: ['aider.key', 'config.litellm.key'] },
  { id: 'C10', spec: 10, title: "The proxy's master_key differs from the key Aider sends", checks: ['proxy.auth', 'aider.key'] },
  { id: 'C11', spec: 11, title: "Aider's model name (after openai/) is not a model_name of the proxy", checks: ['aider.names', 'proxy.names', 'config.litellm.names'] },
  { id: 'C12', spec: 12, title: 'The proxy cooled the deployment down after earlier upstream failures ("No deployments available")', checks: ['proxy.model.*', 'server.*.chat'] },
  { id: 'C13', spec: 13, title: 'A timeout: the model is still loading or downloading, a long prompt, or a short client timeout', checks: ['server.*.chat', 'aider.timeout'] },
  { id: 'C14', spec: 14, title: "mlx_lm.server's default of 512 output tokens cuts answers off", checks: ['server.*.max_tokens', 'config.litellm.max_tokens', 'aider.max_tokens'] },
  { id: 'C15', spec: 15, title: 'The model has no chat template: the server falls back to USER:/ASSISTANT: role-play', checks: ['server.*.template', 'server.*.version'] },
  { id: 'C16', spec: 16, title: 'A request parameter the server rejects: it drops the connection without a response', checks: ['aider.params', 'server.*.chat'] },
  { id: 'C17', spec: 17, title: 'mlx-lm ≤0.26.4 and an absolute local --model path named in the request', checks: ['server.*.model', 'server.*.version'] },
  { id: 'C18', spec: 18, title: "Aider's requests do not go where they should: an API base from the environment (OPENAI_API_BASE, OPENAI_BASE_URL) or another file overrides the one meant, or the Aider that failed ran with other settings (another folder, its command line)", checks: ['config.env.base_url', 'aider.api_base'] },
  { id: 'C19', spec: 19, title: 'The server log shows a Hub lookup of the model name: the name that reaches mlx_lm.server is not `default_model` or its exact --model', checks: ['config.litellm.upstream', 'server.*.model', 'aider.names'] },
  { id: 'master-key', title: 'LiteLLM 1.108+ refuses to start without general_settings.master_key', checks: ['config.litellm.master_key', 'proxy.alive'] },
  { id: 'usage-callback', title: "The LiteLLM config names aider-mlx's callback aider_mlx_usage, but aider_mlx_usage.py is not in the config's folder, so the proxy fails to start", checks: ['config.litellm.callbacks'] },
  { id: 'metadata', title: 'Aider has no metadata for the exact model name ("Unknown context window size")', checks: ['aider.metadata'] },
  { id: 'text-only', title: 'The request carries images or other non-text parts; mlx_lm.server takes text only', checks: [] },
];

export const CAUSE_BY_ID = new Map(CAUSES.map((c) => [c.id, c]));

/** How strongly each signal points at each cause (10 = the text says it outright). */
const POINTS: Partial<Record<ErrorSignal, Array<[string, number, string]>>> = {
  'hf-repo-not-found': [['C1', 10, 'the server looked the model name up on the Hub and found no such repo']],
  'repo-id-invalid': [['C1', 10, 'the model name that reached the server is not even a valid repo id']],
  'model-load-failed': [
    ['C1', 8, 'mlx_lm.server answered 404 with a load error: it could not load the model it was asked for'],
    ['C2', 4, 'an HTTP 404 is also what a path the server does not have (a doubled /v1, a pasted endpoint) answers'],
  ],
  'detail-not-found': [['C2', 10, "{'detail': 'Not Found'} is what a LiteLLM proxy answers for a path it does not serve"]],
  'url-as-model': [['C1', 10, 'a URL was used as the model name (aider#3551: --model openai/http://…)']],
  'local-path': [['C17', 10, 'the server refused an absolute local path (mlx-lm ≤0.26.4)']],
  'not-found-plain': [
    ['C2', 8, 'a bare "Not Found" is what mlx_lm.server answers for a path it does not serve'],
    ['C1', 5, 'mlx-lm ≤0.27.1 answers a model it cannot load with the same bare "Not Found"'],
  ],
  'server-log-bad-path': [['C2', 10, 'the server log shows a request to a path it does not serve']],
  'server-log-hub-lookup': [['C19', 9, 'the server log shows it asking the Hub for the model name']],
  'invalid-model-name': [['C11', 10, 'the proxy has no model_name equal to the name Aider sent']],
  'no-deployments': [
    ['C12', 10, 'the proxy put every server of that model on cooldown after failures'],
    ['C7', 4, 'the cooldown started because the server was down or failing'],
  ],
  'rate-limited': [['C12', 6, 'HTTP 429 from a local proxy is its cooldown, not a quota']],
  'connection-refused': [['C7', 10, 'nothing accepted the connection']],
  'ipv6-loopback': [['C7', 10, 'the connection went to ::1 (localhost as IPv6) while mlx_lm.server listens on 127.0.0.1 only']],
  'connection-error': [
    ['C7', 7, 'the client could not get an answer at all'],
    ['C16', 4, 'mlx_lm.server drops the connection when a parameter fails validation'],
  ],
  'remote-closed': [
    ['C16', 9, 'the server closed the connection without a response: it does that when a parameter fails validation'],
    ['C7', 3, 'or the server crashed'],
  ],
  timeout: [['C13', 10, 'the request timed out']],
  'api-key-missing': [['C9', 10, 'the OpenAI client had no API key at all']],
  'auth-rejected': [
    ['C10', 9, 'the key sent was refused'],
    ['C9', 4, 'or no key was sent'],
  ],
  'provider-not-provided': [['C4', 10, 'LiteLLM could not tell the provider from the model name']],
  'token-limit': [['C14', 10, 'the answer stopped at the output limit']],
  'unknown-context-window': [['metadata', 6, 'Aider found no metadata under that exact model name']],
  'went-to-openai': [['C18', 9, 'the request reached api.openai.com: the local API base was not applied']],
  'bad-parameter': [['C16', 10, 'the server rejected a parameter value']],
  'address-in-use': [['C8', 10, 'the port was already taken when a server started']],
  'proxy-needs-master-key': [['master-key', 10, 'LiteLLM refused to start without a master key']],
  'callback-module-missing': [['usage-callback', 10, 'LiteLLM could not import the callback module aider_mlx_usage named in litellm_settings.callbacks']],
  'model-download': [['C6', 10, 'the server downloaded a model because a request named a different repo']],
  'content-not-text': [['text-only', 10, 'mlx_lm.server supports text message parts only']],
  'role-play': [['C15', 8, 'the answer continues the transcript with USER:/ASSISTANT: turns']],
};

export type Verdict = 'confirmed' | 'suspected' | 'ruled-out';

export interface Suspect {
  cause: string;
  spec?: number;
  title: string;
  /** Why the text points here. */
  why: string[];
  score: number;
  verdict: Verdict;
  /** Checks that can confirm it, with their status now. */
  checks: Array<{ id: string; status: DoctorCheck['status'] }>;
}

/**
 * A check id against a cause's pattern, where `*` stands for one or more characters
 * (`server.*.model` matches `server.editor.model`). Plain string work: rankCauses asks every cause
 * about every check, and a regular expression for each pattern cost more to compile than all the
 * matching (about 6 ms of every doctor run).
 */
export function globMatch(glob: string, id: string): boolean {
  const parts = glob.split('*');
  if (parts.length === 1) return glob === id;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!id.startsWith(first) || id.length < first.length + last.length + parts.length - 1) return false;
  let at = first.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const found = id.indexOf(parts[i]!, at + 1);
    if (found < 0) return false;
    at = found + parts[i]!.length;
  }
  return id.endsWith(last) && id.length - last.length >= at + 1;
}

export function checksForCause(cause: Cause, checks: DoctorCheck[]): DoctorCheck[] {
  return checks.filter((c) => cause.checks.some((g) => globMatch(g, c.id)) || c.causes?.includes(cause.id));
}

/** The class chain as the text shows it: `litellm.BadRequestError wrapping NotFoundError`. */
function classChain(p: ParsedError): string {
  const cs = p.classes.filter((c, i) => p.classes.indexOf(c) === i);
  return cs.length ? `litellm.${cs[0]}${cs.length > 1 ? ` wrapping ${cs.slice(1).join(' wrapping ')}` : ''}` : '';
}

/**
 * The reason, in what the text really shows (a 404 and nothing more is not "a load error"): the
 * status, the classes, the server's own message when there is one, and who passed it on.
 */
function whyOf(signal: ErrorSignal, cause: string, generic: string, p: ParsedError): string {
  const via = p.viaProxy ? `, passed on by the proxy${p.classes.length ? ` as ${classChain(p)}` : ''}` : p.classes.length ? ` (${classChain(p)})` : '';
  const inner = p.body?.replace(/^Error code: \d{3}\s*-?\s*/, '').trim();
  if (signal === 'model-load-failed' && cause === 'C1') {
    return inner
      ? `the server behind it answered HTTP ${p.status ?? 404} "${inner.length > 160 ? `${inner.slice(0, 160)}…` : inner}"${via}: it could not load the model name it was sent`
      : `the text shows only an HTTP ${p.statuses.includes(404) ? 404 : (p.status ?? 404)} from the server${via}, without the server's message: mlx_lm.server answers 404 for a model name it cannot load`;
  }
  if (signal === 'hf-repo-not-found' && cause === 'C1' && (!p.signals.includes('server-log-hub-lookup') || /Repository Not Found/i.test(p.body ?? ''))) {
    return `the server answered "Repository Not Found" for ${p.upstreamModel ? `"${p.upstreamModel}"` : 'the model name'}${p.url?.includes('huggingface.co') || p.upstreamModel ? ' on the Hub' : ''}${via}: it looked the name up on the Hub and found no such repo`;
  }
  return generic;
}

/** What the text alone suggests, strongest first. */
export function suspectsFromText(p: ParsedError): Array<{ cause: string; score: number; why: string[] }> {
  const byCause = new Map<string, { score: number; why: string[] }>();
  for (const s of p.signals) {
    for (const [cause, score, generic] of POINTS[s] ?? []) {
      const why = whyOf(s, cause, generic, p);
      const cur = byCause.get(cause) ?? { score: 0, why: [] };
      cur.score = Math.max(cur.score, score) + (cur.score > 0 ? 1 : 0);
      if (!cur.why.includes(why)) cur.why.push(why);
      byCause.set(cause, cur);
    }
  }
  // C19 is C1 seen in a log: one suspect, two reasons.
  const c19 = byCause.get('C19');
  if (c19) {
    const c1 = byCause.get('C1') ?? { score: 0, why: [] };
    byCause.set('C1', { score: Math.max(c1.score, c19.score) + 1, why: [...c1.why, ...c19.why] });
    byCause.delete('C19');
  }
  return [...byCause.entries()].map(([cause, v]) => ({ cause, ...v })).sort((a, b) => b.score - a.score);
}

/**
 * Suspects from the text, weighed by the checks: one whose checks fail now is confirmed and leads;
 * one whose checks all pass is ruled out and goes last. Without text, every cause a failing check
 * confirms is listed (so the report still names causes).
 */
/** Causes that need a LiteLLM proxy between Aider and the servers. */
export const PROXY_ONLY = new Set(['C10', 'C11', 'C12', 'master-key', 'usage-callback']);

export function rankCauses(parsed: ParsedError | undefined, checks: DoctorCheck[], o: { proxy?: boolean } = {}): Suspect[] {
  // Without a proxy in the chain, a proxy's cause is not a suspect, whatever the text suggests.
  const fromText = (parsed ? suspectsFromText(parsed) : []).filter((s) => o.proxy !== false || !PROXY_ONLY.has(s.cause));
  const seeds = new Map(fromText.map((s) => [s.cause, s]));
  if (!parsed) {
    for (const c of CAUSES) {
      if (checksForCause(c, checks).some((x) => x.status === 'fail')) seeds.set(c.id, { cause: c.id, score: 0, why: [] });
    }
  }
  // A failing check that saw the hop answering is not the one meant (Aider's base past the proxy, an
  // upstream that is not mlx_lm.server): whatever the text says, that hop answered it, so its cause
  // leads over what the wrong hop's answer suggests.
  const top = Math.max(0, ...[...seeds.values()].map((x) => x.score));
  for (const c of checks) {
    const cause = c.status === 'fail' && c.explainsError ? c.causes?.[0] : undefined;
    if (!cause) continue;
    const cur = seeds.get(cause);
    const why = 'the text is what the hop that really answers sent, and the checks show that hop is not the one meant (see below)';
    seeds.set(cause, { cause, score: Math.max(cur?.score ?? 0, top + 1), why: cur?.why.length ? cur.why : parsed ? [why] : [] });
  }
  const out: Suspect[] = [];
  for (const seed of seeds.values()) {
    const cause = CAUSE_BY_ID.get(seed.cause);
    if (!cause) continue;
    const related = checksForCause(cause, checks);
    const failing = related.filter((c) => c.status === 'fail');
    const warning = related.filter((c) => c.status === 'warn');
    const ran = related.filter((c) => c.status !== 'skip');
    const verdict: Verdict =
      failing.length > 0 ? 'confirmed' : warning.length > 0 ? 'suspected' : ran.length > 0 && ran.every((c) => c.status === 'pass') ? 'ruled-out' : 'suspected';
    out.push({
      cause: cause.id,
      ...(cause.spec ? { spec: cause.spec } : {}),
      title: cause.title,
      why: seed.why,
      score: seed.score + (verdict === 'confirmed' ? 20 + failing.length : verdict === 'ruled-out' ? -20 : warning.length ? 5 : 0),
      verdict,
      checks: related.map((c) => ({ id: c.id, status: c.status })),
    });
  }
  return out.sort((a, b) => b.score - a.score);
}

/** Check ids to print first: those that can explain the suspects, most likely first. */
export function leadingCheckIds(suspects: Suspect[]): string[] {
  const ids: string[] = [];
  for (const s of suspects) {
    if (s.verdict === 'ruled-out') continue;
    // Failing ones first within a suspect: they are the explanation; the error.* cross-checks after the hops.
    const sorted = [...s.checks].sort((a, b) => rank(a.status) - rank(b.status) || Number(a.id.startsWith('error.')) - Number(b.id.startsWith('error.')));
    for (const c of sorted) if (!ids.includes(c.id)) ids.push(c.id);
  }
  return ids;
}

function rank(s: DoctorCheck['status']): number {
  return s === 'fail' ? 0 : s === 'warn' ? 1 : s === 'pass' ? 2 : 3;
}
