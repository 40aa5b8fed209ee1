import { parseFlags } from '../lib/args.js';
import { columnsFor, wrapText } from '../lib/wrap.js';
import { AppError, UsageError } from '../errors.js';
import { asRun, configPaths, tildify, type Env, selfCommand } from '../lib/paths.js';
import { readPlan } from '../config/plan-file.js';
import { collectStatus, hopWords, type HopStatus } from '../servers/status.js';
import type { Plan } from '../config/plan.js';
import { exposureWarning, isLoopback } from '../serve/remote.js';
import { readBackground, type BackgroundState } from '../serve/background.js';
import { benchDate, benchWords, latestFor, readBench, type BenchRecord } from '../bench/store.js';
import { servedModels } from '../config/names.js';
import { promptCaches, type DeploymentCache, type PromptCacheReport } from '../serve/metrics.js';

function cacheOf(caches: DeploymentCache[] | undefined, h: HopStatus): PromptCacheReport | undefined {
  return h.kind === 'deployment' ? caches?.find((c) => c.host === h.host && c.port === h.port)?.report : undefined;
}

/** The indented lines under a server: the hit rate, the last miss and why, the server's own cache figure. */
export function promptCacheLines(r: PromptCacheReport | undefined): string[] {
  if (!r) return [];
  const out = [r.line];
  if (r.lastMiss) out.push(`last miss: ${r.lastMiss.reason}`);
  if (r.cacheNow) out.push(r.cacheNow);
  return out;
}

/** The background serve, in one line (or none when there is no pid file). */
export function backgroundLine(bg: BackgroundState | undefined, env: Env): string | undefined {
  if (!bg) return undefined;
  const r = bg.record;
  return asRun(bg.running
    ? `background: aider-mlx serve, pid ${r.pid}, since ${r.since}, log ${tildify(r.log, env)} (\`aider-mlx stop\` stops it)`
    : bg.leftRunning?.length
      ? `background: aider-mlx serve (pid ${r.pid}) is no longer running, but the ${bg.leftRunning.length === 1 ? 'server' : `${bg.leftRunning.length} servers`} handed to it still run${bg.leftRunning.map((h) => ` (port ${h.port}, pid ${h.pid})`).join(',')}: \`aider-mlx launch\` takes them back, \`aider-mlx stop\` stops them; its log: ${tildify(r.log, env)}`
      : `background: aider-mlx serve (pid ${r.pid}) is no longer running; its log: ${tildify(r.log, env)} (\`aider-mlx launch\` starts it again)`);
}

/** The last bench of each hop: its server's (direct), or every model's through the proxy. */
export function hopBench(plan: Plan, h: HopStatus, records: BenchRecord[]): BenchRecord[] {
  if (h.kind === 'deployment') {
    const r = latestFor(records, { model: h.model, host: h.host, port: h.port, via: 'direct' });
    return r ? [r] : [];
  }
  return servedModels(plan).flatMap((m) => {
    const r = latestFor(records, { model: m.model, host: h.host, port: h.port, via: 'proxy' });
    return r ? [r] : [];
  });
}

export function renderStatus(plan: Plan, hops: HopStatus[], env: Env, bg?: BackgroundState, records: BenchRecord[] = [], caches?: DeploymentCache[]): string {
  const lines = [`aider-mlx status — plan ${tildify(configPaths(env).plan, env)} (${plan.mode} mode)`];
  const bgLine = backgroundLine(bg, env);
  if (bgLine) lines.push(bgLine);
  for (const h of hops) {
    const what = h.kind === 'proxy' ? 'proxy (LiteLLM)' : `${h.roles.join(' + ')}: ${h.model}`;
    lines.push(`${h.up ? '✓' : '✗'} ${what} on ${h.host}:${h.port}: ${hopWords(h)}`);
    if (!h.up && h.detail[0]) lines.push(`    ${h.detail[0]}`);
    for (const l of promptCacheLines(cacheOf(caches, h))) lines.push(`    ${l}`);
    if (h.kind === 'deployment' && !isLoopback(h.host)) lines.push(`    ! ${exposureWarning({ host: h.host, port: h.port })}`);
    for (const r of hopBench(plan, h, records)) {
      lines.push(`    last bench${h.kind === 'proxy' ? ` of ${r.model}` : ''} (${benchDate(r)}): ${benchWords(r)}`);
    }
  }
  return lines.join('\n') + '\n';
}

export async function runStatusCommand(args: string[]): Promise<number> {
  const values = parseFlags(args, { json: { type: 'boolean' }, timeout: { type: 'string' } }, { command: 'status', usage: 'Usage: aider-mlx status [--json] [--timeout SECONDS]' })
    .values as { json?: boolean; timeout?: string };
  const timeoutSec = values.timeout === undefined ? 5 : Number(values.timeout);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw new UsageError(`--timeout must be a number of seconds (got "${values.timeout}").`);
  const env = process.env;
  try {
    return await statusOf(env, timeoutSec, Boolean(values.json));
  } catch (e) {
    // A script asking for JSON gets a document whatever stops the command (the same keys), and the
    // same exit code as the text.
    if (values.json && e instanceof AppError) {
      const next = e.message.startsWith('No plan yet') ? [`${selfCommand()} setup`, `${selfCommand()} setup --adopt`] : [];
      process.stdout.write(JSON.stringify({ ok: false, mode: null, hops: [], background: null, error: e.message, ...(e.tryThis ? { tryThis: e.tryThis } : {}), next }, null, 2) + '\n');
    }
    throw e;
  }
}

async function statusOf(env: NodeJS.ProcessEnv, timeoutSec: number, json: boolean): Promise<number> {
  const plan = await readPlan(env);
  if (!plan) {
    throw new UsageError(`No plan yet at ${tildify(configPaths(env).plan, env)}.`, `Run \`${selfCommand()} setup\` first (or \`${selfCommand()} setup --adopt\` to make a chain you set up by hand the plan).`);
  }
  // status only reads: a key file others can read is said, not a reason to stop (serve still asks for it).
  const warnings: string[] = [];
  const [hops, bg] = await Promise.all([collectStatus(plan, { timeoutMs: timeoutSec * 1000, env, readable: (p) => warnings.push(`${p.problem}: run ${p.fix}`) }), readBackground(env)]);
  const allUp = hops.every((h) => h.up);
  const records = readBench(env);
  const background = bg
    ? { running: bg.running, pid: bg.record.pid, since: bg.record.since, log: bg.record.log, ...(bg.leftRunning ? { leftRunning: bg.leftRunning.map((h) => ({ pid: h.pid, port: h.port })) } : {}) }
    : null;
  const caches = promptCaches(plan, env);
  if (json) {
    const out = hops.map((h) => {
      const c = cacheOf(caches, h);
      return { ...h, lastBench: hopBench(plan, h, records), ...(c ? { promptCache: c } : {}) };
    });
    process.stdout.write(JSON.stringify({ ok: allUp, mode: plan.mode, hops: out, background, ...(warnings.length ? { warnings } : {}) }, null, 2) + '\n');
  } else {
    process.stdout.write(wrapText(renderStatus(plan, hops, env, bg, records, caches), columnsFor(process.stdout)));
    for (const w of warnings) process.stdout.write(wrapText(`! ${w}\n`, columnsFor(process.stdout)));
  }
  return allUp ? 0 : 1;
}
