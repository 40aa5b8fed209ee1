import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { AIDER_FILES } from './render.js';
import { SESSION_HEADER } from './render-context.js';

/** The arguments that make aider read only the isolated profile. */
export function profileArgs(profileDir: string, o: { modelSettingsFile?: string } = {}): string[] {
  return [
    '--config', join(profileDir, AIDER_FILES.conf),
    '--model-settings-file', o.modelSettingsFile ?? join(profileDir, AIDER_FILES.settings),
    '--model-metadata-file', join(profileDir, AIDER_FILES.metadata),
  ];
}

/** A fresh session id for one Aider run: the proxy keeps its turns on one server. */
export function newSessionId(): string {
  return `aider-mlx-run-${randomUUID()}`;
}

/**
 * The model settings for one Aider run: the profile's entries with every session header set to
 * `id`. Undefined when no entry carries the header (direct mode: no proxy to read it), or
 * when the file cannot be read as a list; the profile's file is then used as it is.
 */
export function perRunSettings(text: string, id: string): string | undefined {
  let list: unknown;
  try {
    list = parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(list)) return undefined;
  let changed = false;
  for (const entry of list) {
    const headers = (entry as { extra_params?: { extra_headers?: Record<string, unknown> } } | null)?.extra_params?.extra_headers;
    if (headers && typeof headers === 'object' && SESSION_HEADER in headers) {
      headers[SESSION_HEADER] = id;
      changed = true;
    }
  }
  return changed ? `# One Aider run's copy of ${AIDER_FILES.settings}, written by aider-mlx aider; removed when aider exits.\n${stringify(list)}` : undefined;
}
