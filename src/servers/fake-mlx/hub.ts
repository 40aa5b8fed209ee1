/** ModelProvider.load as the stand-in sees it: a name maps to the resident model, a cached one, or a Hub error. */
import { isAbsolute } from 'node:path';
import type { FakeState } from './state.js';

const HF_REPO_ID = /^(\b[\w\-.]+\b\/)?\b[\w\-.]{1,96}\b$/u;

/**
 * The exception text huggingface_hub raises for a name that is not a reachable repo: the repo-id checks come
 * first (`validate_repo_id`); then, with HF_HUB_OFFLINE=1, `snapshot_download`'s LocalEntryNotFoundError;
 * online, the Hub's 401 "Repository Not Found".
 */
export function hfLoadErrorText(name: string, o: { offline?: boolean } = {}): string {
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
  if (o.offline) {
    return (
      'Cannot find an appropriate cached snapshot folder for the specified revision on the local disk and ' +
      'outgoing traffic has been disabled. To enable repo look-ups and downloads online, set ' +
      "'HF_HUB_OFFLINE=0' as environment variable."
    );
  }
  return (
    '401 Client Error. (Request ID: Root=1-6744a1b2-0d6f3c1e5a2b4c7d8e9f0a1b;00000000-0000-4000-8000-000000000000)\n\n' +
    `Repository Not Found for url: https://huggingface.co/api/models/${name}/revision/main.\n` +
    'Please make sure you specified the correct `repo_id` and `repo_type`.\n' +
    'If you are trying to access a private or gated repo, make sure you are authenticated. ' +
    'For more details, see https://huggingface.co/docs/huggingface_hub/authentication\n' +
    'Invalid username or password.'
  );
}

/** Map the requested name, or "download" it (SPEC §1.4). Returns the exception text on failure. */
export function resolveModel(st: FakeState, requested: string): string | undefined {
  const cli = st.opts.model;
  if (requested === 'default_model') {
    st.loadedModel = cli;
    return undefined;
  }
  if (requested === cli) {
    if (!st.feat.exactModelIsDefault && isAbsolute(requested)) return 'Local models must be relative to the current working dir.';
    st.loadedModel = cli;
    return undefined;
  }
  if (requested === st.loadedModel || st.cached.includes(requested)) {
    st.loadedModel = requested;
    return undefined;
  }
  return hfLoadErrorText(requested, { offline: st.opts.hubOffline });
}
