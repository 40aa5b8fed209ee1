import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hubCacheDir, isRepoId, repoFolderName, repoIdFromFolder, type HubEnv } from './env.js';
import { parseModelConfig, parseRepoName, type ModelShape, type NameFacts } from './model-facts.js';

export type SnapshotPart = 'config' | 'weights' | 'tokenizer' | 'chatTemplate';

export interface CachedModel {
  repoId: string;
  /** The `models--org--name` folder. */
  path: string;
  /** Bytes of every blob (hard links counted once), partial downloads included: what `rm` frees. */
  sizeOnDisk: number;
  /** Bytes in `blobs/*.incomplete`: a download that was interrupted or is running. */
  partialBytes: number;
  /** Commit the snapshot belongs to (`refs/main`, else the only snapshot). */
  revision?: string;
  snapshotPath?: string;
  /** complete: mlx_lm can load it offline; incomplete: a part is missing; broken: the layout is damaged. */
  status: 'complete' | 'incomplete' | 'broken';
  has: Record<SnapshotPart, boolean>;
  problems: string[];
  /** Sum of the `model*.safetensors` sizes in the snapshot. */
  weightsBytes?: number;
  shape?: ModelShape;
  name: NameFacts;
  /** From mlx-community, named *mlx*, or quantized by MLX (`quantization` in config.json). */
  mlx: boolean;
  lastModified?: Date;
}

export interface CacheScan {
  cacheDir: string;
  exists: boolean;
  models: CachedModel[];
}

/**
 * List the model repos in the Hugging Face cache. Never throws for a damaged entry.
 *
 * The scan is synchronous underneath (one repo at a time, yielding to the event loop every
 * YIELD_EVERY repos so a live UI keeps drawing): for a cache of many small files, sync fs calls
 * cost a fraction of fs/promises' (no FileHandle, no promise per call, far less garbage), which
 * made `models --offline` over 1,000 repos several times faster (bench/catalogue.mjs).
 */
export async function scanCache(opts: { env: HubEnv; cacheDir?: string; concurrency?: number }): Promise<CacheScan> {
  const cacheDir = opts.cacheDir ?? hubCacheDir(opts.env);
  let entries: string[];
  try {
    entries = readdirSync(cacheDir);
  } catch {
    return { cacheDir, exists: false, models: [] };
  }
  const folders = entries.filter((e) => repoIdFromFolder(e) !== undefined).sort();
  const models: CachedModel[] = new Array(folders.length);
  for (let i = 0; i < folders.length; i++) {
    if (i > 0 && i % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
    models[i] = scanRepoFolderSync(join(cacheDir, folders[i]!), repoIdFromFolder(folders[i]!)!);
  }
  return { cacheDir, exists: true, models };
}

const YIELD_EVERY = 100;

/** One repo, by id; undefined when it is not in the cache. */
export async function scanCachedModel(repoId: string, opts: { env: HubEnv; cacheDir?: string }): Promise<CachedModel | undefined> {
  const dir = join(opts.cacheDir ?? hubCacheDir(opts.env), repoFolderName(repoId));
  try {
    statSync(dir);
  } catch {
    return undefined;
  }
  return scanRepoFolderSync(dir, repoId);
}

export async function scanRepoFolder(path: string, repoId: string): Promise<CachedModel> {
  return scanRepoFolderSync(path, repoId);
}

function scanRepoFolderSync(path: string, repoId: string): CachedModel {
  const model: CachedModel = {
    repoId,
    path,
    sizeOnDisk: 0,
    partialBytes: 0,
    status: 'broken',
    has: { config: false, weights: false, tokenizer: false, chatTemplate: false },
    problems: [],
    name: parseRepoName(repoId),
    mlx: /mlx/i.test(repoId),
  };
  try {
    scanInto(model);
  } catch (err) {
    model.status = 'broken';
    model.problems.push(`cannot read the cache entry: ${(err as Error).message}`);
  }
  return model;
}

const readOr = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
};

function scanInto(m: CachedModel): void {
  const seen = new Set<string>();
  const count = (st: Stats) => {
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) return;
    seen.add(key);
    m.sizeOnDisk += st.size;
  };
  const blobs = join(m.path, 'blobs');
  const blobStats = new Map<string, Stats>();
  for (const blob of namesOr(blobs)) {
    let st: Stats;
    try {
      st = lstatSync(`${blobs}/${blob}`); // m.path is already normalized: no join() per file
    } catch {
      continue;
    }
    if (!st.isFile()) continue;
    blobStats.set(blob, st);
    count(st);
    if (blob.endsWith('.incomplete')) m.partialBytes += st.size;
  }

  const ref = readOr(join(m.path, 'refs', 'main'))?.trim();
  if (ref) m.revision = ref;
  else {
    // Only without refs/main do the snapshot folders' names matter.
    const snapshots = namesOr(join(m.path, 'snapshots'));
    if (snapshots.length > 0) {
      m.revision = newest(join(m.path, 'snapshots'), snapshots);
      m.problems.push('no refs/main: using the newest snapshot');
    }
  }
  const partial = m.partialBytes > 0 ? ' (a download was interrupted: run `aider-mlx models pull` again)' : '';
  if (!m.revision) {
    m.status = 'incomplete';
    m.problems.push(`no snapshot yet${partial}`);
    return;
  }
  const snap = join(m.path, 'snapshots', m.revision);
  // A snapshot's links point to ../../blobs/<hash>. Read as text, they name a blob already listed
  // above, which saves a stat per file, but only while `..` means what it says: snapshots/ and
  // the snapshot folder are real folders here (not links), and the revision has no path in it.
  let snapStat: Stats | undefined;
  let lexical = false;
  try {
    snapStat = lstatSync(snap);
    if (snapStat.isSymbolicLink()) snapStat = statSync(snap);
    else lexical = snapStat.isDirectory() && !m.revision.includes('/') && !m.revision.includes('\\') && m.revision !== '..' && !lstatSync(`${m.path}/snapshots`).isSymbolicLink();
  } catch {
    snapStat = undefined;
  }
  if (!snapStat?.isDirectory()) {
    m.status = m.partialBytes > 0 ? 'incomplete' : 'broken';
    m.problems.push(`refs/main points to ${m.revision.slice(0, 12)}, which has no snapshot folder${partial}`);
    return;
  }
  m.snapshotPath = snap;
  m.lastModified = snapStat.mtime;

  const files = new Map<string, number>();
  const dangling: string[] = [];
  walkSnapshot(snap, '', files, dangling, count, lexical ? { stats: blobStats } : undefined);
  if (dangling.length) m.problems.push(`missing blobs for ${dangling.slice(0, 3).join(', ')}${dangling.length > 3 ? ` and ${dangling.length - 3} more` : ''}`);

  let configRaw: unknown;
  if (files.has('config.json')) {
    try {
      configRaw = JSON.parse(readFileSync(join(snap, 'config.json'), 'utf8'));
      m.has.config = true;
      m.shape = parseModelConfig(configRaw);
      if ((configRaw as Record<string, unknown>)?.quantization) m.mlx = true;
    } catch (err) {
      m.problems.push(`config.json is not valid JSON (${(err as Error).message.split('\n')[0]})`);
    }
  }

  const weights = [...files.keys()].filter((f) => /^model.*\.safetensors$/.test(f));
  if (weights.length) m.weightsBytes = weights.reduce((a, f) => a + files.get(f)!, 0);
  const missingShards = missingWeightShards(snap, files, weights);
  m.has.weights = weights.length > 0 && missingShards.length === 0;
  if (weights.length && missingShards.length) m.problems.push(`missing weight shards: ${missingShards.slice(0, 3).join(', ')}${missingShards.length > 3 ? '…' : ''}`);

  m.has.tokenizer =
    files.has('tokenizer.json') ||
    files.has('tokenizer.model') ||
    files.has('tiktoken.model') ||
    [...files.keys()].some((f) => f.endsWith('.tiktoken')) ||
    (files.has('vocab.json') && files.has('merges.txt'));
  m.has.chatTemplate = files.has('chat_template.jinja') || files.has('chat_template.json') || tokenizerHasTemplate(snap, files);

  const missing = (Object.keys(m.has) as SnapshotPart[]).filter((k) => !m.has[k]);
  if (missing.length) m.problems.push(`missing ${missing.map(partName).join(', ')}${partial}`);
  m.status = missing.length === 0 && dangling.length === 0 ? 'complete' : dangling.length && !m.partialBytes ? 'broken' : 'incomplete';
}

const partName = (p: SnapshotPart) =>
  ({ config: 'config.json', weights: 'weights (model*.safetensors)', tokenizer: 'tokenizer', chatTemplate: 'chat template' })[p];

function walkSnapshot(
  dir: string,
  rel: string,
  files: Map<string, number>,
  dangling: string[],
  count: (st: Stats) => void,
  blobs?: { stats: Map<string, Stats> },
): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const relPath = rel ? `${rel}/${entry.name}` : entry.name;
    const full = `${dir}/${entry.name}`; // dir is normalized (join) and a name has no slash
    if (entry.isDirectory()) {
      walkSnapshot(full, relPath, files, dangling, count, blobs);
    } else if (entry.isSymbolicLink()) {
      let st: Stats | undefined;
      if (blobs) {
        // Sub-folders walked here are real folders (a link to a folder is not a directory entry).
        let target: string | undefined;
        try {
          target = readlinkSync(full);
        } catch {
          target = undefined;
        }
        // huggingface_hub writes `../../blobs/<hash>` (one `../` more per sub-folder); any other
        // target is stat'ed as before.
        const up = `${'../'.repeat(rel ? rel.split('/').length + 2 : 2)}blobs/`;
        if (target?.startsWith(up)) {
          const name = target.slice(up.length);
          if (name && name !== '.' && name !== '..' && !name.includes('/')) st = blobs.stats.get(name);
        }
      }
      if (!st) {
        try {
          st = statSync(full);
        } catch {
          st = undefined;
        }
      }
      if (st?.isFile()) {
        files.set(relPath, st.size);
        count(st); // a link that points outside blobs/ still takes space
      } else dangling.push(relPath);
    } else if (entry.isFile()) {
      const st = statSync(full);
      files.set(relPath, st.size);
      count(st); // no-symlink caches (HF_HUB_DISABLE_SYMLINKS, copies) keep real files here
    }
  }
}

function missingWeightShards(snap: string, files: Map<string, number>, weights: string[]): string[] {
  if (files.has('model.safetensors.index.json')) {
    try {
      const index = JSON.parse(readFileSync(join(snap, 'model.safetensors.index.json'), 'utf8')) as { weight_map?: Record<string, string> };
      const shards = new Set(Object.values(index.weight_map ?? {}));
      return [...shards].filter((s) => !files.has(s)).sort();
    } catch {
      return ['model.safetensors.index.json (unreadable)'];
    }
  }
  const missing: string[] = [];
  for (const w of weights) {
    const m = w.match(/^(.*)-(\d+)-of-(\d+)\.safetensors$/);
    if (!m) continue;
    const total = Number(m[3]);
    const width = m[2]!.length;
    for (let i = 1; i <= total; i++) {
      const name = `${m[1]}-${String(i).padStart(width, '0')}-of-${m[3]}.safetensors`;
      if (!files.has(name) && !missing.includes(name)) missing.push(name);
    }
    break;
  }
  return missing;
}

function tokenizerHasTemplate(snap: string, files: Map<string, number>): boolean {
  if (!files.has('tokenizer_config.json')) return false;
  const text = readOr(join(snap, 'tokenizer_config.json'));
  // Without the key there is nothing to parse (real tokenizer configs run to hundreds of KB).
  if (text === undefined || !text.includes('chat_template')) return false;
  try {
    const t = (JSON.parse(text) as { chat_template?: unknown }).chat_template;
    return (typeof t === 'string' && t.trim() !== '') || (Array.isArray(t) && t.length > 0);
  } catch {
    return false;
  }
}

function namesOr(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function newest(dir: string, names: string[]): string {
  let best = names[0]!;
  let bestTime = -1;
  for (const n of names) {
    let t = 0;
    try {
      t = statSync(join(dir, n)).mtimeMs;
    } catch {
      t = 0;
    }
    if (t > bestTime) [best, bestTime] = [n, t];
  }
  return best;
}

/** Delete one repo from the cache (and its lock folder). Returns the bytes freed; 0 when absent. */
export async function removeCachedModel(repoId: string, opts: { env: HubEnv; cacheDir?: string }): Promise<number> {
  if (!isRepoId(repoId)) throw new Error(`not a repo id: ${repoId}`);
  const cacheDir = opts.cacheDir ?? hubCacheDir(opts.env);
  const found = await scanCachedModel(repoId, { env: opts.env, cacheDir });
  if (!found) return 0;
  await rm(found.path, { recursive: true, force: true });
  await rm(join(cacheDir, '.locks', repoFolderName(repoId)), { recursive: true, force: true });
  return found.sizeOnDisk;
}
