/** The plain face of serve: one line per state change (what a log file or a non-TTY wants). */
import { tildify, type Env } from '../lib/paths.js';
import type { SupervisorEvent, UnitState, UnitStatus } from './supervisor.js';

export const STATE_SYMBOL: Record<UnitState, string> = {
  waiting: '…',
  starting: '…',
  ready: '✓',
  adopted: '✓',
  remote: '✓',
  down: '!',
  backoff: '↻',
  failed: '✗',
  blocked: '✗',
  stopping: '■',
  stopped: '■',
};

function clock(at: number): string {
  return new Date(at).toTimeString().slice(0, 8);
}

export function unitTitle(u: Pick<UnitStatus, 'label' | 'host' | 'port' | 'model'>): string {
  return `${u.label} ${u.host}:${u.port}${u.model ? ` (${u.model})` : ''}`;
}

/** The state and what it says, each word once: "starting", "ready in 0.5 s: …", "failed — mlx_lm.server is not installed". */
function stateWords(u: Pick<UnitStatus, 'state' | 'message'>): string {
  const m = u.message.trim();
  if (!m || m === u.state) return u.state;
  if (m.startsWith(`${u.state} `) || m.startsWith(`${u.state}:`) || m.startsWith(`${u.state},`)) return m;
  return `${u.state} — ${m}`;
}

/** The lines one event prints; log lines print only when `verbose`. */
export function formatEvent(e: SupervisorEvent, opts: { verbose?: boolean } = {}): string[] {
  if (e.type === 'log') return opts.verbose ? [`${clock(e.at)}   ${e.unitId} │ ${e.line}`] : [];
  const u = e.unit;
  if (u.state === 'waiting') return [];
  const lines = [`${clock(e.at)} ${STATE_SYMBOL[u.state]} ${unitTitle(u)}: ${stateWords(u)}${u.pid && u.state === 'ready' ? (u.pids && u.pids.length > 1 ? ` (pids ${u.pids.join(', ')})` : ` (pid ${u.pid})`) : ''}`];
  // A crash or a give-up shows what the process said last: usually the reason.
  if ((u.state === 'backoff' || u.state === 'failed') && !opts.verbose) {
    for (const l of u.logTail.slice(-5)) lines.push(`           │ ${l}`);
  }
  return lines;
}

/**
 * What serve has up, once it has started them. `running`: serve keeps them up now, so the way to stop
 * it is named (not after --once, or when nothing came up: serve has stopped by then).
 */
export function formatSummary(units: UnitStatus[], opts: { env: Env; logFiles?: Map<string, string>; next?: string[]; running?: boolean }): string {
  const up = units.filter((u) => ['ready', 'adopted', 'remote'].includes(u.state));
  const lines = [up.length === units.length ? `All ${units.length} up.` : `${up.length} of ${units.length} up.`];
  for (const u of units) {
    const log = opts.logFiles?.get(u.id);
    lines.push(`  ${STATE_SYMBOL[u.state]} ${unitTitle(u)}: ${u.state}${u.owned && log ? `, log ${tildify(log, opts.env)}` : ''}`);
  }
  if (opts.next?.length) lines.push(...opts.next.map((n) => `  → ${n}`));
  if (opts.running) lines.push('Ctrl-C stops what serve started (adopted servers keep running).');
  return lines.join('\n') + '\n';
}
