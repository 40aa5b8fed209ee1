import { dirname } from 'node:path';
import { servedModels } from '../../config/names.js';
import { maxOutputTokens } from '../../config/render.js';
import { keyInEnvFile } from '../../config/render-context.js';
import { isLoopback, tunnelCommand, tunnelPort } from '../../serve/remote.js';
import { formatCheck } from '../../lib/check.js';
import { configPaths, tildify } from '../../lib/paths.js';
import type { Summary } from '../prompter.js';
import type { Step } from '../step.js';
import type { WizardContext } from '../context.js';
import { cacheBound, startCommandFor } from './servers.js';

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
        lines.push(`${tunnelCommand(d, tunnelPort(d))}   # ${m.roles.join(' + ')}: a tunnel to ${d.host}, where the server stays on its 127.0.0.1`);
        continue;
      }
      lines.push(`${startCommandFor(ctx, m.model, d, maxOutputTokens(m), cacheBound(ctx, m))}   # ${m.roles.join(' + ')}${reused ? ', if it is not running' : ''}`);
    }
  }
  if (plan.mode === 'proxy') {
    lines.push(`litellm --config ${show(configPaths(ctx.env).litellm)} --host 127.0.0.1 --port ${plan.proxy.port}`);
  }
  return lines;
}

/** Start everything, then code. */
export function wizardNextSteps(ctx: WizardContext): string[] {
  const plan = ctx.plan!;
  // The demo's files live under a temp HOME: say so in the commands that read them.
  const demoEnv = ctx.demo ? `HOME=${ctx.env.HOME} XDG_CONFIG_HOME=${ctx.env.XDG_CONFIG_HOME} ` : '';
  const lines = [`${demoEnv}npx aider-mlx serve${ctx.serverKind === 'stand-in' ? ' --stand-in' : ''}   # starts every server${plan.mode === 'proxy' ? ' and the proxy' : ''}, keeps them up`];
  if (plan.aider.scope === 'profile') lines.push(`${demoEnv}npx aider-mlx aider`);
  else if (plan.aider.scope === 'global') lines.push(`${demoEnv}aider   # in any repository`);
  else lines.push(`cd ${tildify(plan.aider.dir, ctx.hostEnv)} && aider`);
  return lines;
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
    sections.push({
      title: 'This was a demo',
      lines: [
        `Stand-in servers answered instead of mlx_lm.server; the files are under ${tildify(dirname(ctx.env.HOME ?? ''), ctx.hostEnv)}.`,
        'On a Mac with Apple silicon, run `npx aider-mlx` for the real thing.',
      ],
    });
  }
  return { title: ctx.dryRun ? 'Dry run done' : failed ? 'Written, with failed checks' : 'Ready', ok: !failed, sections };
}

export const finish: Step = {
  id: 'finish',
  title: 'Next steps',
  async run(ctx) {
    if (ctx.started.size) {
      const n = ctx.started.size;
      await stopStarted(ctx);
      ctx.prompter.note('dim', `Stopped the ${n === 1 ? 'server' : `${n} servers`} this wizard started; \`aider-mlx serve\` brings ${n === 1 ? 'it' : 'them'} back and keeps ${n === 1 ? 'it' : 'them'} up.`);
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
