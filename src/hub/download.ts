import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm, stat, statfs, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join, relative } from 'node:path';
import { modelInfo } from '@huggingface/hub';
import { AppError, CancelledError, UsageError, VerifyError } from '../errors.js';
import { MLX_ALLOW_PATTERNS, hubCacheDir, isRepoId, matchesAny, repoFolderName } from './env.js';
import { formatGB } from './fit.js';
import { classifyHttp, classifyHubError, hubClient, isCancelled, type HubClient, type HubOptions } from './hub-client.js';
import { listRepoFiles, type RepoFile } from './search.js';

export interface PullProgress {
  phase: 'resolving' | 'downloading' | 'verifying' | 'linking' | 'done';
  file?: string;
  fileIndex?: number;
  fileCount?: number;
  fileBytes?: number;
  fileTotal?: number;
  /** Bytes in place so far, files already present and resumed parts included. */
  bytes: number;
  total: number;
  /** Bytes fetched over the network by this run. */
  downloadedBytes: number;
}

export interface PullOptions extends HubOptions {
  repoId: string;
  revision?: string;
  cacheDir?: string;
  /** Which files to fetch (Python fnmatch); default: what mlx_lm asks for. */
  allowPatterns?: readonly string[];
  onProgress?: (p: PullProgress) => void;
  /** Free bytes on the disk holding `path` (injected by tests). */
  freeBytes?: (path: string) => Promise<number>;
  /** Give up on a transfer after this long without a byte (default 60 s). */
  stallTimeoutMs?: number;
  /** Resumed attempts per file after a network failure (default 3). */
  retries?: number;
}

export interface PullResult {
  repoId: string;
  commit: string;
  snapshotPath: string;
  files: string[];
  totalBytes: number;
  downloadedBytes: number;
  /** Bytes that were already on disk as `.incomplete` and were kept. */
  resumedBytes: number;
  alreadyComplete: boolean;
}

interface PlannedFile extends RepoFile {
  blob: string;
}

const SHA256_RE = /^[0-9a-f]{64}$/;

/**
 * Download a repo into the Hugging Face cache exactly as huggingface_hub lays it out:
 * `blobs/<etag>`, `snapshots/<commit>/<path>` (relative symlinks), `refs/<revision>`, `trees/<commit>.json`.
 * Blobs are written as `<etag>.incomplete` and resumed with HTTP Range; the snapshot folder and the ref
 * appear only once every file is complete and verified, so an interrupted pull never looks loadable.
 */
export async function pullModel(opts: PullOptions): Promise<PullResult> {
  const { repoId } = opts;
  if (!isRepoId(repoId)) throw new UsageError(`"${repoId}" is not a Hugging Face repo id.`, 'Use org/name, e.g. mlx-community/Qwen2.5-Coder-7B-Instruct-4bit.');
  const client = hubClient({ ...opts, timeoutMs: opts.timeoutMs ?? 30_000 });
  if (client.offline) throw new AppError('HF_HUB_OFFLINE is set: cannot download.', 'Unset HF_HUB_OFFLINE to download models.');
  const revision = opts.revision ?? 'main';
  const cacheDir = opts.cacheDir ?? hubCacheDir(opts.env);
  const storage = join(cacheDir, repoFolderName(repoId));
  const emit = opts.onProgress ?? (() => {});

  emit({ phase: 'resolving', bytes: 0, total: 0, downloadedBytes: 0 });
  const { commit, files: allFiles } = await hubCall(client, opts, repoId, async () => {
    const info = await modelInfo({ name: repoId, revision, hubUrl: client.hubUrl, fetch: client.fetch, additionalFields: ['sha'] });
    if (!info.sha) throw new AppError(`The Hub gave no commit for ${repoId}@${revision}.`, 'Check HF_ENDPOINT points to a Hugging Face Hub.');
    return { commit: info.sha, files: await listRepoFiles(client, repoId, info.sha) };
  });

  const patterns = opts.allowPatterns ?? MLX_ALLOW_PATTERNS;
  const wanted = allFiles.filter((f) => matchesAny(f.path, patterns));
  if (!opts.allowPatterns && (!wanted.some((f) => f.path === 'config.json') || !wanted.some((f) => /^model.*\.safetensors$/.test(f.path)))) {
    throw new AppError(
      `${repoId} is not an MLX model: it has no config.json and model*.safetensors for mlx_lm to load.`,
      'Pick an MLX conversion, e.g. from https://huggingface.co/mlx-community (`aider-mlx models --search NAME`).',
    );
  }
  const plan: PlannedFile[] = wanted.map((f) => ({ ...f, blob: f.lfsSha256 ?? f.oid ?? '' }));
  const total = plan.reduce((a, f) => a + f.size, 0);
  const snapshotPath = join(storage, 'snapshots', commit);

  // What is already here: finished blobs, and partial ones to resume.
  let present = 0;
  let partial = 0;
  const todo: PlannedFile[] = [];
  for (const f of plan) {
    const done = f.blob ? await sizeOf(join(storage, 'blobs', f.blob)) : undefined;
    if (done === f.size) present += f.size;
    else {
      todo.push(f);
      partial += Math.min(f.size, (f.blob && (await sizeOf(join(storage, 'blobs', `${f.blob}.incomplete`)))) || 0);
    }
  }
  const alreadyComplete = todo.length === 0 && (await snapshotHasAll(snapshotPath, plan));

  if (todo.length) {
    const need = todo.reduce((a, f) => a + f.size, 0) - partial;
    const free = await (opts.freeBytes ?? freeBytesAt)(cacheDir);
    if (need > free) {
      throw new AppError(
        `Not enough free disk for ${repoId}: it needs ${formatGB(need)} more, ${formatGB(free)} is free under ${cacheDir}.`,
        'Free some space (`aider-mlx models rm REPO` removes a cached model), or set HF_HUB_CACHE to a bigger disk.',
      );
    }
  }

  let bytes = present;
  let downloadedBytes = 0;
  let resumedBytes = 0;
  await mkdir(join(storage, 'blobs'), { recursive: true });
  for (const [i, f] of todo.entries()) {
    const base = bytes;
    const before = downloadedBytes;
    const r = await downloadFile(client, opts, storage, repoId, commit, f, (fileBytes, fetched) => {
      bytes = base + fileBytes;
      downloadedBytes = before + fetched;
      emit({ phase: 'downloading', file: f.path, fileIndex: i + 1, fileCount: todo.length, fileBytes, fileTotal: f.size, bytes, total, downloadedBytes });
    });
    downloadedBytes = before + r.downloaded;
    resumedBytes += r.resumed;
    bytes = base + f.size;
    f.blob = r.blob;
  }

  emit({ phase: 'linking', bytes, total, downloadedBytes });
  await linkSnapshot(storage, commit, plan);
  await writeTreeCache(storage, commit, allFiles);
  if (revision !== commit) await writeAtomic(join(storage, 'refs', revision), commit);
  await writeCacheDirTag(cacheDir);
  emit({ phase: 'done', bytes: total, total, downloadedBytes });
  return { repoId, commit, snapshotPath, files: plan.map((f) => f.path), totalBytes: total, downloadedBytes, resumedBytes, alreadyComplete };
}

async function hubCall<T>(client: HubClient, opts: PullOptions, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw err;
    if (isCancelled(err, opts.signal)) throw new CancelledError();
    const s = classifyHubError(err, client, what);
    throw new AppError(s.message, s.tryThis);
  }
}

interface FileMeta {
  etag?: string;
  size?: number;
  location: string;
}

/** HEAD /resolve/, following only redirects that stay on the Hub (as huggingface_hub does). */
async function resolveFile(client: HubClient, repoId: string, commit: string, path: string): Promise<FileMeta> {
  let url = `${client.hubUrl}/${repoId}/resolve/${commit}/${path.split('/').map(encodeURIComponent).join('/')}`;
  const hubOrigin = new URL(client.hubUrl).origin;
  for (let hop = 0; hop < 10; hop++) {
    const res = await client.fetch(url, { method: 'HEAD', redirect: 'manual', headers: { 'accept-encoding': 'identity' } });
    if (res.status >= 400) {
      const s = classifyHttp(res.status, res.headers.get('x-error-code'), client, `${repoId}/${path}`);
      throw new AppError(s.message, s.tryThis);
    }
    const location = res.headers.get('location');
    const redirect = res.status >= 300 && res.status < 400 && location;
    const meta: FileMeta = {
      etag: normalizeEtag(res.headers.get('x-linked-etag') ?? res.headers.get('etag')),
      size: intOrUndefined(res.headers.get('x-linked-size') ?? (redirect ? null : res.headers.get('content-length'))),
      location: redirect ? new URL(location, url).href : url,
    };
    if (!redirect || new URL(meta.location).origin !== hubOrigin) return meta;
    url = meta.location;
  }
  throw new AppError(`Too many redirects resolving ${repoId}/${path}.`, 'Check HF_ENDPOINT.');
}

function normalizeEtag(etag: string | null): string | undefined {
  if (!etag) return undefined;
  return etag.replace(/^W\//, '').replace(/^"+|"+$/g, '') || undefined;
}

function intOrUndefined(s: string | null): number | undefined {
  const n = s === null ? NaN : Number(s);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

class RetryableError extends Error {}

async function downloadFile(
  client: HubClient,
  opts: PullOptions,
  storage: string,
  repoId: string,
  commit: string,
  f: PlannedFile,
  onBytes: (fileBytes: number, fetchedThisRun: number) => void,
): Promise<{ blob: string; downloaded: number; resumed: number }> {
  const meta = await hubCall(client, opts, `${repoId}/${f.path}`, () => resolveFile(client, repoId, commit, f.path));
  const blob = meta.etag ?? f.blob;
  if (!blob || /[/\\]/.test(blob)) throw new AppError(`The Hub gave no usable ETag for ${repoId}/${f.path}.`, 'Check HF_ENDPOINT points to a Hugging Face Hub.');
  const size = meta.size ?? f.size;
  const blobPath = join(storage, 'blobs', blob);
  if ((await sizeOf(blobPath)) === size) return { blob, downloaded: 0, resumed: 0 };
  const incomplete = `${blobPath}.incomplete`;
  const sha256 = SHA256_RE.test(blob) ? blob : f.lfsSha256;
  const state: HashState = { hash: createHash('sha256'), hashed: 0 };
  const retries = opts.retries ?? 3;
  let downloaded = 0;
  const resumed = Math.min(size, (await sizeOf(incomplete)) ?? 0);
  for (let attempt = 0; ; attempt++) {
    let fetchedNow = 0;
    try {
      await transfer(client, opts, meta.location, incomplete, size, state, (fileBytes, fetched) => {
        fetchedNow = fetched;
        onBytes(fileBytes, downloaded + fetched);
      });
      downloaded += fetchedNow;
      break;
    } catch (err) {
      downloaded += fetchedNow;
      if (isCancelled(err, opts.signal)) throw new CancelledError();
      if (err instanceof AppError) throw err;
      if (attempt >= retries) {
        throw new AppError(
          `Downloading ${f.path} failed: ${describe(err)}. ${formatGB((await sizeOf(incomplete)) ?? 0)} of it is kept.`,
          'Run the same command again: it resumes where it stopped.',
        );
      }
      await sleep(Math.min(8000, 500 * 2 ** attempt), opts.signal).catch(() => {
        throw new CancelledError();
      });
    }
  }
  const got = (await sizeOf(incomplete)) ?? 0;
  if (got !== size) {
    throw new AppError(`Downloading ${f.path} stopped at ${got} of ${size} bytes.`, 'Run the same command again: it resumes where it stopped.');
  }
  if (sha256) {
    const digest = state.hashed === size ? state.hash.digest('hex') : await hashFile(incomplete);
    if (digest !== sha256) {
      await unlink(incomplete).catch(() => {});
      throw new VerifyError(
        `Checksum mismatch for ${repoId}/${f.path}: expected sha256 ${sha256.slice(0, 12)}…, got ${digest.slice(0, 12)}…; the partial file was deleted.`,
        'Run the same command again; if it repeats, the server (HF_ENDPOINT) sends a different file than it lists.',
      );
    }
  }
  await rename(incomplete, blobPath);
  return { blob, downloaded, resumed };
}

interface HashState {
  hash: Hash;
  hashed: number;
}

/** One GET (redirects followed by hand so the token never leaves the Hub), appending to the partial file. */
async function transfer(
  client: HubClient,
  opts: PullOptions,
  url: string,
  incomplete: string,
  size: number,
  state: HashState,
  onBytes: (fileBytes: number, fetched: number) => void,
): Promise<{ start: number; fetched: number }> {
  let start = (await sizeOf(incomplete)) ?? 0;
  if (start > size) {
    await truncate(incomplete, 0);
    start = 0;
  }
  if (start === size) return { start, fetched: 0 };
  if (state.hashed !== start) {
    state.hash = createHash('sha256');
    if (start > 0) await hashInto(incomplete, state.hash);
    state.hashed = start;
  }

  const stall = new AbortController();
  const stallMs = opts.stallTimeoutMs ?? 60_000;
  const stalled = () => stall.abort(new RetryableError(`no data for ${stallMs < 1000 ? `${stallMs} ms` : `${Math.round(stallMs / 1000)} s`}`));
  let timer = setTimeout(stalled, stallMs);
  const signal = opts.signal ? AbortSignal.any([stall.signal, opts.signal]) : stall.signal;
  const base = opts.fetch ?? globalThis.fetch;
  const hubOrigin = new URL(client.hubUrl).origin;
  let fetched = 0;
  let ws: ReturnType<typeof createWriteStream> | undefined;
  try {
    let res: Response | undefined;
    for (let hop = 0; hop < 10; hop++) {
      const headers: Record<string, string> = { 'accept-encoding': 'identity' };
      if (start > 0) headers.range = `bytes=${start}-`;
      if (client.token && new URL(url).origin === hubOrigin) headers.authorization = `Bearer ${client.token}`;
      res = await base(url, { headers, signal, redirect: 'manual' });
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        url = new URL(location, url).href;
        continue;
      }
      break;
    }
    if (!res) throw new RetryableError('no response');
    if (res.status === 416) {
      await res.body?.cancel();
      await truncate(incomplete, 0);
      state.hashed = -1;
      throw new RetryableError('the server refused the resume range');
    }
    if (res.status === 429 || res.status >= 500) {
      await res.body?.cancel();
      throw new RetryableError(`HTTP ${res.status}`);
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      const s = classifyHttp(res.status, res.headers.get('x-error-code'), client, url);
      throw new AppError(s.message, s.tryThis);
    }
    if (res.status === 206) {
      const from = Number(/bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1]);
      if (from !== start) {
        await res.body?.cancel();
        await truncate(incomplete, 0);
        state.hashed = -1;
        throw new RetryableError(`the server resumed at byte ${from}, not ${start}`);
      }
    } else if (start > 0) {
      // The server ignored the Range header: start over.
      start = 0;
      state.hash = createHash('sha256');
      state.hashed = 0;
    }
    ws = createWriteStream(incomplete, { flags: start > 0 ? 'a' : 'w' });
    if (!res.body) throw new RetryableError('empty body');
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      clearTimeout(timer);
      timer = setTimeout(stalled, stallMs);
      state.hash.update(chunk);
      state.hashed += chunk.length;
      fetched += chunk.length;
      if (!ws.write(chunk)) await once(ws, 'drain', { signal });
      onBytes(start + fetched, fetched);
    }
    if (start + fetched < size) throw new RetryableError(`the connection closed after ${start + fetched} of ${size} bytes`);
    return { start, fetched };
  } catch (err) {
    if (stall.signal.aborted && !opts.signal?.aborted) throw stall.signal.reason;
    throw err;
  } finally {
    clearTimeout(timer);
    if (ws) {
      ws.end();
      await once(ws, 'close').catch(() => {});
    }
  }
}

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}

async function hashInto(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  await hashInto(path, h);
  return h.digest('hex');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

async function snapshotHasAll(snapshotPath: string, plan: PlannedFile[]): Promise<boolean> {
  for (const f of plan) if ((await sizeOf(join(snapshotPath, f.path))) !== f.size) return false;
  return true;
}

async function freeBytesAt(dir: string): Promise<number> {
  let d = dir;
  for (;;) {
    try {
      const s = await statfs(d);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      const up = dirname(d);
      if (up === d) return Number.POSITIVE_INFINITY;
      d = up;
    }
  }
}

/**
 * Relative links, `snapshots/<commit>/<path> → ../../blobs/<etag>`, built in a side folder and moved
 * into place in one rename: a snapshot folder exists only when all its files do.
 */
async function linkSnapshot(storage: string, commit: string, plan: PlannedFile[]): Promise<void> {
  const final = join(storage, 'snapshots', commit);
  const linkText = (f: PlannedFile) => relative(dirname(join(final, f.path)), join(storage, 'blobs', f.blob));
  for (const leftover of await readdir(storage).catch(() => [] as string[])) {
    if (leftover.startsWith('.snapshot-')) await rm(join(storage, leftover), { recursive: true, force: true });
  }
  if (await isDir(final)) {
    for (const f of plan) {
      const p = join(final, f.path);
      if ((await sizeOf(p)) === f.size) continue;
      await mkdir(dirname(p), { recursive: true });
      await rm(p, { force: true });
      await symlink(linkText(f), p);
    }
    return;
  }
  const tmp = join(storage, `.snapshot-${commit}.tmp-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  for (const f of plan) {
    const p = join(tmp, f.path);
    await mkdir(dirname(p), { recursive: true });
    await symlink(linkText(f), p);
  }
  await mkdir(join(storage, 'snapshots'), { recursive: true });
  try {
    await rename(tmp, final);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (!(await isDir(final))) throw err;
    await linkSnapshot(storage, commit, plan); // another pull won the race: fill in what is missing
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await lstat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** huggingface_hub ≥ 2.x keeps the file listing of each commit in `trees/<commit>.json`. */
async function writeTreeCache(storage: string, commit: string, files: RepoFile[]): Promise<void> {
  const path = join(storage, 'trees', `${commit}.json`);
  if ((await sizeOf(path)) !== undefined || files.some((f) => !f.oid)) return;
  const entries: Record<string, Record<string, unknown>> = {};
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const e: Record<string, unknown> = { size: f.size, blob_id: f.oid };
    if (f.lfsSha256) Object.assign(e, { lfs_sha256: f.lfsSha256, lfs_size: f.size });
    if (f.xetHash && SHA256_RE.test(f.xetHash)) e.xet_hash = f.xetHash;
    entries[f.path] = e;
  }
  await writeAtomic(path, JSON.stringify({ format_version: 1, files: entries }, null, 1));
}

async function writeAtomic(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}

const CACHEDIR_TAG =
  'Signature: 8a477f597d28d172789f06886806bc55\n' +
  '# This file is a cache directory tag created by huggingface_hub.\n' +
  '# For information about cache directory tags, see:\n' +
  '#\thttps://bford.info/cachedir/\n';

async function writeCacheDirTag(cacheDir: string): Promise<void> {
  const p = join(cacheDir, 'CACHEDIR.TAG');
  if ((await sizeOf(p)) === undefined) await writeFile(p, CACHEDIR_TAG).catch(() => {});
}
