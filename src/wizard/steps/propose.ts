import { describeProposal, proposeSetup, type Proposal } from '../../setup/proposal.js';
import { maxContextFromCache } from '../../setup/model-config.js';
import { formatGB } from '../../hub/fit.js';
import type { Step } from '../step.js';
import { pickFor, type WizardContext } from '../context.js';
import { hostOf, portFor } from '../draft.js';
import { checkPorts } from './ports.js';
import { reusedLine } from '../../setup/running.js';

/** Put the proposal into the answers (the single steps start from these values after "Adjust…"). */
function apply(ctx: WizardContext, p: Proposal): void {
  const a = ctx.answers;
  if (ctx.fixed.roles === undefined) a.roles = p.roles;
  if (ctx.fixed.weak === undefined) a.weak = p.models.weak ? 'separate' : 'same';
  for (const [role, m] of Object.entries(p.models)) {
    const r = role as keyof typeof p.models;
    if (!ctx.fixed.models[r]) a.models[r] = { model: m!.model, source: m!.cached ? 'cached' : 'curated', context: m!.context };
    if (ctx.fixed.context[r] === undefined) a.context[r] = m!.context;
    a.servers[m!.model] = 'start';
  }
  if (!ctx.fixed.mode) a.mode = p.mode;
  if (!ctx.fixed.scope) a.scope = p.scope;
}

/**
 * The proposal's essentials, for a terminal too short for all of it: each role's model with the
 * memory its server takes, and how the whole fits.
 */
export function proposalSummary(p: Proposal): string[] {
  const lines: string[] = [];
  for (const [role, m] of Object.entries(p.models)) {
    if (!m) continue;
    const label = role === 'editor' ? (p.models.architect ? (p.models.weak ? 'editor' : 'editor + weak') : p.models.weak ? 'editor' : 'model') : role;
    const bytes = p.fit?.processes.find((x) => x.repoId === m.model)?.estimate.totalBytes;
    lines.push(`${label}: ${m.model}${bytes ? ` (${formatGB(bytes)})` : ''}`);
  }
  if (p.fit) lines.push(`memory: ${formatGB(p.fit.totalBytes)} of ${formatGB(p.fit.budgetBytes)} (${Math.round(p.fit.share * 100)}%) → ${p.fit.label.replace('-', ' ')}`);
  return lines;
}

/** After the look around: one complete setup for this machine; Enter takes it, "Adjust…" asks step by step. */
export const propose: Step = {
  id: 'propose',
  title: 'Proposed setup',
  // Taking the proposal or adjusting it decides which steps follow: until it is answered, the step
  // counter counts the steps of its default (taking it).
  assume: () => ({ accepted: true }),
  skip: (ctx) => ctx.reconfigure || (!ctx.survey && !ctx.surveyAhead),
  async run(ctx) {
    const s = ctx.survey!;
    const fixedModel = (r: 'editor' | 'architect' | 'weak') => ctx.fixed.models[r]?.model;
    const p = await proposeSetup(
      {
        catalogue: s.catalogue,
        ...(s.tools.litellm ? { litellm: s.tools.litellm } : {}),
        ...(s.aiderConf.project ? { projectConf: s.aiderConf.project } : {}),
        ...(s.aiderConf.projectInGit === false ? { projectInGit: false } : {}),
        maxContextOf: (m) => maxContextFromCache(m, ctx.hostEnv),
        demo: ctx.demo,
      },
      {
        ...(fixedModel('editor') ? { editor: fixedModel('editor') } : {}),
        ...(fixedModel('architect') ? { architect: fixedModel('architect') } : {}),
        ...(fixedModel('weak') ? { weak: fixedModel('weak') } : {}),
        ...(ctx.fixed.mode ? { mode: ctx.fixed.mode } : {}),
        ...(ctx.fixed.scope ? { scope: ctx.fixed.scope } : {}),
        ...(ctx.fixed.context.editor !== undefined ? { context: ctx.fixed.context.editor } : {}),
      },
    );
    const portsBefore = { ...ctx.answers.ports };
    apply(ctx, p);
    const host = hostOf(ctx);
    const portNotes: string[] = [];
    // Starts or finds: a model a local mlx_lm.server already serves is used where it listens.
    const roles = (Object.keys(p.models) as Array<keyof typeof p.models>).filter((r) => ctx.fixed.ports[r] === undefined && !pickFor(ctx, r)?.running);
    if (ctx.deps.findRunning && !ctx.demo && roles.length) {
      const found = await ctx.prompter.task('Looking for mlx_lm.servers already running', (h) =>
        ctx.deps.findRunning!(roles.map((r) => pickFor(ctx, r)!.model), { host, home: ctx.hostEnv.HOME, signal: h.signal }),
      );
      for (const r of roles) {
        const pick = pickFor(ctx, r)!;
        const at = found.get(pick.model);
        if (!at) continue;
        const running = { ...pick, source: 'running' as const, running: { host: at.host, port: at.port } };
        if (ctx.fixed.models[r]) ctx.fixed.models[r] = running;
        else ctx.answers.models[r] = running;
        portNotes.push(reusedLine(r, pick.model, at));
      }
    }
    // Ports: the usual ones, or the next free one when something else holds it.
    const slots = await ctx.prompter.task(`Checking the ports on ${host}`, (h) => checkPorts(ctx, host, h.signal));
    for (const slot of slots) {
      if (slot.state === 'taken' && slot.instead !== undefined) {
        ctx.answers.ports[slot.key] = slot.instead;
        portNotes.push(`${slot.port} is held by ${slot.holder}: ${slot.instead} instead`);
      } else if (slot.state === 'ours') portNotes.push(`${slot.port}: ${slot.holder}, reused`);
    }
    const ports = Object.fromEntries((['editor', 'architect', 'weak', 'proxy'] as const).map((k) => [k, (k === 'proxy' ? undefined : pickFor(ctx, k)?.running?.port) ?? portFor(ctx, k)]));
    const lines = describeProposal(p, { ports, host, portNotes });
    const v = await ctx.prompter.select<'accept' | 'adjust'>({
      id: 'proposal',
      flag: '--editor MODEL (and --architect MODEL for a pair)',
      message: 'Use this setup?',
      help: lines,
      summary: proposalSummary(p),
      choices: [
        { value: 'accept', label: 'Use this setup', hint: `${pickFor(ctx, 'editor')?.model ?? ''}, ${p.mode} mode, ${p.scope} scope` },
        { value: 'adjust', label: 'Adjust…', hint: 'models, context, mode, ports and scope one by one' },
      ],
      default: 'accept',
    });
    ctx.accepted = v === 'accept';
    if (!ctx.accepted) {
      // The single steps ask as they always do: the ports step shows who holds a port, each server is asked.
      ctx.answers.ports = portsBefore;
      for (const m of Object.keys(ctx.answers.servers)) delete ctx.answers.servers[m];
    }
  },
};
