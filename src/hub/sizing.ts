/** What the fit arithmetic needs about one model at any context, from the best source we have. */
import type { Catalogue, CatalogueEntry } from './catalogue.js';
import type { EstimateInput } from './fit.js';
import { parseRepoName } from './model-facts.js';
import type { HubModel } from './search.js';

export interface Sizing {
  repoId: string;
  weightsBytes?: number;
  paramsB?: number;
  quantBits?: number;
  kvBytesPerToken?: number;
}

export function sizingOf(e: CatalogueEntry): Sizing {
  return {
    repoId: e.repoId,
    ...(e.estimate.weightsBytes ? { weightsBytes: e.estimate.weightsBytes } : {}),
    ...(e.paramsB ? { paramsB: e.paramsB } : {}),
    ...(e.estimate.kvBytes ? { kvBytesPerToken: e.estimate.kvBytes / e.estimate.context } : {}),
  };
}

export function sizingFromHub(m: HubModel): Sizing {
  return { repoId: m.repoId, weightsBytes: m.weightsBytes, paramsB: m.paramsB, quantBits: m.quantBits };
}

export function sizingFromName(model: string): Sizing {
  const n = parseRepoName(model);
  return { repoId: model, paramsB: n.paramsB, quantBits: n.quantBits };
}

export function estimateInput(s: Sizing, context: number): EstimateInput {
  return {
    repoId: s.repoId,
    context,
    ...(s.weightsBytes ? { weightsBytes: s.weightsBytes } : {}),
    ...(s.paramsB ? { paramsB: s.paramsB } : {}),
    ...(s.quantBits ? { quantBits: s.quantBits } : {}),
    ...(s.kvBytesPerToken ? { kvBytesPerTokenHint: s.kvBytesPerToken } : {}),
  };
}

/** The best sizing we know for a model: the catalogue (cache, curated hints, Hub), else its name. */
export function sizingIn(c: Catalogue | undefined, model: string): Sizing {
  const e = c?.cached.find((x) => x.repoId === model) ?? c?.curated.picks.find((x) => x.repoId === model) ?? c?.hub.find((x) => x.repoId === model);
  return e ? sizingOf(e) : sizingFromName(model);
}
