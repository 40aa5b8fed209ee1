import type { Plan, RoleName } from '../../config/plan.js';
import { ROLE_NAMES } from '../../config/plan.js';
import { lookingAround } from '../../lib/words.js';
import type { Step } from '../step.js';
import type { Answers, WizardContext } from '../context.js';

/** A previous plan's choices become the defaults (never fixed: the user can change each one). */
export function answersFromPlan(plan: Plan, into: Answers): void {
  const { editor, architect, weak } = plan.roles;
  into.roles ??= architect ? 'pair' : 'single';
  into.weak ??= weak ? 'separate' : 'same';
  for (const r of ROLE_NAMES as readonly RoleName[]) {
    const role = plan.roles[r];
    if (!role) continue;
    into.models[r] ??= { model: role.model, source: 'plan' };
    into.context[r] ??= role.context;
    into.ports[r] ??= role.deployments[0]!.port;
  }
  into.host ??= editor.deployments[0]!.host;
  into.ports.proxy ??= plan.proxy.port;
  into.mode ??= plan.mode;
  into.scope ??= plan.aider.scope;
}

export const lookAround: Step = {
  id: 'look',
  title: 'Look around',
  async run(ctx: WizardContext) {
    const survey = await ctx.prompter.task(lookingAround(), async (h) => {
      h.status('mlx_lm, litellm, aider, the Hugging Face cache, ports in use…');
      return ctx.deps.survey(ctx);
    });
    ctx.survey = survey;
    for (const l of survey.lines) ctx.prompter.note('info', l);
    for (const w of survey.warnings) ctx.prompter.note('warn', w);
    if (survey.prevPlan) answersFromPlan(survey.prevPlan, ctx.answers);
  },
};
