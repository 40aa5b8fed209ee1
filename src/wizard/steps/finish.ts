import { dirname } from 'node:path';
import { servedModels } from '../../config/names.js';
import { maxOutputTokens } from '../../config/render.js';
import { keyInEnvFile } from '../../config/render-context.js';
import { isLoopback, tunnelCommand, tunnelPort } from '../../serve/remote.js';
import { formatCheck } from '../../lib/check.js';
import { asRun, configPaths, selfCommand, tildify, type Env } from '../../lib/paths.js';
import type { Summary } from '../prompter.js';
import type { Step } from '../step.js';
import type { WizardContext } from '../context.js';
import { cacheBound, startCommandFor } from './servers.js';

/**
 * A command line for the end screens: `$ ` and the command, a comment after it. The faces print a
 * `$ ` line whole (never broken by them at the terminal's width), so a paste runs it as printed.
 */
export function commandLine(command: string, comment?: string): string {
  return `$ ${command}${comment ? `   # ${comment}` : ''}`;
}

/** The exact commands to bring everything back, one by one (what `serve` does for you). */
export function byHandSteps(ctx: WizardContext): string[] {
  const plan = ctx.plan!;
  const show = (p: string) => tildify(p, ctx.hostEnv);
  const lines: string[] = [];
  for (const m of servedModels(plan)) {
    for (const d of m.deployments) {
      const check = ctx.checks.find((c) => c.id === `server.${m.roles.join('+')}.${d.port}`);
      const reused = check?.status === 'pass' && !ctx.answers.servers[m.model];
      if (!isLoopback(d.host)) {
        // Never `--host <address>`: mlx_lm.server has no authentication. A tunnel instead.
        lines.push(commandLine(tunnelCommand(d, tunnelPort(d)), `${m.roles.join(' + ')}: a tunnel to ${d.host}, where the server stays on its 127.0.0.1`));
        continue;
      }
      lines.push(commandLine(asRun(startCommandFor(ctx, m.model, d, maxOutputTokens(m), cacheBound(ctx, m))), `${m.roles.join(' + ')}${reused ? ', if it is not running' : ''}`));
    }
  }
  if (plan.mode === 'proxy') {
    lines.push(commandLine(`litellm --config ${show(configPaths(ctx.env).litellm)} --host 127.0.0.1 --port ${plan.proxy.port}`, 'the proxy'));
  }
  return lines;
}

/** The environment the background serve and Aider get: the machine's PATH, our HOME (the demo's). */
export function launchEnv(ctx: Pick<WizardContext, 'env' | 'hostEnv'>): Env {
  const env: Env = { ...ctx.hostEnv };
  for (const k of ['HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME'] as const) {
    if (ctx.env[k] !== undefined) env[k] = ctx.env[k];
  }
  return env;
}

/** Where Aider runs for this plan, in words. */
function aiderWhere(ctx: WizardContext): string {
  const plan = ctx.plan!;
  if (plan.aider.scope === 'profile') return 'with the aider-mlx profile';
  if (plan.aider.scope === 'global') return 'in any repository';
  return `in ${tildify(plan.aider.dir, ctx.hostEnv)}`;
}

/**
 * The demo's files live under a temp HOME: the commands that read them say so (its data folder too,
 * when this machine sets XDG_DATA_HOME: the background serve's pid file is there).
 */
function demoPrefix(ctx: Pick<WizardContext, 'demo' | 'env'>): string {
  if (!ctx.demo) return '';
  const vars = (['HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME'] as const).filter((k) => ctx.env[k] !== undefined).map((k) => `${k}=${ctx.env[k]}`);
  return `${vars.join(' ')} `;
}

/** Start everything, then code: which terminal does what. */
export function wizardNextSteps(ctx: WizardContext): string[] {
  const plan = ctx.plan!;
  const demoEnv = demoPrefix(ctx);
  const standIn = ctx.serverKind === 'stand-in' ? ' --stand-in' : '';
  const them = `the servers${plan.mode === 'proxy' ? ' and the proxy' : ''}`;
  const self = selfCommand();
  const cmd = commandLine;
  if (ctx.atLogin) {
    const lines = [
      ...(ctx.launch ? [`Aider starts in this terminal now, ${aiderWhere(ctx)}.`] : []),
      `launchd keeps ${them} up, now and at every login (logs in ${tildify(ctx.atLogin.logs, ctx.hostEnv)}):`,
      cmd(`${self} service status`, 'shows them'),
      cmd(`${self} service uninstall`, 'stops them for good'),
    ];
    if (ctx.launch) lines.push(cmd(`${self} launch`, 'later, in any terminal: checks they answer, then Aider'));
    else if (plan.aider.scope === 'profile') lines.push(cmd(`${self} aider`, 'in this terminal'));
    else if (plan.aider.scope === 'global') lines.push(cmd('aider', 'in this terminal, in any repository'));
    else lines.push(cmd(`cd ${tildify(plan.aider.dir, ctx.hostEnv)} && aider`, 'in this terminal'));
    return lines;
  }
  if (ctx.launch) {
    return [
      `Aider starts in this terminal now, ${aiderWhere(ctx)}.`,
      `The servers${plan.mode === 'proxy' ? ' and the proxy' : ''} keep running in the background (pid ${ctx.launch.pid}, log ${tildify(ctx.launch.log, ctx.hostEnv)}):`,
      cmd(`${demoEnv}${self} status`, 'shows them'),
      cmd(`${demoEnv}${self} stop`, 'stops them'),
      cmd(`${demoEnv}${self} launch${standIn}`, 'later, in any terminal: starts what is down, then Aider'),
    ];
  }
  if (!ctx.survey?.tools.aider) {
    // Nothing runs now, and `launch` needs Aider: what works as printed first, then the install.
    // Every step a command (the demo's HOME=… on each: the install too, or it goes to the real
    // home); what they are for is said below them, not as a step.
    return [
      cmd(`${demoEnv}${self} serve${standIn}`, `starts ${them} and keeps them up in this terminal (Ctrl-C stops them)`),
      cmd(`${demoEnv}${self} status`, 'in another terminal: shows each one, up or down'),
      cmd(`${demoEnv}${self} install aider`, 'Aider is not installed here, and launch starts it'),
      cmd(`${demoEnv}${self} launch${standIn}`, `then: starts ${them} in the background, and Aider in this terminal`),
    ];
  }
  const lines = [cmd(`${demoEnv}${self} launch${standIn}`, `this terminal: starts ${them} in the background, then Aider`)];
  lines.push(cmd(`${demoEnv}${self} serve${standIn}`, 'or, to watch them, in a second terminal: keeps them up (Ctrl-C stops them)'));
  if (plan.aider.scope === 'profile') lines.push(cmd(`${demoEnv}${self} aider`, 'and then in this terminal'));
  else if (plan.aider.scope === 'global') lines.push(cmd(`${demoEnv}aider`, 'and then in this terminal, in any repository'));
  else lines.push(cmd(`cd ${tildify(plan.aider.dir, ctx.hostEnv)} && aider`, 'and then in this terminal'));
  return lines;
}

/** A demo's folder is still used once it ends: by its background serve, Aider started next, or launchd's agents. */
export function demoFolderInUse(ctx: Pick<WizardContext, 'background' | 'launch' | 'atLogin'>): boolean {
  return Boolean(ctx.background || ctx.launch || ctx.atLogin);
}

/** The demo wrote its plan: the next steps it prints (serve, status, launch with its HOME=…) read it from its folder. */
function demoStepsUseFolder(ctx: Pick<WizardContext, 'plan' | 'dryRun'>): boolean {
  return ctx.plan !== undefined && !ctx.dryRun;
}

/**
 * A demo removes its folder as it ends, unless something still needs it: a folder given with
 * --demo-dir, one its background serve, Aider or launchd use, or the one its printed next steps
 * read (those would fail with "No plan yet"). The summary says which, and how to remove it.
 */
export function demoFolderKept(ctx: Pick<WizardContext, 'background' | 'launch' | 'atLogin' | 'demoDirGiven' | 'plan' | 'dryRun'>): boolean {
  return Boolean(ctx.demoDirGiven) || demoFolderInUse(ctx) || demoStepsUseFolder(ctx);
}

export function summaryOf(ctx: WizardContext): Summary {
  const failed = ctx.checks.some((c) => c.status === 'fail');
  const sections: Summary['sections'] = [];
  if (ctx.checks.length) sections.push({ title: 'Checks', lines: ctx.checks.map((c) => formatCheck(c)) });
  const files = ctx.planned ?? [];
  sections.push({
    title: ctx.dryRun ? 'Files (dry run: nothing written)' : 'Files',
    lines: [
      ...files.map((p) => `${p.changed ? (ctx.dryRun ? 'would write' : p.existed ? 'updated  ' : 'created  ') : 'unchanged'} ${tildify(p.path, ctx.hostEnv)}`),
      ...(ctx.backupDir ? [`backup of the replaced files: ${tildify(ctx.backupDir, ctx.hostEnv)}`] : []),
      ...(ctx.plan && keyInEnvFile(ctx.plan)
        ? [`the proxy's key is in ${tildify(configPaths(ctx.env).aiderEnv, ctx.hostEnv)} (outside the repository; .aider.conf.yml reads it with env-file)`]
        : []),
    ],
  });
  if (ctx.plan) {
    sections.push({ title: 'Next steps', lines: wizardNextSteps(ctx) });
    sections.push({ title: 'Or by hand', lines: byHandSteps(ctx) });
  }
  if (ctx.demo) {
    const folder = tildify(dirname(ctx.env.HOME ?? ''), ctx.hostEnv);
    sections.push({
      title: 'This was a demo',
      lines: [
        demoFolderInUse(ctx)
          ? `Stand-in servers answered instead of mlx_lm.server; the files are under ${folder}, which the servers in the background use: \`${demoPrefix(ctx)}${selfCommand()} stop\`, then removing ${folder}, cleans it up.`
          : ctx.demoDirGiven
            ? `Stand-in servers answered instead of mlx_lm.server; the files are under ${folder} (--demo-dir: kept).`
            : demoStepsUseFolder(ctx)
              ? `Stand-in servers answered instead of mlx_lm.server; the demo's files stay in ${folder} for the steps above (on your Mac they run without the HOME=… XDG_CONFIG_HOME=… part). When you are done: rm -rf ${folder}`
              : `Stand-in servers answered instead of mlx_lm.server; the demo's files (${folder}) are removed as it ends.`,
        `On a Mac with Apple silicon, run \`${selfCommand()}\` for the real thing.`,
      ],
    });
  }
  return { title: ctx.dryRun ? 'Dry run done' : failed ? 'Written, with failed checks' : 'Ready', ok: !failed, sections };
}

/** The command "Start Aider now?" runs, as the user would type it. */
function launchCommand(ctx: WizardContext): string {
  return `${demoPrefix(ctx)}${selfCommand()} launch${ctx.serverKind === 'stand-in' ? ' --stand-in' : ''}`;
}

/**
 * Start (or restart) the background serve for the plan just written and check every server. The
 * servers this wizard started and verified are handed to it (each model loads once); the others
 * (none that can outlive us) are stopped first and the serve starts its own.
 */
async function startInBackground(ctx: WizardContext, title: string, restart: boolean): Promise<boolean> {
  const { ensureRunning } = await import('../../serve/ensure-running.js');
  const { commandLineOf } = await import('../../serve/background.js');
  const handOver: Array<{ key: string; pid: number; command: string; port: number }> = [];
  for (const [key, s] of [...ctx.started]) {
    const pid = s.server.release ? s.server.pid : undefined;
    const command = pid !== undefined ? await commandLineOf(pid) : undefined;
    if (pid !== undefined && command) handOver.push({ key, pid, command, port: s.port });
    else {
      await s.server.stop().catch(() => undefined);
      ctx.started.delete(key);
    }
  }
  try {
    const r = await ctx.prompter.task(title, (h) =>
      ensureRunning(ctx.plan!, {
        env: launchEnv(ctx),
        standIn: ctx.serverKind === 'stand-in',
        timeoutSec: ctx.timeoutSec,
        restart,
        signal: h.signal,
        say: (l) => (h.status(l), h.log(l)),
        handOver: handOver.map(({ pid, command, port }) => ({ pid, command, port })),
      }),
    );
    // Handed over: the background serve has them now (and `stop` stops them); we no longer do.
    if (r.background?.handedOver?.length) {
      for (const h of handOver) {
        ctx.started.get(h.key)?.server.release?.();
        ctx.started.delete(h.key);
      }
    }
    await stopStarted(ctx);
    if (r.background) {
      ctx.background = { pid: r.background.pid, log: r.background.log };
      ctx.prompter.note('success', `The servers run in the background: aider-mlx serve, pid ${r.background.pid}, log ${tildify(r.background.log, ctx.hostEnv)}`);
    } else ctx.prompter.note('success', 'Every server already answers: nothing to start.');
    return true;
  } catch (e) {
    await stopStarted(ctx);
    if (ctx.signal.aborted) throw e;
    ctx.prompter.note('error', (e as Error).message);
    return false;
  }
}

/**
 * "Keep the servers up at login": the wizard's servers and a background serve of ours are stopped
 * (launchd starts its own), the agents installed as `aider-mlx service install` does, then every
 * server is waited for (never started by us: launchd does that).
 */
async function installAtLogin(ctx: WizardContext): Promise<boolean> {
  const [{ installAgents, installReportLines }, { stopBackground }, { ensureRunning }, { run }, { ownedLocations }] = await Promise.all([
    import('../../service/launchd.js'),
    import('../../serve/background.js'),
    import('../../serve/ensure-running.js'),
    import('../../lib/exec.js'),
    import('../../service/locations.js'),
  ]);
  const env = launchEnv(ctx);
  const caps = {
    env,
    exec: (cmd: string, args: string[], o?: { timeoutMs?: number }) => run(cmd, args, { ...o, env }),
    uid: process.getuid?.() ?? 501,
    platform: 'darwin' as const,
  };
  await stopStarted(ctx);
  try {
    const stopped = await stopBackground(ctx.env);
    if (stopped.stopped) ctx.prompter.note('dim', `Stopped aider-mlx serve (pid ${stopped.stopped.pid}): launchd runs the servers now.`);
    const r = await ctx.prompter.task('Installing the start-at-login agents (launchd)', () => installAgents(ctx.plan!, caps));
    for (const l of installReportLines(r, ctx.hostEnv)) ctx.prompter.note(l.startsWith('✗') ? 'error' : l.startsWith('✓') ? 'success' : 'dim', l);
    if (r.failed.length) {
      ctx.prompter.note('error', 'Some agents did not load (above): `aider-mlx service status` shows them, `aider-mlx service install` tries again.');
      return false;
    }
    await ctx.prompter.task("Waiting for launchd's servers to answer", (h) =>
      ensureRunning(ctx.plan!, { env, start: false, timeoutSec: ctx.timeoutSec, signal: h.signal, say: (l) => (h.status(l), h.log(l)) }),
    );
    ctx.atLogin = { logs: ownedLocations(env, 'darwin').logs };
    ctx.prompter.note('success', 'launchd runs the servers now and at every login, and restarts one that exits.');
    return true;
  } catch (e) {
    if (ctx.signal.aborted) throw e;
    ctx.prompter.note('error', (e as Error).message);
    return false;
  }
}

export const finish: Step = {
  id: 'finish',
  title: 'Next steps',
  async run(ctx) {
    const plan = ctx.plan;
    const failed = ctx.checks.some((c) => c.status === 'fail');
    const canLaunch = Boolean(plan && ctx.wrote && !ctx.dryRun);
    // A serve of ours that runs the old setup (or one the servers step stopped): bring it back with the new one.
    const { readBackground, planDigest } = await import('../../serve/background.js');
    const bg = canLaunch && !ctx.demo ? await readBackground(ctx.env) : undefined;
    const stale = Boolean(bg?.running && bg.record.planDigest !== (await planDigest(ctx.env)));
    let restart = Boolean(ctx.restartServe && canLaunch && !ctx.demo);
    if (stale && !restart) {
      restart = await ctx.prompter.confirm({
        id: 'serve.restart',
        message: `aider-mlx serve (pid ${bg!.record.pid}) runs the earlier setup in the background. Restart it with the new one?`,
        help: ['It stops the servers it runs, starts the new ones and checks each answers.'],
        default: true,
      });
    }
    // The last question, on a terminal: Aider, now, in this terminal.
    let launch = false;
    if (canLaunch && ctx.prompter.face !== 'non-interactive') {
      if (!ctx.survey?.tools.aider) {
        // Its install and the launch are the summary's next steps (one list, in one order, printed once).
        ctx.prompter.note('warn', 'aider is not installed, so it cannot start now: the next steps below install it, then start it.');
      } else {
        launch = await ctx.prompter.confirm({
          id: 'launch',
          message: 'Start Aider now?',
          help: [
            `The servers${plan!.mode === 'proxy' ? ' and the proxy' : ''} stay up in the background (\`${demoPrefix(ctx)}${selfCommand()} stop\` stops them) and Aider starts here, ${aiderWhere(ctx)}.`,
            `$ ${launchCommand(ctx)}`,
          ],
          default: !failed,
        });
      }
    }
    // "Keep the servers up at login": a follow-up to yes (default no), or --at-login. Only where launchd is.
    let atLogin = false;
    if (canLaunch && !ctx.demo) {
      const [{ loginServiceOffer }, { which }] = await Promise.all([import('../../service/launchd.js'), import('../../lib/exec.js')]);
      const offer = loginServiceOffer({ platform: ctx.survey?.os ?? process.platform, launchctl: which('launchctl', ctx.hostEnv) });
      if (ctx.fixed.atLogin) {
        if (offer.offered) atLogin = true;
        else ctx.prompter.note('warn', offer.reason);
      } else if (launch && offer.offered && ctx.prompter.face !== 'non-interactive') {
        atLogin = await ctx.prompter.confirm({
          id: 'launch.at-login',
          flag: '--at-login',
          message: 'Keep the servers up at login too?',
          help: [
            `launchd starts the servers${plan!.mode === 'proxy' ? ' and the proxy' : ''} now and at every login, and restarts one that exits (\`aider-mlx service uninstall\` removes them).`,
            'No: they run in the background until `aider-mlx stop` or a restart of the Mac.',
          ],
          default: false,
        });
      }
    }
    // Kept running only when the background serve takes them over (below); else stopped now.
    // The demo's stand-ins too: "Start Aider now?" says they stay up, and they do (`stop` stops them).
    const handOver = (launch || restart) && !atLogin;
    if (ctx.started.size && !handOver) {
      const n = ctx.started.size;
      await stopStarted(ctx);
      // The commands that bring them back are the summary's next steps, not a second list here.
      const back = `the next steps below bring ${n === 1 ? 'it' : 'them'} back`;
      if (!launch && !restart && !atLogin) ctx.prompter.note('dim', `Stopped the ${n === 1 ? 'server' : `${n} servers`} this wizard started${ctx.demo ? ' (they stop with the demo)' : ''}; ${back}.`);
    }
    if (atLogin) {
      if ((await installAtLogin(ctx)) && launch) {
        ctx.launch = { env: launchEnv(ctx), cwd: ctx.cwd, standIn: ctx.serverKind === 'stand-in', pid: undefined, log: ctx.atLogin?.logs ?? '' };
      }
    } else if (launch) {
      if (await startInBackground(ctx, 'Starting the servers in the background and checking each answers', restart)) {
        ctx.launch = { env: launchEnv(ctx), cwd: ctx.cwd, standIn: ctx.serverKind === 'stand-in', pid: ctx.background?.pid, log: ctx.background?.log ?? '' };
      }
    } else if (restart) {
      await startInBackground(ctx, 'Restarting aider-mlx serve in the background with the new setup', true);
    }
    await ctx.prompter.finish(summaryOf(ctx));
  },
};

/** Stop every process this run started (cancel, error, or the end). Never throws. */
export async function stopStarted(ctx: WizardContext): Promise<void> {
  const all = [...ctx.started.values()];
  ctx.started.clear();
  await Promise.all(all.map((s) => s.server.stop().catch(() => undefined)));
}
