import { CancelledError } from '../../errors.js';
import { safeLitellmInstall } from '../../lib/compromised.js';
import { proxyPortState } from '../../setup/verify.js';
import type { Mode } from '../../config/plan.js';
import { composeWrites } from '../../config/write.js';
import type { Step } from '../step.js';
import { throwIfCancelled, type WizardContext } from '../context.js';
import { draftPlan, portFor } from '../draft.js';
import { installChoice, installNow } from '../install-offer.js';

async function chooseMode(ctx: WizardContext): Promise<Mode> {
  const lite = ctx.survey?.tools.litellm;
  const proxyPort = portFor(ctx, 'proxy');
  if (!lite || lite.compromised) {
    if (lite?.compromised) ctx.prompter.note('error', `litellm ${lite.version} (${lite.bin}) is a known-compromised release: it will not be started. Remove it.`);
    const offer = await installChoice(ctx, 'litellm', 'install' as const);
    for (;;) {
      const choice = await ctx.prompter.select<Mode | 'install'>({
        id: 'mode',
        flag: '--mode proxy|direct',
        message: lite ? 'How should Aider reach the servers?' : 'LiteLLM is not installed. How should Aider reach the servers?',
        help: [`Install LiteLLM safely with: ${safeLitellmInstall()}`],
        choices: [
          { value: 'direct', label: 'Directly: Aider talks to each mlx_lm.server', hint: 'works now' },
          ...(offer ? [{ ...offer.choice, label: `${offer.choice.label} and go through the proxy` }] : []),
          { value: 'proxy', label: 'Through a LiteLLM proxy: write its config now, install LiteLLM later', hint: 'not verified' },
        ],
        default: ctx.answers.mode ?? 'direct',
      });
      if (choice !== 'install') return choice;
      const got = await installNow(ctx, offer!.installer, 'litellm');
      if (got && ctx.survey) {
        ctx.survey.tools.litellm = { bin: got.bin, version: got.version, compromised: false };
        return 'proxy';
      }
    }
  }
  return ctx.prompter.select<Mode>({
    id: 'mode',
    flag: '--mode proxy|direct',
    message: 'How should Aider reach the servers?',
    choices: [
      { value: 'proxy', label: `Through a LiteLLM proxy on 127.0.0.1:${proxyPort}`, hint: `recommended · litellm ${lite.version ?? ''}`.trim(), description: 'One address for every model, retries, and a key that keeps other programs off it.' },
      { value: 'direct', label: 'Directly: Aider talks to each mlx_lm.server', hint: 'one less process' },
    ],
    default: ctx.answers.mode ?? 'proxy',
  });
}

/** Proxy or direct: decided before the ports (the proxy needs one). */
export const mode: Step = {
  id: 'mode',
  title: 'Proxy or direct',
  skip: (ctx) => Boolean(ctx.accepted) || ctx.fixed.mode !== undefined,
  async run(ctx) {
    ctx.answers.mode = await chooseMode(ctx);
  },
};

/** With the servers up: start LiteLLM from the rendered config and send a completion through it. */
export const proxy: Step = {
  id: 'proxy',
  title: 'Proxy check',
  skip: (ctx) => (ctx.fixed.mode ?? ctx.answers.mode) !== 'proxy',
  async run(ctx) {
    ctx.checks = ctx.checks.filter((c) => !c.id.startsWith('proxy'));
    const lite = ctx.survey?.tools.litellm;
    if (!lite) {
      ctx.checks.push({ id: 'proxy.installed', title: 'LiteLLM proxy: not verified', status: 'warn', observed: 'litellm is not installed', fix: `Install it: ${safeLitellmInstall()}` });
      return;
    }
    if (lite.compromised) {
      ctx.checks.push({ id: 'proxy.compromised', title: `LiteLLM proxy: litellm ${lite.version} is a known-compromised release`, status: 'fail', fix: `Remove it and reinstall: ${safeLitellmInstall()}` });
      return;
    }
    const serverChecks = ctx.checks.filter((c) => c.id.startsWith('server.'));
    if (serverChecks.some((c) => c.status !== 'pass')) {
      ctx.prompter.note('warn', 'The proxy is not checked: a model server was skipped or failed.');
      ctx.checks.push({ id: 'proxy', title: 'LiteLLM proxy: not verified (a model server was not verified first)', status: 'skip' });
      return;
    }
    for (let attempt = 0; ; attempt++) {
      const { plan } = await draftPlan(ctx);
      const composed = await composeWrites(plan, ctx.env, ctx.survey?.prevPlan, { cwd: ctx.cwd });
      // A port held by anything but a LiteLLM of this config would get Aider's key: ask first.
      const held = await ctx.prompter.task(`Checking the proxy port ${plan.proxy.port}`, (h) =>
        proxyPortState(plan, composed.proxyKey, { timeoutMs: 5000, signal: h.signal }),
      );
      throwIfCancelled(ctx.signal);
      if (held.state === 'taken') {
        ctx.prompter.note('error', `Port ${plan.proxy.port}, the proxy's port, is held by ${held.what}.`);
        const next = await ctx.prompter.select<'other' | 'again' | 'direct' | 'stop'>({
          id: 'proxy.port',
          flag: '--proxy-port N',
          message: `Port ${plan.proxy.port} is taken: Aider would send its key to that program. What now?`,
          choices: [
            { value: 'other', label: `Use port ${held.free} for the proxy`, hint: 'free' },
            { value: 'again', label: `I stopped it${held.holder ? ` (pid ${held.holder.pid})` : ''}: check again` },
            { value: 'direct', label: 'Use direct mode: Aider talks to the servers' },
            { value: 'stop', label: 'Stop setup here (nothing is written)' },
          ],
          default: 'other',
        });
        if (next === 'other') {
          if (ctx.fixed.ports.proxy !== undefined) ctx.fixed.ports.proxy = held.free;
          ctx.answers.ports.proxy = held.free;
        } else if (next === 'direct') {
          ctx.answers.mode = 'direct';
          return;
        } else if (next === 'stop') throw new CancelledError();
        continue;
      }
      const checks = await ctx.prompter.task('Starting LiteLLM on 127.0.0.1 and sending a completion through it', (h) =>
        ctx.deps.verifyProxy(plan, composed, ctx, h),
      );
      throwIfCancelled(ctx.signal);
      const failed = checks.find((c) => c.status === 'fail');
      if (!failed) {
        for (const c of checks) ctx.prompter.note(c.status === 'pass' ? 'success' : 'warn', c.title);
        ctx.checks.push(...checks);
        return;
      }
      ctx.prompter.note('error', `${failed.title}: ${failed.observed ?? ''}`);
      const next = await ctx.prompter.select<'retry' | 'direct' | 'keep'>({
        id: 'proxy.failed',
        message: 'The proxy did not answer. What now?',
        choices: [
          { value: 'retry', label: 'Try again' },
          { value: 'direct', label: 'Use direct mode: Aider talks to the servers' },
          { value: 'keep', label: 'Keep proxy mode and write the config anyway' },
        ],
        default: attempt === 0 ? 'retry' : 'keep',
      });
      if (next === 'direct') {
        ctx.answers.mode = 'direct';
        return;
      }
      if (next === 'keep') {
        ctx.checks.push(...checks);
        return;
      }
    }
  },
};
