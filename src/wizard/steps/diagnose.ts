import type { Step } from '../step.js';
import type { WizardContext } from '../context.js';

/** What failed, as the doctor's pasted-error input (it leads with the checks that can explain it). */
function failureText(ctx: WizardContext): string {
  return ctx.checks
    .filter((c) => c.status === 'fail')
    .map((c) => [c.title, c.observed].filter(Boolean).join(': '))
    .join('\n');
}

/**
 * After a failed check (a server that did not answer, the proxy, the Aider call): the doctor on
 * the files just written, one hop at a time, with the fixes it can make offered on the spot (diff
 * shown, backup kept) and proved by checking again. Interactive faces only: with --yes the summary
 * names `aider-mlx doctor`.
 */
export const diagnose: Step = {
  id: 'diagnose',
  title: 'Diagnose',
  skip: (ctx) => ctx.prompter.face === 'non-interactive' || ctx.dryRun || !ctx.wrote || !ctx.plan || !ctx.checks.some((c) => c.status === 'fail'),
  async run(ctx) {
    const yes = await ctx.prompter.confirm({
      id: 'diagnose',
      message: 'Something failed. Walk through it with the doctor, one part at a time?',
      help: ['It checks Aider → LiteLLM → mlx_lm.server on the files just written, says what is wrong in plain words, and offers the fix.'],
      default: true,
    });
    if (!yes) return;
    const [{ runDoctor }, { guideDoctor }, { parseErrorText }] = await Promise.all([
      import('../../doctor/run.js'),
      import('../../doctor/guided.js'),
      import('../../doctor/error-text.js'),
    ]);
    const plan = ctx.plan!;
    const env = { ...ctx.hostEnv, ...ctx.env };
    const caps = { env, cwd: plan.aider.dir, signal: ctx.signal };
    // Only a failure that reads like a tool's error (an Aider or LiteLLM message) leads the walk.
    const text = failureText(ctx);
    const errorText = text && parseErrorText(text).signals.length ? text : undefined;
    const opts = { timeoutMs: 5000, deep: false, ...(errorText ? { errorText } : {}) };
    const first = await ctx.prompter.task('Checking every part of the setup', () => runDoctor(opts, caps));
    const res = await guideDoctor(first, {
      ask: (message, kind) => ctx.prompter.confirm({ id: `doctor-${kind}`, message, default: kind === 'next' }),
      print: (text) => ctx.prompter.note('info', text.replace(/\n+$/, '')),
      env,
      color: false,
      width: process.stdout.columns || 80,
      rerun: () => ctx.prompter.task('Checking again', () => runDoctor(opts, caps)),
      signal: ctx.signal,
    });
    const { summary } = res.report;
    ctx.checks.push({
      id: 'doctor',
      title: `doctor: ${summary.fail} failing, ${summary.warn} warning${summary.warn === 1 ? '' : 's'}${res.fixed ? ', after its fix' : ''}`,
      status: res.report.ok ? 'pass' : 'fail',
      ...(res.report.ok ? {} : { fix: 'Run `aider-mlx doctor` again once the failing part is up (e.g. after `aider-mlx serve`).' }),
    });
  },
};
