/**
 * `aider-mlx setup`: picks the face once. A terminal gets the wizard (Ink, or line mode with
 * --plain / TERM=dumb); --yes, --json, --answers, CI or no terminal get the non-interactive
 * pipeline, which never prompts. Heavy modules are imported only on the path that needs them, so
 * the first frame of the Ink face is not held up by them.
 */
import { CancelledError, EXIT, UsageError } from '../errors.js';
import type { Env } from '../lib/paths.js';
import type { SetupResult } from '../setup/run.js';
import type { Prompter } from '../wizard/prompter.js';
import type { LaunchAfter } from '../wizard/context.js';

export interface OwnFlags {
  plain: boolean;
  demo: boolean;
  answers?: string;
  demoDir?: string;
}

/** The wizard's own flags (the rest are setup flags): the help test reads these lists. */
export const OWN_SWITCHES = ['plain', 'demo'] as const;
export const VALUE_FLAGS = ['answers', 'demo-dir'] as const;

/** Take the wizard's own flags out; the rest are setup flags for parseSetupFlags. */
export function splitOwnFlags(args: string[]): { own: OwnFlags; rest: string[] } {
  const own: OwnFlags = { plain: false, demo: false };
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const sw = OWN_SWITCHES.find((f) => a === `--${f}`);
    if (sw) own[sw] = true;
    else {
      const name = VALUE_FLAGS.find((f) => a === `--${f}` || a.startsWith(`--${f}=`));
      if (!name) {
        rest.push(a);
        continue;
      }
      const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i];
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value.`, name === 'answers' ? 'For example: --answers answers.yaml' : 'For example: --demo-dir /tmp/aider-mlx-demo');
      if (name === 'answers') own.answers = value;
      else own.demoDir = value;
    }
  }
  if (own.demoDir && !own.demo) throw new UsageError('--demo-dir only goes with --demo.');
  return { own, rest };
}

export type Face = 'ink' | 'plain' | 'non-interactive';

/**
 * Decided once. No terminal on either end, or CI: non-interactive (never hang on a prompt). A
 * request for no questions (--yes, --json, --answers): non-interactive. --plain or TERM=dumb: line
 * mode. Otherwise Ink.
 */
export function chooseFace(
  o: { yes: boolean; json: boolean; answers: boolean; plain: boolean },
  env: Env = process.env,
  streams: { stdin: { isTTY?: boolean }; stdout: { isTTY?: boolean } } = process,
): Face {
  const tty = Boolean(streams.stdin.isTTY && streams.stdout.isTTY);
  const ci = Boolean(env.CI) && env.CI !== 'false' && env.CI !== '0';
  if (!tty || ci || o.yes || o.json || o.answers) return 'non-interactive';
  if (o.plain || env.TERM === 'dumb') return 'plain';
  return 'ink';
}

function printText(r: SetupResult, out: (s: string) => void, raw: (s: string) => void, fmt: { formatCheck: (c: SetupResult['checks'][number]) => string; tildify: (p: string, env?: Env) => string; command: 'setup' | 'reconfigure' }) {
  const env = process.env;
  const { formatCheck, tildify } = fmt;
  out(`aider-mlx ${fmt.command} — ${r.plan.mode} mode, Aider files in ${tildify(r.plan.aider.dir, env)} (${r.plan.aider.scope})\n`);
  for (const n of r.notes) out(`  note: ${n}\n`);
  out('\nChecks\n');
  for (const c of r.checks) out(`  ${formatCheck(c).replace(/\n/g, '\n  ')}\n`);
  const failed = r.checks.some((c) => c.status === 'fail');
  if (r.dryRun) {
    out('\nDry run: nothing written. These are the changes:\n');
    // A diff is the files' own text: never wrapped.
    for (const f of r.files) (f.changed && f.diff ? raw : out)(f.changed ? (f.diff ? `${f.diff}\n` : `(mode change) ${tildify(f.path, env)}\n`) : `  unchanged ${tildify(f.path, env)}\n`);
    for (const f of r.files) if (f.linkNote) out(`  note: ${f.linkNote}\n`);
    return;
  }
  if (failed && r.written.length === 0) {
    out(`\n✗ Verification failed: nothing was written. Fix the above and run ${fmt.command} again (or --force to write anyway).\n`);
    return;
  }
  out('\nFiles\n');
  for (const f of r.files) out(`  ${f.changed ? (f.existed ? 'updated  ' : 'created  ') : 'unchanged'} ${tildify(f.path, env)}${f.linkNote ? ' (was a symbolic link: now a file of its own)' : ''}\n`);
  for (const f of r.files) if (f.linkNote && r.written.includes(f.path)) out(`  note: ${f.linkNote}\n`);
  if (r.backupDir) out(`  backup of the replaced files: ${tildify(r.backupDir, env)}\n`);
  out('\nNext\n');
  r.next.forEach((s, i) => out(`  ${i + 1}. ${s}\n`));
}

/**
 * The non-interactive pipeline (setup --yes): verify, render, write; never prompts. `baseArgs`
 * (an answers file, or reconfigure's current plan) come first: the flags typed win over them.
 */
export async function runNonInteractive(o: {
  baseArgs: string[];
  rest: string[];
  allowNoEditor?: boolean;
  cwd?: string;
  /** Which command runs it (named in the text output's header); setup by default. */
  command?: 'setup' | 'reconfigure';
  /** reconfigure: each model's context in the written plan, kept unless --context is typed. */
  keepContexts?: ReadonlyMap<string, number>;
  /** --plain was asked for: the refusal says it needs a terminal. */
  plain?: boolean;
}): Promise<number> {
  const [{ parseSetupFlags }, { runSetup }, { maxContextFromCache }, { formatCheck }, { tildify }, { envSecrets, redact, redactDeep }, { wrapText, columnsFor }] = await Promise.all([
    import('../setup/flags.js'),
    import('../setup/run.js'),
    import('../setup/model-config.js'),
    import('../lib/check.js'),
    import('../lib/paths.js'),
    import('../lib/redact.js'),
    import('../lib/wrap.js'),
  ]);
  const secrets = envSecrets(process.env);
  // Prose wrapped at the terminal's width (80 without one); commands and paths stay whole.
  const wrapped = (s: string) => wrapText(s, columnsFor(process.stdout));
  const args = [...o.baseArgs, ...o.rest];
  const parsed = parseSetupFlags(args);
  if (!parsed.yes && !o.allowNoEditor && !parsed.editor) {
    throw new UsageError(
      // As without --plain: no terminal, no answers, nothing decided for the user.
      `There is no terminal to ask the setup questions in${o.plain ? ' (--plain asks on a terminal only)' : ''}.`,
      'Pass --yes to take the setup proposed for this machine, or the answers as flags (--editor MODEL …), or --answers FILE; `aider-mlx setup --help` lists them.',
    );
  }
  const { prepareYes } = await import('../setup/yes.js');
  const cwd = o.cwd ?? process.cwd();
  // No --editor: the proposal for this machine, said before anything runs (so a failure still shows it).
  const prepared = await prepareYes(parsed, {
    env: process.env,
    cwd,
    given: new Set(args.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]!)),
    ...(o.keepContexts ? { keepContexts: o.keepContexts } : {}),
  });
  const input = prepared.input;
  if (prepared.chosen.length && !input.json) process.stdout.write(redact(wrapped(`${prepared.chosen.join('\n')}\n\n`), secrets));
  const ctrl = new AbortController();
  const onSigint = () => ctrl.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  // A closed terminal (SIGHUP) cancels like Ctrl-C: the scratch proxy is stopped, nothing written.
  process.once('SIGHUP', onSigint);
  try {
    const result = await runSetup(input, {
      env: process.env,
      cwd,
      signal: ctrl.signal,
      progress: input.json ? undefined : (l) => process.stderr.write(`${redact(l, secrets)}\n`),
      maxContextOf: (m) => maxContextFromCache(m, process.env),
      defaultContextOf: prepared.defaultContextOf,
      ...(prepared.catalogue ? { catalogue: prepared.catalogue } : {}),
      // The split fit, before the checks and the write (the same lines as the wizard's split step).
      ...(input.json ? {} : { say: (l: string) => void process.stdout.write(redact(wrapped(`${l}\n`), secrets)) }),
    });
    if (input.json) {
      // Every value redacted: diffs, checks' observed text, notes (the user's own keys included).
      process.stdout.write(
        JSON.stringify(
          redactDeep({
            ok: result.code === 0,
            exitCode: result.code,
            ...(prepared.chosen.length ? { proposal: prepared.chosen } : {}),
            dryRun: result.dryRun,
            plan: result.plan,
            notes: result.notes,
            checks: result.checks,
            files: result.files.map(({ diff, ...f }) => (result.dryRun ? { ...f, diff } : f)),
            written: result.written,
            backupDir: result.backupDir ?? null,
            next: result.next,
            ...(result.split ? { split: result.split } : {}),
          }, secrets),
          null,
          2,
        ) + '\n',
      );
    } else printText(result, (s) => process.stdout.write(redact(wrapped(s), secrets)), (s) => process.stdout.write(redact(s, secrets)), { formatCheck, tildify, command: o.command ?? 'setup' });
    if (input.atLogin && !result.dryRun && result.written.length && result.code === 0) {
      return (await installAtLoginAfterSetup(result.plan, { env: process.env, platform: process.platform, json: input.json, out: (s) => process.stdout.write(redact(s, secrets)) })) ?? result.code;
    }
    return result.code;
  } catch (e) {
    if (ctrl.signal.aborted) throw new CancelledError();
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    process.off('SIGHUP', onSigint);
  }
}

/**
 * `setup --yes --at-login`, once the files are written: the launchd agents, installed by the same
 * code as `aider-mlx service install`; elsewhere one line saying it needs launchd (exit unchanged).
 */
export async function installAtLoginAfterSetup(
  plan: import('../config/plan.js').Plan,
  o: { env: Env; platform: NodeJS.Platform; json: boolean; out: (s: string) => void; exec?: import('../servers/ports.js').Exec; uid?: number },
): Promise<number | undefined> {
  const [{ loginServiceOffer, installAgents, installReportLines }, { run, which }] = await Promise.all([import('../service/launchd.js'), import('../lib/exec.js')]);
  const offer = loginServiceOffer({ platform: o.platform, launchctl: which('launchctl', o.env) });
  if (!offer.offered) {
    // --json: the result above is the whole of stdout; the line goes to stderr.
    if (o.json) process.stderr.write(`${offer.reason}\n`);
    else o.out(`\n${offer.reason}\n`);
    return undefined;
  }
  const r = await installAgents(plan, { env: o.env, exec: o.exec ?? run, uid: o.uid ?? process.getuid?.() ?? 501, platform: o.platform });
  const lines = ['', 'Start at login (launchd)', ...installReportLines(r, o.env).map((l) => `  ${l}`)];
  lines.push(r.failed.length ? '  Some agents did not load (above): `aider-mlx service status` shows them.' : '  They run now and at every login. Stop `aider-mlx serve` if it runs: both would want the same ports.');
  if (o.json) process.stderr.write(`${lines.join('\n')}\n`);
  else o.out(`${lines.join('\n')}\n`);
  return r.failed.length ? EXIT.verify : undefined;
}

/**
 * Start a face: Ink (its first frame is drawn from the smallest module that can draw it, before the
 * rest of the face and the wizard load), or line mode.
 */
export async function openFace(face: Face, o: { demo: boolean; title: string; onCancel: () => void; signal: AbortSignal; plain?: boolean }): Promise<Prompter> {
  if (face === 'ink') {
    const first = (await import('../ui/boot.js')).drawFirstFrame(o);
    return (await import('../ui/index.js')).startInkFace(o, first);
  }
  if (face === 'plain') return (await import('../prompters/plain.js')).createPlainPrompter(o);
  const [{ NonInteractivePrompter }, { wrapText, columnsFor }] = await Promise.all([import('../prompters/non-interactive.js'), import('../lib/wrap.js')]);
  // Its lines wrapped by the one rule: the terminal's width, 80 in a pipe or a log.
  const out = (l: string) => process.stderr.write(`${wrapText(l, columnsFor(process.stderr))}\n`);
  if (o.plain) out('No terminal: --plain needs one to ask; running without questions, as --yes would (answers from a file: --answers FILE).');
  return new NonInteractivePrompter({ yes: true, out, signal: o.signal });
}

/** The wizard on any face; Ctrl-C and SIGINT/SIGTERM cancel it cleanly (exit 130). */
export async function runInteractive(
  face: Face,
  o: { title: string; demo: boolean; plain?: boolean; run: (prompter: Prompter, signal: AbortSignal) => Promise<number> },
): Promise<number> {
  const ctrl = new AbortController();
  const cancel = () => ctrl.abort();
  process.on('SIGINT', cancel);
  process.on('SIGTERM', cancel);
  process.on('SIGHUP', cancel);
  let prompter: Prompter | undefined;
  try {
    prompter = await openFace(face, { demo: o.demo, title: o.title, onCancel: cancel, signal: ctrl.signal, plain: o.plain });
    return await o.run(prompter, ctrl.signal);
  } catch (e) {
    if (ctrl.signal.aborted || e instanceof CancelledError) throw new CancelledError();
    throw e;
  } finally {
    await prompter?.close();
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
    process.off('SIGHUP', cancel);
  }
}

export async function runSetupCommand(args: string[]): Promise<number> {
  if (args.includes('--adopt')) return runAdoptCommand(args);
  const { own, rest } = splitOwnFlags(args);
  const given = new Set(rest.map((a) => (a === '-y' ? 'yes' : a.replace(/^--/, '').split('=')[0])));
  const face = chooseFace({ yes: given.has('yes'), json: given.has('json'), answers: own.answers !== undefined, plain: own.plain });
  if (face === 'non-interactive' && !own.demo) {
    const fromFile = own.answers ? await (await import('../wizard/answers.js')).answersToArgs(own.answers) : [];
    return runNonInteractive({ baseArgs: fromFile, rest, allowNoEditor: own.answers !== undefined, plain: own.plain });
  }
  if (own.demo && given.has('json')) throw new UsageError('--demo has no --json output.', 'Run `aider-mlx setup --demo` in a terminal, or without --json.');
  let launch: LaunchAfter | undefined;
  const code = await runInteractive(face, {
    title: 'aider-mlx setup',
    demo: own.demo,
    // --plain asked for questions, and there is no terminal to ask them in: said in one line (only
    // the demo gets here without one; a real setup refuses above, naming --yes and --answers).
    plain: own.plain && !given.has('yes') && !given.has('json') && own.answers === undefined,
    run: async (prompter, signal) => {
      const { runWizardCommand } = await import('../wizard/command.js');
      const r = await runWizardCommand({ prompter, args: rest, demo: own.demo, ...(own.demoDir ? { demoDir: own.demoDir } : {}), signal });
      launch = r.launch;
      return r.code;
    },
  });
  return launch ? runAiderAfter(launch) : code;
}

/** "Start Aider now?": the face is closed, the servers run in the background; Aider gets this terminal. */
export async function runAiderAfter(launch: LaunchAfter): Promise<number> {
  const { launchAfterWizard } = await import('./launch.js');
  return launchAfterWizard(launch, { err: (s) => void process.stderr.write(s) });
}

/**
 * `aider-mlx setup --adopt [--litellm-config FILE] [--yes] [--dry-run] [--json] [-- <aider args>]`:
 * the hand-written chain found here becomes the plan. Only the plan is written.
 */
export async function runAdoptCommand(args: string[]): Promise<number> {
  const dd = args.indexOf('--');
  const own = dd >= 0 ? args.slice(0, dd) : args;
  const aiderArgs = dd >= 0 ? args.slice(dd + 1) : undefined;
  const [{ parseFlags }, { findAdoption, writeAdoption }, { readPlanRaw }, { configPaths, tildify, asRun }, { maxContextFromCache }, { planToYaml }, { wrapText, columnsFor }] = await Promise.all([
    import('../lib/args.js'),
    import('../setup/adopt.js'),
    import('../config/plan-file.js'),
    import('../lib/paths.js'),
    import('../setup/model-config.js'),
    import('../config/plan-file.js'),
    import('../lib/wrap.js'),
  ]);
  const { values } = parseFlags(
    own,
    { adopt: { type: 'boolean' }, 'litellm-config': { type: 'string' }, yes: { type: 'boolean', short: 'y' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, timeout: { type: 'string' }, plain: { type: 'boolean' } },
    { command: 'setup --adopt', usage: 'Usage: aider-mlx setup --adopt [--litellm-config FILE] [--yes] [--dry-run] [--json] [--timeout SECONDS] [-- <aider args>]' },
  );
  const v = values as { 'litellm-config'?: string; yes?: boolean; 'dry-run'?: boolean; json?: boolean; timeout?: string };
  const env = process.env;
  const timeoutSec = v.timeout === undefined ? 10 : Number(v.timeout);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw new UsageError(`--timeout must be a number of seconds (got "${v.timeout}").`);
  if (await readPlanRaw(env)) {
    throw new UsageError(`There is a plan already at ${tildify(configPaths(env).plan, env)}: nothing to adopt.`, 'Change it with `aider-mlx reconfigure`, or move it away and run `aider-mlx setup --adopt` again.');
  }
  const a = await findAdoption({
    env,
    cwd: process.cwd(),
    timeoutMs: timeoutSec * 1000,
    ...(v['litellm-config'] ? { litellmConfig: v['litellm-config'] } : {}),
    ...(aiderArgs ? { aiderArgs } : {}),
    maxContextOf: (m) => maxContextFromCache(m, env),
  });
  const raw = (s: string) => void process.stdout.write(s);
  // Prose wrapped at the terminal's width (80 without one); the plan's YAML is shown as written.
  const out = (s: string) => raw(wrapText(s, columnsFor(process.stdout)));
  if (!v.json) {
    out(`aider-mlx setup --adopt — found a ${a.plan.mode === 'proxy' ? 'proxy' : 'direct'} chain:\n`);
    for (const f of a.found) out(`  ${f}\n`);
    for (const w of a.warnings) out(`  ! ${w}\n`);
    out(`\nThe plan to write at ${tildify(configPaths(env).plan, env)} (nothing else is written):\n`);
    raw(`${planToYaml(a.plan).replace(/^#.*\n/gm, '').replace(/^/gm, '  ')}\n`);
  }
  if (!v.yes && !v['dry-run']) {
    const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !v.json;
    if (!tty) throw new UsageError('There is no terminal to confirm the adoption in.', 'Pass --yes to write the plan: aider-mlx setup --adopt --yes');
    const ok = await runInteractive('plain', {
      title: 'aider-mlx setup --adopt',
      demo: false,
      run: async (p) => ((await p.confirm({ id: 'adopt', flag: '--yes', message: 'Write this plan?', default: true })) ? 1 : 0),
    });
    if (!ok) {
      out('Nothing written.\n');
      return 0;
    }
  }
  const w = await writeAdoption(a.plan, env, { dryRun: Boolean(v['dry-run']) });
  if (v.json) {
    const { redactDeep, envSecrets } = await import('../lib/redact.js');
    raw(`${JSON.stringify(redactDeep({ ok: true, dryRun: Boolean(v['dry-run']), plan: a.plan, found: a.found, warnings: a.warnings, written: w.written ? [w.path] : [], backupDir: w.backupDir ?? null }, envSecrets(env)), null, 2)}\n`);
  } else if (v['dry-run']) out('Dry run: nothing written.\n');
  else out(asRun(`Wrote ${tildify(w.path, env)}. Next: \`aider-mlx status\` shows each hop, \`aider-mlx serve\` keeps the servers up, \`aider-mlx reconfigure\` changes them.\n`));
  return 0;
}
