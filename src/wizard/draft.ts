/** From the answers so far to a Plan, through the same buildPlan that `setup --yes` uses. */
import { DEFAULT_CONTEXT, DEFAULT_HOST, DEFAULT_PORTS, type Plan, type RoleName } from '../config/plan.js';
import { DEFAULT_PROBE_TIMEOUT, type SetupInput } from '../setup/flags.js';
import { buildPlan } from '../setup/build-plan.js';
import { groupDeployment } from '../setup/split.js';
import { maxContextFromCache } from '../setup/model-config.js';
import { recommendedContext } from '../setup/context-fit.js';
import { activeRoles, pickFor, type WizardContext } from './context.js';

export function hostOf(ctx: Pick<WizardContext, 'fixed' | 'answers'>): string {
  return ctx.fixed.host ?? ctx.answers.host ?? DEFAULT_HOST;
}

export function contextFor(ctx: Pick<WizardContext, 'fixed' | 'answers' | 'survey'>, role: RoleName): number {
  const pick = pickFor(ctx, role);
  return ctx.fixed.context[role] ?? ctx.answers.context[role] ?? (pick ? recommendedContext(pick.model, ctx.survey?.catalogue) : DEFAULT_CONTEXT);
}

export function portFor(ctx: Pick<WizardContext, 'fixed' | 'answers'>, key: RoleName | 'proxy'): number {
  return ctx.fixed.ports[key] ?? ctx.answers.ports[key] ?? DEFAULT_PORTS[key];
}

/** The SetupInput these answers amount to (what `setup --yes` would be given). */
export function inputFromAnswers(ctx: WizardContext): SetupInput {
  const roles = activeRoles(ctx);
  const model = (r: RoleName) => (roles.includes(r) ? pickFor(ctx, r)?.model : undefined);
  const port = (r: RoleName) => pickFor(ctx, r)?.running?.port ?? portFor(ctx, r);
  return {
    yes: true,
    editor: model('editor'),
    editorPort: port('editor'),
    architect: model('architect'),
    architectPort: port('architect'),
    weak: model('weak'),
    weakPort: port('weak'),
    proxyPort: portFor(ctx, 'proxy'),
    host: hostOf(ctx),
    mode: ctx.fixed.mode ?? ctx.answers.mode ?? 'proxy',
    scope: ctx.fixed.scope ?? ctx.answers.scope ?? 'project',
    context: Math.max(...roles.map((r) => contextFor(ctx, r))),
    timeoutSec: ctx.timeoutSec ?? DEFAULT_PROBE_TIMEOUT,
    requestTimeoutSec: ctx.requestTimeoutSec,
    force: Boolean(ctx.fixed.replace ?? ctx.answers.replace),
    dryRun: ctx.dryRun,
    json: false,
    atLogin: Boolean(ctx.fixed.atLogin ?? ctx.answers.atLogin),
  };
}

/**
 * The plan for the current answers. buildPlan caps each context at the model's own maximum; the
 * wizard's per-role contexts and running servers' addresses are applied on top.
 */
export async function draftPlan(ctx: WizardContext): Promise<{ plan: Plan; notes: string[] }> {
  const input = inputFromAnswers(ctx);
  const { plan, notes } = await buildPlan(input, {
    env: ctx.env,
    cwd: ctx.cwd,
    maxContextOf: (m) => maxContextFromCache(m, ctx.hostEnv),
  });
  for (const r of activeRoles(ctx)) {
    const role = plan.roles[r];
    const pick = pickFor(ctx, r);
    if (!role || !pick || role.model !== pick.model) continue;
    role.context = Math.min(role.context, contextFor(ctx, r));
    if (pick.running) role.deployments = [{ host: pick.running.host, port: pick.running.port }];
    const group = ctx.fixed.groups?.[r] ?? ctx.answers.groups?.[r];
    if (group && !pick.running) role.deployments = [groupDeployment(group, role.deployments[0]?.port ?? portFor(ctx, r))];
  }
  return { plan, notes };
}
