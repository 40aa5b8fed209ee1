/** GET /v1/models (any path under it from 0.26.1; exactly that path before). */
import type http from 'node:http';
import { pyJson } from './python.js';
import { send } from './reply.js';
import type { FakeState } from './state.js';

export function isModelsPath(st: FakeState, path: string): boolean {
  return st.feat.modelsPrefix ? path.startsWith('/v1/models') : path === '/v1/models';
}

/** The cache listing: `--model` and the cached repos (sorted, not served-first), filtered by a repo id after `/v1/models/`. */
export function sendModels(st: FakeState, res: http.ServerResponse, path: string): void {
  const parts = path.split('/');
  const filter = parts.length > 3 ? parts.slice(3).join('/') : undefined;
  const created = Math.floor(Date.now() / 1000);
  // As the real server: the models of its cache in no particular order (a set), so nothing may take
  // the first for the one it serves. Sorted here, to be the same on every run.
  const ids = [...new Set([st.opts.model, ...st.cached])].sort();
  const data = ids.filter((id) => filter === undefined || id === filter).map((id) => ({ id, object: 'model', created }));
  send(res, 200, pyJson({ object: 'list', data }));
}
