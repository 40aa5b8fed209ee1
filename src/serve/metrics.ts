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

/** One turn's prompt, as the server's answer reports it (`usage.prompt_tokens`, `usage.prompt_tokens_details.cached_tokens`). */
export interface CacheTurn {
  promptTokens: number;
  cachedTokens: number;
}

/** A turn from an mlx_lm.server answer's usage, or undefined when it reports no cache figure (mlx-lm before 0.28-ish, other servers). */
export function cacheTurnOf(usage: unknown): CacheTurn | undefined {
  const u = usage as { prompt_tokens?: unknown; prompt_tokens_details?: { cached_tokens?: unknown } } | null | undefined;
  const p = u?.prompt_tokens;
  const c = u?.prompt_tokens_details?.cached_tokens;
  return typeof p === 'number' && typeof c === 'number' && p > 0 ? { promptTokens: p, cachedTokens: Math.min(c, p) } : undefined;
}

/** "prompt cache: 3 of 4 recent turns hit (71% of prompt tokens cached)", or undefined with no turns. */
export function promptCacheLine(turns: readonly CacheTurn[]): string | undefined {
  if (!turns.length) return undefined;
  const hits = turns.filter((t) => t.cachedTokens > 0).length;
  const total = turns.reduce((n, t) => n + t.promptTokens, 0);
  const cached = turns.reduce((n, t) => n + t.cachedTokens, 0);
  return `prompt cache: ${hits} of ${turns.length} recent turn${turns.length === 1 ? '' : 's'} hit (${Math.round((100 * cached) / total)}% of prompt tokens cached)`;
}
