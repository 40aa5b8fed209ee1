import { readFile } from 'node:fs/promises';
import * as z from 'zod/mini';
import { AppError } from '../errors.js';
import { BUILT_IN_CURATED, CURATED_FILE, curatedPath } from './curated-path.js';
import { isRepoId, type HubEnv } from './env.js';
import { GiB } from './fit.js';
import type { HubOptions, HubStatus } from './hub-client.js';
import { getHubModel, mapLimit, type HubModel } from './search.js';

export const CURATED_ROLES = ['editor', 'architect', 'single'] as const;
export type CuratedRole = (typeof CURATED_ROLES)[number];

const positive = () => z.number().check(z.positive());
const pickSchema = z.object({
  role: z.enum(CURATED_ROLES),
  repo: z.string().check(z.refine(isRepoId, 'must be a Hugging Face repo id like mlx-community/Name')),
  context: z.int().check(z.minimum(512)),
  reason: z.string().check(z.minLength(1)),
  approx: z.optional(z.object({ weightsGB: z.optional(positive()), kvKiBPerToken: z.optional(positive()) })),
});

const listSchema = z.object({
  version: z.literal(1),
  tiers: z
    .array(z.object({ memory: positive(), note: z.optional(z.string()), picks: z.array(pickSchema).check(z.minLength(1)) }))
    .check(z.minLength(1)),
});

export type CuratedPick = z.infer<typeof pickSchema>;
export type CuratedTier = z.infer<typeof listSchema>['tiers'][number];
export interface CuratedList {
  /** The file it came from. */
  source: string;
  tiers: CuratedTier[];
}


export { CURATED_FILE, curatedPath };

/**
 * The shipped list, parsed at build time (tsup.config.ts defines it): its YAML text and that
 * text's data as JSON. Undefined when running from source (tests), which parse the file.
 */

/**
 * The file's data. When its text is exactly the shipped one, the build's parse is used (the YAML
 * parser costs ~35 ms of every `models` start, a third of it); any other text is parsed here.
 */
export async function curatedData(text: string, prebuilt: { text: string; json: string } | undefined = BUILT_IN_CURATED): Promise<unknown> {
  if (prebuilt && text === prebuilt.text) return JSON.parse(prebuilt.json);
  const { parse } = await import('yaml');
  return parse(text);
}

export async function loadCurated(opts: { env?: HubEnv; path?: string } = {}): Promise<CuratedList> {
  const source = opts.path ?? curatedPath(opts.env);
  let raw: unknown;
  try {
    raw = await curatedData(await readFile(source, 'utf8'));
  } catch (err) {
    throw new AppError(`Cannot read the curated model list ${source}: ${(err as Error).message.split('\n')[0]}`, 'Fix the YAML, or unset AIDER_MLX_CURATED_MODELS.');
  }
  const parsed = listSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AppError(
      `The curated model list ${source} is invalid at ${issue.path.join('.') || '(top)'}: ${issue.message}`,
      'Fix the entry; each pick needs role (editor|architect|single), repo, context and reason.',
    );
  }
  return { source, tiers: [...parsed.data.tiers].sort((a, b) => a.memory - b.memory) };
}

/** The largest tier not above this Mac's memory (the smallest one for smaller Macs). */
export function tierFor(list: CuratedList, memoryBytes: number): { tier: CuratedTier; belowSmallest: boolean } {
  const gb = memoryBytes / GiB;
  const fitting = list.tiers.filter((t) => t.memory <= gb + 0.5);
  return fitting.length ? { tier: fitting[fitting.length - 1]!, belowSmallest: false } : { tier: list.tiers[0]!, belowSmallest: true };
}

export interface CheckedPick extends CuratedPick {
  /** yes: the Hub has it; no: the Hub says it does not exist (not offered); unknown: Hub not asked or unreachable. */
  onHub: 'yes' | 'no' | 'unknown';
  status: HubStatus;
  hub?: HubModel;
}

/** Ask the Hub about each distinct repo once. */
export async function checkPicks(picks: CuratedPick[], opts: HubOptions & { skipHub?: boolean }): Promise<CheckedPick[]> {
  const repos = [...new Set(picks.map((p) => p.repo))];
  const found = new Map<string, { status: HubStatus; model?: HubModel }>();
  if (!opts.skipHub) {
    await mapLimit(repos, 4, async (repo) => {
      found.set(repo, await getHubModel(repo, opts));
    });
  }
  return picks.map((p) => {
    const r = found.get(p.repo);
    const status: HubStatus = r?.status ?? { kind: 'offline', message: 'The Hub was not asked.' };
    const onHub = status.kind === 'ok' ? 'yes' : status.kind === 'not-found' ? 'no' : 'unknown';
    return { ...p, onHub, status, ...(r?.model ? { hub: r.model } : {}) };
  });
}
