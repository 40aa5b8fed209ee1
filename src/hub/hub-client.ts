import { HubApiError } from '@huggingface/hub';
import { hubEndpoint, hubOffline, hubToken, type HubEnv } from './env.js';

export interface HubOptions {
  env: HubEnv;
  /** Injected for tests and proxies; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Cancels everything (Ctrl-C). */
  signal?: AbortSignal;
  /** Bound on each request, headers and body included (default 10 s): the catalogue never hangs. */
  timeoutMs?: number;
}

export type HubStatusKind = 'ok' | 'offline' | 'unreachable' | 'timeout' | 'rate-limited' | 'auth' | 'not-found' | 'error';

export interface HubStatus {
  kind: HubStatusKind;
  message: string;
  tryThis?: string;
}

export const HUB_OK: HubStatus = { kind: 'ok', message: 'The Hub answered.' };

export interface HubClient {
  hubUrl: string;
  token?: string;
  offline: boolean;
  fetch: typeof fetch;
  signal?: AbortSignal;
  /** `X-Error-Code` of failed responses by URL: HubApiError drops the headers. */
  errorCodes: Map<string, string>;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The token goes in through our fetch, not `accessToken`: @huggingface/hub rejects tokens that do
 * not start with `hf_`, and mirrors (HF_ENDPOINT) may use other tokens.
 */
export function hubClient(opts: HubOptions): HubClient {
  const hubUrl = hubEndpoint(opts.env);
  const token = hubToken(opts.env);
  const base = opts.fetch ?? globalThis.fetch;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const errorCodes = new Map<string, string>();
  const hubOrigin = new URL(hubUrl).origin;
  const wrapped = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const headers = new Headers(init?.headers);
    if (token && !headers.has('authorization') && new URL(url).origin === hubOrigin) headers.set('authorization', `Bearer ${token}`);
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (opts.signal) signals.push(opts.signal);
    if (init?.signal) signals.push(init.signal);
    const res = await base(url, { ...init, headers, signal: AbortSignal.any(signals) });
    if (!res.ok) {
      const code = res.headers.get('x-error-code');
      if (code) errorCodes.set(res.url || url, code);
    }
    return res;
  }) as typeof fetch;
  return { hubUrl, token, offline: hubOffline(opts.env), fetch: wrapped, signal: opts.signal, errorCodes };
}

export function offlineStatus(): HubStatus {
  return {
    kind: 'offline',
    message: 'HF_HUB_OFFLINE is set: the Hub was not asked.',
    tryThis: 'Unset HF_HUB_OFFLINE to search the Hub and download models.',
  };
}

export function tokenAdvice(token: string | undefined): string {
  return token
    ? 'Your token (HF_TOKEN or `huggingface-cli login`) has no access to it: accept the licence on the model page, or use a token with read access.'
    : 'Give a token: `export HF_TOKEN=hf_…` (a read token from https://huggingface.co/settings/tokens) or run `huggingface-cli login`; for a gated model, accept its licence on the model page first.';
}

/** Turn any failure of a Hub call into a status the user can act on. */
export function classifyHubError(err: unknown, client: Pick<HubClient, 'hubUrl' | 'token' | 'errorCodes'>, what = 'The Hub'): HubStatus {
  if (err instanceof HubApiError) {
    const code = client.errorCodes.get(err.url);
    return classifyHttp(err.statusCode, code, client, what, err.message.split('. URL:')[0]);
  }
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') {
    return {
      kind: 'timeout',
      message: `${what} did not answer in time (${client.hubUrl}).`,
      tryThis: 'Check the network (or HF_ENDPOINT); cached models still work, and `HF_HUB_OFFLINE=1` skips the Hub.',
    };
  }
  const netCode = e?.cause?.code ?? (e as { code?: string })?.code;
  if (e instanceof TypeError || (netCode && /^E[A-Z_]+$/.test(netCode))) {
    const detail = netCode ?? e?.cause?.message;
    return {
      kind: 'unreachable',
      message: `${what} is unreachable (${client.hubUrl}${detail ? `: ${detail}` : ''}).`,
      tryThis: 'Check the network, or HF_ENDPOINT if you use a mirror; cached models still work.',
    };
  }
  return { kind: 'error', message: `${what} call failed: ${e?.message ?? String(err)}` };
}

export function classifyHttp(
  status: number,
  errorCode: string | null | undefined,
  client: Pick<HubClient, 'hubUrl' | 'token'>,
  what: string,
  detail?: string,
): HubStatus {
  if (status === 429) {
    return {
      kind: 'rate-limited',
      message: `The Hub is rate-limiting requests (HTTP 429).`,
      tryThis: `Wait a minute and try again${client.token ? '' : '; a token (HF_TOKEN) raises the limit'}.`,
    };
  }
  if (errorCode === 'GatedRepo' || ((status === 401 || status === 403) && errorCode !== 'RepoNotFound')) {
    return { kind: 'auth', message: `${what} needs authorisation (HTTP ${status}${detail ? `: ${detail}` : ''}).`, tryThis: tokenAdvice(client.token) };
  }
  if (status === 404 || errorCode === 'RepoNotFound' || errorCode === 'EntryNotFound' || errorCode === 'RevisionNotFound') {
    return {
      kind: 'not-found',
      message: `${what} was not found on the Hub (${errorCode ?? `HTTP ${status}`}).`,
      tryThis: client.token ? 'Check the spelling of the repo id.' : `Check the spelling; if it is private or gated: ${tokenAdvice(undefined)}`,
    };
  }
  if (status >= 500) {
    return { kind: 'unreachable', message: `The Hub answered HTTP ${status}.`, tryThis: 'Try again later; cached models still work.' };
  }
  return { kind: 'error', message: `${what}: HTTP ${status}${detail ? ` (${detail})` : ''}.` };
}

/** Whether the caller cancelled (Ctrl-C), as opposed to a timeout. */
export function isCancelled(err: unknown, signal?: AbortSignal): boolean {
  return Boolean(signal?.aborted) && (err as Error)?.name !== 'TimeoutError';
}
