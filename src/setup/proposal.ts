/**
 * One complete setup proposed for this machine: the curated model for its memory tier, its context
 * and memory arithmetic, the mode, the ports and the scope, each with its reason. The wizard shows
 * it after the look around (Enter accepts it); `setup --yes` without `--editor` takes it and prints it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Mode, RoleName, Scope } from '../config/plan.js';
import { AIDER_FILES } from '../config/render.js';
import type { Catalogue, CuratedEntry } from '../hub/catalogue.js';
import { fitRoles, formatGB, type SetFit } from '../hub/fit.js';
import { estimateInput, sizingIn } from '../hub/sizing.js';
import { defaultContext } from './context-fit.js';
import { SUGGESTED_EDITOR } from './flags.js';
import { asRun } from '../lib/paths.js';

export interface AiderConfFacts {
  path: string;
  /** The keys that decide where Aider sends requests, when set. */
  model?: string;
  apiBase?: string;
}

export async function readAiderConf(dir: string): Promise<AiderConfFacts | undefined> {
  const path = join(dir, AIDER_FILES.conf);
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let doc: Record<string, unknown> = {};
  try {
    doc = (parse(text) ?? {}) as Record<string, unknown>;
  } catch {
    /* a broken file is reported by the merge, with line and column */
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return { path, model: str(doc.model), apiBase: str(doc['openai-api-base']) };
}

/** A config that already sends Aider somewhere: a model or API base that is not ours. */
export function pointsElsewhere(c: AiderConfFacts | undefined): string | undefined {
  if (!c) return undefined;
  if (c.apiBase && !/127\.0\.0\.1|localhost/.test(c.apiBase)) return `openai-api-base: ${c.apiBase}`;
  if (c.model && !c.model.startsWith('openai/mlx-') && !c.model.startsWith('openai/mlx-community/')) return `model: ${c.model}`;
  return undefined;
}

export interface ProposalFacts {
  catalogue: Catalogue;
  litellm?: { version?: string; compromised: boolean };
  /** The project's own Aider config, when there is one. */
  projectConf?: AiderConfFacts;
  /** False: the folder is not inside a git repository (the project's files go into the folder itself). */
  projectInGit?: boolean;
  /** `max_position_embeddings` of a model, when its config.json is at hand. */
  maxContextOf?: (model: string) => Promise<number | undefined>;
  /** The demo: stand-in servers, nothing is downloaded. */
  demo?: boolean;
}

/** What flags (or the wizard's fixed answers) already decided: the proposal keeps them. */
export interface ProposalGiven {
  editor?: string;
  architect?: string;
  weak?: string;
  mode?: Mode;
  scope?: Scope;
  context?: number;
}

export interface ProposedModel {
  model: string;
  context: number;
  /** Why this model, and why this context. */
  why: string[];
  curated?: CuratedEntry;
  cached: boolean;
}

export interface Proposal {
  roles: 'single' | 'pair';
  models: Partial<Record<RoleName, ProposedModel>>;
  fit?: SetFit;
  mode: Mode;
  modeWhy: string;
  scope: Scope;
  scopeWhy: string;
}

function isCached(c: Catalogue, model: string): boolean {
  return c.cached.some((e) => e.repoId === model && e.cached?.status === 'complete' && e.cached.mlx !== false);
}

/** The curated model for one model: a cached single-model pick first (nothing to download), else the first. */
function curatedEditor(c: Catalogue): CuratedEntry | undefined {
  const singles = c.curated.picks.filter((p) => p.role === 'single');
  const pool = singles.length ? singles : c.curated.picks.filter((p) => p.role === 'editor');
  return pool.find((p) => isCached(c, p.repoId)) ?? pool[0];
}

/**
 * Proxy or direct, when no --mode decides: the proxy only with a usable LiteLLM here, else direct
 * (it works now). The wizard's proposal and `setup --yes` (with or without --editor) both ask this.
 */
export function proposeMode(lite: ProposalFacts['litellm'], given?: Mode): { mode: Mode; why: string } {
  if (given) return { mode: given, why: 'given with --mode' };
  if (lite && !lite.compromised) return { mode: 'proxy', why: `LiteLLM ${lite.version ?? ''} is installed: one address and one key for every model`.replace('  ', ' ') };
  if (lite?.compromised) return { mode: 'direct', why: `litellm ${lite.version} is a known-compromised release and is not used: Aider talks to the server directly` };
  // The commands as this copy runs them (a clone's bin; `npx aider-mlx` once installed).
  return { mode: 'direct', why: asRun('LiteLLM is not installed: Aider talks to the server directly (`aider-mlx install litellm`, then `aider-mlx reconfigure`, adds the proxy)') };
}

export async function proposeSetup(facts: ProposalFacts, given: ProposalGiven = {}): Promise<Proposal> {
  const c = facts.catalogue;
  const tier = `curated for ${c.curated.tier.memory} GB Macs${c.curated.belowSmallest ? ' (the smallest tier; this Mac has less)' : ''}`;
  const model = async (repo: string, pick: CuratedEntry | undefined, flag: boolean): Promise<ProposedModel> => {
    const cached = isCached(c, repo);
    const why: string[] = [];
    if (flag) why.push('given with a flag');
    else if (pick) why.push(`${pick.reason} (${tier})`);
    else why.push(`no curated pick for this memory: the suggested default`);
    if (!facts.demo) why.push(cached ? 'already in the Hugging Face cache' : `downloaded on first start${pick?.downloadBytes ? ` (${formatGB(pick.downloadBytes)})` : ''}`);
    const max = await facts.maxContextOf?.(repo).catch(() => undefined);
    let context: number;
    if (given.context !== undefined) {
      context = given.context;
      why.push(`context ${context} tokens (--context)`);
    } else {
      const d = defaultContext(repo, { catalogue: c, ...(max ? { max } : {}) });
      context = d.context;
      why.push(`context ${context} tokens${d.why ? ` (${d.why})` : pick ? ' (what the pick is sized for)' : ''}`);
    }
    return { model: repo, context, why, ...(pick ? { curated: pick } : {}), cached };
  };

  const models: Proposal['models'] = {};
  const pick = given.editor ? c.curated.picks.find((p) => p.repoId === given.editor) : curatedEditor(c);
  models.editor = await model(given.editor ?? pick?.repoId ?? SUGGESTED_EDITOR, pick, Boolean(given.editor));
  if (given.architect && given.architect !== models.editor.model) models.architect = await model(given.architect, c.curated.picks.find((p) => p.repoId === given.architect), true);
  if (given.weak && given.weak !== models.editor.model) models.weak = await model(given.weak, c.curated.picks.find((p) => p.repoId === given.weak), true);

  const roles = (Object.entries(models) as Array<[RoleName, ProposedModel]>).map(([role, m]) => ({ role: role === 'editor' && !models.weak ? 'editor+weak' : role, input: estimateInput(sizingIn(c, m.model), m.context) }));
  const fit = fitRoles(roles, c.budget);

  const { mode, why: modeWhy } = proposeMode(facts.litellm, given.mode);

  const elsewhere = pointsElsewhere(facts.projectConf);
  let scope: Scope;
  let scopeWhy: string;
  if (given.scope) [scope, scopeWhy] = [given.scope, 'given with --scope'];
  else if (elsewhere) [scope, scopeWhy] = ['profile', `this project's .aider.conf.yml already sets ${elsewhere}: an isolated profile leaves it as it is (run \`aider-mlx aider\`)`];
  else if (facts.projectInGit === false) [scope, scopeWhy] = ['project', "this folder's .aider.conf.yml (it is not inside a git repository): Aider started in this folder uses the local model"];
  else [scope, scopeWhy] = ['project', "this repository's .aider.conf.yml (the git root): only this project uses the local model"];

  return { roles: models.architect ? 'pair' : 'single', models, fit, mode, modeWhy, scope, scopeWhy };
}

/** The proposal in lines: what was chosen and why (the wizard's screen, `setup --yes`'s output). */
export function describeProposal(p: Proposal, o: { ports: Partial<Record<RoleName | 'proxy', number>>; host: string; portNotes?: string[] }): string[] {
  const lines: string[] = [];
  for (const [role, m] of Object.entries(p.models) as Array<[RoleName, ProposedModel]>) {
    const label = role === 'editor' ? (p.models.architect ? (p.models.weak ? 'editor' : 'editor + weak') : p.models.weak ? 'editor' : 'model') : role;
    lines.push(`${label}: ${m.model} on ${o.host}:${o.ports[role] ?? '?'}`);
    for (const w of m.why) lines.push(`  ${w}`);
  }
  if (p.fit) lines.push(`memory: ${p.fit.arithmetic}`);
  lines.push(`mode: ${p.mode}${p.mode === 'proxy' && o.ports.proxy ? ` (LiteLLM on 127.0.0.1:${o.ports.proxy})` : ''}: ${p.modeWhy}`);
  for (const n of o.portNotes ?? []) lines.push(`ports: ${n}`);
  lines.push(`scope: ${p.scope}: ${p.scopeWhy}`);
  return lines;
}
