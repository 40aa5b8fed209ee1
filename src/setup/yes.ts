/**
 * `setup --yes` (no terminal, nothing asked): without --editor it takes the setup proposed for
 * this machine and says what it chose and why; a --context over the model's maximum or the memory
 * budget is refused with the largest value that fits; each model's default context is the one the
 * wizard would show.
 */
import { UsageError } from '../errors.js';
import type { Env } from '../lib/paths.js';
import { buildCatalogue, type Catalogue } from '../hub/catalogue.js';
import { findLitellm } from '../servers/litellm.js';
import { aiderDirFor } from './build-plan.js';
import { checkContext, defaultContext, fitAtFor, type FitAt } from './context-fit.js';
import { fitRoles } from '../hub/fit.js';
import { estimateInput, sizingIn } from '../hub/sizing.js';
import type { SetupInput } from './flags.js';
import { maxContextFromCache } from './model-config.js';
import { checkPortSlots, findRunningServers, reusedLine, type PortKey } from './running.js';
import { isLoopback } from '../serve/remote.js';
import { describeProposal, proposeMode, proposeSetup, readAiderConf } from './proposal.js';

export interface PreparedYes {
  input: SetupInput;
  /** What the proposal chose and why (empty when --editor was given). */
  chosen: string[];
  defaultContextOf: (model: string) => Promise<number>;
  /** This machine's catalogue, when it could be read (the split fit is sized with it). */
  catalogue?: Catalogue;
}

export async function prepareYes(
  input: SetupInput,
  o: {
    env: Env;
    cwd: string;
    given: Set<string>;
    catalogue?: (env: Env) => Promise<Catalogue>;
    findRunning?: typeof findRunningServers;
    checkPorts?: typeof checkPortSlots;
    /** reconfigure: the contexts of the written plan, by model; a model in it keeps its own (no default is recomputed). */
    keepContexts?: ReadonlyMap<string, number>;
  },
): Promise<PreparedYes> {
  const catalogue = await (o.catalogue ?? ((env) => buildCatalogue({ env, skipHub: true })))(o.env).catch(() => undefined);
  const maxOf = (m: string) => maxContextFromCache(m, o.env).catch(() => undefined);
  let next = { ...input };
  const chosen: string[] = [];
  let proposal: Awaited<ReturnType<typeof proposeSetup>> | undefined;
  const modeLines: string[] = [];
  if (!next.editor) {
    if (!catalogue) {
      throw new UsageError('--editor is required with --yes here (the curated model list could not be read).', 'For example: --editor mlx-community/Qwen2.5-Coder-7B-Instruct-4bit');
    }
    const project = await aiderDirFor('project', { env: o.env, cwd: o.cwd });
    const [litellm, projectConf] = await Promise.all([findLitellm(o.env, 30_000).catch(() => undefined), readAiderConf(project.dir)]);
    proposal = await proposeSetup(
      { catalogue, ...(litellm ? { litellm } : {}), ...(projectConf ? { projectConf } : {}), projectInGit: project.git !== false, maxContextOf: maxOf },
      {
        ...(next.architect ? { architect: next.architect } : {}),
        ...(next.weak ? { weak: next.weak } : {}),
        ...(o.given.has('mode') ? { mode: next.mode } : {}),
        ...(o.given.has('scope') ? { scope: next.scope } : {}),
        ...(next.context !== undefined ? { context: next.context } : {}),
      },
    );
    next = { ...next, editor: proposal.models.editor!.model, mode: proposal.mode, scope: proposal.scope };
  } else if (!o.given.has('mode')) {
    // --editor without --mode: the mode the proposal would take here (no proxy without LiteLLM).
    const m = proposeMode(await findLitellm(o.env, 30_000).catch(() => undefined));
    if (m.mode !== next.mode) {
      next = { ...next, mode: m.mode };
      modeLines.push(`mode: ${m.mode} (no --mode given): ${m.why}`);
    }
  }
  // Starts or finds: a role without a port given uses the local mlx_lm.server that already serves its model.
  const portNotes: string[] = [];
  const reused = new Set<string>();
  if (!next.split) {
    const roles = ([['editor', next.editor], ['architect', next.architect], ['weak', next.weak]] as const).filter(
      (r): r is readonly ['editor' | 'architect' | 'weak', string] => Boolean(r[1]) && !o.given.has(`${r[0]}-port`),
    );
    const running = await (o.findRunning ?? findRunningServers)(roles.map((r) => r[1]), { host: next.host, home: o.env.HOME });
    for (const [role, model] of roles) {
      const r = running.get(model);
      if (!r) continue;
      next = { ...next, [`${role}Port`]: r.port };
      reused.add(role);
      portNotes.push(reusedLine(role, model, r));
    }
  }
  // As the wizard's proposal does: a port another program holds moves to the next free one. One a
  // flag gave stays: the servers' check refuses it, saying who holds it (exit 2).
  if (!next.split && isLoopback(next.host)) {
    const slots: Array<{ key: PortKey; model?: string; port: number; fixed: boolean }> = [];
    const seen = new Set<string>();
    for (const role of ['editor', 'architect', 'weak'] as const) {
      const model = next[role];
      if (!model || seen.has(model)) continue;
      seen.add(model);
      if (!reused.has(role)) slots.push({ key: role, model, port: next[`${role}Port`], fixed: o.given.has(`${role}-port`) });
    }
    if (next.mode === 'proxy') slots.push({ key: 'proxy', port: next.proxyPort, fixed: o.given.has('proxy-port') });
    // A flag's port is only kept out of the way: its holder is the servers' check's to name.
    const free = slots.filter((x) => !x.fixed);
    const avoid = slots.filter((x) => x.fixed).map((x) => x.port);
    for (const slot of free.length ? await (o.checkPorts ?? checkPortSlots)(free, { host: next.host, home: o.env.HOME, avoid }) : []) {
      if (slot.state !== 'taken' || slot.instead === undefined) continue;
      next = { ...next, [`${slot.key}Port`]: slot.instead };
      portNotes.push(`${slot.port} is held by ${slot.holder ?? 'another program'}: ${slot.instead} instead`);
    }
  }
  if (proposal) {
    chosen.push(
      `No --editor given: the setup proposed for this machine (${Math.round(catalogue!.memory.totalBytes / 2 ** 30)} GB memory; --editor, --mode, --scope and --context override it):`,
      ...describeProposal(proposal, { ports: { editor: next.editorPort, architect: next.architectPort, weak: next.weakPort, proxy: next.proxyPort }, host: next.host, portNotes }),
    );
  } else chosen.push(...modeLines, ...portNotes.map((n) => `ports: ${n}`));
  if (next.context !== undefined) {
    const models = [next.editor!, next.architect, next.weak].filter((m): m is string => Boolean(m));
    const fitAt = fitAtFor(catalogue, models);
    for (const m of models) {
      const max = await maxOf(m);
      const problem = checkContext(m, next.context, { ...(max ? { max } : {}), fitAt });
      if (problem) {
        throw new UsageError(
          `--context ${next.context}: ${problem.message}`,
          problem.largest !== undefined ? `Use --context ${problem.largest} (the largest that fits), or leave --context out for the model's default.` : 'Pick a smaller model.',
        );
      }
    }
  }
  // reconfigure: a model the plan already has keeps its context, and a new model's default is sized
  // next to the kept ones.
  const decided: Array<{ model: string; context: number }> = [...(o.keepContexts ?? new Map<string, number>())]
    .filter(([m]) => [next.editor, next.architect, next.weak].includes(m))
    .map(([model, context]) => ({ model, context }));
  return {
    input: next,
    chosen,
    ...(catalogue ? { catalogue } : {}),
    // As the wizard does: each role's default is sized with the models chosen before it at their
    // contexts (editor, then architect, then weak), so the same set gets the same contexts.
    defaultContextOf: async (m) => {
      const max = await maxOf(m);
      const earlier = decided.filter((d) => d.model !== m);
      const fitAt: FitAt | undefined = catalogue
        ? (n) =>
            fitRoles(
              [...earlier, { model: m, context: n }].map((d) => ({ role: d.model, input: estimateInput(sizingIn(catalogue, d.model), d.context) })),
              catalogue.budget,
            )
        : undefined;
      const context = decided.find((d) => d.model === m)?.context
        ?? defaultContext(m, { ...(catalogue ? { catalogue } : {}), ...(max ? { max } : {}), ...(fitAt ? { fitAt } : {}) }).context;
      if (!decided.some((d) => d.model === m)) decided.push({ model: m, context });
      return context;
    },
  };
}
