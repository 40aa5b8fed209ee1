/**
 * The requests the doctor and `status` send only to tell which server is on a port. They land in
 * the servers' access logs, so the log reader must know them as ours: a 404 on one of them is the
 * answer the probe expects, not a failure of Aider's.
 */

/** An empty POST to a route mlx_lm.server does not have: its plain "Not Found" tells it apart.
 *  Tagged with a query, so a real request of Aider's to /v1/responses still reads as a failure. */
export const UNKNOWN_ROUTE_PROBE = '/v1/responses?from=aider-mlx-probe';

/** GETs sent while identifying a server: mlx-lm older than 0.24 has no /health, and only a LiteLLM
 *  proxy has /health/liveliness. Aider never GETs either. */
const PROBE_GETS = new Set(['/health', '/health/liveliness']);

/** Whether an access-log request line is one of the identification probes. */
export function isIdentificationProbe(method: string, path: string): boolean {
  if (method === 'POST') return path === UNKNOWN_ROUTE_PROBE;
  return method === 'GET' && PROBE_GETS.has(path);
}
