import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot, selfCommand } from './paths.js';

let data: Record<string, unknown> | undefined;

/** Releases known to be compromised (data/compromised.json): never pinned, installed or recommended. */
export function compromisedVersions(pkg: string): string[] {
  // The shipped list, read once a run (the doctor and the installers ask several times).
  data ??= JSON.parse(readFileSync(join(packageRoot(), 'data', 'compromised.json'), 'utf8')) as Record<string, unknown>;
  const list = data[pkg];
  return Array.isArray(list) ? list.map(String) : [];
}

export function isCompromised(pkg: string, version: string | undefined): boolean {
  return version !== undefined && compromisedVersions(pkg).includes(version);
}

/**
 * What we tell people to run to get the LiteLLM proxy without a known-bad release: our installer
 * first (the pinned release the wizard offers too), then the by-hand command that excludes them.
 */
export function safeLitellmInstall(): string {
  const bad = compromisedVersions('litellm');
  const excl = bad.map((v) => `!=${v}`).join(',');
  return `${selfCommand()} install litellm   (pinned; or by hand: uv tool install 'litellm[proxy]${excl}')`;
}
