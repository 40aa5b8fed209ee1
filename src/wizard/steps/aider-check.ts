import type { Step } from '../step.js';

/** Optional: a real `aider --message` through the chain, with the files just written. */
export const aiderCheck: Step = {
  id: 'aider',
  title: 'Aider check',
  skip: (ctx) => !ctx.wrote || ctx.dryRun || ctx.demo || !ctx.survey?.tools.aider || !ctx.deps.aiderCheck,
  async run(ctx) {
    const blocked = ctx.checks.some((c) => c.status === 'fail' || c.status === 'warn' || c.status === 'skip');
    const yes = await ctx.prompter.confirm({
      id: 'aider-check',
      message: 'Send one real message through Aider now?',
      help: [`aider ${ctx.survey?.tools.aider?.version ?? ''} answers "Reply with OK" through the files just written (about a minute).`.replace('  ', ' ')],
      default: !blocked,
    });
    if (!yes) return;
    const check = await ctx.prompter.task('Running aider --message through the chain', (h) => ctx.deps.aiderCheck!(ctx.plan!, ctx, h));
    ctx.checks.push(check);
    ctx.prompter.note(check.status === 'pass' ? 'success' : 'error', check.status === 'pass' ? check.title : `${check.title}: ${check.observed ?? ''}`);
  },
};
