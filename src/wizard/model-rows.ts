/** The rows of the model picker: cached first, then curated picks, running servers, Hub results. */
import type { RoleName } from '../config/plan.js';
import { recommendedContext } from '../setup/context-fit.js';
import type { CuratedEntry } from '../hub/catalogue.js';
import type { CuratedRole } from '../hub/curated.js';
import { estimateModelMemory, FIT_WORDS, fitRoles, formatGB, type Budget, type EstimateInput, type FitLabel, type SetFit } from '../hub/fit.js';
import { parseRepoName } from '../hub/model-facts.js';
import type { HubModel } from '../hub/search.js';
import { estimateInput, sizingFromHub, sizingFromName, sizingIn, sizingOf, type Sizing } from '../hub/sizing.js';
import { activeRoles, pickFor, type ModelPick, type WizardContext } from './context.js';
import { contextFor } from './draft.js';
import type { Choice } from './prompter.js';
import type { Survey } from './survey.js';
import { latestForModel, readBench } from '../bench/store.js';

export type { Sizing };
export { sizingOf, sizingFromHub, sizingFromName, estimateInput };

/** The best sizing we know for a model: catalogue (cache or curated hints), else its name. */
export function sizingFor(survey: Survey | undefined, model: string): Sizing {
  return sizingIn(survey?.catalogue, model);
}

/** The fit of the whole set when `role` runs `candidate` at `context` and the other roles keep theirs. */
export function setFitWith(ctx: WizardContext, role: RoleName, candidate: Sizing, context: number): SetFit | undefined {
  const budget = ctx.survey?.catalogue.budget;
  if (!budget) return undefined;
  const roles = activeRoles(ctx).flatMap((r) => {
    if (r === role) return [{ role: r, input: estimateInput(candidate, context) }];
    const p = pickFor(ctx, r);
    // A running server's memory is already taken; it still counts toward the set.
    return p ? [{ role: r, input: estimateInput(sizingFor(ctx.survey, p.model), contextFor(ctx, r)) }] : [];
  });
  return fitRoles(roles, budget);
}


export function fitWords(f: SetFit | undefined): string {
  if (!f) return '';
  // Unknown KV or weights: the estimate is a lower bound.
  return `${f.known ? '' : 'likely '}${FIT_WORDS[f.label]}`;
}

export function sizeWords(s: Sizing, context: number): string {
  const e = estimateModelMemory(estimateInput(s, context));
  return e.weightsBytes ? `${formatGB(e.weightsBytes)}` : 'size unknown';
}

/** The curated role a picker uses for this wizard role. */
export function curatedRoleFor(ctx: WizardContext, role: RoleName): CuratedRole | undefined {
  const pair = activeRoles(ctx).includes('architect');
  if (role === 'editor') return pair ? 'editor' : 'single';
  if (role === 'architect') return 'architect';
  return undefined;
}

export interface ModelRow extends Choice {
  pick?: ModelPick;
  sizing?: Sizing;
}

export function modelRows(ctx: WizardContext, role: RoleName): ModelRow[] {
  const s = ctx.survey;
  const rows: ModelRow[] = [];
  const seen = new Set<string>();
  const curated = s?.catalogue.curated.picks ?? [];
  const want = curatedRoleFor(ctx, role);
  // The model this role runs now (reconfigure, or setup again): marked in whichever row it is.
  const current = s?.prevPlan?.roles[role]?.model;
  // `aider-mlx bench`'s last result for a model, when there is one.
  const records = readBench(ctx.hostEnv);
  const row = (key: string, model: string, pick: ModelPick, sizing: Sizing, tag: string, description?: string) => {
    const context = ctx.fixed.context[role] ?? recommendedContext(model, s?.catalogue);
    const fit = setFitWith(ctx, role, sizing, context);
    const bench = latestForModel(records, model);
    const measured = bench?.prefillTokPerSec !== undefined ? `measured ${Math.round(bench.prefillTokPerSec)} tok/s prefill` : '';
    rows.push({
      value: key,
      label: model === current ? `${model} (current)` : model,
      hint: [tag, sizeWords(sizing, context), fit ? `${fitWords(fit)} for the set` : '', measured].filter(Boolean).join(' · '),
      ...(description ? { description } : fit ? { description: fit.arithmetic } : {}),
      pick,
      sizing,
    });
  };
  for (const e of s?.catalogue.cached ?? []) {
    if (e.cached?.status !== 'complete' || e.cached.mlx === false) continue;
    const c = curated.find((p) => p.repoId === e.repoId && (!want || p.role === want));
    seen.add(e.repoId);
    row(`cached:${e.repoId}`, e.repoId, { model: e.repoId, source: 'cached', ...(c ? { context: c.context } : {}) }, sizingOf(e), c ? 'cached · recommended' : 'cached', c?.reason);
  }
  const picks: CuratedEntry[] = want ? curated.filter((p) => p.role === want) : [...curated].sort((a, b) => (a.estimate.weightsBytes ?? 0) - (b.estimate.weightsBytes ?? 0));
  for (const p of picks) {
    if (seen.has(p.repoId)) continue;
    seen.add(p.repoId);
    // Without the Hub's size, only that it is not here yet: a bare "download" read as if the next size were its.
    const dl = p.downloadBytes ? `download ${formatGB(p.downloadBytes)}` : 'not cached';
    row(`curated:${p.repoId}`, p.repoId, { model: p.repoId, source: 'curated', context: p.context }, sizingOf(p), `recommended · ${dl}`, p.reason);
  }
  // The current model is always on the list, even when it is neither cached nor a pick.
  if (current && !seen.has(current)) {
    seen.add(current);
    row(`plan:${current}`, current, { model: current, source: 'plan' }, sizingFor(s, current), 'the current setup');
  }
  for (const l of s?.listening ?? []) {
    // Only a server whose model is known: its cache listing does not say which one it serves.
    if (l.kind !== 'mlx_lm.server' || !l.served) continue;
    const model = l.served;
    row(`running:${l.host}:${l.port}`, `${model}`, { model, source: 'running', running: { host: l.host, port: l.port } }, sizingFor(s, model), `running on ${l.host}:${l.port}`);
  }
  rows.push(
    { value: 'search', label: 'Search the Hugging Face Hub…', hint: 'mlx-community models by name' },
    { value: 'type', label: 'Type a repo id or a local path…' },
    { value: 'server', label: 'A server that is already running at host:port…' },
  );
  return rows;
}

export function defaultRow(ctx: WizardContext, role: RoleName, rows: ModelRow[]): string | undefined {
  const prev = pickFor(ctx, role);
  if (prev) {
    const same = rows.find((r) => r.pick?.model === prev.model && (prev.running ? r.pick?.running?.port === prev.running.port : !r.pick?.running));
    if (same) return same.value;
  }
  const models = rows.filter((r) => r.pick);
  // The recommended pick when it is cached, else a cached model that fits, else the recommendation.
  return (
    models.find((r) => r.value.startsWith('cached:') && r.hint?.includes('recommended'))?.value ??
    models.find((r) => r.value.startsWith('cached:') && /fits for/.test(r.hint ?? ''))?.value ??
    models.find((r) => r.value.startsWith('curated:'))?.value ??
    models[0]?.value
  );
}

export type { Budget };
