/** Reconfigure: the current setup with each hop's live status, and the one thing to change. */
import { collectStatus, hopWords } from '../../servers/status.js';
import { ROLE_NAMES, type Plan, type RoleName } from '../../config/plan.js';
import { tildify } from '../../lib/paths.js';
import type { Choice } from '../prompter.js';
import type { Step } from '../step.js';
import { emptyAnswers, type Answers, type WizardContext } from '../context.js';

export type Change =
  | 'editor' | 'architect' | 'add-architect' | 'remove-architect' | 'weak' | 'add-weak' | 'remove-weak'
  | 'ports' | 'split' | 'mode' | 'scope' | 'nothing';

/** Everything the plan says, as fixed answers: reconfigure asks only about what is opened up. */
export function fixedFromPlan(plan: Plan): Answers {
  const f = emptyAnswers();
  f.roles = plan.roles.architect ? 'pair' : 'single';
  f.weak = plan.roles.weak ? 'separate' : 'same';
  for (const r of ROLE_NAMES) {
    const role = plan.roles[r];
    if (!role) continue;
    f.models[r] = { model: role.model, source: 'plan' };
    f.context[r] = role.context;
    f.ports[r] = role.deployments[0]!.port;
    // A model the plan splits across Macs stays split (its group is the plan's, not asked again).
    const group = role.deployments[0]!.group;
    if (group) f.groups = { ...f.groups, [r]: group };
  }
  f.ports.proxy = plan.proxy.port;
  f.host = plan.roles.editor.deployments[0]!.host;
  f.mode = plan.mode;
  f.scope = plan.aider.scope;
  // The files are ours already: replacing our own values is no conflict.
  return f;
}

/** Open up what the change needs to ask; the rest stays as the plan has it. */
export function openUp(f: Answers, change: Change): void {
  const role = (r: RoleName) => {
    delete f.models[r];
    delete f.context[r];
    // Another model: whether to split it is asked again (only if it does not fit).
    if (f.groups) delete f.groups[r];
  };
  switch (change) {
    case 'editor':
    case 'architect':
    case 'weak':
      role(change);
      break;
    case 'add-architect':
      f.roles = 'pair';
      role('architect');
      delete f.ports.architect;
      break;
    case 'remove-architect':
      f.roles = 'single';
      role('architect');
      delete f.ports.architect;
      break;
    case 'add-weak':
      f.weak = 'separate';
      role('weak');
      delete f.ports.weak;
      break;
    case 'remove-weak':
      f.weak = 'same';
      role('weak');
      delete f.ports.weak;
      break;
    case 'ports':
      for (const k of [...ROLE_NAMES, 'proxy'] as const) delete f.ports[k];
      delete f.host;
      break;
    case 'split':
      // Asked again for each model (its current group, if any, is the answer's default).
      f.splitChosen = true;
      break;
    case 'mode':
      // The choice said which way: no question needed.
      f.mode = f.mode === 'proxy' ? 'direct' : 'proxy';
      break;
    case 'scope':
      delete f.scope;
      break;
    case 'nothing':
      break;
  }
}

export function changeChoices(plan: Plan): Choice<Change>[] {
  const { editor, architect, weak } = plan.roles;
  const c: Choice<Change>[] = [{ value: 'editor', label: `Change the editor model`, hint: editor.model }];
  if (architect) {
    c.push({ value: 'architect', label: 'Change the architect model', hint: architect.model });
    c.push({ value: 'remove-architect', label: 'Remove the architect (one model for everything)' });
  } else c.push({ value: 'add-architect', label: 'Add an architect (a planning model)', hint: 'architect mode' });
  if (weak) {
    c.push({ value: 'weak', label: 'Change the weak model', hint: weak.model });
    c.push({ value: 'remove-weak', label: 'Remove the weak model (the editor writes commit messages)' });
  } else c.push({ value: 'add-weak', label: 'Add a small weak model for commit messages' });
  const ports = [...ROLE_NAMES.flatMap((r) => (plan.roles[r] ? [`${r} ${plan.roles[r]!.deployments[0]!.port}`] : [])), ...(plan.mode === 'proxy' ? [`proxy ${plan.proxy.port}`] : [])];
  c.push({ value: 'ports', label: 'Change a port or the host', hint: ports.join(' · ') });
  c.push({ value: 'mode', label: plan.mode === 'proxy' ? 'Switch to direct mode (no proxy)' : 'Switch to proxy mode (LiteLLM)' });
  c.push({ value: 'scope', label: 'Move the Aider files', hint: `now: ${plan.aider.scope}` });
  const split = ROLE_NAMES.filter((r) => plan.roles[r]?.deployments[0]?.group);
  c.push({ value: 'split', label: 'Split a model across Macs (or stop splitting it)', hint: split.length ? `now split: ${split.join(', ')}` : 'now: each model on this Mac' });
  c.push({ value: 'nothing', label: 'Nothing: leave it as it is' });
  return c;
}

export const chooseChange: Step = {
  id: 'change',
  title: 'What to change',
  // Until it is answered, the step counter counts the steps of its default answer (the editor model).
  assume: (ctx) => {
    const plan = ctx.survey?.prevPlan ?? ctx.planAhead;
    if (!plan) return { noChange: false };
    const fixed = fixedFromPlan(plan);
    openUp(fixed, 'editor');
    return { fixed, noChange: false, answers: { ...ctx.answers, models: {} } };
  },
  async run(ctx: WizardContext) {
    const plan = ctx.survey?.prevPlan;
    if (!plan) return;
    const hops = await ctx.prompter.task('Checking each part of the current setup', () => collectStatus(plan, { timeoutMs: 3000, env: ctx.hostEnv }));
    ctx.prompter.note('info', `Current setup: ${plan.mode} mode, Aider files in ${tildify(plan.aider.dir, ctx.hostEnv)} (${plan.aider.scope})`);
    for (const h of hops) {
      const what = h.kind === 'proxy' ? 'proxy (LiteLLM)' : `${h.roles.join(' + ')}: ${h.model}`;
      ctx.prompter.note(h.up ? 'success' : 'warn', `${what} on ${h.host}:${h.port}: ${hopWords(h)}`);
    }
    const change = await ctx.prompter.select<Change>({
      id: 'change',
      flag: 'the flag of the value to change (e.g. --editor MODEL), with --yes',
      message: 'What do you want to change?',
      choices: changeChoices(plan),
      default: 'editor',
    });
    // Start again from the plan each time (Esc and another choice must not pile changes up).
    const fixed = fixedFromPlan(plan);
    openUp(fixed, change);
    ctx.fixed = fixed;
    ctx.answers.models = {};
    ctx.noChange = change === 'nothing';
    if (ctx.noChange) ctx.prompter.note('info', 'Nothing changed.');
  },
};
