/** GET /health (from 0.24.0): answers even while the model is still loading. */
import type http from 'node:http';
import { send } from './reply.js';
import type { FakeState } from './state.js';

export function isHealthPath(st: FakeState, path: string): boolean {
  return path === '/health' && st.feat.health;
}

export function sendHealth(res: http.ServerResponse): void {
  send(res, 200, '{"status": "ok"}');
}
