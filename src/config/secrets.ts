import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { parse } from 'yaml';
import { AppError } from '../errors.js';
import { configPaths, type Env } from '../lib/paths.js';
import { MAX_CONFIG_BYTES, readBounded } from '../lib/read-bounded.js';
import { assertTrusted, trustProblemAt, untrustedError, type TrustProblem } from '../lib/trust.js';

/**
 * The LiteLLM proxy's master key. Current LiteLLM refuses to start without a strong one, and a key
 * keeps other local processes and web pages off the proxy. One per machine: kept in the 0600
 * litellm.yaml (general_settings.master_key) and reused on every run, so re-runs change nothing.
 */
export async function proxyKey(env: Env, own?: string, o: { readable?: (p: TrustProblem) => void } = {}): Promise<string> {
  const path = own ?? configPaths(env).litellm;
  // The key lives here, and LiteLLM runs what this file names: only its owner may change or read it.
  // A read (status) may use a key others can read in the user's own config (an adopted chain's: it
  // was never ours to make 0600), and says so through o.readable; our own file must stay 0600.
  assertTrusted([{ path: own ? dirname(own) : configPaths(env).dir }]);
  const p = trustProblemAt(path, { holdsKey: true });
  if (p && !(p.readableOnly && o.readable && own)) throw untrustedError(p);
  if (p) o.readable!(p);
  const text = await readBounded(path, { what: 'The LiteLLM config', maxBytes: 8 * MAX_CONFIG_BYTES, over: 'refuse' }).then(
    (r) => r.text,
    (e: unknown) => {
      if (e instanceof AppError) throw e;
      return undefined;
    },
  );
  if (text) {
    try {
      const key = (parse(text, { maxAliasCount: 100 }) as { general_settings?: { master_key?: unknown } } | null)?.general_settings?.master_key;
      if (typeof key === 'string' && (own ? key.length > 0 : key.length >= 16) && !key.startsWith('os.environ/')) return key;
    } catch {
      /* a malformed file is reported by the merge, with line and column */
    }
  }
  return newProxyKey();
}

/** The key of the proxy a plan runs: an adopted chain's is in the user's own LiteLLM config. */
export function proxyKeyOf(plan: { adopted?: { litellmConfig?: string } }, env: Env, o: { readable?: (p: TrustProblem) => void } = {}): Promise<string> {
  return proxyKey(env, plan.adopted?.litellmConfig, o);
}

/** The LiteLLM config a plan's proxy runs from. */
export function litellmConfigOf(plan: { adopted?: { litellmConfig?: string } }, env: Env): string {
  return plan.adopted?.litellmConfig ?? configPaths(env).litellm;
}

export function newProxyKey(): string {
  return `sk-aider-mlx-${randomBytes(24).toString('hex')}`;
}

/** The one redactor (src/lib/redact.ts): every diff, --json, log line, error and review screen uses it. */
export { envSecrets, isSecretName, lineRedactor, redact, redactDeep, REDACTED } from '../lib/redact.js';
