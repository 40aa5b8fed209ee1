/**
 * `aider-mlx bench`: each server of the plan, straight and through the proxy, with Aider-shaped
 * turns (src/bench/turns.ts): cold time to first token, prefill and decode speed, and a follow-up
 * turn's time to first token and cached tokens. Progress while it runs, a table at the end (or
 * --json); the results are kept per model and machine (src/bench/store.ts) for `status`, `models`
 * and the timeouts setup writes.
 */
import { randomBytes } from 'node:crypto';
import { parseFlags } from '../lib/args.js';
import { CancelledError, EXIT, UsageError } from '../errors.js';
import { asRun, configPaths, tildify, type Env, selfCommand } from '../lib/paths.js';
import { readPlan } from '../config/plan-file.js';
import { apiBase, servedModels, UPSTREAM_DEFAULT_MODEL, type ServedModel } from '../config/names.js';
import type { Plan } from '../config/plan.js';
import { proxyBase, SESSION_HEADER, wantsSessionAffinity } from '../config/render-context.js';
import { runAiderTurns, type TurnProgress, type TurnResult } from '../bench/turns.js';
import { benchPath, machineOf, measuredPrefill, measuredPrefills, saveBench, type BenchRecord, type BenchTurn } from '../bench/store.js';
import { timeoutFromPrefill } from '../bench/timeouts.js';

const USAGE = 'Usage: aider-mlx bench [--tokens N] [--turns N] [--role editor|architect|weak] [--timeout SECONDS] [--json]';

/** Default prompt size: a quarter of the context, at most 8192 (a first bench should not take minutes). */
export const DEFAULT_BENCH_TOKENS_CAP = 8192;

export function defaultPromptWords(context: number): number {
  return Math.max(64, Math.min(DEFAULT_BENCH_TOKENS_CAP, Math.floor(context / 4)));
}

export interface BenchIO {
  env: Env;
  out: (s: string) => void;
  err: (s: string) => void;
  /** A terminal: progress rewrites one line. */
  tty?: boolean;
  signal?: AbortSignal;
  now?: () => Date;
}

interface Target {
  served: ServedModel;
  via: 'direct' | 'proxy';
  host: string;
  port: number;
  baseUrl: string;
  model: string;
}

export interface BenchOutcome {
  model: string;
  roles: string[];
  via: 'direct' | 'proxy';
  host: string;
  port: number;
  ok: boolean;
  error?: string;
  record?: BenchRecord;
}

function targetsOf(plan: Plan, role: string | undefined): Target[] {
  const out: Target[] = [];
  for (const m of servedModels(plan)) {
    if (role && !m.roles.includes(role as never)) continue;
    for (const d of m.deployments) out.push({ served: m, via: 'direct', host: d.host, port: d.port, baseUrl: apiBase(d), model: UPSTREAM_DEFAULT_MODEL });
    if (plan.mode === 'proxy') out.push({ served: m, via: 'proxy', host: plan.proxy.host, port: plan.proxy.port, baseUrl: proxyBase(plan), model: m.modelName });
  }
  return out;
}

const label = (t: { served: ServedModel; via: string; host: string; port: number }) =>
  `${t.served.roles.join(' + ')} (${t.served.model}) ${t.via === 'proxy' ? 'through the proxy' : 'direct'} on ${t.host}:${t.port}`;

const strip = ({ reply: _r, usage: _u, ...t }: TurnResult): BenchTurn => t;

export function toRecord(t: Target, turns: TurnResult[], promptWords: number, at: Date): BenchRecord {
  const [cold, next] = turns;
  return {
    model: t.served.model,
    machine: machineOf(t.via === 'proxy' ? t.served.deployments[0]!.host : t.host),
    via: t.via,
    host: t.host,
    port: t.port,
    roles: [...t.served.roles],
    context: t.served.context,
    at: at.toISOString(),
    promptWords,
    coldTtftMs: cold!.ttftMs,
    ...(cold!.promptTokens !== undefined ? { promptTokens: cold!.promptTokens } : {}),
    ...(cold!.prefillTokPerSec !== undefined ? { prefillTokPerSec: cold!.prefillTokPerSec } : {}),
    ...(cold!.decodeTokPerSec !== undefined ? { decodeTokPerSec: cold!.decodeTokPerSec } : {}),
    ...(next ? { followUpTtftMs: next.ttftMs } : {}),
    ...(next?.promptTokens !== undefined ? { followUpPromptTokens: next.promptTokens } : {}),
    ...(next?.cachedTokens !== undefined ? { followUpCachedTokens: next.cachedTokens } : {}),
    turns: turns.map(strip),
  };
}

const secs = (ms: number | undefined) => (ms === undefined ? '—' : ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(2)} s`);
const rate = (n: number | undefined) => (n === undefined ? '—' : n >= 100 ? String(Math.round(n)) : n.toFixed(1));

export function renderTable(outcomes: BenchOutcome[]): string {
  const head = ['server', 'via', 'prompt tok', 'cold 1st token', 'prefill tok/s', 'decode tok/s', 'follow-up 1st token', 'cached tok'];
  const rows = outcomes.map((o) => {
    const r = o.record;
    const server = `${o.roles.join('+')} ${o.host}:${o.port}`;
    if (!r) return [server, o.via, '✗', o.error ?? 'failed', '', '', '', ''];
    return [server, o.via, String(r.promptTokens ?? '?'), secs(r.coldTtftMs), rate(r.prefillTokPerSec), rate(r.decodeTokPerSec), secs(r.followUpTtftMs), r.followUpCachedTokens === undefined ? (r.turns.length > 1 ? 'not reported' : '—') : `${r.followUpCachedTokens}/${r.followUpPromptTokens ?? '?'}`];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.filter((r) => r[2] !== '✗' || i < 3).map((r) => r[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [line(head), ...rows.map((r) => (r[2] === '✗' ? `  ${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ✗ ${r[3]}` : line(r)))].join('\n') + '\n';
}

function progressLine(io: BenchIO, t: Target, p: TurnProgress): string | undefined {
  if (p.phase === 'sent') return `  turn ${p.turn}/${p.turns}: sent, waiting for the first token…`;
  if (p.phase === 'first-token') return io.tty ? `  turn ${p.turn}/${p.turns}: first token after ${secs(p.ttftMs)}, streaming…` : undefined;
  const r = p.result;
  const cached = r.cachedTokens === undefined ? 'cached tokens not reported' : `${r.cachedTokens} cached`;
  return `  turn ${p.turn}/${p.turns}: first token ${secs(r.ttftMs)}, ${r.promptTokens ?? '?'} prompt tokens, ${cached}, done in ${secs(r.totalMs)}`;
}

function positiveInt(v: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max} (got "${v}").`, USAGE);
  return Number(v);
}

export async function runBench(args: string[], io: BenchIO): Promise<number> {
  const { values } = parseFlags(
    args,
    { tokens: { type: 'string' }, turns: { type: 'string' }, role: { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean' } },
    { command: 'bench', usage: USAGE },
  );
  const v = values as { tokens?: string; turns?: string; role?: string; timeout?: string; json?: boolean };
  const tokens = positiveInt(v.tokens, '--tokens', 32, 1_000_000);
  const turns = positiveInt(v.turns, '--turns', 1, 50) ?? 2;
  const timeoutSec = positiveInt(v.timeout, '--timeout', 1, 86_400) ?? 600;
  if (v.role !== undefined && !['editor', 'architect', 'weak'].includes(v.role)) throw new UsageError(`--role must be editor, architect or weak (got "${v.role}").`, USAGE);
  const env = io.env;
  const plan = await readPlan(env);
  if (!plan) throw new UsageError(`No plan yet at ${tildify(configPaths(env).plan, env)}.`, `Run \`${selfCommand()} setup\` first.`);
  const targets = targetsOf(plan, v.role);
  if (!targets.length) throw new UsageError(`The plan has no ${v.role} role.`, 'Run `aider-mlx bench` without --role, or add that role with `aider-mlx reconfigure`.');

  const apiKey = plan.mode === 'proxy' ? await (await import('../config/secrets.js')).proxyKey(env) : undefined;
  const affinity = wantsSessionAffinity(plan);
  const now = io.now ?? (() => new Date());
  const outcomes: BenchOutcome[] = [];
  let lastDrawn = false;
  const show = (line: string, final: boolean) => {
    if (io.tty) {
      io.err(`\r\x1b[2K${line}${final ? '\n' : ''}`);
      lastDrawn = !final;
    } else io.err(`${line}\n`);
  };
  for (const t of targets) {
    if (io.signal?.aborted) throw new CancelledError();
    const ctx = t.served.context;
    const words = Math.min(tokens ?? defaultPromptWords(ctx), Math.floor(ctx / 2));
    const nonce = randomBytes(6).toString('hex');
    show(`${label(t)}: ${turns} turn${turns > 1 ? 's' : ''}, a ~${words}-token Aider prompt (context ${ctx})`, true);
    try {
      const results = await runAiderTurns({
        baseUrl: t.baseUrl,
        model: t.model,
        ...(t.via === 'proxy' && apiKey ? { apiKey } : {}),
        ...(t.via === 'proxy' && affinity ? { headers: { [SESSION_HEADER]: `aider-mlx-bench-${nonce}` } } : {}),
        promptWords: words,
        turns,
        timeoutMs: timeoutSec * 1000,
        nonce,
        ...(io.signal ? { signal: io.signal } : {}),
        onProgress: (p) => {
          const line = progressLine(io, t, p);
          if (line) show(line, p.phase === 'done' || !io.tty);
        },
      });
      outcomes.push({ model: t.served.model, roles: t.served.roles, via: t.via, host: t.host, port: t.port, ok: true, record: toRecord(t, results, words, now()) });
    } catch (e) {
      if (io.signal?.aborted) throw new CancelledError();
      if (lastDrawn) io.err('\n');
      const msg = (e as Error).message;
      const hint = /nothing listens/.test(msg) ? ' (start it with `aider-mlx serve`, or `aider-mlx launch`)' : '';
      show(`  ✗ ${msg}${hint}`, true);
      outcomes.push({ model: t.served.model, roles: t.served.roles, via: t.via, host: t.host, port: t.port, ok: false, error: `${msg}${hint}` });
    }
  }

  const records = outcomes.flatMap((o) => (o.record ? [o.record] : []));
  // What a write of the files gave them before this run (from the results kept so far).
  const earlier = measuredPrefills(plan, env);
  const saved = records.length ? await saveBench(records, env) : undefined;
  const timeouts: Record<string, number> = {};
  const before: Record<string, number> = {};
  for (const m of servedModels(plan)) {
    const prefill = measuredPrefill(records, m.model, m.deployments.map((d) => d.host));
    timeouts[m.model] = timeoutFromPrefill(m.context, prefill, plan.requestTimeout);
    before[m.model] = timeoutFromPrefill(m.context, earlier?.[m.model], plan.requestTimeout);
  }
  const changed = Object.keys(timeouts).filter((m) => timeouts[m] !== before[m]);
  const ok = outcomes.every((o) => o.ok);
  if (v.json) {
    io.out(`${JSON.stringify({ ok, results: outcomes, saved: saved ?? null, timeouts, timeoutsChanged: changed }, null, 2)}\n`);
  } else {
    io.out(`\n${renderTable(outcomes)}`);
    const noCache = records.filter((r) => r.turns.length > 1 && r.followUpCachedTokens === undefined);
    if (noCache.length) io.out('\n! Some servers report no cached tokens (usage.prompt_tokens_details): mlx-lm before 0.29 does not; `aider-mlx install mlx-lm --force` updates it.\n');
    if (saved) {
      io.out(`\nSaved in ${tildify(saved, env)}; \`aider-mlx status\` and \`aider-mlx models\` show it.\n`);
      const lines = Object.entries(timeouts).map(([model, s]) => `  ${model}: ${s} s${s > plan.requestTimeout ? '' : ' (the floor: a whole context prefills well within it)'}`);
      io.out(`Request timeouts from these speeds (2 × context ÷ prefill tok/s, at least ${plan.requestTimeout} s):\n${lines.join('\n')}\n`);
      // Nothing is rewritten here: bench measures; the write (diff, backup) stays setup's.
      if (changed.length) {
        const was = changed.map((m) => `${m}: ${before[m]} s → ${timeouts[m]} s`).join(', ');
        io.out(`Aider's files and the LiteLLM config still have the old timeouts (${was}): run \`aider-mlx reconfigure --yes\` to write these.\n`);
      } else {
        io.out('The same timeouts as before this run: nothing to rewrite.\n');
      }
    }
  }
  return ok ? EXIT.ok : EXIT.verify;
}

export async function runBenchCommand(args: string[]): Promise<number> {
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  try {
    return await runBench(args, {
      env: process.env,
      // What a person reads names this copy's command (asRun); --json stays as it is.
      out: (s) => void process.stdout.write(args.includes('--json') ? s : asRun(s)),
      err: (s) => void process.stderr.write(asRun(s)),
      tty: Boolean(process.stderr.isTTY),
      signal: ac.signal,
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/** For `aider-mlx bench --help` tests and the store: where results go. */
export { benchPath };
