// Helpers that run the REAL peers for tests: mlx_lm.server on tiny generated models, the LiteLLM
// proxy, aider, and a stand-in Hugging Face Hub. Every child gets a temp HOME, an argument array
// (never a shell string) and its own process group; all of them are killed when the test process
// ends, whatever happened.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePeers, tail, type Peer, type PeerName, type Peers } from './bootstrap.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const TINY_MODEL_SCRIPT = path.join(HERE, 'make_tiny_model.py');

// ---------------------------------------------------------------------------------------------
// children

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the whole process group (detached: true made the child its leader)
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

process.on('exit', () => {
  for (const c of live) killGroup(c, 'SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    for (const c of live) killGroup(c, 'SIGKILL');
    process.exit(130);
  });
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  logPath: string;
  /** resolves with the exit code (null when killed by a signal) */
  exited: Promise<number | null>;
  /** current content of the log file */
  log(): string;
  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves when it has exited */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns a long-running child in its own process group with stdout+stderr appended to `logPath`. */
export function startChild(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; logPath: string }): Spawned {
  fs.mkdirSync(path.dirname(opts.logPath), { recursive: true });
  const fd = fs.openSync(opts.logPath, 'a');
  fs.writeSync(fd, `$ ${JSON.stringify([cmd, ...args])}\n`);
  const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', fd, fd], detached: true });
  fs.closeSync(fd);
  live.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    });
    child.once('error', (e) => {
      fs.appendFileSync(opts.logPath, `\n[spawn error] ${String(e)}\n`);
      live.delete(child);
      resolve(null);
    });
  });
  const log = () => fs.readFileSync(opts.logPath, 'utf8');
  return {
    child,
    pid: child.pid ?? -1,
    logPath: opts.logPath,
    exited,
    log,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child, 'SIGTERM');
      const t = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
      killGroup(child, 'SIGKILL'); // stragglers left in the group
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr */
  output: string;
  timedOut: boolean;
  seconds: number;
}

/** Runs a child to completion (own process group, killed on timeout), capturing its output. */
export function runChild(
  cmd: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; logPath?: string },
): Promise<RunResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    live.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => (stdout += d));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, opts.timeoutMs ?? 180_000);
    child.once('error', (e) => (stderr += `\n[spawn error] ${String(e)}`));
    child.once('close', (code) => {
      clearTimeout(timer);
      live.delete(child);
      killGroup(child, 'SIGKILL');
      const r = { code, stdout, stderr, output: stdout + stderr, timedOut, seconds: (Date.now() - t0) / 1000 };
      if (opts.logPath) {
        fs.mkdirSync(path.dirname(opts.logPath), { recursive: true });
        fs.writeFileSync(opts.logPath, `$ ${JSON.stringify([cmd, ...args])}\n[exit ${code}${timedOut ? ', timed out' : ''}]\n--- stdout\n${stdout}\n--- stderr\n${stderr}\n`);
      }
      resolve(r);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// environment

/** A fresh temp dir (removed by `cleanupTemp()` or left for post-mortem when AIDER_MLX_KEEP_TMP=1). */
const temps: string[] = [];
export function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `aider-mlx-${prefix}-`));
  temps.push(d);
  return d;
}
export function cleanupTemp(): void {
  if (process.env.AIDER_MLX_KEEP_TMP === '1') return;
  for (const d of temps.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/**
 * A minimal environment for a child: nothing of the caller's OPENAI_ / HF_ / LITELLM_ / AIDER_
 * settings leaks in. HOME is a temp dir unless given.
 */
export function childEnv(extra: Record<string, string | undefined> = {}, home?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home ?? tempDir('home'),
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TERM: 'dumb',
    NO_COLOR: '1',
    TMPDIR: os.tmpdir(),
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONNOUSERSITE: '1',
    BROWSER: 'true', // aider may offer to open a docs URL; never launch anything
    // No network here beyond package registries: never try to fetch LiteLLM's remote price map.
    LITELLM_LOCAL_MODEL_COST_MAP: 'True',
  };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Plain HTTP to 127.0.0.1 (no fetch: no keep-alive pools left behind, explicit timeout). */
export function httpRequest(url: string, opts: { method?: string; body?: unknown; timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const data = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const req = http.request(
      url,
      {
        method: opts.method ?? (data === undefined ? 'GET' : 'POST'),
        headers: {
          ...(data !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(data)) } : {}),
          connection: 'close',
          ...opts.headers,
        },
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)])), body }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${opts.timeoutMs ?? 30_000} ms: ${url}`)));
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** A chat completion request body that keeps generation short. */
export function chatBody(model: string, content = 'Reply with the single word: ping', maxTokens = 8) {
  return { model, messages: [{ role: 'user', content }], max_tokens: maxTokens, stream: false, temperature: 0 };
}

async function waitFor(what: string, spawned: Spawned, probe: () => Promise<HttpAnswer>, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  let lastErr = '';
  let exitCode: number | null | undefined;
  void spawned.exited.then((c) => (exitCode = c));
  while (Date.now() - t0 < timeoutMs) {
    if (exitCode !== undefined) {
      throw new Error(`${what} exited (code ${exitCode}) before it was ready; log ${spawned.logPath}:\n${tail(spawned.log(), 40)}`);
    }
    try {
      const r = await probe();
      if (r.status === 200) return;
      lastErr = `HTTP ${r.status}: ${r.body.slice(0, 500)}`;
    } catch (e) {
      lastErr = String(e);
    }
    await sleep(300);
  }
  await spawned.stop();
  throw new Error(`${what} not ready after ${timeoutMs} ms (${lastErr}); log ${spawned.logPath}:\n${tail(spawned.log(), 40)}`);
}

// ---------------------------------------------------------------------------------------------
// peers

/** The installed peer or an Error whose message is the install failure. */
export async function peer(name: PeerName): Promise<Peer> {
  const p = await ensurePeers();
  const got = p[name];
  if (!got) throw new Error(`peer ${name} is not available: ${p.errors[name]}`);
  return got;
}

/** Why the named peers cannot be used, or null when all are installed. For `ctx.skip(reason)`. */
export function missingPeers(p: Peers, names: PeerName[]): string | null {
  const missing = names.filter((n) => !p[n]);
  if (missing.length === 0) return null;
  return missing
    .map((n) => {
      const err = p.errors[n] ?? 'unknown reason';
      const last = err.trim().split('\n').pop()!; // pip's final ERROR line says the most
      return `peer ${n} not installed: ${last}\n${err}`;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// tiny models

export interface TinyModel {
  repoId: string;
  /** what the model replies to any chat (greedy, then eos) */
  answer: string;
  repoDir: string;
  snapshot: string;
  revision: string;
}
export interface TinyModels {
  hfHome: string;
  editor: TinyModel;
  architect: TinyModel;
}

export const TINY_EDITOR = { repoId: 'aider-mlx-test/tiny-editor', seed: 1, answer: 'editor pong' };
export const TINY_ARCHITECT = { repoId: 'aider-mlx-test/tiny-architect', seed: 2, answer: 'architect plan ready' };

/** Writes one tiny model into `$hfHome/hub` as a real HF cache entry. */
export async function makeTinyModel(hfHome: string, spec: { repoId: string; seed: number; answer: string }): Promise<TinyModel> {
  const mlx = await peer('mlx');
  const r = await runChild(
    mlx.python,
    [TINY_MODEL_SCRIPT, '--hf-home', hfHome, '--repo-id', spec.repoId, '--seed', String(spec.seed), '--answer', spec.answer],
    { env: childEnv({ HF_HOME: hfHome, HF_HUB_OFFLINE: '1' }), timeoutMs: 120_000 },
  );
  if (r.code !== 0) throw new Error(`make_tiny_model.py failed (exit ${r.code}):\n${tail(r.output, 40)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TinyModel;
}

/** Both tiny models (editor: "editor pong", architect: "architect plan ready") in `hfHome` (a new temp dir by default). */
export async function makeTinyModels(hfHome: string = tempDir('hf')): Promise<TinyModels> {
  const editor = await makeTinyModel(hfHome, TINY_EDITOR);
  const architect = await makeTinyModel(hfHome, TINY_ARCHITECT);
  return { hfHome, editor, architect };
}

// ---------------------------------------------------------------------------------------------
// mlx_lm.server

export interface MlxServer {
  port: number;
  /** the server process (mlx_lm.server's python) */
  pid: number;
  /** http://127.0.0.1:<port>/v1 */
  baseUrl: string;
  /** http://127.0.0.1:<port> */
  root: string;
  model: string;
  logPath: string;
  log(): string;
  stop(): Promise<void>;
}

export interface MlxServerOptions {
  /** --model: a repo id present in hfHome, or a path */
  model: string;
  hfHome: string;
  /** default true: HF_HUB_OFFLINE=1. false: the server may ask `hfEndpoint` (a stand-in Hub) */
  offline?: boolean;
  hfEndpoint?: string;
  port?: number;
  extraArgs?: string[];
  env?: Record<string, string | undefined>;
  logPath?: string;
  readyTimeoutMs?: number;
}

/** Starts the real mlx_lm.server on 127.0.0.1 and waits until a 1-token chat completion answers 200. */
export async function startMlxServer(opts: MlxServerOptions): Promise<MlxServer> {
  const mlx = await peer('mlx');
  const port = opts.port ?? (await freePort());
  const logPath = opts.logPath ?? path.join(tempDir('mlx-log'), `mlx_lm.server-${port}.log`);
  const offline = opts.offline ?? true;
  const env = childEnv({
    HF_HOME: opts.hfHome,
    HF_HUB_OFFLINE: offline ? '1' : undefined,
    HF_ENDPOINT: opts.hfEndpoint,
    HF_HUB_DISABLE_TELEMETRY: '1',
    HF_HUB_ETAG_TIMEOUT: '5',
    HF_HUB_DOWNLOAD_TIMEOUT: '5',
    ...opts.env,
  });
  const args = ['--model', opts.model, '--host', '127.0.0.1', '--port', String(port), ...(opts.extraArgs ?? [])];
  const spawned = startChild(mlx.bin, args, { env, logPath });
  const root = `http://127.0.0.1:${port}`;
  await waitFor(
    `mlx_lm.server (${opts.model})`,
    spawned,
    () => httpRequest(`${root}/v1/chat/completions`, { body: chatBody('default_model', 'ping', 1), timeoutMs: 60_000 }),
    opts.readyTimeoutMs ?? 180_000,
  );
  return { port, pid: spawned.pid, baseUrl: `${root}/v1`, root, model: opts.model, logPath, log: spawned.log, stop: () => spawned.stop() };
}

// ---------------------------------------------------------------------------------------------
// LiteLLM proxy

export interface LitellmProxy {
  port: number;
  /** http://127.0.0.1:<port>/v1 */
  baseUrl: string;
  root: string;
  logPath: string;
  log(): string;
  stop(): Promise<void>;
}

/** Starts the real LiteLLM proxy on 127.0.0.1 and waits for GET /health/liveliness. */
export async function startLitellm(
  configPath: string,
  env: Record<string, string | undefined> = {},
  opts: { port?: number; logPath?: string; readyTimeoutMs?: number; extraArgs?: string[] } = {},
): Promise<LitellmProxy> {
  const litellm = await peer('litellm');
  const port = opts.port ?? (await freePort());
  const logPath = opts.logPath ?? path.join(tempDir('litellm-log'), `litellm-${port}.log`);
  const spawned = startChild(
    litellm.bin,
    ['--config', configPath, '--host', '127.0.0.1', '--port', String(port), ...(opts.extraArgs ?? [])],
    { env: childEnv({ DISABLE_ADMIN_UI: 'True', ...env }), logPath },
  );
  const root = `http://127.0.0.1:${port}`;
  await waitFor(
    'litellm proxy',
    spawned,
    () => httpRequest(`${root}/health/liveliness`, { timeoutMs: 5000 }),
    opts.readyTimeoutMs ?? 180_000,
  );
  return { port, baseUrl: `${root}/v1`, root, logPath, log: spawned.log, stop: () => spawned.stop() };
}

// ---------------------------------------------------------------------------------------------
// aider

/** Flags for a non-interactive run. Deliberately NOT --no-show-model-warnings: tests must see them. */
export const AIDER_BASE_ARGS = ['--yes-always', '--no-git', '--no-check-update', '--no-analytics', '--no-stream', '--no-pretty'];

export interface AiderOptions {
  /** working directory (a new temp dir by default) */
  cwd?: string;
  /** added to the minimal child environment (OPENAI_API_KEY defaults to a dummy) */
  env?: Record<string, string | undefined>;
  /** HOME for aider (a new temp dir by default; the model-info cache is seeded into it) */
  home?: string;
  /** prepended flags, AIDER_BASE_ARGS by default */
  baseArgs?: string[];
  timeoutMs?: number;
  logPath?: string;
  /**
   * default true: seed HOME/.aider/caches/model_prices_and_context_window.json from the LiteLLM
   * bundled in aider's venv, as a networked user's aider would have fetched it. Without it aider
   * tries raw.githubusercontent.com (unreachable here) and prints the connection error.
   */
  seedModelInfo?: boolean;
}

/** LiteLLM's bundled model price/context map inside aider's venv (what aider would download). */
function bundledModelInfo(aider: Peer): string | null {
  const lib = path.join(aider.venv, 'lib');
  for (const py of fs.existsSync(lib) ? fs.readdirSync(lib) : []) {
    const f = path.join(lib, py, 'site-packages', 'litellm', 'model_prices_and_context_window_backup.json');
    if (fs.existsSync(f)) return f;
  }
  return null;
}

/**
 * Runs the real aider to completion. Aider exits 0 even when the LLM call failed, so the caller
 * must look at `output` (stdout+stderr), e.g. for /litellm\.\w+Error/.
 */
export async function runAider(args: string[], opts: AiderOptions = {}): Promise<RunResult> {
  const aider = await peer('aider');
  const cwd = opts.cwd ?? tempDir('aider-cwd');
  const home = opts.home ?? tempDir('aider-home');
  if (opts.seedModelInfo ?? true) {
    const cache = path.join(home, '.aider', 'caches', 'model_prices_and_context_window.json');
    const src = bundledModelInfo(aider);
    if (src && !fs.existsSync(cache)) {
      fs.mkdirSync(path.dirname(cache), { recursive: true });
      fs.copyFileSync(src, cache);
    }
  }
  const env = childEnv({ OPENAI_API_KEY: 'sk-aider-mlx-test', ...opts.env }, home);
  return runChild(aider.bin, [...(opts.baseArgs ?? AIDER_BASE_ARGS), ...args], {
    env,
    cwd,
    timeoutMs: opts.timeoutMs ?? 240_000,
    logPath: opts.logPath,
  });
}

// ---------------------------------------------------------------------------------------------
// stand-in Hugging Face Hub

export interface FakeHub {
  /** http://127.0.0.1:<port> — use as HF_ENDPOINT */
  url: string;
  /** "METHOD path" of every request received */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A stand-in for huggingface.co that knows no repository: every request gets what the real Hub
 * answers for a missing repo (404, `X-Error-Code: RepoNotFound`, JSON error body), so
 * huggingface_hub raises its real RepositoryNotFoundError with its real message.
 */
export function startFakeHub(): Promise<FakeHub> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    const body = JSON.stringify({ error: 'Repository not found' });
    res.writeHead(404, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-error-code': 'RepoNotFound',
      'x-error-message': 'Repository not found',
      'x-request-id': `Root=1-aider-mlx-test-${requests.length}`,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// the usual fixture: both tiny models, each on its own real mlx_lm.server

export interface TinyPair {
  peers: Peers;
  /** Why the needed peers are missing (then nothing else is set), or null. */
  skip: string | null;
  models: TinyModels;
  editor: MlxServer;
  architect: MlxServer;
}

/** The peers and, when the `need`ed ones are installed, both tiny models served by real servers. */
export async function serveTinyPair(need: PeerName[]): Promise<TinyPair> {
  const peers = await ensurePeers();
  const skip = missingPeers(peers, need);
  if (skip) return { peers, skip } as TinyPair;
  const models = await makeTinyModels();
  const [editor, architect] = await Promise.all([
    startMlxServer({ model: models.editor.repoId, hfHome: models.hfHome }),
    startMlxServer({ model: models.architect.repoId, hfHome: models.hfHome }),
  ]);
  return { peers, skip, models, editor, architect };
}
