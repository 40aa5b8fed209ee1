/**
 * `aider-mlx serve`: start every deployment of the plan and the proxy, wait until each answers a
 * real completion, keep them up (restart with backoff), and on Ctrl-C or SIGTERM stop what it
 * started and only that.
 */
import { parseFlags } from '../lib/args.js';
import { EXIT, UsageError } from '../errors.js';
import { configPaths, selfCommand, tildify, type Env } from '../lib/paths.js';
import { readPlan } from '../config/plan-file.js';
import type { Plan } from '../config/plan.js';
import { envSecrets, proxyKeyOf, redact, redactDeep } from '../config/secrets.js';
import { ownedLocations } from '../service/locations.js';
import { formatEvent, formatSummary } from '../serve/plain.js';
import { prepareServing } from '../serve/serve.js';
import type { SupervisorEvent } from '../serve/supervisor.js';
import { ServeView } from '../serve/view.js';
import { sampleRss } from '../serve/metrics.js';
import { isInteractive } from '../tools/ask.js';
import { columnsFor, wrapText } from '../lib/wrap.js';
import { fstatSync } from 'node:fs';

/** The descriptor is a regular file (output sent to a log), not a terminal or a pipe. */
function isFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

const USAGE = 'Usage: aider-mlx serve [--timeout SECONDS] [--stand-in] [--verbose] [--json] [--once]';

export interface ServeIo {
  env: Env;
  out: (s: string) => void;
  err: (s: string) => void;
  /** Resolves with the signal that asks serve to stop (SIGINT, SIGTERM, SIGHUP). */
  stopSignal: Promise<NodeJS.Signals>;
  /** A terminal: the live dashboard instead of plain lines (unless --plain or --json). */
  interactive?: boolean;
  /** The width the plain lines are wrapped at (the terminal's, else 80); unset: not wrapped. */
  columns?: number;
}

function nextStep(plan: Plan, env: Env): string {
  if (plan.aider.scope === 'profile') return `code: ${selfCommand()} aider`;
  if (plan.aider.scope === 'global') return 'code: aider (in any repository)';
  return `code: cd ${tildify(plan.aider.dir, env)} && aider`;
}

export async function runServe(args: string[], io: ServeIo): Promise<number> {
  const values = parseFlags(
    args,
    {
        timeout: { type: 'string' },
        'stand-in': { type: 'boolean' },
        verbose: { type: 'boolean' },
        json: { type: 'boolean' },
        once: { type: 'boolean' },
        plain: { type: 'boolean' },
        'check-every': { type: 'string' },
    },
    { command: 'serve', usage: USAGE },
  ).values as { timeout?: string; 'stand-in'?: boolean; verbose?: boolean; json?: boolean; once?: boolean; plain?: boolean; 'check-every'?: string };
  const seconds = (name: string, v: string | undefined, def: number) => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a number of seconds (got "${v}").`, USAGE);
    return n;
  };
  const timeoutSec = seconds('timeout', values.timeout, 600);
  const checkSec = seconds('check-every', values['check-every'], 5);
  const { env } = io;
  const plan = await readPlan(env);
  if (!plan) throw new UsageError(`No plan yet at ${tildify(configPaths(env).plan, env)}.`, `Run \`${selfCommand()} setup\` first.`);
  const key = plan.mode === 'proxy' ? await proxyKeyOf(plan, env) : undefined;
  const secrets = [key, ...envSecrets(env)];
  const hide = (s: string) => redact(s, secrets);
  // Prose wrapped by the one rule (commands and paths whole); a child's own log lines as they are.
  const fit = (s: string) => wrapText(s, io.columns);

  const show = (e: SupervisorEvent) => {
    if (values.json) {
      if (e.type === 'state') io.out(JSON.stringify(redactDeep({ at: new Date(e.at).toISOString(), ...e.unit, logTail: undefined, previous: e.previous }, secrets)) + '\n');
      return;
    }
    for (const line of formatEvent(e, { verbose: values.verbose ?? false })) io.err((e.type === 'log' ? hide(line) : fit(hide(line))) + '\n');
  };
  const dashboard = Boolean(io.interactive) && !values.plain && !values.json && !values.once;
  let view: ServeView | undefined;
  const serving = prepareServing(plan, {
    env,
    ...(values['stand-in'] ? { kind: 'stand-in' as const } : {}),
    ...(key ? { proxyKey: key } : {}),
    readyTimeoutMs: timeoutSec * 1000,
    checkEveryMs: checkSec * 1000,
    onEvent: (e) => (view ? view.apply(e) : show(e)),
    logDir: ownedLocations(env).logs,
  });

  let quit!: (s: NodeJS.Signals) => void;
  const stopRequested = Promise.race([io.stopSignal, new Promise<NodeJS.Signals>((r) => (quit = r))]);
  let signal: NodeJS.Signals | undefined;
  let stopping: Promise<void> | undefined;
  let unmount: (() => void) | undefined;
  let sampler: NodeJS.Timeout | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (sampler) clearInterval(sampler);
      await serving.stop();
      unmount?.();
    })());
  void stopRequested.then((s) => {
    signal = s;
    if (!values.json && !view) io.err(fit(`\n${s === 'SIGINT' ? 'Ctrl-C' : s}: stopping what serve started…`) + '\n');
    void stop();
  });

  if (dashboard) {
    view = new ServeView(serving.supervisor.snapshot());
    const { mountServeDashboard } = await import('../ui/serve/index.js');
    const title = `aider-mlx serve — ${plan.mode} mode, logs in ${tildify(ownedLocations(env).logs, env)}`;
    unmount = mountServeDashboard(view, { title, env, onQuit: () => quit('SIGINT') }).unmount;
    const v = view;
    sampler = setInterval(() => void sampleRss(v.pids()).then((m) => v.setMemory(m)), 2000);
  }

  const initial = await serving.start();
  if (!signal) {
    const up = initial.filter((u) => ['ready', 'adopted', 'remote'].includes(u.state));
    // It keeps them up unless --once, or nothing came up: then the next step and Ctrl-C are not said.
    const keeps = !values.once && up.length > 0;
    const next = keeps && up.length === initial.length ? [nextStep(plan, env)] : [];
    if (!values.json && !view) io.err(fit(hide(formatSummary(initial, { env, logFiles: serving.logFiles, next, running: keeps }))));
    if (!keeps) {
      await stop();
      if (view) io.err(fit(hide(formatSummary(serving.supervisor.snapshot(), { env, logFiles: serving.logFiles }))));
      return up.length === initial.length ? EXIT.ok : EXIT.verify;
    }
    await stopRequested;
  }
  await stop();
  if (!values.json) io.err('Stopped.\n');
  return signal === 'SIGINT' ? EXIT.cancelled : EXIT.ok;
}

export async function runServeCommand(args: string[]): Promise<number> {
  let onSignal!: (s: NodeJS.Signals) => void;
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => (onSignal = resolve));
  const handler = (s: NodeJS.Signals) => onSignal(s);
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  // A closed terminal: stop what serve started (the watchdog would too, but this says so).
  process.on('SIGHUP', handler);
  try {
    return await runServe(args, {
      env: process.env,
      out: (s) => void process.stdout.write(s),
      err: (s) => void process.stderr.write(s),
      stopSignal,
      // The dashboard redraws in place: a dumb terminal gets the line-per-change log instead.
      interactive: isInteractive() && process.env.TERM !== 'dumb',
      // Wrapped for a person (a terminal, a pipe); a log file (the background serve's) keeps one
      // line per change: launch and doctor read its last lines.
      columns: isFile(2) ? undefined : columnsFor(process.stderr),
    });
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    process.off('SIGHUP', handler);
  }
}
