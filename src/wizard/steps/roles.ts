import type { Step } from '../step.js';
import type { WizardContext } from '../context.js';
import { FIT_WORDS, formatGB } from '../../hub/fit.js';

type RolesValue = 'single' | 'pair' | 'single-weak' | 'pair-weak';

export const roles: Step = {
  id: 'roles',
  title: 'Roles',
  skip: (ctx) => Boolean(ctx.accepted) || (ctx.fixed.roles !== undefined && ctx.fixed.weak !== undefined),
  async run(ctx: WizardContext) {
    const pairFit = ctx.survey?.catalogue.curated.pair;
    const pairHint = pairFit ? `recommended pair: ${formatGB(pairFit.totalBytes)} of ${formatGB(pairFit.budgetBytes)} → ${FIT_WORDS[pairFit.label]}` : 'two servers: more memory';
    const all: Array<{ value: RolesValue; label: string; hint?: string; description: string }> = [
      { value: 'single', label: 'One model for everything', hint: 'simplest, least memory', description: 'One mlx_lm.server writes the code, the commit messages and the summaries.' },
      { value: 'pair', label: 'Architect + editor', hint: pairHint, description: "Aider's architect mode: a planning model describes the change, an editor model writes it." },
      { value: 'single-weak', label: 'One model + a small weak model', hint: 'commit messages on a small model', description: 'A second, small server for commit messages and chat summaries.' },
      { value: 'pair-weak', label: 'Architect + editor + a small weak model', hint: 'three servers', description: 'Three servers: planner, editor, and a small model for commit messages.' },
    ];
    const ok = (v: RolesValue) =>
      (ctx.fixed.roles === undefined || v.startsWith(ctx.fixed.roles)) &&
      (ctx.fixed.weak === undefined || v.endsWith('-weak') === (ctx.fixed.weak === 'separate'));
    const current = `${ctx.answers.roles ?? 'single'}${ctx.answers.weak === 'separate' ? '-weak' : ''}` as RolesValue;
    const choices = all.filter((c) => ok(c.value));
    const v = await ctx.prompter.select<RolesValue>({
      id: 'roles',
      flag: '--architect MODEL (or none for one model)',
      message: 'How many models?',
      choices,
      default: choices.some((c) => c.value === current) ? current : choices[0]!.value,
    });
    ctx.answers.roles = v.startsWith('pair') ? 'pair' : 'single';
    ctx.answers.weak = v.endsWith('-weak') ? 'separate' : 'same';
  },
};
