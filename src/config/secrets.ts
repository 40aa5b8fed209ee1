import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { configPaths, type Env } from '../lib/paths.js';

/**
 * The LiteLLM proxy's master key. Current LiteLLM refuses to start without a strong one, and a key
 * keeps other local processes and web pages off the proxy. One per machine: kept in the 0600
 * litellm.yaml (general_settings.master_key) and reused on every run, so re-runs change nothing.
 */
export async function proxyKey(env: Env): Promise<string> {
  const text = await readFile(configPaths(env).litellm, 'utf8').catch(() => undefined);
  if (text) {
    try {
      const key = (parse(text) as { general_settings?: { master_key?: unknown } } | null)?.general_settings?.master_key;
      if (typeof key === 'string' && key.length >= 16 && !key.startsWith('os.environ/')) return key;
    } catch {
      /* a malformed file is reported by the merge, with line and column */
    }
  }
  return newProxyKey();
}

export function newProxyKey(): string {
  return `sk-aider-mlx-${randomBytes(24).toString('hex')}`;
}

/** The one redactor (src/lib/redact.ts): every diff, --json, log line, error and review screen uses it. */
export { envSecrets, isSecretName, lineRedactor, redact, redactDeep, REDACTED } from '../lib/redact.js';
