/**
 * The two kinds of 404 mlx_lm.server gives (SPEC §1.3, §1.4): an unknown path (the plain bytes `Not Found`,
 * despite the JSON content type), and a model it cannot load or a prompt it cannot build (the exception text,
 * formatted by version).
 */
import type http from 'node:http';
import { pyJson } from './python.js';
import { send } from './reply.js';
import type { FakeState } from './state.js';

/** `do_GET`/`do_POST` for a path with no handler. */
export function notFound(res: http.ServerResponse): void {
  send(res, 404, 'Not Found');
}

/** `handle_completion`'s `except Exception` around loading and tokenizing: ≥0.31.2 JSON, 0.28–0.31.1 raw text, older `Not Found`. */
export function cannotServe(st: FakeState, res: http.ServerResponse, exception: string): void {
  const body = st.feat.loadErrorBody;
  send(res, 404, body === 'json' ? pyJson({ error: exception }) : body === 'text' ? exception : 'Not Found');
}
