/**
 * What `aider-mlx launch` and the wizard's "Start Aider now?" need before Aider starts: every server
 * of the plan answering, a background `serve` started (or restarted) when something local is down.
 */
import { AppError, VerifyError } from '../errors.js';
import { tildify, type Env } from '../lib/paths.js';
import { apiBase, servedModels } from '../config/names.js';
import type { Plan } from '../config/plan.js';
import { waitForChat } from '../servers/probe.js';
import { collectStatus, type HopStatus } from '../servers/status.js';
import { isLoopback } from './remote.js';
import { planDigest, readBackground, startBackground, stopBackground, type BackgroundRecord } from './background.js';
import { readFile } from 'node:fs/promises';

export function hopName(h: HopStatus): string {
  return `${h.kind === 'proxy' ? 'proxy' : h.roles.join(' + ')} on ${h.host}:${h.port}`;
}

async function logTail(path: string, n = 6): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim()).slice(-n).join('\n  ');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface RunningResult {
  /** The background serve, when one runs (started now or before). */
  background?: BackgroundRecord;
  /** It was started (or restarted) by this call. */
  started: boolean;
}

/**
 * Everything the plan needs answers, or is started: a background serve when something local is
 * down and none runs (one that runs an older plan is restarted). Then every server gets a 1-token
 * completion. Throws with the log's last lines when the serve gives up.
 */
export async function ensureRunning(
  plan: Plan,
  o: {
    env: Env;
    standIn?: boolean;
    timeoutSec?: number;
    say?: (line: string) => void;
    signal?: AbortSignal;
    restart?: boolean;
    /** Servers the caller started and verified, handed to the background serve (started for them even when all answers). */
    handOver?: BackgroundRecord['handedOver'];
    /** false: something else starts them (launchd's agents): wait for them, never start a serve. */
    start?: boolean;
  },
): Promise<RunningResult> {
  const { env } = o;
  const say = o.say ?? (() => undefined);
  const timeoutSec = o.timeoutSec ?? 600;
  let bg = await readBackground(env);
  if (bg?.running && (o.restart || bg.record.planDigest !== (await planDigest(env)))) {
    say(`Restarting aider-mlx serve (pid ${bg.record.pid}): ${o.restart ? 'asked to' : 'the setup changed since it started'}`);
    await stopBackground(env);
    bg = undefined;
  }
  let hops = await collectStatus(plan, { timeoutMs: 3000, env });
  let record = bg?.running ? bg.record : undefined;
  let started = false;
  const down = hops.filter((h) => !h.up);
  const handOver = o.handOver ?? [];
  if ((down.length || handOver.length) && !record && o.start !== false) {
    const local = down.filter((h) => isLoopback(h.host));
    if (down.length && local.length === 0) throw new VerifyError(`Not answering: ${down.map(hopName).join(', ')}; aider-mlx only starts servers on this machine.`, 'Start them where they run, then try again (`aider-mlx status` shows each one).');
    record = await startBackground(env, { standIn: o.standIn ?? false, timeoutSec, handedOver: handOver });
    started = true;
    say(`Started aider-mlx serve in the background (pid ${record.pid}); its log: ${tildify(record.log, env)}`);
    if (handOver.length) say(`It keeps the ${handOver.length === 1 ? 'server' : `${handOver.length} servers`} already running (port ${handOver.map((h) => h.port).join(', ')}): no model loads twice`);
  }
  const deadline = Date.now() + timeoutSec * 1000;
  let last = '';
  while (!hops.every((h) => h.up)) {
    if (o.signal?.aborted) throw new AppError('Cancelled while waiting for the servers.', 'They keep starting in the background: `aider-mlx status` shows them, `aider-mlx stop` stops them.');
    if (record && !alive(record.pid)) {
      throw new VerifyError(
        `aider-mlx serve stopped before everything answered (${hops.filter((h) => !h.up).map(hopName).join(', ')} down). Its log says:\n  ${await logTail(record.log)}`,
        `The whole log: ${tildify(record.log, env)}; \`aider-mlx doctor\` says what is wrong.`,
      );
    }
    if (Date.now() > deadline) {
      throw new VerifyError(`Not answering after ${timeoutSec} s: ${hops.filter((h) => !h.up).map(hopName).join(', ')}.`, `${record ? `The log: ${tildify(record.log, env)}. ` : ''}Allow more time with --timeout, or run \`aider-mlx doctor\`.`);
    }
    const waiting = `waiting for ${hops.filter((h) => !h.up).map(hopName).join(', ')}`;
    if (waiting !== last) say(`${waiting}…`);
    last = waiting;
    await new Promise((r) => setTimeout(r, 500));
    hops = await collectStatus(plan, { timeoutMs: 3000, env });
  }
  // Listening is not answering: every model server gets a real 1-token completion.
  for (const m of servedModels(plan)) {
    for (const d of m.deployments) {
      const r = await waitForChat(apiBase(d), m.upstream, { timeoutMs: Math.max(5000, deadline - Date.now()), intervalMs: 1000, ...(o.signal ? { signal: o.signal } : {}) });
      if (!r.ok) throw new VerifyError(`${m.roles.join(' + ')} on ${d.host}:${d.port} is up but did not answer a completion: ${r.error?.message ?? `HTTP ${r.status}`}.`, 'Run `aider-mlx doctor`.');
      say(`✓ ${m.roles.join(' + ')}: ${m.model} on ${d.host}:${d.port} answered (${Math.round(r.latencyMs)} ms)`);
    }
  }
  if (plan.mode === 'proxy') say(`✓ proxy on ${plan.proxy.host}:${plan.proxy.port} serves ${servedModels(plan).map((m) => m.modelName).join(', ')}`);
  return { ...(record ? { background: record } : {}), started };
}

