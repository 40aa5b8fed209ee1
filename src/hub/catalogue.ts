import { scanCache, type CachedModel } from './cache.js';
import { checkPicks, loadCurated, tierFor, type CheckedPick, type CuratedRole, type CuratedTier } from './curated.js';
import {
  detectMemory,
  estimateModelMemory,
  fitModel,
  fitRoles,
  gpuBudget,
  GiB,
  type Budget,
  type EstimateInput,
  type Fit,
  type MachineMemory,
  type MemoryEstimate,
  type SetFit,
} from './fit.js';
import { offlineStatus, type HubOptions, type HubStatus } from './hub-client.js';
import { parseRepoName } from './model-facts.js';
import { searchHub, type HubModel } from './search.js';

export const DEFAULT_ROLE_CONTEXT = 32768;

export interface CatalogueOptions extends HubOptions {
  search?: string;
  author?: string;
  limit?: number;
  /** Only curated picks for this role (single-model picks too: they serve either role). */
  role?: CuratedRole;
  /** Context for the fit of cached and Hub models (curated picks use their own). */
  context?: number;
  /** Injected (tests, `--memory`); detected otherwise. */
  memory?: MachineMemory;
  /** Do not ask the Hub at all. */
  skipHub?: boolean;
  curatedPath?: string;
  cacheDir?: string;
}

export interface CatalogueEntry {
  repoId: string;
  paramsB?: number;
  activeParamsB?: number;
  quantLabel?: string;
  /** Bytes `models pull` would fetch. */
  downloadBytes?: number;
  context: number;
  estimate: MemoryEstimate;
  fit: Fit;
  cached?: Pick<CachedModel, 'status' | 'sizeOnDisk' | 'partialBytes' | 'revision' | 'problems' | 'snapshotPath' | 'mlx'>;
  hub?: Pick<HubModel, 'downloads' | 'likes' | 'lastModified' | 'gated'>;
}

export interface CuratedEntry extends CatalogueEntry {
  role: CuratedRole;
  reason: string;
  onHub: CheckedPick['onHub'];
}

export interface Catalogue {
  memory: MachineMemory;
  budget: Budget;
  cacheDir: string;
  cacheExists: boolean;
  hubStatus: HubStatus;
  search: { query?: string; author: string };
  cached: CatalogueEntry[];
  hub: CatalogueEntry[];
  curated: {
    source: string;
    tier: Pick<CuratedTier, 'memory' | 'note'>;
    belowSmallest: boolean;
    picks: CuratedEntry[];
    /** Picks the Hub says no longer exist: reported, not offered. */
    unavailable: { repo: string; role: CuratedRole; message: string }[];
    /** The default editor + architect, together. */
    pair?: SetFit;
  };
}

/** Everything the `models` command and the wizard's picker show, offline-first. */
export async function buildCatalogue(opts: CatalogueOptions): Promise<Catalogue> {
  const context = opts.context ?? DEFAULT_ROLE_CONTEXT;
  const [scan, memory, curatedList] = await Promise.all([
    scanCache({ env: opts.env, cacheDir: opts.cacheDir }),
    opts.memory ? Promise.resolve(opts.memory) : detectMemory(),
    loadCurated({ env: opts.env, path: opts.curatedPath }),
  ]);
  const budget = gpuBudget(memory);
  const author = opts.author ?? 'mlx-community';

  let hubStatus: HubStatus = opts.skipHub ? { kind: 'offline', message: 'The Hub was not asked (--offline).' } : offlineStatus();
  let hubModels: HubModel[] = [];
  if (!opts.skipHub) {
    const r = await searchHub({ ...opts, query: opts.search, author, limit: opts.limit ?? 20 });
    hubStatus = r.status;
    hubModels = r.models;
  }

  const { tier, belowSmallest } = tierFor(curatedList, memory.totalBytes);
  // Ask about curated repos only when the search got through: a down Hub is not waited for twice.
  const checked = await checkPicks(tier.picks, { ...opts, skipHub: opts.skipHub || hubStatus.kind !== 'ok' });
  if (hubStatus.kind !== 'ok') for (const c of checked) c.status = hubStatus;

  const cachedById = new Map(scan.models.map((m) => [m.repoId, m]));
  const hubById = new Map(hubModels.map((m) => [m.repoId, m]));
  for (const c of checked) if (c.hub && !hubById.has(c.repo)) hubById.set(c.repo, c.hub);

  /** Best numbers first: a complete cached copy, then the Hub, then the curated hints, then the name. */
  const inputFor = (repoId: string, ctx: number, hint?: CheckedPick['approx']): EstimateInput => {
    const c = cachedById.get(repoId);
    const h = hubById.get(repoId);
    const name = parseRepoName(repoId);
    return {
      repoId,
      context: ctx,
      weightsBytes: (c?.status === 'complete' ? c.weightsBytes : undefined) ?? h?.weightsBytes,
      weightsBytesHint: hint?.weightsGB ? hint.weightsGB * GiB : undefined,
      paramsB: name.paramsB ?? h?.paramsB ?? c?.shape?.paramsB,
      quantBits: name.quantBits ?? c?.shape?.quantBits ?? h?.quantBits,
      groupSize: c?.shape?.groupSize ?? h?.shape?.groupSize,
      shape: c?.shape ?? h?.shape,
      kvBytesPerTokenHint: hint?.kvKiBPerToken ? hint.kvKiBPerToken * 1024 : undefined,
    };
  };

  const entry = (input: EstimateInput): CatalogueEntry => {
    const { repoId } = input;
    const c = cachedById.get(repoId);
    const h = hubById.get(repoId);
    const name = parseRepoName(repoId);
    const estimate = estimateModelMemory(input);
    const e: CatalogueEntry = {
      repoId,
      paramsB: input.paramsB,
      activeParamsB: name.activeParamsB ?? h?.activeParamsB,
      quantLabel: name.quantLabel ?? h?.quantLabel ?? (input.quantBits ? `${input.quantBits}bit` : undefined),
      downloadBytes: h?.downloadBytes,
      context: input.context,
      estimate,
      fit: fitModel(estimate, budget),
    };
    if (c) {
      e.cached = { status: c.status, sizeOnDisk: c.sizeOnDisk, partialBytes: c.partialBytes, revision: c.revision, problems: c.problems, snapshotPath: c.snapshotPath, mlx: c.mlx };
    }
    if (h && h.downloads !== undefined) e.hub = { downloads: h.downloads, likes: h.likes, lastModified: h.lastModified, gated: h.gated };
    for (const k of Object.keys(e) as (keyof CatalogueEntry)[]) if (e[k] === undefined) delete e[k];
    return e;
  };

  const offered = checked.filter((c) => c.onHub !== 'no');
  const unavailable = checked
    .filter((c) => c.onHub === 'no')
    .map((c) => ({ repo: c.repo, role: c.role, message: `${c.status.message} Edit ${curatedList.source} to replace it.` }));
  const firstOf = (role: CuratedRole) => offered.find((p) => p.role === role);
  const [editor, architect] = [firstOf('editor'), firstOf('architect')];
  const pair =
    editor && architect
      ? fitRoles(
          [editor, architect].map((p) => ({ role: p.role, input: inputFor(p.repo, p.context, p.approx) })),
          budget,
        )
      : undefined;
  // A single-model pick can serve either role.
  const shown = offered.filter((p) => !opts.role || p.role === opts.role || p.role === 'single');
  const curatedPicks: CuratedEntry[] = shown.map((c) => ({ ...entry(inputFor(c.repo, c.context, c.approx)), role: c.role, reason: c.reason, onHub: c.onHub }));

  return {
    memory,
    budget,
    cacheDir: scan.cacheDir,
    cacheExists: scan.exists,
    hubStatus,
    search: { ...(opts.search ? { query: opts.search } : {}), author },
    cached: scan.models.map((m) => entry(inputFor(m.repoId, context))),
    hub: hubModels.map((m) => entry(inputFor(m.repoId, context))),
    curated: {
      source: curatedList.source,
      tier: { memory: tier.memory, ...(tier.note ? { note: tier.note } : {}) },
      belowSmallest,
      picks: curatedPicks,
      unavailable,
      ...(pair ? { pair } : {}),
    },
  };
}
