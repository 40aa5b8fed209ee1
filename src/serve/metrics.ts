/** What the dashboard shows beside the state: memory of each process, and its last request. */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { apiBase, servedModels, type ServedModel } from '../config/names.js';
import type { Plan } from '../config/plan.js';
import type { Exec } from '../servers/ports.js';
import { promptCacheFor } from '../hub/prompt-cache.js';
import type { Env } from '../lib/paths.js';
import { ownedLocations } from '../service/locations.js';

/** Resident memory in bytes per pid, from one `ps` call (macOS and Linux both print KiB). */
export async function sampleRss(pids: number[], exec?: Exec): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (pids.length === 0) return out;
  // The process runner loads when there is a process to ask about.
  const r = await (exec ?? (await import('../lib/exec.js')).run)('ps', ['-o', 'pid=,rss=', '-p', pids.join(',')], { timeoutMs: 5000 }).catch(() => undefined);
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

/**
 * "prompt cache: 3 of 4 recent turns hit (71% of prompt tokens cached)", or undefined with no turns.
 * A hit is a turn with something cached, unless the caller judged them (judgeTurns) and says how many hit.
 */
export function promptCacheLine(turns: readonly CacheTurn[], hits = turns.filter((t) => t.cachedTokens > 0).length): string | undefined {
  if (!turns.length) return undefined;
  const total = turns.reduce((n, t) => n + t.promptTokens, 0);
  const cached = turns.reduce((n, t) => n + t.cachedTokens, 0);
  return `prompt cache: ${hits} of ${turns.length} recent turn${turns.length === 1 ? '' : 's'} hit (${Math.round((100 * cached) / total)}% of prompt tokens cached)`;
}

// ---------------------------------------------------------------------------------------------
// The turns log (templates/aider_mlx_usage.py, one JSON line per completion the proxy answered)
// and the servers' own `Prompt Cache: N sequences, X GB` lines: hit rate and miss reasons.

/** One completion as the proxy's callback noted it. */
export interface TurnRecord extends CacheTurn {
  /** epoch ms the answer ended */
  time: number;
  modelGroup?: string;
  /** the deployment's api_base (`http://127.0.0.1:8080/v1`) */
  apiBase?: string;
  session?: string;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** A line of the turns log, or undefined for anything else (a torn last line, no cache figure). */
export function parseTurnLine(line: string): TurnRecord | undefined {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!j || typeof j !== 'object') return undefined;
  const t = cacheTurnOf({ prompt_tokens: j.prompt_tokens, prompt_tokens_details: { cached_tokens: j.cached_tokens } });
  if (!t || typeof j.time !== 'number') return undefined;
  const r: TurnRecord = { ...t, time: Math.round(j.time * 1000) };
  const g = str(j.model_group), b = str(j.api_base), s = str(j.session);
  if (g) r.modelGroup = g;
  if (b) r.apiBase = b.replace(/\/+$/, '');
  if (s) r.session = s;
  return r;
}

/** The tail of a file (at most `maxBytes`), or '' when it is not there. */
export function readTail(path: string, maxBytes = 256 * 1024): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const st = fstatSync(fd);
    if (!st.isFile()) return '';
    const len = Math.min(st.size, maxBytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, st.size - len);
    const text = buf.toString('utf8');
    // A cut first line is not a line.
    return len < st.size ? text.slice(text.indexOf('\n') + 1) : text;
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Every turn in the log and its rotated predecessor (`.1`), oldest first. */
export function readTurns(path: string): TurnRecord[] {
  const text = readTail(`${path}.1`) + readTail(path);
  return text.split('\n').flatMap((l) => {
    const t = l.trim() ? parseTurnLine(l) : undefined;
    return t ? [t] : [];
  }).sort((a, b) => a.time - b.time);
}

/** One `Prompt Cache: N sequences, X GB` line of mlx_lm.server: the cache right before a request. */
export interface CacheSample {
  time: number;
  sequences: number;
  bytes: number;
}

/** mlx_lm.server logs `2026-12-01 12:11:30,566 - INFO - Prompt Cache: 3 sequences, 1.20 GB` (local time). */
export function parseCacheSamples(log: string): CacheSample[] {
  const out: CacheSample[] = [];
  for (const m of log.matchAll(/^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) - INFO - Prompt Cache: (\d+) sequences, ([\d.]+) GB\s*$/gm)) {
    const [y, mo, d, h, mi, s, ms] = m.slice(1, 8).map(Number) as [number, number, number, number, number, number, number];
    out.push({ time: new Date(y, mo - 1, d, h, mi, s, ms).getTime(), sequences: Number(m[8]), bytes: Math.round(Number(m[9]) * 1e9) });
  }
  return out;
}

export interface CacheBoundLike {
  entries: number;
  bytes?: number;
}

/** Sequences at --prompt-cache-size, or bytes within 5% (the log rounds to 10 MB) of --prompt-cache-bytes. */
export function atBound(s: CacheSample, b: CacheBoundLike | undefined): boolean {
  if (!b) return false;
  return s.sequences >= b.entries || (b.bytes !== undefined && b.bytes > 0 && s.bytes >= 0.95 * b.bytes);
}

export type MissKind = 'first-turn' | 'other-server' | 'cache-full' | 'prefix-changed' | 'unknown';

export interface TurnVerdict {
  turn: TurnRecord;
  /** the turn re-processed what should have been cached (or had nothing cached at all) */
  miss: boolean;
  kind?: MissKind;
  reason?: string;
}

export interface ServerFacts {
  samples: CacheSample[];
  bound?: CacheBoundLike;
}

/** In mlx_lm.server's own unit (decimal GB, as its log and --prompt-cache-bytes count). */
const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

function describeSample(s: CacheSample, b: CacheBoundLike | undefined): string {
  const of = b ? `; bound: ${b.entries} entries${b.bytes ? `, ${gb(b.bytes)}` : ''}` : '';
  return `${s.sequences} sequence${s.sequences === 1 ? '' : 's'}, ${gb(s.bytes)}${of}`;
}

/**
 * Each turn, hit or miss, and for a miss why where it can be known: a conversation's follow-up
 * (same session id) should find everything its previous turn sent in the cache. When it does not:
 * another server answered it; or that server's cache was at its bound in between (evicted); or
 * else the prompt itself changed after the tokens the server did reuse.
 */
export function judgeTurns(turns: readonly TurnRecord[], servers: (apiBase: string) => ServerFacts | undefined): TurnVerdict[] {
  const last = new Map<string, TurnRecord>();
  return turns.map((t) => {
    const prev = t.session ? last.get(t.session) : undefined;
    if (t.session) last.set(t.session, t);
    const facts = t.apiBase ? servers(t.apiBase) : undefined;
    const fullBetween = (from: number) => facts?.samples.find((s) => s.time >= from - 1000 && s.time <= t.time + 1000 && atBound(s, facts.bound));
    if (!prev) {
      if (t.cachedTokens > 0) return { turn: t, miss: false };
      if (t.session) return { turn: t, miss: true, kind: 'first-turn', reason: "the conversation's first turn" };
      const full = fullBetween(t.time - 60_000);
      return full
        ? { turn: t, miss: true, kind: 'cache-full', reason: `the cache was full (${describeSample(full, facts!.bound)}) and evicted it` }
        : { turn: t, miss: true, kind: 'unknown', reason: 'nothing was cached for it (no session id to tell why)' };
    }
    if (t.cachedTokens >= 0.9 * prev.promptTokens) return { turn: t, miss: false };
    if (prev.apiBase && t.apiBase && prev.apiBase !== t.apiBase) {
      return { turn: t, miss: true, kind: 'other-server', reason: `another server took it: the conversation's previous turn was answered by ${hostPort(prev.apiBase)}` };
    }
    const full = fullBetween(prev.time);
    if (full) return { turn: t, miss: true, kind: 'cache-full', reason: `the cache was full (${describeSample(full, facts!.bound)}) and evicted it` };
    return {
      turn: t,
      miss: true,
      kind: 'prefix-changed',
      reason: `the prefix changed at token ${t.cachedTokens}: the previous turn sent ${prev.promptTokens} tokens, only the first ${t.cachedTokens} were reused`,
    };
  });
}

function hostPort(apiBase: string): string {
  return /^\w+:\/\/([^/]+)/.exec(apiBase)?.[1] ?? apiBase;
}

/** What status and the doctor show for one server. */
export interface PromptCacheReport {
  turns: number;
  hits: number;
  /** share of prompt tokens that came from the cache, 0..1 */
  cachedShare: number;
  /** "prompt cache: 3 of 4 recent turns hit (71% of prompt tokens cached)" */
  line: string;
  lastMiss?: { time: string; kind: MissKind; reason: string };
  /** the server's own last `Prompt Cache` line */
  server?: { time: string; sequences: number; bytes: number };
  bound?: CacheBoundLike;
  /** "cache on the server: 3 sequences, 1.20 GB; bound: 4 entries, 2.00 GB" */
  cacheNow?: string;
}

/** The report for the server at `apiBase` over its last `recent` turns; undefined with no turns and no cache line. */
export function promptCacheReport(verdicts: readonly TurnVerdict[], apiBase: string, facts: ServerFacts | undefined, recent = 20): PromptCacheReport | undefined {
  const base = apiBase.replace(/\/+$/, '');
  const mine = verdicts.filter((v) => v.turn.apiBase === base).slice(-recent);
  const lastSample = facts?.samples.at(-1);
  if (!mine.length && !lastSample) return undefined;
  const turns = mine.map((v) => v.turn);
  const total = turns.reduce((n, t) => n + t.promptTokens, 0);
  const hits = mine.filter((v) => !v.miss).length;
  const r: PromptCacheReport = {
    turns: turns.length,
    hits,
    cachedShare: total ? turns.reduce((n, t) => n + t.cachedTokens, 0) / total : 0,
    line: turns.length ? promptCacheLine(turns, hits)! : 'prompt cache: no turns through the proxy noted yet',
  };
  const miss = [...mine].reverse().find((v) => v.miss && v.kind !== 'first-turn') ?? [...mine].reverse().find((v) => v.miss);
  if (miss?.kind && miss.reason) r.lastMiss = { time: new Date(miss.turn.time).toISOString(), kind: miss.kind, reason: miss.reason };
  if (facts?.bound) r.bound = facts.bound;
  if (lastSample) {
    r.server = { time: new Date(lastSample.time).toISOString(), sequences: lastSample.sequences, bytes: lastSample.bytes };
    r.cacheNow = `cache on the server: ${describeSample(lastSample, facts?.bound)}`;
  }
  return r;
}

/** serve's id of a server unit, and so its log's name: `editor+weak@127.0.0.1:8080`. */
export function serverUnitId(roles: readonly string[], d: { host: string; port: number }): string {
  return `${roles.join('+')}@${d.host}:${d.port}`;
}

export function logFileName(unitId: string): string {
  return `${unitId.replace(/[^\w.-]+/g, '_')}.log`;
}

export interface DeploymentCache {
  roles: string[];
  model: string;
  host: string;
  port: number;
  report?: PromptCacheReport;
}

/**
 * Every deployment of a proxy-mode plan with its prompt cache figures: the proxy's turns log
 * (`turnsLog`), each server's serve log in `logDir` for its `Prompt Cache` lines, the bound it was
 * started with. Direct mode has no proxy to note turns: undefined.
 */
export function planPromptCache(
  plan: Plan,
  io: { turnsLog: string; logDir: string; bound: (m: ServedModel) => CacheBoundLike | undefined; recent?: number },
): DeploymentCache[] | undefined {
  if (plan.mode !== 'proxy') return undefined;
  const facts = new Map<string, ServerFacts>();
  const rows: Array<DeploymentCache & { base: string }> = [];
  for (const m of servedModels(plan)) {
    const bound = io.bound(m);
    for (const d of m.deployments) {
      const base = apiBase(d).replace(/\/+$/, '');
      facts.set(base, { samples: parseCacheSamples(readTail(join(io.logDir, logFileName(serverUnitId(m.roles, d))))), ...(bound ? { bound } : {}) });
      rows.push({ roles: m.roles, model: m.model, host: d.host, port: d.port, base });
    }
  }
  const verdicts = judgeTurns(readTurns(io.turnsLog), (b) => facts.get(b));
  return rows.map(({ base, ...row }) => {
    const report = promptCacheReport(verdicts, base, facts.get(base), io.recent);
    return report ? { ...row, report } : row;
  });
}

/** Each server's prompt cache figures (proxy mode): the proxy's turns log and the servers' serve logs. */
export function promptCaches(plan: Plan, env: Env): DeploymentCache[] | undefined {
  const loc = ownedLocations(env);
  return planPromptCache(plan, { turnsLog: loc.turns, logDir: loc.logs, bound: (m) => promptCacheFor(m, env) });
}
