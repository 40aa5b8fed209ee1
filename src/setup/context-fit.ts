/**
 * One answer to "which context window?" for every way a model is chosen (curated pick, typed repo
 * id, Hub result, `setup --yes`): the curated context for this Mac's tier when the model is one of
 * its picks, else 32768; never above the model's own maximum or what fits in the memory budget.
 */
import { DEFAULT_CONTEXT, type Plan, type Role, type RoleName } from '../config/plan.js';
import { isLoopback } from '../serve/remote.js';
import type { Catalogue } from '../hub/catalogue.js';
import { fitRoles, formatGB, type SetFit } from '../hub/fit.js';
import { estimateInput, sizingIn } from '../hub/sizing.js';

/** The smallest context anyone may ask for (what `--context` accepts). */
export const MIN_CONTEXT = 512;
/** Contexts the refusal offers are rounded down to this. */
const STEP = 256;

/** The context a model is sized for on this Mac: its curated pick's (any role), else the default. */
export function recommendedContext(model: string, catalogue?: Pick<Catalogue, 'curated'>): number {
  return catalogue?.curated.picks.find((p) => p.repoId === model)?.context ?? DEFAULT_CONTEXT;
}

/** The fit of a whole set at context `n` for the model in question (the others keep theirs). */
export type FitAt = (n: number) => SetFit | undefined;

/** The fit of one model alone, or of several models that all run at the same context (`--context N`). */
export function fitAtFor(catalogue: Catalogue | undefined, models: string[]): FitAt {
  return (n) => {
    if (!catalogue) return undefined;
    return fitRoles([...new Set(models)].map((m) => ({ role: m, input: estimateInput(sizingIn(catalogue, m), n) })), catalogue.budget);
  };
}

/**
 * The largest context (a multiple of 256, from 512) at which the set still fits the budget; undefined
 * when nothing is known about memory, or when the set does not fit even at 512 tokens (then the
 * model is too big, which no context fixes).
 */
export function largestFittingContext(fitAt: FitAt, upTo: number): number | undefined {
  const fits = (n: number) => {
    const f = fitAt(n);
    return f ? f.label !== 'too-big' : undefined;
  };
  const low = fits(MIN_CONTEXT);
  if (low !== true) return undefined;
  if (fits(upTo)) return upTo;
  let lo = MIN_CONTEXT; // fits
  let hi = upTo; // does not
  while (hi - lo > STEP) {
    const mid = Math.floor((lo + hi) / 2 / STEP) * STEP;
    if (mid <= lo) break;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export interface ContextProblem {
  why: 'model' | 'memory';
  /** The largest value that fits both limits (undefined: nothing fits, see message). */
  largest?: number;
  message: string;
}

/** Over the model's own maximum, or over the memory budget: what is wrong, and the largest value that fits. */
export function checkContext(model: string, n: number, o: { max?: number; fitAt?: FitAt }): ContextProblem | undefined {
  const cap = o.max ?? n;
  const largestMem = o.fitAt ? largestFittingContext(o.fitAt, Math.max(MIN_CONTEXT, Math.min(n, cap))) : undefined;
  const largest = largestMem !== undefined ? Math.min(largestMem, cap) : o.max;
  if (o.max !== undefined && n > o.max) {
    return { why: 'model', largest, message: `${n} tokens is more than ${model} supports (at most ${o.max}, from its config.json).` };
  }
  const f = o.fitAt?.(n);
  if (f && f.label === 'too-big' && largestMem !== undefined) {
    // One server: its own arithmetic (weights + KV + runtime); several: the sum per server.
    const one = f.processes.length === 1 ? f.processes[0]!.estimate : undefined;
    const sum = one ? `${one.arithmetic} of ${formatGB(f.budgetBytes)} budget (${Math.round(f.share * 100)}%)` : f.arithmetic.replace(/ → too big$/, '');
    return { why: 'memory', largest, message: `${n} tokens do not fit in memory: ${sum}. The largest that fits is ${largest} tokens.` };
  }
  return undefined;
}

/** The default context for a model, with the reason when a limit lowered it. */
export function defaultContext(model: string, o: { catalogue?: Catalogue; max?: number; fitAt?: FitAt }): { context: number; why?: string } {
  const wanted = recommendedContext(model, o.catalogue);
  const fitAt = o.fitAt ?? fitAtFor(o.catalogue, [model]);
  const p = checkContext(model, wanted, { ...(o.max !== undefined ? { max: o.max } : {}), fitAt });
  if (!p || p.largest === undefined) return { context: wanted };
  const budget = o.catalogue ? ` of ${formatGB(o.catalogue.budget.bytes)}` : '';
  return { context: p.largest, why: p.why === 'model' ? `${model} supports at most ${o.max} tokens` : `${wanted} tokens would not fit the memory budget${budget}` };
}

/**
 * setup --yes: the plan's models (each served on this Mac, at its context) over the memory budget,
 * said as the wizard says it before "Keep it on this Mac — it may run out of memory": what is over,
 * by how much, and what to choose instead. Undefined when they fit, or nothing is known.
 */
export function overBudgetNote(plan: Plan, catalogue: Catalogue | undefined): string | undefined {
  if (!catalogue) return undefined;
  const roles = (Object.entries(plan.roles) as Array<[RoleName, Role | undefined]>).filter(
    (e): e is [RoleName, Role] => Boolean(e[1]) && e[1]!.deployments.every((d) => !d.group && isLoopback(d.host)),
  );
  if (!roles.length) return undefined;
  const fit = fitRoles(roles.map(([name, r]) => ({ role: name, input: estimateInput(sizingIn(catalogue, r.model), r.context) })), catalogue.budget);
  if (fit.label !== 'too-big') return undefined;
  const over = formatGB(fit.totalBytes - fit.budgetBytes);
  const biggest = [...fit.processes].sort((a, b) => b.estimate.totalBytes - a.estimate.totalBytes)[0]!;
  const alone = fitRoles([{ role: biggest.roles.join('+'), input: { ...estimateInput(sizingIn(catalogue, biggest.repoId), MIN_CONTEXT) } }], catalogue.budget);
  const what = fit.processes.length === 1 || alone.label === 'too-big'
    ? `${biggest.roles.join(' + ')} model ${biggest.repoId} does not fit this Mac${alone.label === 'too-big' ? ' at any context' : ''}`
    : `the models together do not fit this Mac`;
  const role = biggest.roles[0] as RoleName;
  const taken = new Set(roles.map(([, r]) => r.model));
  const pick = catalogue.curated.picks.find((p) => (p.role === role || p.role === 'single') && !taken.has(p.repoId) && p.fit.label !== 'too-big' && p.estimate.totalBytes < biggest.estimate.totalBytes);
  const instead = [
    pick ? `--${role} ${pick.repoId} (this Mac's pick)` : `a smaller ${role} model (\`aider-mlx models\` lists what fits)`,
    ...(alone.label !== 'too-big' ? ['a smaller --context'] : []),
    ...(role === 'editor' ? ['--split-hosts to serve it over several Macs'] : []),
  ];
  return `memory: ${what}: ${fit.arithmetic.replace(/ → too big$/, '')}, ${over} over; its mlx_lm.server may run out of memory. Choose instead: ${instead.join(', or ')}.`;
}
