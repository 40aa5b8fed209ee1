/**
 * What the live dashboard shows, kept up to date from supervisor events: per unit its state,
 * memory, last request and log tail. No Ink here: the Ink face (src/ui/serve) only draws it.
 */
import { isProbe, parseAccessLine } from './metrics.js';
import type { SupervisorEvent, UnitStatus } from './supervisor.js';

export interface RowView {
  unit: UnitStatus;
  rssBytes?: number;
  /** Time of the last request someone (not our probes) sent, and what it was. */
  lastRequestAt?: number;
  lastRequest?: string;
}

export class ServeView {
  private readonly rows = new Map<string, RowView>();
  private readonly listeners = new Set<() => void>();
  private version = 0;

  constructor(units: UnitStatus[]) {
    for (const u of units) this.rows.set(u.id, { unit: u });
  }

  apply(e: SupervisorEvent): void {
    if (e.type === 'state') {
      const row = this.rows.get(e.unit.id);
      if (row) row.unit = e.unit;
      else this.rows.set(e.unit.id, { unit: e.unit });
    } else {
      const row = this.rows.get(e.unitId);
      if (!row) return;
      row.unit = { ...row.unit, logTail: [...row.unit.logTail, e.line].slice(-50) };
      const a = parseAccessLine(e.line);
      // Before it is up, the only POST is our readiness completion.
      const up = row.unit.state === 'ready' || row.unit.state === 'adopted';
      if (a && up && !isProbe(a) && a.method === 'POST') {
        row.lastRequestAt = e.at;
        row.lastRequest = `${a.path} ${a.status}`;
      }
    }
    this.changed();
  }

  setMemory(byPid: Map<number, number>): void {
    for (const row of this.rows.values()) {
      // A group: the memory of all its ranks on this Mac.
      const own = row.unit.pids ?? (row.unit.pid !== undefined ? [row.unit.pid] : []);
      const each = own.map((p) => byPid.get(p)).filter((b): b is number => b !== undefined);
      const rss = each.length ? each.reduce((a, b) => a + b, 0) : undefined;
      if (rss === undefined) delete row.rssBytes;
      else row.rssBytes = rss;
    }
    this.changed();
  }

  pids(): number[] {
    return [...this.rows.values()].flatMap((r) => r.unit.pids ?? (r.unit.pid !== undefined ? [r.unit.pid] : []));
  }

  snapshot(): { version: number; rows: RowView[] } {
    return { version: this.version, rows: [...this.rows.values()].map((r) => ({ ...r })) };
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    this.version++;
    for (const fn of this.listeners) fn();
  }
}
