/**
 * Bench results, kept per model and machine in the data folder
 * (`${XDG_DATA_HOME:-~/.local/share}/aider-mlx/bench.json`, 0600): the latest result of each
 * server (and of the proxy in front of it) for each model. `status`, `models` and the timeouts
 * the files carry read it; `uninstall` removes it with the data folder.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Env } from '../lib/paths.js';
import { servedModels } from '../config/names.js';
import type { Plan } from '../config/plan.js';
import { ownedLocations } from '../service/locations.js';
import type { TurnResult } from './turns.js';

export const BENCH_VERSION = 1;

/** A turn as kept: the measured figures, without the raw usage object and the reply. */
export type BenchTurn = Omit<TurnResult, 'usage' | 'reply'>;

export interface BenchRecord {
  /** The plan's model (repo id or local path). */
  model: string;
  /** The machine the server runs on: this Mac's host name for a loopback server, else its host. */
  machine: string;
  /** Straight to the server, or through the LiteLLM proxy. */
  via: 'direct' | 'proxy';
  /** Where the requests went (the server, or the proxy). */
  host: string;
  port: number;
  roles: string[];
  context: number;
  /** ISO time of the run. */
  at: string;
  promptWords: number;
  /** The cold first turn. */
  coldTtftMs: number;
  promptTokens?: number;
  prefillTokPerSec?: number;
  decodeTokPerSec?: number;
  /** The follow-up turn. */
  followUpTtftMs?: number;
  followUpPromptTokens?: number;
  followUpCachedTokens?: number;
  turns: BenchTurn[];
}

export interface BenchFile {
  version: number;
  records: BenchRecord[];
}

export function benchPath(env: Env = process.env): string {
  return join(ownedLocations(env).data, 'bench.json');
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The machine a server on `host` runs on. */
export function machineOf(host: string): string {
  return isLoopbackHost(host) ? hostname() : host.toLowerCase();
}

function isRecord(r: unknown): r is BenchRecord {
  const o = r as Partial<BenchRecord> | null;
  return Boolean(o && typeof o.model === 'string' && typeof o.machine === 'string' && (o.via === 'direct' || o.via === 'proxy') && typeof o.port === 'number' && typeof o.coldTtftMs === 'number');
}

/** Every record kept; none when the file is missing, unreadable or not ours. */
export function readBench(env: Env = process.env): BenchRecord[] {
  try {
    const data = JSON.parse(readFileSync(benchPath(env), 'utf8')) as Partial<BenchFile>;
    return Array.isArray(data.records) ? data.records.filter(isRecord) : [];
  } catch {
    return [];
  }
}

const sameSlot = (a: BenchRecord, b: BenchRecord) => a.model === b.model && a.machine === b.machine && a.via === b.via && a.host === b.host && a.port === b.port;

/** Keep these records, each replacing the earlier one of the same model, machine, route and port. */
export async function saveBench(records: BenchRecord[], env: Env = process.env): Promise<string> {
  const kept = readBench(env).filter((old) => !records.some((r) => sameSlot(old, r)));
  const path = benchPath(env);
  mkdirSync(ownedLocations(env).data, { recursive: true, mode: 0o700 });
  // The write journal's module loads only here: status and models read, never write.
  const { atomicWriteFile } = await import('../lib/fs.js');
  await atomicWriteFile(path, `${JSON.stringify({ version: BENCH_VERSION, records: [...kept, ...records] } satisfies BenchFile, null, 2)}\n`, 0o600);
  return path;
}

/** The latest record of a model served on host:port (direct), or through a proxy on host:port. */
export function latestFor(records: BenchRecord[], q: { model?: string; host: string; port: number; via: 'direct' | 'proxy' }): BenchRecord | undefined {
  const machine = machineOf(q.host);
  return records
    .filter((r) => r.via === q.via && r.port === q.port && r.machine === machine && (q.model === undefined || r.model === q.model))
    .sort((a, b) => b.at.localeCompare(a.at))[0];
}

/** The newest record of a model on any machine (for `models`, the wizard's list). */
export function latestForModel(records: BenchRecord[], model: string): BenchRecord | undefined {
  return records.filter((r) => r.model === model).sort((a, b) => (a.via === b.via ? b.at.localeCompare(a.at) : a.via === 'direct' ? -1 : 1))[0];
}

/**
 * The prefill speed to plan timeouts with for a model served on these hosts: the slowest of the
 * latest direct measurements on those machines (else through the proxy); undefined when none.
 */
export function measuredPrefill(records: BenchRecord[], model: string, hosts: string[]): number | undefined {
  const machines = new Set(hosts.map(machineOf));
  const mine = records.filter((r) => r.model === model && machines.has(r.machine) && typeof r.prefillTokPerSec === 'number' && r.prefillTokPerSec > 0);
  const direct = mine.filter((r) => r.via === 'direct');
  const use = direct.length ? direct : mine;
  if (!use.length) return undefined;
  // The latest per server, then the slowest of those.
  const latest = new Map<string, BenchRecord>();
  for (const r of use) {
    const k = `${r.host}:${r.port}:${r.via}`;
    const prev = latest.get(k);
    if (!prev || r.at > prev.at) latest.set(k, r);
  }
  return Math.min(...[...latest.values()].map((r) => r.prefillTokPerSec!));
}

// ---------------------------------------------------------------------------------------------- words

const secs = (ms: number) => (ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(ms < 1000 ? 2 : 1)} s`);
const rate = (n: number | undefined) => (n === undefined ? '?' : n >= 100 ? String(Math.round(n)) : n.toFixed(1));

/** One line: `prefill 812 tok/s, decode 41 tok/s, first token 6.6 s cold, 0.07 s on follow-up (6170 cached)`. */
export function benchWords(r: BenchRecord): string {
  const parts = [`prefill ${rate(r.prefillTokPerSec)} tok/s`, `decode ${rate(r.decodeTokPerSec)} tok/s`, `first token ${secs(r.coldTtftMs)} cold`];
  if (r.followUpTtftMs !== undefined) parts.push(`${secs(r.followUpTtftMs)} on follow-up (${r.followUpCachedTokens ?? '?'} of ${r.followUpPromptTokens ?? '?'} tokens cached)`);
  return parts.join(', ');
}

export function benchDate(r: BenchRecord): string {
  return r.at.slice(0, 16).replace('T', ' ');
}

/** Measured prefill tok/s per model of a plan, for the timeouts the files carry (RenderPaths.prefill). */
export function measuredPrefills(plan: Plan, env: Env = process.env): Record<string, number> | undefined {
  const records = readBench(env);
  if (!records.length) return undefined;
  const out: Record<string, number> = {};
  for (const m of servedModels(plan)) {
    const p = measuredPrefill(records, m.model, m.deployments.map((d) => d.host));
    if (p !== undefined) out[m.model] = p;
  }
  return Object.keys(out).length ? out : undefined;
}
