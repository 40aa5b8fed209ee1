/** What the dashboard shows beside the state: memory of each process, and its last request. */
import { run } from '../lib/exec.js';
import type { Exec } from '../servers/ports.js';

/** Resident memory in bytes per pid, from one `ps` call (macOS and Linux both print KiB). */
export async function sampleRss(pids: number[], exec: Exec = run): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (pids.length === 0) return out;
  const r = await exec('ps', ['-o', 'pid=,rss=', '-p', pids.join(',')], { timeoutMs: 5000 }).catch(() => undefined);
  for (const line of r?.stdout.split('\n') ?? []) {
    const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(line);
    if (m) out.set(Number(m[1]), Number(m[2]) * 1024);
  }
  return out;
}

export interface AccessLine {
  method: string;
  path: string;
  status: number;
}

/**
 * A request line from the server's log: mlx_lm.server's stdlib access log
 * (`"POST /v1/chat/completions HTTP/1.1" 200 -`) or uvicorn's under LiteLLM (`… HTTP/1.1" 200 OK`).
 */
export function parseAccessLine(line: string): AccessLine | undefined {
  const m = /"(GET|POST|PUT|DELETE|OPTIONS|HEAD) (\S+) HTTP\/[\d.]+" (\d{3})/.exec(line);
  if (!m) return undefined;
  return { method: m[1]!, path: m[2]!, status: Number(m[3]) };
}

/** Our own probes are not "requests" a user made. */
export function isProbe(a: AccessLine): boolean {
  return a.method === 'GET' && /^\/(health|v1\/models)/.test(a.path);
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '—';
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GB`;
  return `${Math.round(n / 1024 ** 2)} MB`;
}

export function formatAgo(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}
