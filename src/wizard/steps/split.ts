/**
 * "Split it across Macs": offered when a chosen model does not fit this Mac. Asks for the other
 * Macs (ssh names and the addresses the ranks talk on), checks each (setup/split.ts: ssh, the same
 * mlx and mlx-lm, the model's files there), shows the split fit, and keeps the group for the plan.
 * The same for Ink and --plain (this is the logic; the faces only draw the questions).
 */
import type { RoleName } from '../../config/plan.js';
import type { Group, GroupHost } from '../../config/plan-schema.js';
import { estimateModelMemory, fitModel, type Fit } from '../../hub/fit.js';
import { checkHosts, groupOf, parseHosts, splitFitReport, type Exec } from '../../setup/split.js';
import { GoBack } from '../prompter.js';
import type { Step } from '../step.js';
import { activeRoles, pickFor, type WizardContext } from '../context.js';
import { contextFor } from '../draft.js';
import { estimateInput, sizingFor } from '../model-rows.js';

/** The model of `role` alone at its context (or `context`), against this Mac's budget. */
export function aloneFit(ctx: WizardContext, role: RoleName, context = contextFor(ctx, role)): Fit | undefined {
  const budget = ctx.survey?.catalogue.budget;
  const pick = pickFor(ctx, role);
  if (!budget || !pick) return undefined;
  return fitModel(estimateModelMemory(estimateInput(sizingFor(ctx.survey, pick.model), context)), budget);
}

/**
 * The smallest context the split question judges by: a model that fits at this size is not "too
 * big for this Mac"; only the context is, and the context question has said so already (with the
 * largest that fits, or the user's "use anyway").
 */
export const SPLIT_JUDGE_CONTEXT = 4096;

/**
 * The roles whose model does not fit this Mac even alone (one per model; not a running server, not
 * fixed by a flag, nor kept from the plan by reconfigure: a change of port or mode does not reopen
 * where a model the user kept runs).
 */
export function rolesToSplit(ctx: WizardContext): RoleName[] {
  const seen = new Set<string>();
  return activeRoles(ctx).filter((r) => {
    const pick = pickFor(ctx, r);
    if (!pick || pick.running || seen.has(pick.model)) return false;
    if (ctx.fixed.splitChosen) return Boolean(seen.add(pick.model));
    if (ctx.fixed.models[r]?.source === 'plan' || ctx.fixed.groups?.[r]) return false;
    seen.add(pick.model);
    return aloneFit(ctx, r, Math.min(contextFor(ctx, r), SPLIT_JUDGE_CONTEXT))?.label === 'too-big';
  });
}

const hostsProblem = (v: string): string | undefined => {
  const p = parseHosts(v);
  return 'problem' in p ? p.problem : undefined;
};

/** One role: split or keep; the hosts; the checks and the split fit; again, keep, or take it. */
export async function splitRole(ctx: WizardContext, role: RoleName, o: { exec?: Exec } = {}): Promise<void> {
  const pick = pickFor(ctx, role)!;
  const fit = aloneFit(ctx, role);
  const tooBig = fit?.label === 'too-big';
  // Reconfigure: a model the plan splits is asked with its group (kept unless the user says otherwise).
  const planned = ctx.fixed.groups?.[role];
  if (planned) {
    ctx.answers.groups = { ...ctx.answers.groups, [role]: planned };
    delete ctx.fixed.groups![role];
  }
  for (;;) {
    const v = await ctx.prompter.select<'split' | 'keep'>({
      id: `split.${role}`,
      flag: '--split-hosts H1,H2',
      message: tooBig ? `${pick.model} does not fit this Mac. Split it across Macs?` : `Split ${pick.model} across Macs?`,
      help: [...(fit ? [fit.arithmetic] : []), "mlx_lm.server can serve one model over several Macs: each holds a share of it, this Mac answers."],
      choices: [
        { value: 'split', label: 'Split it across Macs', hint: 'asks for the other Macs, checks each over ssh' },
        { value: 'keep', label: 'Keep it on this Mac', hint: tooBig ? 'it may run out of memory' : 'it fits this Mac' },
      ],
      // Splitting is the default only for a model that does not fit (or one split already).
      default: tooBig || planned ? 'split' : 'keep',
    });
    if (v === 'keep') {
      if (ctx.answers.groups) delete ctx.answers.groups[role];
      return;
    }
    try {
      const group = await askHosts(ctx, role, o);
      if (group) {
        ctx.answers.groups = { ...ctx.answers.groups, [role]: group };
        return;
      }
    } catch (e) {
      if (!(e instanceof GoBack)) throw e;
    }
  }
}

/** The hosts, checked; undefined to ask "split?" again. */
async function askHosts(ctx: WizardContext, role: RoleName, o: { exec?: Exec }): Promise<Group | undefined> {
  const pick = pickFor(ctx, role)!;
  const prev = ctx.answers.groups?.[role];
  const show = (hs: GroupHost[]) => hs.map((h) => (h.address ? `${h.ssh}=${h.address}` : h.ssh)).join(',');
  for (;;) {
    const othersRaw = await ctx.prompter.text({
      id: `split.${role}.hosts`,
      flag: '--split-hosts H1,H2',
      message: 'The other Macs: ssh name=address (the address the ranks talk on, e.g. its Thunderbolt bridge IP), comma-separated',
      help: ['Each needs key-based ssh from this Mac, the same mlx-lm venv path, and the model downloaded. 127.0.0.1 runs a rank on this Mac (to try it out).'],
      placeholder: 'mac2.local=192.168.2.2',
      ...(prev ? { default: show(prev.hosts.slice(1)) } : {}),
      validate: (v) => hostsProblem(v),
    });
    const others = (parseHosts(othersRaw) as { hosts: GroupHost[] }).hosts;
    let self: GroupHost = { ssh: '127.0.0.1' };
    if (!others.every((h) => h.ssh === '127.0.0.1')) {
      const selfRaw = await ctx.prompter.text({
        id: `split.${role}.self`,
        message: "This Mac: its ssh name=address, as the other Macs reach it",
        placeholder: 'mac1.local=192.168.2.1',
        ...(prev && prev.hosts[0]!.ssh !== '127.0.0.1' ? { default: show(prev.hosts.slice(0, 1)) } : {}),
        validate: (v) => {
          const p = parseHosts(v);
          if ('problem' in p) return p.problem;
          return p.hosts.length !== 1 ? 'one host: this Mac' : p.hosts[0]!.ssh === '127.0.0.1' ? "the other Macs cannot reach this Mac on 127.0.0.1: give its name and address" : undefined;
        },
      });
      self = (parseHosts(selfRaw) as { hosts: GroupHost[] }).hosts[0]!;
    }
    const g = groupOf([self, ...others]);
    if ('problem' in g) {
      ctx.prompter.note('error', `${g.problem}.`);
      continue;
    }
    const checked = await ctx.prompter.task('Checking each Mac over ssh', () =>
      checkHosts({ group: g.group, model: pick.model, env: ctx.hostEnv, ...(o.exec ? { exec: o.exec } : {}) }),
    );
    for (const c of checked.checks) {
      ctx.prompter.note(c.status === 'pass' ? 'success' : c.status === 'fail' ? 'error' : 'warn', `${c.title}${c.observed && c.status !== 'pass' ? `: ${c.observed}` : ''}`);
      if (c.status === 'fail' && c.fix) ctx.prompter.note('dim', `  ${c.fix}`);
    }
    const catalogue = ctx.survey?.catalogue;
    const split = catalogue
      ? await splitFitReport({ group: g.group, model: pick.model, context: contextFor(ctx, role), catalogue, memory: checked.memory, env: ctx.hostEnv })
      : undefined;
    for (const l of split?.lines ?? []) ctx.prompter.note(split!.kind, l);
    const bad = !checked.ok || split?.problem !== undefined || split?.fit?.label === 'too-big';
    if (!bad) return g.group;
    const next = await ctx.prompter.select<'again' | 'keep' | 'anyway'>({
      id: `split.${role}.failed`,
      message: checked.ok ? 'The split does not work as it is.' : 'A host is not ready for the group.',
      choices: [
        { value: 'again', label: 'Change the hosts', hint: 'after fixing what is said above' },
        { value: 'keep', label: 'Do not split', hint: 'back to the question' },
        { value: 'anyway', label: 'Use these hosts anyway', hint: 'serve will fail until they are ready' },
      ],
      default: 'again',
    });
    if (next === 'anyway') return g.group;
    if (next === 'keep') return undefined;
  }
}

export const split: Step = {
  id: 'split',
  title: 'Split across Macs',
  skip: (ctx) => Boolean(ctx.accepted) || (rolesToSplit(ctx).length === 0 && Object.keys(ctx.answers.groups ?? {}).length === 0),
  async run(ctx) {
    const roles = rolesToSplit(ctx);
    // A group kept from an earlier answer for a model that now fits (or another model) goes.
    for (const r of Object.keys(ctx.answers.groups ?? {}) as RoleName[]) if (!roles.includes(r)) delete ctx.answers.groups![r];
    for (const role of roles) await splitRole(ctx, role);
  },
};
