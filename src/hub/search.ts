import { listFiles, listModels, modelInfo } from '@huggingface/hub';
import { MLX_ALLOW_PATTERNS, matchesAny } from './env.js';
import {
  HUB_OK,
  classifyHubError,
  classifyHttp,
  hubClient,
  isCancelled,
  offlineStatus,
  type HubClient,
  type HubOptions,
  type HubStatus,
} from './hub-client.js';
import { parseModelConfig, parseRepoName, type ModelShape } from './model-facts.js';

export interface HubModel {
  repoId: string;
  downloads?: number;
  likes?: number;
  lastModified?: Date;
  gated?: false | 'auto' | 'manual';
  private?: boolean;
  /** Total parameters in billions, from the name, else estimated from config.json. */
  paramsB?: number;
  paramsSource?: 'name' | 'config';
  activeParamsB?: number;
  quantBits?: number;
  quantLabel?: string;
  /** What `models pull` fetches: the files mlx_lm asks for, sizes from the file tree (lfs.size when present). */
  downloadBytes?: number;
  /** Every file in the repo. */
  repoBytes?: number;
  /** `model*.safetensors` only: the weights that end up in memory. */
  weightsBytes?: number;
  shape?: ModelShape;
}

export interface RepoFile {
  path: string;
  size: number;
  /** Git blob id (the ETag of a non-LFS file). */
  oid?: string;
  /** sha256 of an LFS file (its ETag, and the checksum to verify). */
  lfsSha256?: string;
  xetHash?: string;
}

export interface HubSearch {
  status: HubStatus;
  models: HubModel[];
}

export interface SearchOptions extends HubOptions {
  query?: string;
  /** `mlx-community` unless given; '' or '*' searches every author's models tagged mlx. */
  author?: string;
  limit?: number;
  /** Fetch file sizes and config.json for each result (two requests per model). Default true. */
  details?: boolean;
  concurrency?: number;
}

export const DEFAULT_AUTHOR = 'mlx-community';

/** Results as the Hub sends them, without details: the first one comes after one request. */
export async function* streamHubModels(opts: SearchOptions, client = hubClient(opts)): AsyncGenerator<HubModel> {
  const author = opts.author ?? DEFAULT_AUTHOR;
  const anyAuthor = author === '' || author === '*';
  for await (const m of listModels({
    search: {
      ...(opts.query ? { query: opts.query } : {}),
      ...(anyAuthor ? { tags: ['mlx'] } : { owner: author }),
    },
    sort: 'downloads',
    limit: opts.limit ?? 20,
    hubUrl: client.hubUrl,
    fetch: client.fetch,
  })) {
    yield fromName(m.name, {
      downloads: m.downloads,
      likes: m.likes,
      lastModified: Number.isNaN(m.updatedAt.getTime()) ? undefined : m.updatedAt,
      gated: m.gated,
      private: m.private,
    });
  }
}

/** Search the Hub; never throws for network trouble: the status says what happened. */
export async function searchHub(opts: SearchOptions): Promise<HubSearch> {
  const client = hubClient(opts);
  if (client.offline) return { status: offlineStatus(), models: [] };
  const models: HubModel[] = [];
  try {
    for await (const m of streamHubModels(opts, client)) models.push(m);
  } catch (err) {
    if (isCancelled(err, opts.signal)) throw err;
    return { status: classifyHubError(err, client, 'The Hub search'), models };
  }
  if (opts.details !== false) {
    await mapLimit(models, opts.concurrency ?? 6, async (m, i) => {
      models[i] = await enrichHubModel(m, client).catch((err) => {
        if (isCancelled(err, opts.signal)) throw err;
        return m; // sizes stay unknown for this one; the list is still useful
      });
    });
  }
  return { status: HUB_OK, models };
}

/** One repo: exists? sizes, config. Used for curated picks and before a pull. */
export async function getHubModel(repoId: string, opts: HubOptions & { revision?: string }): Promise<{ status: HubStatus; model?: HubModel; sha?: string }> {
  const client = hubClient(opts);
  if (client.offline) return { status: offlineStatus() };
  try {
    const info = await modelInfo({ name: repoId, hubUrl: client.hubUrl, fetch: client.fetch, revision: opts.revision, additionalFields: ['sha'] });
    const model = fromName(info.name || repoId, {
      downloads: info.downloads,
      likes: info.likes,
      lastModified: Number.isNaN(info.updatedAt.getTime()) ? undefined : info.updatedAt,
      gated: info.gated,
      private: info.private,
    });
    return { status: HUB_OK, model: await enrichHubModel(model, client, info.sha), sha: info.sha };
  } catch (err) {
    if (isCancelled(err, opts.signal)) throw err;
    return { status: classifyHubError(err, client, repoId) };
  }
}

/** Add sizes (file tree) and shape (config.json) to a search result. */
export async function enrichHubModel(model: HubModel, client: HubClient, revision = 'main'): Promise<HubModel> {
  const [files, shape] = await Promise.all([
    listRepoFiles(client, model.repoId, revision),
    fetchRepoConfig(client, model.repoId, revision).catch(() => undefined),
  ]);
  const out: HubModel = { ...model, ...sizesOf(files) };
  if (shape) {
    out.shape = shape;
    if (out.paramsB === undefined && shape.paramsB) [out.paramsB, out.paramsSource] = [shape.paramsB, 'config'];
    if (out.quantBits === undefined && shape.quantBits) [out.quantBits, out.quantLabel] = [shape.quantBits, `${shape.quantBits}bit`];
  }
  return out;
}

export function sizesOf(files: RepoFile[]): Pick<HubModel, 'downloadBytes' | 'repoBytes' | 'weightsBytes'> {
  let downloadBytes = 0;
  let repoBytes = 0;
  let weightsBytes = 0;
  for (const f of files) {
    repoBytes += f.size;
    if (matchesAny(f.path, MLX_ALLOW_PATTERNS)) downloadBytes += f.size;
    if (/^model.*\.safetensors$/.test(f.path)) weightsBytes += f.size;
  }
  return { downloadBytes, repoBytes, weightsBytes };
}

/** Every file of the repo at a revision (recursive, Link-paginated), with the real size of LFS files. */
export async function listRepoFiles(client: HubClient, repoId: string, revision = 'main'): Promise<RepoFile[]> {
  const out: RepoFile[] = [];
  for await (const e of listFiles({ repo: { type: 'model', name: repoId }, recursive: true, revision, hubUrl: client.hubUrl, fetch: client.fetch })) {
    if (e.type !== 'file') continue;
    out.push({
      path: e.path,
      size: e.lfs?.size ?? e.size,
      oid: e.oid,
      lfsSha256: e.lfs?.oid,
      xetHash: e.xetHash,
    });
  }
  return out;
}

/** `config.json` through /resolve/ (redirects followed); undefined when the repo has none. */
export async function fetchRepoConfig(client: HubClient, repoId: string, revision = 'main'): Promise<ModelShape | undefined> {
  const url = `${client.hubUrl}/${repoId}/resolve/${encodeURIComponent(revision)}/config.json`;
  const res = await client.fetch(url);
  if (res.status === 404) return undefined;
  if (!res.ok) throw Object.assign(new Error(classifyHttp(res.status, res.headers.get('x-error-code'), client, repoId).message), { status: res.status });
  return parseModelConfig(await res.json());
}

function fromName(repoId: string, rest: Partial<HubModel>): HubModel {
  const name = parseRepoName(repoId);
  const m: HubModel = { repoId, ...rest };
  if (name.paramsB !== undefined) [m.paramsB, m.paramsSource] = [name.paramsB, 'name'];
  if (name.activeParamsB !== undefined) m.activeParamsB = name.activeParamsB;
  if (name.quantBits !== undefined) m.quantBits = name.quantBits;
  if (name.quantLabel !== undefined) m.quantLabel = name.quantLabel;
  return m;
}

export async function mapLimit<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
