import { AppError, CancelledError, EXIT, UsageError } from '../errors.js';
import { parseFlags } from '../lib/args.js';
import { asRun, tildify, type Env } from '../lib/paths.js';
import { danglingTarget, MAX_LOG_BYTES, readBounded } from '../lib/read-bounded.js';
import type { FixPlan } from '../doctor/fix.js';
import { reportToJson, reportToText, redact, type FixSummary } from '../doctor/report.js';
import { runDoctor, type DoctorReport } from '../doctor/run.js';
import type { DoctorCaps, DoctorCheck, DoctorOptions } from '../doctor/types.js';


const MAX_ERROR_BYTES = MAX_LOG_BYTES;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(String(c));
    size += b.length;
    if (size > MAX_ERROR_BYTES) break;
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function interactive(env: Env): boolean {
  // stdout first: asking stdin makes its stream, which a piped `doctor --json` never needs.
  return !env.CI && env.TERM !== 'dumb' && Boolean(process.stdout.isTTY && process.stdin.isTTY);
}

/** A fix defaults to no; going on to the next hop to yes. Ctrl-C at the question: cancelled (130). */
async function terminalAsk(question: string, kind: 'fix' | 'next' = 'fix'): Promise<boolean> {
  const { terminalAsker } = await import('../tools/ask.js');
  return terminalAsker().confirm(question, kind === 'next');
}

export interface DoctorArgs {
  json: boolean;
  errorText?: string;
  deep: boolean;
  timeoutMs: number;
  fix: boolean;
  yes: boolean;
  plain: boolean;
  verbose: boolean;
  help: boolean;
  /** Everything after `--`: the Aider command line the user runs, taken whole. */
  aiderArgs?: string[];
  litellmConfig?: string;
}

export async function parseDoctorArgs(argsIn: string[], readIn: () => Promise<string> = readStdin): Promise<DoctorArgs> {
  const dd = argsIn.indexOf('--');
  const args = dd < 0 ? argsIn : argsIn.slice(0, dd);
  let aiderArgs = dd < 0 ? undefined : argsIn.slice(dd + 1);
  // `doctor -- aider --model …` and `doctor -- --model …` both mean the same command line.
  if (aiderArgs && aiderArgs[0] !== undefined && /(^|\/)aider$/.test(aiderArgs[0])) aiderArgs = aiderArgs.slice(1);
  const { values } = parseFlags(
    args,
    {
        json: { type: 'boolean' },
        error: { type: 'string' },
        'error-file': { type: 'string' },
        deep: { type: 'boolean' },
        timeout: { type: 'string' },
        fix: { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        plain: { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
        help: { type: 'boolean', short: 'h' },
        'litellm-config': { type: 'string' },
    },
    { command: 'doctor', usage: 'Run `aider-mlx doctor --help` for the options.' },
  );
  if (values.error !== undefined && values['error-file'] !== undefined) {
    throw new UsageError('Pass the error once: --error TEXT or --error-file FILE, not both.');
  }
  let errorText: string | undefined;
  const file = values['error-file'] as string | undefined;
  if (values.error === '-' || file === '-') errorText = await readIn();
  else if (typeof values.error === 'string') {
    // An empty --error ("$(pbpaste)" with nothing copied) checks nothing: say so rather than pass.
    if (!values.error.trim()) {
      throw new UsageError(
        '--error needs the text Aider printed, and it was given empty.',
        'Paste the error in quotes (--error "litellm.NotFoundError: …"), or pipe it: … | aider-mlx doctor --error -. Leave --error out to check the setup without one.',
      );
    }
    errorText = values.error;
  }
  else if (file !== undefined) {
    try {
      // A log's cause is near its start or its end: a large file keeps both, never more in memory.
      errorText = (await readBounded(file, { what: '--error-file', maxBytes: MAX_ERROR_BYTES, over: 'ends', tryThis: 'Give the path of a file holding the error text, or - to read it from stdin (… | aider-mlx doctor --error-file -).' })).text;
    } catch (e) {
      if (e instanceof AppError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      const target = code === 'ENOENT' ? danglingTarget(file) : undefined;
      const why =
        target !== undefined ? `it is a symlink to ${target}, which does not exist`
        : code === 'ENOENT' ? 'no such file'
        : code === 'EACCES' || code === 'EPERM' ? `permission denied (\`ls -l ${file}\` shows its owner and mode)`
        : (e as Error).message;
      throw new UsageError(`Cannot read --error-file ${file}: ${why}.`, 'Give the path of a file holding the error text, or - to read it from stdin (… | aider-mlx doctor --error-file -).');
    }
  }
  const deep = Boolean(values.deep);
  const raw = values.timeout as string | undefined;
  const secs = raw === undefined ? (deep ? 120 : 10) : Number(raw);
  if (!Number.isFinite(secs) || secs <= 0 || secs > 86_400) {
    throw new UsageError(`--timeout must be a number of seconds (got "${raw}").`, 'For example: --timeout 30');
  }
  if (values.yes && !values.fix) throw new UsageError('--yes only means something with --fix.', 'Run `aider-mlx doctor --fix --yes`.');
  const litellmConfig = values['litellm-config'] as string | undefined;
  if (litellmConfig !== undefined) {
    // A file that is not there is a typo, not a setup to check as if none had been named.
    let st: import('node:fs').Stats | undefined;
    try {
      st = (await import('node:fs')).statSync(litellmConfig);
    } catch {
      /* said below */
    }
    if (!st?.isFile()) {
      throw new UsageError(
        `--litellm-config ${litellmConfig}: ${st ? 'that is a folder, not a file' : 'no such file'}.`,
        'Pass the config file your LiteLLM proxy is started with (`litellm --config FILE`), or leave the option out: the doctor then reads the running proxy\'s own --config.',
      );
    }
  }
  return {
    json: Boolean(values.json),
    ...(errorText !== undefined ? { errorText } : {}),
    deep,
    timeoutMs: Math.round(secs * 1000),
    fix: Boolean(values.fix),
    yes: Boolean(values.yes),
    plain: Boolean(values.plain),
    verbose: Boolean(values.verbose),
    help: Boolean(values.help),
    ...(aiderArgs ? { aiderArgs } : {}),
    ...(litellmConfig !== undefined ? { litellmConfig } : {}),
  };
}

function diffsText(fp: FixPlan, env: Env, secrets: string[]): string {
  // A file that is a link (a dotfiles checkout): the change lands in its target, and says so.
  const through = (w: FixPlan['writes'][number]) => (w.target !== w.path ? `(${tildify(w.path, env)} is a symbolic link: this changes ${tildify(w.target, env)})\n` : '');
  return redact(fp.writes.map((w) => `${through(w)}${w.diff || `(permissions of ${tildify(w.path, env)})\n`}`).join(''), secrets);
}

/** `aider-mlx doctor …`. Never imports the Ink face: `doctor --json` stays fast. */
export async function runDoctorCommand(args: string[]): Promise<number> {
  const a = await parseDoctorArgs(args);
  // The hints it prints name this copy's command (a clone's bin, `npx aider-mlx` once installed).
  const out = (s: string) => void process.stdout.write(a.help || a.json ? s : asRun(s));
  if (a.help) {
    out((await import('../help.js')).commandHelp('doctor'));
    return EXIT.ok;
  }
  const env = process.env;
  const ctrl = new AbortController();
  const onSignal = () => ctrl.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const caps: DoctorCaps = { env, cwd: process.cwd(), signal: ctrl.signal };
  const opts: DoctorOptions = {
    timeoutMs: a.timeoutMs,
    deep: a.deep,
    ...(a.errorText !== undefined ? { errorText: a.errorText } : {}),
    ...(a.aiderArgs ? { aiderArgs: a.aiderArgs } : {}),
    ...(a.litellmConfig ? { litellmConfig: a.litellmConfig } : {}),
  };
  const tty = interactive(env);
  const color = tty && !env.NO_COLOR && env.FORCE_COLOR !== '0';
  const width = process.stdout.columns || 80;
  const text = (r: DoctorReport) => reportToText(r, { env, color, verbose: a.verbose, width });
  try {
    if (a.deep && !a.json && tty) process.stderr.write('Running the deep checks too: they generate text on every server (this takes a while)…\n');
    const report = await runDoctor(opts, caps);
    if (ctrl.signal.aborted) throw new CancelledError();

    if (a.fix) return await fixFlow(report, a, { env, caps, opts, tty, out, text });

    if (!a.json && !a.plain && !a.verbose && tty) {
      const { guideDoctor } = await import('../doctor/guided.js');
      const g = await guideDoctor(report, {
        ask: terminalAsk,
        print: (s) => out(`${s}\n`),
        env,
        color,
        width,
        rerun: () => runDoctor(opts, caps),
        signal: ctrl.signal,
      });
      return g.report.exitCode;
    }
    out(a.json ? `${JSON.stringify(reportToJson(report), null, 2)}\n` : text(report));
    return report.exitCode;
  } catch (e) {
    if (ctrl.signal.aborted) throw new CancelledError();
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function fixFlow(
  before: DoctorReport,
  a: DoctorArgs,
  ctx: { env: Env; caps: DoctorCaps; opts: DoctorOptions; tty: boolean; out: (s: string) => void; text: (r: DoctorReport) => string },
): Promise<number> {
  const { env, out } = ctx;
  // The fixer (merge, diff, safe writes) loads only for --fix.
  const { applyFixes, planFixes } = await import('../doctor/fix.js');
  const fp = await planFixes(before, env);
  const summary: FixSummary = {
    files: fp.writes.map((w) => ({ path: w.path, existed: w.existed, diff: w.diff })),
    applied: false,
    backupDir: null,
    manual: fp.manual.map((c) => `${c.id}: ${c.fix ?? c.title}`),
    after: fp.after,
    before: before.summary,
  };
  if (!fp.writes.length) {
    if (a.json) out(`${JSON.stringify(reportToJson(before, { fix: summary }), null, 2)}\n`);
    else {
      out(ctx.text(before));
      out(fp.manual.length ? `\nNothing for --fix to change: the problems above need you (each says how).\n` : '\nNothing to fix.\n');
    }
    return before.exitCode;
  }
  if (!a.json) out(`doctor --fix would change ${fp.writes.length} file${fp.writes.length === 1 ? '' : 's'}:\n${diffsText(fp, env, before.secrets)}\n`);
  if (!a.yes) {
    if (!ctx.tty) {
      throw new UsageError(
        `doctor --fix would change ${fp.writes.length} file${fp.writes.length === 1 ? '' : 's'} and there is no terminal to confirm it.`,
        'Pass --yes to apply it (a backup of every file is kept): aider-mlx doctor --fix --yes',
      );
    }
    if (!(await terminalAsk('Apply these changes? (a backup of every file is kept)'))) {
      out('Nothing changed.\n');
      return before.exitCode;
    }
  }
  const applied = await applyFixes(fp, env, ctx.caps.signal);
  summary.applied = true;
  summary.backupDir = applied.backupDir ?? null;
  const after = await runDoctor(ctx.opts, ctx.caps);
  if (a.json) out(`${JSON.stringify(reportToJson(after, { fix: summary }), null, 2)}\n`);
  else {
    const shown = (p: string) => {
      const w = fp.writes.find((x) => x.path === p || x.target === p);
      return w && w.target !== w.path ? `${tildify(w.path, env)} (a link: ${tildify(w.target, env)} changed)` : tildify(p, env);
    };
    out(`Changed ${applied.written.map(shown).join(', ')}${applied.backupDir ? `; backup in ${tildify(applied.backupDir, env)}` : ''}.\n`);
    for (const n of fp.after) out(`  → ${n}\n`);
    out('Checking again:\n\n');
    out(ctx.text(after));
    out(`\n${resolvedLine(fp.addresses, after.checks, fp.after.length > 0)}\n`);
  }
  return after.exitCode;
}

/**
 * What --fix did, counted on the checks run again: resolved (it passes now, or is gone: a check made
 * only of a problem, such as a doubled /v1, is not there once fixed), and fixed in the file but seen
 * until a process that reads it only at start (the proxy) is started or restarted as said.
 */
export function resolvedLine(addresses: readonly DoctorCheck[], after: readonly DoctorCheck[], restartSaid: boolean): string {
  const now = (c: DoctorCheck) => after.find((x) => x.id === c.id);
  const fixed = addresses.filter((c) => [undefined, 'pass'].includes(now(c)?.status)).length;
  const waiting = restartSaid ? addresses.filter((c) => {
    const n = now(c);
    return n !== undefined && n.status !== 'pass' && (n.restart !== undefined || n.start !== undefined) && !n.edits?.length;
  }).length : 0;
  const n = addresses.length;
  return `--fix resolved ${fixed} of ${n} problem${n === 1 ? '' : 's'} it could touch${waiting ? `; ${waiting} ${waiting === 1 ? 'is' : 'are'} fixed in the file and ${waiting === 1 ? 'goes' : 'go'} once you start or restart what is said above` : ''}.`;
}
