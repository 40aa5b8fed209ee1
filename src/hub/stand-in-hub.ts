/**
 * A stand-in Hugging Face Hub on 127.0.0.1 for tests and for `--demo`'s search (no network): the routes @huggingface/hub and Python's
 * huggingface_hub call, with their headers, Link pagination, 302s to a separate "CDN" origin,
 * Range requests, error codes, and switches for slow, rate-limited and interrupted responses.
 * Point a client at it with HF_ENDPOINT=<hub.url>.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';

/** A Qwen2.5-Coder-7B config.json (MLX 4-bit): the shape the fixtures and the demo's repos use. */
export const qwen7bConfig = {
  model_type: 'qwen2',
  hidden_size: 3584,
  num_attention_heads: 28,
  num_key_value_heads: 4,
  num_hidden_layers: 28,
  intermediate_size: 18944,
  vocab_size: 152064,
  max_position_embeddings: 32768,
  quantization: { group_size: 64, bits: 4 },
};

export interface StandInFile {
  path: string;
  content: Buffer | string;
  /** Stored in LFS (302 to the CDN, sha256 ETag). Default: *.safetensors and files over 10 MB. */
  lfs?: boolean;
  /**
   * The size the Hub reports for this file (file tree, siblings, LFS size, X-Linked-Size) when it
   * stands in for a real model's file in listings (the demo's search): `content` is a small
   * stand-in, so a download gets fewer bytes than announced (and a client's size check fails).
   * Default: the length of `content`.
   */
  size?: number;
}

export interface StandInRepo {
  id: string;
  /** Commit of `main`; derived from the content when absent. */
  sha?: string;
  files: StandInFile[];
  gated?: boolean;
  private?: boolean;
  downloads?: number;
  likes?: number;
  lastModified?: string;
  tags?: string[];
}

export interface Behavior {
  /** Delay before every answer (hub and CDN). */
  delayMs: number;
  /** Answer 429 to every /api call. */
  rateLimit: boolean;
  /** Cut the CDN connection after this many body bytes, for the next `cutTimes` transfers. */
  cutAfterBytes?: number;
  cutTimes: number;
  /** CDN ignores Range (answers 200 with the whole file). */
  ignoreRange: boolean;
  /** CDN sends wrong bytes (flips the first byte). */
  corrupt: boolean;
  /** Pause the CDN body after this many bytes (for stall and cancel tests). */
  stallAfterBytes?: number;
}

export interface RequestLog {
  method: string;
  url: string;
  host: 'hub' | 'cdn';
  range?: string;
  authorization?: string;
}

export interface StandInHub {
  /** Use as HF_ENDPOINT. */
  url: string;
  cdnUrl: string;
  requests: RequestLog[];
  behavior: Behavior;
  repos: Map<string, ResolvedRepo>;
  addRepo(repo: StandInRepo): ResolvedRepo;
  close(): Promise<void>;
}

interface ResolvedFile {
  path: string;
  content: Buffer;
  /** What the Hub reports (StandInFile.size). */
  size: number;
  lfs: boolean;
  /** Git blob id of what git stores (the pointer file for LFS). */
  oid: string;
  sha256: string;
}

export interface ResolvedRepo extends Omit<StandInRepo, 'files'> {
  sha: string;
  files: ResolvedFile[];
}

const gitOid = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function resolveRepo(repo: StandInRepo): ResolvedRepo {
  const files = repo.files.map((f) => {
    const content = Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content);
    const lfs = f.lfs ?? (f.path.endsWith('.safetensors') || content.length > 10 * 2 ** 20);
    const sum = sha256(content);
    const size = f.size ?? content.length;
    const pointer = Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sum}\nsize ${size}\n`);
    return { path: f.path, content, size, lfs, oid: gitOid(lfs ? pointer : content), sha256: sum };
  });
  const sha = repo.sha ?? createHash('sha1').update(repo.id).update(files.map((f) => f.oid).join()).digest('hex');
  return { ...repo, sha, files };
}

/** A repo made from a model folder on disk (for the peers harness: a real model served by the stand-in). */
export function repoFromDirectory(id: string, dir: string, extra: Partial<StandInRepo> = {}): StandInRepo {
  const files: StandInFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (name.startsWith('.')) continue;
      if (statSync(p).isDirectory()) walk(p);
      else files.push({ path: relative(dir, p).split('\\').join('/'), content: readFileSync(p) });
    }
  };
  walk(dir);
  return { id, files, ...extra };
}

export async function startStandInHub(opts: { repos?: StandInRepo[]; pageSize?: number; tokens?: string[] } = {}): Promise<StandInHub> {
  const repos = new Map<string, ResolvedRepo>();
  const pageSize = opts.pageSize ?? 500;
  const tokens = new Set(opts.tokens ?? ['hf_standin_token']);
  const requests: RequestLog[] = [];
  const behavior: Behavior = { delayMs: 0, rateLimit: false, cutTimes: 0, ignoreRange: false, corrupt: false };
  const sockets = new Set<import('node:net').Socket>();
  let hubUrl = '';
  let cdnUrl = '';

  const log = (host: 'hub' | 'cdn', req: IncomingMessage) =>
    requests.push({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      host,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });

  const delay = () => new Promise((r) => setTimeout(r, behavior.delayMs));

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const error = (res: ServerResponse, status: number, code: string | undefined, message: string, headers: Record<string, string> = {}) =>
    json(res, status, { error: message }, { ...(code ? { 'x-error-code': code, 'x-error-message': message } : {}), ...headers });

  const authorised = (req: IncomingMessage) => {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return Boolean(m && tokens.has(m[1]!));
  };

  /** undefined when the request may read the repo; else the error already sent. */
  const guard = (req: IncomingMessage, res: ServerResponse, id: string): ResolvedRepo | undefined => {
    const repo = repos.get(id);
    if (!repo || (repo.private && !authorised(req))) {
      error(res, req.headers.authorization ? 404 : 401, 'RepoNotFound', 'Repository not found');
      return undefined;
    }
    if (repo.gated && !authorised(req)) {
      const msg = `Access to model ${id} is restricted. You must have access to it and be authenticated to access it. Please log in.`;
      error(res, req.headers.authorization ? 403 : 401, 'GatedRepo', msg);
      return undefined;
    }
    return repo;
  };

  const revisionOk = (repo: ResolvedRepo, rev: string) => rev === 'main' || rev === 'HEAD' || rev === repo.sha;

  const modelJson = (repo: ResolvedRepo, blobs: boolean) => {
    const config = repo.files.find((f) => f.path === 'config.json');
    let cfg: Record<string, unknown> | undefined;
    try {
      cfg = config ? (JSON.parse(config.content.toString('utf8')) as Record<string, unknown>) : undefined;
    } catch {
      cfg = undefined;
    }
    return {
      _id: createHash('md5').update(repo.id).digest('hex').slice(0, 24),
      id: repo.id,
      modelId: repo.id,
      author: repo.id.split('/')[0],
      sha: repo.sha,
      private: Boolean(repo.private),
      gated: repo.gated ? 'manual' : false,
      disabled: false,
      downloads: repo.downloads ?? 0,
      likes: repo.likes ?? 0,
      lastModified: repo.lastModified ?? '2025-01-01T00:00:00.000Z',
      createdAt: '2024-06-01T00:00:00.000Z',
      library_name: 'mlx',
      pipeline_tag: 'text-generation',
      tags: repo.tags ?? ['mlx', 'safetensors', 'text-generation'],
      ...(cfg ? { config: { model_type: cfg.model_type, architectures: cfg.architectures } } : {}),
      siblings: repo.files.map((f) =>
        blobs
          ? { rfilename: f.path, size: f.size, blobId: f.oid, ...(f.lfs ? { lfs: { sha256: f.sha256, size: f.size, pointerSize: 130 } } : {}) }
          : { rfilename: f.path },
      ),
      usedStorage: repo.files.reduce((a, f) => a + f.size, 0),
    };
  };

  const paginate = <T>(res: ServerResponse, url: URL, items: T[], limit: number): T[] => {
    const cursor = Number(url.searchParams.get('cursor') ?? 0);
    const page = items.slice(cursor, cursor + limit);
    if (cursor + limit < items.length) {
      const next = new URL(url.href);
      next.searchParams.set('cursor', String(cursor + limit));
      res.setHeader('link', `<${next.href}>; rel="next"`);
    }
    return page;
  };

  const sendBytes = (req: IncomingMessage, res: ServerResponse, content: Buffer, headers: Record<string, string>, cdn: boolean) => {
    let body = content;
    if (cdn && behavior.corrupt && body.length) body = Buffer.concat([Buffer.from([body[0]! ^ 0xff]), body.subarray(1)]);
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    let status = 200;
    let start = 0;
    let end = body.length - 1;
    if (range && !(cdn && behavior.ignoreRange)) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}`, ...headers });
        res.end();
        return;
      }
      status = 206;
    }
    const slice = body.subarray(start, end + 1);
    res.writeHead(status, {
      'content-type': 'application/octet-stream',
      'content-length': String(slice.length),
      'accept-ranges': 'bytes',
      ...(status === 206 ? { 'content-range': `bytes ${start}-${end}/${body.length}` } : {}),
      ...headers,
    });
    if (req.method === 'HEAD') return res.end();
    const cut = cdn && behavior.cutTimes > 0 && behavior.cutAfterBytes !== undefined ? behavior.cutAfterBytes : undefined;
    if (cut !== undefined && cut < slice.length) {
      behavior.cutTimes--;
      res.write(slice.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    const stall = cdn ? behavior.stallAfterBytes : undefined;
    if (stall !== undefined && stall < slice.length) {
      res.write(slice.subarray(0, stall)); // and nothing more until the client gives up
      return;
    }
    res.end(slice);
  };

  const hub = createServer(async (req, res) => {
    log('hub', req);
    await delay();
    const url = new URL(req.url ?? '/', hubUrl);
    const path = decodeURIComponent(url.pathname);
    try {
      if (path.startsWith('/api/') && behavior.rateLimit) return error(res, 429, undefined, 'You have exceeded our hourly quotas for action: api. Retry later.', { 'retry-after': '60' });

      if (path === '/api/models') {
        const author = url.searchParams.get('author');
        const search = url.searchParams.get('search')?.toLowerCase();
        const tagFilters = url.searchParams.getAll('filter');
        const limit = Math.min(Number(url.searchParams.get('limit') ?? 500) || 500, 500, pageSize);
        const found = [...repos.values()]
          .filter((r) => !r.private || authorised(req))
          .filter((r) => !author || r.id.split('/')[0] === author)
          .filter((r) => !search || r.id.toLowerCase().includes(search))
          .filter((r) => tagFilters.every((t) => (r.tags ?? ['mlx', 'safetensors', 'text-generation']).includes(t)))
          .sort((a, b) => (b.downloads ?? 0) - (a.downloads ?? 0) || a.id.localeCompare(b.id));
        const page = paginate(res, url, found, limit);
        return json(res, 200, page.map((r) => {
          const m = modelJson(r, false) as Record<string, unknown>;
          delete m.siblings; // listModels gets siblings only when expanded
          return m;
        }));
      }

      let m = /^\/api\/models\/([^/]+\/[^/]+)(?:\/revision\/([^/]+))?$/.exec(path);
      if (m) {
        const repo = guard(req, res, m[1]!);
        if (!repo) return;
        if (m[2] && !revisionOk(repo, m[2])) return error(res, 404, 'RevisionNotFound', `Invalid rev id: ${m[2]}`);
        return json(res, 200, modelJson(repo, ['1', 'true', 'True'].includes(url.searchParams.get('blobs') ?? '')));
      }

      m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(path);
      if (m) {
        const repo = guard(req, res, m[1]!);
        if (!repo) return;
        if (!revisionOk(repo, m[2]!)) return error(res, 404, 'RevisionNotFound', `Invalid rev id: ${m[2]}`);
        const prefix = m[3] ? m[3].replace(/\/$/, '') + '/' : '';
        const recursive = ['1', 'true', 'True'].includes(url.searchParams.get('recursive') ?? '');
        const entries: Record<string, unknown>[] = [];
        const dirs = new Set<string>();
        for (const f of repo.files) {
          if (!f.path.startsWith(prefix)) continue;
          const rest = f.path.slice(prefix.length);
          const parts = rest.split('/');
          for (let i = 1; i < parts.length; i++) {
            const d = prefix + parts.slice(0, i).join('/');
            if ((recursive || i === 1) && !dirs.has(d)) {
              dirs.add(d);
              entries.push({ type: 'directory', oid: gitOid(Buffer.from(d)), size: 0, path: d });
            }
          }
          if (!recursive && parts.length > 1) continue;
          entries.push({
            type: 'file',
            oid: f.oid,
            size: f.size,
            path: f.path,
            ...(f.lfs ? { lfs: { oid: f.sha256, size: f.size, pointerSize: 130 } } : {}),
          });
        }
        if (prefix && entries.length === 0) return error(res, 404, 'EntryNotFound', `${prefix} does not exist on "${m[2]}"`);
        return json(res, 200, paginate(res, url, entries, pageSize));
      }

      m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
      if (m && (req.method === 'GET' || req.method === 'HEAD')) {
        const repo = guard(req, res, m[1]!);
        if (!repo) return;
        if (!revisionOk(repo, m[2]!)) return error(res, 404, 'RevisionNotFound', `Invalid rev id: ${m[2]}`);
        const file = repo.files.find((f) => f.path === m![3]);
        const common = { 'x-repo-commit': repo.sha };
        if (!file) return error(res, 404, 'EntryNotFound', `Entry not found`, common);
        if (file.lfs) {
          const location = `${cdnUrl}/lfs/${file.sha256}?repo=${encodeURIComponent(repo.id)}&signature=stand-in`;
          res.writeHead(302, {
            ...common,
            location,
            etag: `"${file.oid}"`,
            'x-linked-etag': `"${file.sha256}"`,
            'x-linked-size': String(file.size),
            'content-length': '0',
          });
          return res.end();
        }
        return sendBytes(req, res, file.content, { ...common, etag: `"${file.oid}"` }, false);
      }

      return error(res, 404, undefined, 'Not Found');
    } catch (err) {
      if (!res.headersSent) error(res, 500, undefined, (err as Error).message);
      else res.destroy();
    }
  });

  const cdn = createServer(async (req, res) => {
    log('cdn', req);
    await delay();
    const url = new URL(req.url ?? '/', cdnUrl);
    const m = /^\/lfs\/([0-9a-f]{64})$/.exec(url.pathname);
    const file = m ? [...repos.values()].flatMap((r) => r.files).find((f) => f.sha256 === m[1]) : undefined;
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('NoSuchKey');
    }
    sendBytes(req, res, file.content, { etag: `"${file.sha256}"` }, true);
  });

  for (const s of [hub, cdn]) s.on('connection', (sock) => (sockets.add(sock), sock.on('close', () => sockets.delete(sock))));
  const listen = (s: Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
  hubUrl = `http://127.0.0.1:${await listen(hub)}`;
  cdnUrl = `http://127.0.0.1:${await listen(cdn)}`;

  const addRepo = (repo: StandInRepo) => {
    const r = resolveRepo(repo);
    repos.set(r.id, r);
    return r;
  };
  for (const r of opts.repos ?? []) addRepo(r);

  return {
    url: hubUrl,
    cdnUrl,
    requests,
    behavior,
    repos,
    addRepo,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([hub, cdn].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

/**
 * A small but well-formed MLX model repo: config, sharded weights with an index, tokenizer, template.
 * `weightsBytes`: the Hub lists the weights at that total (a real model's), over shards of at most
 * 5 GB as mlx-community's are; their bytes stay small stand-ins (for listings, not downloads).
 */
export function fakeMlxRepo(
  id: string,
  opts: {
    shards?: number;
    shardBytes?: number;
    weightsBytes?: number;
    config?: Record<string, unknown>;
    downloads?: number;
    gated?: boolean;
    private?: boolean;
    chatTemplate?: boolean;
  } = {},
): StandInRepo {
  const shards = opts.shards ?? (opts.weightsBytes ? Math.max(1, Math.ceil(opts.weightsBytes / 5e9)) : 2);
  const shardBytes = opts.shardBytes ?? 64 * 1024;
  const weightFiles = shards === 1 ? ['model.safetensors'] : Array.from({ length: shards }, (_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`);
  const listed = (i: number) => (opts.weightsBytes ? Math.floor(opts.weightsBytes / shards) + (i === 0 ? opts.weightsBytes % shards : 0) : undefined);
  const files: StandInFile[] = weightFiles.map((path, i) => {
    const size = listed(i);
    return { path, content: pseudoRandomBytes(`${id}/${path}`, shardBytes + i), ...(size !== undefined ? { size } : {}) };
  });
  if (shards > 1) {
    const total = opts.weightsBytes ?? shards * shardBytes;
    files.push({
      path: 'model.safetensors.index.json',
      content: JSON.stringify({ metadata: { total_size: total }, weight_map: Object.fromEntries(weightFiles.map((f, i) => [`layers.${i}.weight`, f])) }),
    });
  }
  files.push(
    {
      path: 'config.json',
      content: JSON.stringify(
        opts.config ?? { ...qwen7bConfig, architectures: ['Qwen2ForCausalLM'] },
      ),
    },
    { path: 'tokenizer.json', content: JSON.stringify({ version: '1.0', model: { type: 'BPE' } }) },
    {
      path: 'tokenizer_config.json',
      content: JSON.stringify(opts.chatTemplate === false ? { model_max_length: 32768 } : { chat_template: '{% for m in messages %}{{ m.content }}{% endfor %}', model_max_length: 32768 }),
    },
    { path: 'special_tokens_map.json', content: '{}' },
    { path: 'README.md', content: `# ${id}\n` },
    { path: '.gitattributes', content: '*.safetensors filter=lfs diff=lfs merge=lfs -text\n' },
  );
  return { id, files, downloads: opts.downloads ?? 100, gated: opts.gated, private: opts.private };
}

/** Deterministic bytes, so checksums are stable across runs. */
export function pseudoRandomBytes(seed: string, n: number): Buffer {
  const out = Buffer.alloc(n);
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < n; i += 32) {
    block.copy(out, i, 0, Math.min(32, n - i));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}
