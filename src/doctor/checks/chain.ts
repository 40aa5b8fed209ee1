/**
 * The chain of a setup aider-mlx did not write: no plan, so the hops are found the way the tools
 * find them. What Aider will use (files, .env, environment, the command line given after
 * `doctor --`), what answers at its base (LiteLLM, mlx_lm.server, another server), the proxy's real
 * config (`--litellm-config`, else the running proxy's own `--config`, else its GET /model/info),
 * every deployment's upstream, and which model each local mlx_lm.server serves (its command line).
 *
 * A probe never sends mlx_lm.server a name that would make it load or fetch a model: only
 * `default_model` or its exact --model. Any other name the config sends is judged by comparing
 * strings, and the cause is stated as the fact the checks saw, with the exact edit that fixes it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';
import { litellmArgs, localLitellmProxies, localMlxServers, mlxServerArgs, servedModelOf } from '../../servers/ports.js';
import { UPSTREAM_DEFAULT_MODEL } from '../../config/names.js';
import { tildify, type Env } from '../../lib/paths.js';
import { bodyGist, identifyServer, litellmFromIdentity, normalizeApiBase, probeChat, probeLitellm, type ChatProbe, type ServerIdentity } from '../../servers/probe.js';
import { parseErrorText } from '../error-text.js';
import { suspectsFromText } from '../causes.js';
import { CLI_SOURCE, litellmFile, type DiskState, type LitellmEntry, type Sourced } from '../files.js';
import { providerOf } from '../expect.js';
import { mask, namesInUse } from './aider.js';
import { baseVerdict } from './config.js';
import { sameEdit, type DoctorCaps, type DoctorCheck, type DoctorOptions, type UserEdit } from '../types.js';

type Proc = { pid: number; argv: string[]; cwd?: string };

export interface ChainResult {
  checks: DoctorCheck[];
  /** The LiteLLM config file the proxy really runs with, when one was found. */
  litellmPath?: string;
  /** That file, as read for the checks above. */
  litellm?: ReturnType<typeof litellmFile>;
  /** No Aider setup at all: no model, no base, no plan. */
  none: boolean;
  /** What answers at each API base Aider sends to, as identified: a LiteLLM proxy, an mlx_lm.server, another server, nothing. */
  answering?: Array<{ base: string; kind: 'litellm' | 'mlx_lm.server' | 'other' | 'none'; where: string; how: string }>;
  /** Aider's names are model groups of a LiteLLM proxy running here, which its base goes past: the setup is meant to have a proxy. */
  pastProxy?: boolean;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

function src(s: string, env: Env): string {
  return s.startsWith('/') ? tildify(s, env) : s;
}

/** "from the command line", "from ~/proj/.aider.conf.yml", "from your shell environment". */
export function fromWhere(s: string, env: Env): string {
  if (s === CLI_SOURCE) return 'from the command line';
  if (s === 'shell') return 'from your shell environment';
  if (s.startsWith('env ')) return `from ${s.slice(4)} in your shell environment`;
  return `from ${src(s, env)}`;
}

/** `model_list[1].litellm_params.model` */
export function keyPathText(p: Array<string | number>): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join('');
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./~-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

// The one port-holder lookup and its argv readers live in servers/ports.ts.
export { litellmArgs, mlxServerArgs } from '../../servers/ports.js';

/** The proxy's own argv with its --config resolved against its folder (or replaced by `config`). */
export function restartArgv(argv: string[], cwd: string | undefined, config?: string): string[] {
  const i = argv.findIndex((a, j) => /(^|\/)litellm$/.test(a) || (a === '-m' && argv[j + 1] === 'litellm'));
  const abs = (c: string) => config ?? (isAbsolute(c) || !cwd ? c : resolve(cwd, c));
  const out = [...argv];
  let seen = false;
  for (let j = Math.max(i, 0) + 1; j < out.length; j++) {
    const a = out[j]!;
    if ((a === '--config' || a === '-c') && out[j + 1] !== undefined) {
      out[j + 1] = abs(out[j + 1]!);
      seen = true;
      j++;
    } else if (a.startsWith('--config=')) {
      out[j] = `--config=${abs(a.slice(9))}`;
      seen = true;
    }
  }
  if (!seen && config) out.push('--config', config);
  return out;
}


interface Used {
  role: 'model' | 'editor-model' | 'weak-model';
  name: string;
  source: string;
  base?: Sourced<string> & { how: string };
}

/** The base each Aider model ends up with in LiteLLM: its extra_params.api_base, else OPENAI_BASE_URL, else OPENAI_API_BASE. */
export function baseFor(state: DiskState, name: string): Used['base'] {
  const s = state.aider.settings.get(name);
  const extra = s?.value.extra_params as Record<string, unknown> | undefined;
  if (typeof extra?.api_base === 'string') return { value: extra.api_base, source: s!.source, how: 'extra_params.api_base' };
  const u = state.env.OPENAI_BASE_URL;
  if (u) return { ...u, how: 'OPENAI_BASE_URL' };
  const b = state.env.OPENAI_API_BASE;
  if (b) return { ...b, how: b.source.endsWith('.aider.conf.yml') || b.source === CLI_SOURCE ? 'openai-api-base' : 'OPENAI_API_BASE' };
  return undefined;
}

/** Where a value lives, as an edit the fixer can make (a file), or undefined (the shell, the command line). */
function editAt(source: string, format: 'yaml' | 'dotenv' | undefined, keyPath: Array<string | number>, old: unknown, value: unknown): UserEdit | undefined {
  if (!source.startsWith('/')) return undefined;
  const m = /^AIDER_\w+ in (\/.+)$/.exec(source);
  if (m) return { path: m[1]!, format: 'dotenv', keyPath, old, new: value };
  if (format) return { path: source, format, keyPath, old, new: value };
  if (/\.ya?ml$/.test(source)) return { path: source, format: 'yaml', keyPath, old, new: value };
  return { path: source, format: 'dotenv', keyPath, old, new: value };
}

/** How to change one Aider option from `old` to `value`, given where it is set. */
function aiderOptionFix(key: string, src0: string, old: string, value: string, env: Env): { text: string; edits: UserEdit[] } {
  const envName = `AIDER_${key.toUpperCase().replace(/-/g, '_')}`;
  if (src0 === CLI_SOURCE) return { text: `Run aider with --${key} ${value} instead of --${key} ${old}.`, edits: [] };
  if (src0.startsWith('env ')) return { text: `Set ${envName}=${value} instead of ${old} (it is exported in your shell: change it where you export it, e.g. ~/.zshrc).`, edits: [] };
  const dotenv = /^AIDER_\w+ in (\/.+)$/.exec(src0);
  if (dotenv) {
    return { text: `In ${tildify(dotenv[1]!, env)} set ${envName}: ${old} → ${value}.`, edits: [{ path: dotenv[1]!, format: 'dotenv', keyPath: [envName], old, new: value }] };
  }
  if (!src0.startsWith('/')) {
    // From the shell (OPENAI_API_KEY or OPENAI_API_BASE exported): a setting in Aider's own file beats it.
    const from = key === 'openai-api-key' ? 'OPENAI_API_KEY' : key === 'openai-api-base' ? 'OPENAI_API_BASE' : envName;
    return { text: `${from} comes from your shell environment (${old ? 'it is wrong here' : 'empty'}): set ${key}: ${value} in .aider.conf.yml (it beats ${from}), or change it where you export it (e.g. ~/.zshrc) and open a new shell.`, edits: [] };
  }
  const e = editAt(src0, 'yaml', [key], old, value);
  return { text: `In ${tildify(src0, env)} set ${key}: ${old} → ${value}.`, edits: e ? [e] : [] };
}

/** How to change the base Aider sends to (it may come from a file, a .env file, the shell or the command line). */
function baseFix(b: NonNullable<Used['base']>, value: string, state: DiskState, env: Env, concrete = false): { text: string; edits: UserEdit[] } {
  if (b.how === 'extra_params.api_base') {
    return { text: `In ${tildify(b.source, env)} set extra_params.api_base: ${b.value} → ${value}.`, edits: [] };
  }
  if (b.how === 'openai-api-base') return aiderOptionFix('openai-api-base', b.source, b.value, value, env);
  const name = b.how;
  if (b.source === 'shell') {
    const conf = state.aider.confFiles.filter((f) => f.exists).pop()?.path;
    if (concrete && name === 'OPENAI_API_BASE') {
      // Aider's openai-api-base beats OPENAI_API_BASE from the shell: the fix is in the user's own file.
      const at = conf ?? join(state.gitRoot ?? state.cwd, '.aider.conf.yml');
      return {
        text: `${name}=${b.value} comes from your shell environment and no config file sets openai-api-base: in ${tildify(at, env)} set openai-api-base: (not set) → ${value} (it beats ${name}), or unset ${name} and remove its export from your shell profile.`,
        edits: [{ path: at, format: 'yaml', keyPath: ['openai-api-base'], new: value }],
      };
    }
    return {
      text: `${name}=${b.value} comes from your shell environment and no config file sets openai-api-base: unset ${name} (and remove its export from your shell profile), or set openai-api-base: ${value} in ${conf ? tildify(conf, env) : '.aider.conf.yml'}${name === 'OPENAI_BASE_URL' ? ' and unset OPENAI_BASE_URL (LiteLLM reads it first)' : ''}.`,
      edits: [],
    };
  }
  if (b.source.startsWith('/')) return { text: `In ${tildify(b.source, env)} set ${name}: ${b.value} → ${value}.`, edits: [{ path: b.source, format: 'dotenv', keyPath: [name], old: b.value, new: value }] };
  return { text: `Set ${name} to ${value} (${fromWhere(b.source, env)}).`, edits: [] };
}


/** Why LiteLLM ≥1.108 refuses to start with this config (general_settings.master_key), or undefined. */
function masterKeyProblem(lf: { masterKey?: string; data?: Record<string, unknown> }, env: Env): string | undefined {
  const gs = lf.data?.general_settings as Record<string, unknown> | undefined;
  if (gs?.dangerously_permit_weak_or_unset_master_key === true || /^(1|true)$/i.test(env.LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY ?? '')) return undefined;
  let k = lf.masterKey;
  const ref = k && /^os\.environ\/(\w+)$/.exec(k);
  if (ref) k = env[ref[1]!];
  if (k === undefined) k = env.LITELLM_MASTER_KEY;
  if (k === undefined) return ref ? `general_settings.master_key reads ${ref[1]}, which is not set` : 'no general_settings.master_key and no LITELLM_MASTER_KEY';
  if (!k.trim()) return 'general_settings.master_key is empty';
  if (isPublicKey(k)) return 'general_settings.master_key is sk-1234, the publicly known key of the LiteLLM docs';
  return undefined;
}

/** LiteLLM 1.108 refuses the master key of its own docs (it compares sha256 digests). */
function isPublicKey(k: string): boolean {
  return createHash('sha256').update(k.trim()).digest('hex') === '88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b';
}

interface Deployment {
  index: number;
  group: string;
  model?: string;
  apiBase?: string;
}

async function getJson(url: string, key: string | undefined, opts: DoctorOptions, caps: DoctorCaps): Promise<{ status?: number; json?: unknown; error?: string }> {
  const f = caps.fetch ?? fetch;
  const signals = [AbortSignal.timeout(opts.timeoutMs), ...(caps.signal ? [caps.signal] : [])];
  try {
    const r = await f(url, { headers: key ? { authorization: `Bearer ${key}` } : {}, signal: AbortSignal.any(signals) });
    const text = await r.text();
    try {
      return { status: r.status, json: JSON.parse(text) as unknown };
    } catch {
      return { status: r.status, error: `HTTP ${r.status}: not JSON` };
    }
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The running proxy's deployments, as it reports them (GET /model/info: a read). */
async function modelInfo(root: string, key: string | undefined, opts: DoctorOptions, caps: DoctorCaps): Promise<{ deployments?: Deployment[]; why?: string }> {
  const r = await getJson(`${root}/model/info`, key, opts, caps);
  const data = (r.json as { data?: unknown } | undefined)?.data;
  if (r.status !== 200 || !Array.isArray(data)) return { why: `GET /model/info → ${r.error ?? `HTTP ${r.status}`}` };
  return {
    deployments: data.map((d, index) => {
      const e = (d ?? {}) as { model_name?: unknown; litellm_params?: { model?: unknown; api_base?: unknown } };
      return {
        index,
        group: String(e.model_name ?? ''),
        ...(typeof e.litellm_params?.model === 'string' ? { model: e.litellm_params.model } : {}),
        ...(typeof e.litellm_params?.api_base === 'string' ? { apiBase: e.litellm_params.api_base } : {}),
      };
    }),
  };
}

const fromEntries = (es: LitellmEntry[]): Deployment[] =>
  es.map((e) => ({ index: e.index, group: e.modelName ?? '', ...(e.model ? { model: e.model } : {}), ...(e.apiBase ? { apiBase: e.apiBase } : {}) }));

export function hostPortOf(base: string): { host: string; port: number; root: string } | undefined {
  const n = normalizeApiBase(base);
  if (!n.valid) return undefined;
  try {
    const u = new URL(n.base);
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port, root: n.root };
  } catch {
    return undefined;
  }
}

export async function chainChecks(state: DiskState, opts: DoctorOptions, caps: DoctorCaps): Promise<ChainResult> {
  const env = caps.env;
  const out: DoctorCheck[] = [];
  const popts = { timeoutMs: opts.timeoutMs, ...(caps.signal ? { signal: caps.signal } : {}), ...(caps.fetch ? { fetch: caps.fetch } : {}) };
  // One lookup for the run (its /proc walk is done once), made on first use.
  let lookup: Promise<(port: number) => Promise<Proc | undefined>> | undefined;
  const portProcess = caps.portProcess ?? (async (port: number) => (await (lookup ??= import('../../servers/ports.js').then((m) => m.portProcessLookup())))(port));

  // ---- what Aider will use, and where each value comes from
  const used: Used[] = namesInUse(state).map((u) => ({ ...u, ...(baseFor(state, u.name) ? { base: baseFor(state, u.name)! } : {}) }));
  const sharedBase = state.env.OPENAI_BASE_URL ?? state.env.OPENAI_API_BASE;
  const key = (() => {
    for (const u of used) {
      const s = state.aider.settings.get(u.name);
      const k = (s?.value.extra_params as Record<string, unknown> | undefined)?.api_key;
      if (typeof k === 'string' && k) return { value: k, source: s!.source };
    }
    return state.env.OPENAI_API_KEY;
  })();
  for (const u of used) {
    out.push({ id: `uses.${u.role}`, group: 'uses', title: `${u.role}: ${u.name} (${fromWhere(u.source, env).replace(/^from /, '')})`, status: 'pass', observed: `${u.name} ${fromWhere(u.source, env)}` });
  }
  const bases = new Map<string, Used['base']>();
  for (const u of used) if (u.base) bases.set(`${u.base.value}\0${u.base.source}`, u.base);
  if (!used.length && sharedBase) bases.set('shared', { ...sharedBase, how: 'OPENAI_API_BASE' });
  for (const b of bases.values()) {
    out.push({ id: `uses.base${bases.size > 1 ? `.${b!.value}` : ''}`, group: 'uses', title: `API base: ${b!.value} (${b!.how}, ${fromWhere(b!.source, env).replace(/^from /, '')})`, status: 'pass', observed: `${b!.how}=${b!.value} ${fromWhere(b!.source, env)}` });
  }
  if (key) out.push({ id: 'uses.key', group: 'uses', title: `API key: ${mask(key.value)} (${fromWhere(key.source, env).replace(/^from /, '')})`, status: 'pass' });
  const confs = state.aider.confFiles.filter((f) => f.exists).map((f) => tildify(f.path, env));
  const files = [...confs, ...state.aider.settingsFiles.filter((f) => f.exists).map((f) => tildify(f.path, env)), ...state.aider.metadataFiles.filter((f) => f.exists).map((f) => tildify(f.path, env)), ...state.dotenvFiles.map((f) => tildify(f, env))];
  out.push({ id: 'uses.files', group: 'uses', title: files.length ? `files Aider reads here: ${files.join(', ')}` : 'files Aider reads here: none', status: 'pass', observed: `from ${tildify(state.cwd, env)}${state.gitRoot ? ` (git root ${tildify(state.gitRoot, env)})` : ''}` });
  // A link to nothing (a dotfiles checkout moved): Aider reads nothing from it, and says nothing.
  for (const f of [...state.aider.confFiles, ...state.aider.settingsFiles, ...state.aider.metadataFiles]) {
    if (!f.linkTo) continue;
    out.push({
      id: `uses.link.${tildify(f.path, env)}`,
      group: 'uses',
      title: `${tildify(f.path, env)} is a symbolic link to ${tildify(f.linkTo, env)}, which does not exist: Aider reads nothing from it`,
      status: 'warn',
      observed: `${tildify(f.path, env)} → ${tildify(f.linkTo, env)} (no such file)`,
      expected: 'the file the link points at',
      fix: `Create ${tildify(f.linkTo, env)} (or point the link at your file, e.g. your dotfiles checkout), or remove the link.`,
    });
  }

  // ---- no setup at all, or none that can be read: Aider stops on a config file it cannot parse,
  // so what it would use is not known, and that file is the first thing to fix.
  const unreadable = state.aider.confFiles.filter((f) => f.error);
  if (!used.length && !sharedBase && !opts.litellmConfig && unreadable.length) {
    const names = unreadable.map((f) => tildify(f.path, env)).join(', ');
    out.unshift({
      id: 'uses.none',
      group: 'uses',
      title: `Aider cannot read ${names}, so what it would use is not known (Aider stops on a config file it cannot parse)`,
      status: 'fail',
      observed: unreadable.map((f) => `${tildify(f.path, env)} ${f.error}`).join('; '),
      expected: 'every .aider.conf.yml Aider reads parses as YAML',
      fix: `Fix the line named in ${names} (or move the file aside), then run the doctor again.`,
    });
    return { checks: out.filter((c) => c.id !== 'uses.key'), none: true };
  }
  if (!used.length && !sharedBase && !opts.litellmConfig) {
    out.unshift({
      id: 'uses.none',
      group: 'uses',
      title: 'No setup found: Aider here has no model and no API base, so there is no chain to check',
      status: 'fail',
      observed: `no plan, no model in any .aider.conf.yml Aider reads from ${tildify(state.cwd, env)}, no AIDER_MODEL, no OPENAI_API_BASE${opts.aiderArgs ? ', none on the command line given' : ''}${state.aider.confFiles.filter((f) => f.linkTo).map((f) => `; ${tildify(f.path, env)} is a link to ${tildify(f.linkTo!, env)}, which does not exist`).join('')}`,
      expected: 'Aider pointed at an mlx_lm.server (directly or through a LiteLLM proxy)',
      fix: 'Run the wizard: `npx aider-mlx` (it picks a model, starts mlx_lm.server and writes Aider\'s files). If you run Aider with flags, pass them: `npx aider-mlx doctor -- --model … --openai-api-base …`.',
    });
    // Nothing else to say about a key with no chain to send it on.
    return { checks: out.filter((c) => c.id !== 'uses.key'), none: true };
  }
  if (!used.length && !sharedBase && opts.litellmConfig) {
    // A proxy config named, and Aider pointed nowhere: say how Aider would use it, and what its
    // upstreams answer (the proxy would call them).
    const file = resolve(state.cwd, opts.litellmConfig);
    const lf = litellmFile(file);
    const names = [...new Set(lf.entries.map((e) => e.modelName).filter((n): n is string => !!n))];
    const first = names[0] ?? '<a model_name of the config>';
    out.push({
      id: 'chain.model',
      group: 'aider',
      title: `Aider here has no model and no API base, so it does not use the proxy of ${tildify(file, env)}`,
      status: 'fail',
      observed: `no model and no openai-api-base in any file Aider reads from ${tildify(state.cwd, env)}, no AIDER_MODEL, no OPENAI_API_BASE${opts.aiderArgs ? ', none on the command line given' : ''}`,
      expected: `model: openai/${first} and openai-api-base: http://127.0.0.1:<the proxy's port>/v1`,
      fix: `In .aider.conf.yml set model: openai/${first}${names.length > 1 ? ` (the config's model_names: ${names.join(', ')})` : ''}, openai-api-base: http://127.0.0.1:4000/v1 (the port the proxy is started with, litellm --port; 4000 by default) and openai-api-key: the config's general_settings.master_key.`,
      causes: ['C11'],
    });
    const upstreams = new Map<string, { host: string; port: number; groups: string[] }>();
    for (const d of lf.data ? fromEntries(lf.entries) : []) {
      const hp = d.apiBase ? hostPortOf(d.apiBase) : undefined;
      if (!hp) continue;
      const k = `${hp.host}:${hp.port}`;
      const u = upstreams.get(k) ?? { host: hp.host, port: hp.port, groups: [] };
      u.groups.push(`"${d.group}" (model_list[${d.index}])`);
      upstreams.set(k, u);
    }
    const answers = await Promise.all([...upstreams.values()].map(async (u) => ({ u, id: await identifyServer(u.host, u.port, popts) })));
    for (const { u, id } of answers) {
      const where = `${u.host}:${u.port}`;
      const who = `model group${u.groups.length > 1 ? 's' : ''} ${u.groups.join(', ')} of ${tildify(file, env)} send${u.groups.length > 1 ? '' : 's'} to ${where}`;
      out.push(
        id.kind === 'none'
          ? { id: `chain.upstream.${where}`, group: 'server', title: `${who}, where nothing listens`, status: 'fail', observed: id.tcp.error?.message ?? 'no connection', expected: `mlx_lm.server on ${where}`, fix: `Start it: mlx_lm.server --model <repo> --port ${u.port}, or point the api_base at the server that runs.`, causes: ['C7'] }
          : id.kind === 'mlx_lm.server'
            ? { id: `chain.upstream.${where}`, group: 'server', title: `${who}: an mlx_lm.server answers there`, status: 'pass', observed: id.evidence.slice(0, 2).join('; ') }
            : { id: `chain.upstream.${where}`, group: 'server', title: `${who}, which is ${id.kind === 'litellm' ? 'a LiteLLM proxy' : (id.looksLike ?? 'not mlx_lm.server')}`, status: 'warn', observed: id.evidence.slice(0, 2).join('; '), expected: `mlx_lm.server on ${where}`, causes: ['C8'] },
      );
    }
    return { checks: out, none: false, litellmPath: file, litellm: lf };
  }
  if (!used.length) {
    out.push({ id: 'chain.model', group: 'aider', title: 'Aider has an API base but no model set: it would call its default hosted model', status: 'fail', observed: 'no model: in any file Aider reads, no AIDER_MODEL, no --model', expected: 'model: openai/default_model (or openai/<a proxy model_name>)', fix: 'Set model: openai/default_model in .aider.conf.yml (or pass --model).', causes: ['C11'] });
    return { checks: out, none: false };
  }

  const idCache = new Map<string, Promise<ServerIdentity>>();
  /** Who answers on host:port, asked once. At an Aider base (`aiderBase`): LiteLLM's liveliness in the same round, and the model list with the key Aider sends there. */
  const identify = (host: string, port: number, aiderBase = false) => {
    const k = `${host}:${port}`;
    if (!idCache.has(k)) idCache.set(k, identifyServer(host, port, { ...popts, ...(aiderBase ? { livelinessFirst: true, ...(key ? { apiKey: key.value } : {}) } : {}) }));
    return idCache.get(k)!;
  };
  const procCache = new Map<number, Promise<Proc | undefined>>();
  const procOf = (host: string, port: number): Promise<Proc | undefined> => {
    if (!LOOPBACK.test(host)) return Promise.resolve(undefined);
    if (!procCache.has(port)) procCache.set(port, portProcess(port).catch(() => undefined));
    return procCache.get(port)!;
  };
  /** What a local mlx_lm.server serves: its --model, from its command line. */
  const servedBy = async (host: string, port: number, id: ServerIdentity): Promise<{ model?: string; how: string }> => {
    const s = await servedModelOf(host, port, undefined, { lookup: (pt) => procOf(host, pt) });
    if (s.kind === 'cmdline') return { model: s.model, how: `its command line (pid ${s.pid}: ${(s.argv ?? []).map(shellQuote).join(' ')})` };
    const listed = id.models ?? [];
    return { how: `${LOOPBACK.test(host) ? 'its command line cannot be read (not our process, or not found)' : 'it runs on another machine'}; it lists ${listed.join(', ') || 'no models'}` };
  };
  const memo = <T>(f: (k: string) => T) => {
    const m = new Map<string, T>();
    return (k: string): T => {
      if (!m.has(k)) m.set(k, f(k));
      return m.get(k)!;
    };
  };
  /** The server itself answers default_model (harmless: it maps to its own --model). */
  const serverProbe = memo((root: string) => probeChat(`${root}/v1`, UPSTREAM_DEFAULT_MODEL, { ...popts, maxTokens: 1 }));
  const fileOf = memo((path: string) => litellmFile(path));
  const infoOf = memo((root: string) => modelInfo(root, key?.value, opts, caps));
  /** Aider's bases by root, as identified (litellmOf reads the proxy's answers from there). */
  const baseIds = new Map<string, Promise<ServerIdentity>>();
  /** The proxy's liveliness and its model list for Aider's key: what identify asked at Aider's base, else asked now. */
  const litellmOf = memo(async (root: string) => {
    const at = baseIds.get(root);
    return (at && litellmFromIdentity(await at, key?.value)) || probeLitellm(root, { ...popts, ...(key ? { apiKey: key.value } : {}) });
  });
  const serverChecked = new Map<string, Promise<boolean>>();
  /** The server's own check, at its place in the report; its answer (healthy or not) once it is in. */
  const serverCheck = (host: string, port: number, root: string, served: { model?: string; how: string }): Promise<boolean> => {
    const hp = `${host}:${port}`;
    const seen = serverChecked.get(hp);
    if (seen) return seen;
    const at = out.length;
    out.push({ id: `chain.server.${hp}`, group: 'server', title: hp, status: 'skip' });
    const p = serverProbe(root).then((r) => {
      const c: DoctorCheck = r.ok
        ? { id: `chain.server.${hp}`, group: 'server', title: `${hp} is mlx_lm.server${served.model ? ` serving ${served.model}` : ''}, and answers default_model`, status: 'pass', observed: `served model from ${served.how}`, latencyMs: r.latencyMs, causes: ['C7', 'C8'] }
        : { id: `chain.server.${hp}`, group: 'server', title: `the mlx_lm.server on ${hp} fails a 1-token completion of its own model`, status: 'fail', observed: describe(r), expected: 'HTTP 200 for default_model', fix: served.model ? `Check its log; restart it: mlx_lm.server --model ${served.model} --port ${port}` : 'Check its log and restart it.', latencyMs: r.latencyMs, causes: r.error?.kind === 'timeout' ? ['C13'] : ['C7'] };
      if (c.status === 'fail') failed = true;
      out[at] = c;
      return r.ok;
    });
    serverChecked.set(hp, p);
    return p;
  };
  /** Is this name one mlx_lm.server maps to its model without loading anything? */
  const verdictFor = (up: string, served: { model?: string }, id: ServerIdentity): { safe: boolean; cause: string; why: string } => {
    if (up === UPSTREAM_DEFAULT_MODEL) return { safe: true, cause: '', why: 'default_model maps to its --model' };
    if (served.model && up === served.model) return { safe: true, cause: '', why: 'it is the exact --model' };
    const listed = id.models ?? [];
    if (/:\/\//.test(up)) return { safe: false, cause: 'C1', why: 'a URL used as a model name: it looks it up on the Hub and answers 404' };
    if (listed.includes(up) && up !== served.model) return { safe: false, cause: 'C6', why: `${up} is another model in its cache: it would unload its model and load that one` };
    if (/^[\w.-]+\/[\w.-]+$/.test(up)) return { safe: false, cause: 'C6', why: `${up} is a repo id that is not its --model: it would look it up on the Hub and download it (or answer 404)` };
    return { safe: false, cause: 'C1', why: 'a name it does not serve makes it look that name up on the Hub' };
  };

  let probedOk = 0;
  let failed = false;
  /** Completions that wait for nothing else: sent together, each check kept at its place in the report. */
  const later: Array<Promise<void>> = [];
  const deferred = (id: string, group: DoctorCheck['group'], probe: () => Promise<ChatProbe>, judge: (r: ChatProbe) => DoctorCheck | Promise<DoctorCheck>) => {
    const at = out.length;
    out.push({ id, group, title: id, status: 'skip' });
    later.push(
      probe().then(async (r) => {
        const c = await judge(r);
        if (r.ok && c.status === 'pass') probedOk++;
        if (c.status === 'fail') failed = true;
        out[at] = c;
      }),
    );
  };
  let servers: ReturnType<typeof localMlxServers> | undefined;
  let proxies: ReturnType<typeof localLitellmProxies> | undefined;
  let pastProxy = false;
  /**
   * A running LiteLLM proxy that has model group `group`: its command line names its --config (read
   * here: a model_name equal to the group) and its port (--port, else LiteLLM's 4000), and that port
   * answers as LiteLLM. Never a guess: undefined unless all of it is seen.
   */
  const proxyWithGroup = async (group: string) => {
    for (const p of await (proxies ??= localLitellmProxies(caps.processes))) {
      if (!p.config) continue;
      const lf = fileOf(p.config);
      if (!lf.data || !lf.entries.some((e) => e.modelName === group)) continue;
      if ((await identify('127.0.0.1', p.port)).kind !== 'litellm') continue;
      return { ...p, config: p.config, masterKey: lf.masterKey };
    }
    return undefined;
  };
  let litellmPath: string | undefined;
  const push = (c: DoctorCheck) => {
    if (c.status === 'fail') failed = true;
    out.push(c);
  };

  // ---- per base Aider sends to
  const byBase = new Map<string, Used[]>();
  const noBase: Used[] = [];
  for (const u of used) {
    if (providerOf(u.name) !== 'openai') continue; // aider.prefix judges bare names
    if (!u.base) noBase.push(u);
    else byBase.set(u.base.value, [...(byBase.get(u.base.value) ?? []), u]);
  }
  // No key anywhere: the OpenAI client Aider calls through refuses to send a request at all.
  if (!key?.value && byBase.size) {
    const conf = state.aider.confFiles.filter((f) => f.exists).pop()?.path ?? join(state.gitRoot ?? state.cwd, '.aider.conf.yml');
    push({
      id: 'chain.key',
      group: 'aider',
      title: 'Aider has no API key: the OpenAI client it calls through refuses to send any request without one ("The api_key client option must be set")',
      status: 'fail',
      observed: 'no openai-api-key in any .aider.conf.yml Aider reads, no OPENAI_API_KEY in the environment or a .env file, no extra_params.api_key',
      expected: 'openai-api-key: the proxy\'s general_settings.master_key (through a LiteLLM proxy), or any non-empty value (straight to mlx_lm.server, which checks no key)',
      fix: `In ${tildify(conf, env)} set openai-api-key: the proxy's master_key if Aider goes through a LiteLLM proxy, else any value (e.g. sk-local).`,
      causes: ['C9'],
    });
  }
  if (noBase.length) {
    push({
      id: 'chain.base',
      group: 'aider',
      title: `${noBase.map((u) => u.name).join(', ')}: no API base at all, so LiteLLM would call https://api.openai.com/v1`,
      status: 'fail',
      observed: 'no openai-api-base, no OPENAI_API_BASE / OPENAI_BASE_URL, no extra_params.api_base',
      expected: 'openai-api-base: http://127.0.0.1:<port>/v1',
      fix: 'Set openai-api-base: http://127.0.0.1:<port>/v1 in .aider.conf.yml (or pass --openai-api-base).',
      causes: ['C18', 'C7'],
    });
  }

  // ---- every hop's harmless requests at once, before any is judged: what answers at each base and
  // at each upstream the proxy config names, the proxy's reads, each server's default_model. The
  // judging below then waits on answers already in flight. (Nothing here sends a model name that
  // is not default_model, and only to what answers as mlx_lm.server.)
  const usedGroups = new Set(used.map((u) => u.name.slice('openai/'.length)));
  const ports: Array<{ host: string; port: number }> = [];
  const warmServer = (host: string, port: number, root: string) => {
    ports.push({ host, port });
    void identify(host, port).then((id) => {
      if (id.kind === 'mlx_lm.server') void serverProbe(root);
    });
  };
  const warmUpstreams = (deps: Deployment[]) => {
    for (const d of deps) {
      const uhp = usedGroups.has(d.group) && d.apiBase ? hostPortOf(d.apiBase) : undefined;
      if (uhp) warmServer(uhp.host, uhp.port, uhp.root);
    }
  };
  for (const baseValue of byBase.keys()) {
    const hp = hostPortOf(baseValue);
    if (!hp) continue;
    ports.push(hp);
    // A proxy's reads (GETs with the key Aider sends there anyway) go with the first round; for a
    // base that is not a proxy they are not used.
    void infoOf(hp.root);
    const id = identify(hp.host, hp.port, true);
    baseIds.set(hp.root, id);
    void id.then((id) => {
      if (id.kind === 'mlx_lm.server') void serverProbe(hp.root);
      if (id.kind !== 'litellm') return;
      void infoOf(hp.root).then((i) => i.deployments && warmUpstreams(i.deployments));
    });
  }
  if (opts.litellmConfig) {
    const lf = fileOf(resolve(state.cwd, opts.litellmConfig));
    if (lf.data) warmUpstreams(fromEntries(lf.entries));
  }
  // The processes holding those ports (their command lines), looked up while the answers come.
  for (const p of ports) void procOf(p.host, p.port);

  /**
   * What the proxy does with Aider's model u, read from its deployments (the running proxy's report,
   * or its file): the model group exists, and each deployment's api_base, the model string it sends
   * upstream, and the server there. With the proxy up, and also with it down and its file named, so
   * a wrong upstream is found before the proxy is started. allSafe: a completion through the proxy
   * sends no name its servers would load; healthy: each server's own check.
   */
  const throughProxy = async (
    u: Used,
    c: {
      who: string;
      served: string[] | undefined;
      deps: Deployment[] | undefined;
      depsHow: string;
      file: string | undefined;
      fileDeps: Deployment[] | undefined;
      /** What to do once the file is fixed, as words, and as the check's command. */
      afterText: string;
      after: { restart: string } | { start: string };
    },
  ): Promise<{ known: boolean; allSafe: boolean; healthy: Array<Promise<boolean>>; others: number[] }> => {
    const group = u.name.slice('openai/'.length);
    if (c.served && !c.served.includes(group)) {
      const near = c.served.filter((n) => n.toLowerCase() === group.toLowerCase());
      const f = near.length === 1 || c.served.length === 1 ? aiderOptionFix(u.role, u.source, u.name, `openai/${near[0] ?? c.served[0]}`, env) : undefined;
      push({
        id: `chain.through.${u.name}`,
        group: 'proxy',
        title: `Aider asks ${c.who} for model group "${group}", which it does not have (400 Invalid model name)`,
        status: 'fail',
        observed: `${u.role}: ${u.name} ${fromWhere(u.source, env)}; the proxy has ${c.served.join(', ') || 'no model groups'} (case-sensitive)`,
        expected: `${u.role}: openai/<one of ${c.served.join(', ')}>`,
        fix: f?.text ?? `Set ${u.role} to openai/<one of ${c.served.join(', ')}>.`,
        ...(f?.edits.length ? { fixable: 'edit' as const, edits: f.edits } : {}),
        causes: ['C11'],
      });
      return { known: false, allSafe: false, healthy: [], others: [] };
    }
    // Every deployment of the group: its upstream base, the model string it sends, and what answers there.
    const mine = (c.deps ?? []).filter((d) => d.group === group);
    let allSafe = c.deps !== undefined && mine.length > 0;
    /** Each deployment's server answers default_model: the completion through the proxy is sent with them (its names are safe), and judged with them. */
    const healthy: Array<Promise<boolean>> = [];
    /** Where in the report each deployment whose upstream is not mlx_lm.server is: a failed completion through the proxy makes it the failure. */
    const others: number[] = [];
    for (const d of mine) {
      const label = `model_list[${d.index}]`;
      const upModel = d.model ?? '';
      const prov = providerOf(upModel);
      const up = prov ? upModel.slice(prov.length + 1) : upModel;
      if (!d.apiBase) {
        allSafe = false;
        push({ id: `chain.upstream.${group}.${d.index}`, group: 'proxy', title: `model group "${group}" (${label}) has no api_base: LiteLLM would call api.openai.com`, status: 'fail', observed: `${label}.litellm_params: model ${upModel}, no api_base (${c.depsHow})`, expected: 'api_base: http://127.0.0.1:<port>/v1', fix: `In ${c.file ? tildify(c.file, env) : 'the proxy config'} set ${label}.litellm_params.api_base: http://127.0.0.1:<port>/v1, then ${c.afterText}`, causes: ['C7'] });
        continue;
      }
      const uhp = hostPortOf(d.apiBase);
      const ubv = baseVerdict(d.apiBase);
      if (ubv.status === 'fail' && uhp) {
        allSafe = false;
        const edit: UserEdit | undefined = c.file ? { path: c.file, format: 'yaml', keyPath: ['model_list', d.index, 'litellm_params', 'api_base'], old: d.apiBase, new: ubv.normalized } : undefined;
        push({
          id: `chain.upstream.${group}.${d.index}.base`,
          group: 'proxy',
          title: `model group "${group}" sends to ${d.apiBase}: ${ubv.problems.join('; ')}`,
          status: 'fail',
          observed: `${label}.litellm_params.api_base: ${d.apiBase} (${c.depsHow})`,
          expected: ubv.normalized,
          fix: `In ${c.file ? tildify(c.file, env) : 'the config the proxy runs with'} set ${keyPathText(['model_list', d.index, 'litellm_params', 'api_base'])}: ${d.apiBase} → ${ubv.normalized}, then ${c.afterText}`,
          ...(edit ? { fixable: 'edit' as const, edits: [edit], ...c.after } : c.after),
          causes: ubv.causes,
        });
      }
      if (!uhp) continue;
      const uid = await identify(uhp.host, uhp.port);
      const uwhere = `${uhp.host}:${uhp.port}`;
      if (uid.kind === 'none') {
        allSafe = false;
        push({ id: `chain.upstream.${group}.${d.index}`, group: 'server', title: `model group "${group}" sends to ${uwhere}, where nothing listens`, status: 'fail', observed: `${label}.litellm_params.api_base: ${d.apiBase} (${c.depsHow}); ${uid.tcp.error?.message ?? 'no connection'}`, expected: `mlx_lm.server on ${uwhere}`, fix: `Start it: mlx_lm.server --model <repo> --port ${uhp.port}, or point ${label}.litellm_params.api_base at the server that runs.`, causes: ['C7'] });
        continue;
      }
      if (uid.kind !== 'mlx_lm.server') {
        // Who holds the port (its command line, when it is ours to read), and the mlx_lm.servers that run here.
        const holder = await procOf(uhp.host, uhp.port);
        const held = holder?.argv.length ? `pid ${holder.pid}: ${holder.argv.map(shellQuote).join(' ')}` : undefined;
        const mlxHere: string[] = [];
        for (const m of await (servers ??= localMlxServers(caps.processes))) {
          if (m.port === uhp.port || (await identify(m.host, m.port)).kind !== 'mlx_lm.server') continue;
          mlxHere.push(`http://${m.host}:${m.port}/v1 (the mlx_lm.server serving ${m.model}, pid ${m.pid})`);
        }
        const kp = keyPathText(['model_list', d.index, 'litellm_params', 'api_base']);
        const inFile = c.file ? `In ${tildify(c.file, env)} set ${kp}` : `In the config the proxy runs with set ${kp}`;
        others.push(out.length);
        push({
          id: `chain.upstream.${group}.${d.index}`,
          group: 'server',
          title: `model group "${group}" sends to ${uwhere}, which is ${uid.kind === 'litellm' ? 'a LiteLLM proxy' : (uid.looksLike ?? 'not mlx_lm.server')}`,
          status: 'warn',
          observed: `${label}.litellm_params.api_base: ${d.apiBase} (${c.depsHow}); ${uid.evidence.slice(0, 2).join('; ')}; ${held ? `port ${uhp.port} is held by ${held}` : `the process holding port ${uhp.port} cannot be read (not ours, or not found)`}`,
          expected: `mlx_lm.server on ${uwhere}`,
          fix: `${inFile}: ${d.apiBase} → the base of your mlx_lm.server${mlxHere.length ? ` (running here: ${mlxHere.join('; ')})` : ''}, then ${c.afterText}; or stop what holds port ${uhp.port}${holder ? ` (pid ${holder.pid})` : ` (lsof -nP -iTCP:${uhp.port} -sTCP:LISTEN)`} and start mlx_lm.server there: mlx_lm.server --model <repo> --port ${uhp.port}.`,
          ...c.after,
          causes: ['C8'],
        });
        continue;
      }
      const sv = await servedBy(uhp.host, uhp.port, uid);
      healthy.push(serverCheck(uhp.host, uhp.port, uhp.root, sv));
      const vd = verdictFor(up, sv, uid);
      if (!vd.safe) {
        allSafe = false;
        const kp = ['model_list', d.index, 'litellm_params', 'model'];
        const want = `${prov ?? 'openai'}/${UPSTREAM_DEFAULT_MODEL}`;
        const fileOld = c.fileDeps?.find((x) => x.index === d.index && x.group === d.group)?.model;
        const fileFixed = c.file !== undefined && fileOld !== undefined && fileOld !== upModel && verdictFor(fileOld.slice((providerOf(fileOld)?.length ?? -1) + 1), sv, uid).safe;
        const edit: UserEdit | undefined = c.file && fileOld !== undefined && !fileFixed ? { path: c.file, format: 'yaml', keyPath: kp, old: fileOld, new: want } : undefined;
        push({
          id: `chain.upstream.${group}.${d.index}`,
          group: 'proxy',
          title: `Aider sends ${u.name} to ${c.who}; its model group "${group}" sends ${upModel} upstream to ${uwhere}; that mlx_lm.server serves ${sv.model ?? 'the model it was started with'} and ${vd.cause === 'C1' ? 'answers any other name with 404' : 'would load another model for it'}`,
          status: 'fail',
          observed: `${keyPathText(kp)}: ${upModel} (${c.depsHow}); the server's model from ${sv.how}; the doctor did not send "${up}" to it, because ${vd.why}`,
          expected: `${keyPathText(kp)}: ${want}`,
          fix: fileFixed
            ? `${tildify(c.file!, env)} already says ${fileOld}; ${c.afterText}`
            : `In ${c.file ? tildify(c.file, env) : 'the config the proxy runs with (it did not say which file: pass --litellm-config FILE for --fix)'} set ${keyPathText(kp)}: ${upModel} → ${want}, then ${c.afterText}`,
          ...(edit ? { fixable: 'edit' as const, edits: [edit] } : {}),
          ...c.after,
          causes: [vd.cause],
        });
      }
    }
    return { known: true, allSafe, healthy, others };
  };

  const answering: NonNullable<ChainResult['answering']> = [];
  for (const [baseValue, us] of byBase) {
    const b = us[0]!.base!;
    const v = baseVerdict(baseValue);
    const hp = hostPortOf(baseValue);
    if (!hp) {
      push({ id: 'chain.base', group: 'aider', title: `Aider's API base ${baseValue} is not a URL`, status: 'fail', observed: `${b.how}=${baseValue} ${fromWhere(b.source, env)}`, expected: 'http://127.0.0.1:<port>/v1', fix: 'Set it to http://127.0.0.1:<port>/v1.', causes: ['C2'] });
      continue;
    }
    if (v.status === 'fail') {
      const f = baseFix(b, v.normalized, state, env);
      push({
        id: 'chain.base',
        group: 'aider',
        title: `Aider's API base ${baseValue} ${v.problems.some((p) => /endpoint/.test(p)) ? 'has a pasted endpoint' : v.problems.some((p) => /doubled/.test(p)) ? 'has a doubled /v1' : 'is wrong'}: requests go to ${baseValue.replace(/\/+$/, '')}/chat/completions, a path the server does not have`,
        status: 'fail',
        observed: `${b.how}=${baseValue} ${fromWhere(b.source, env)} (${v.problems.join('; ')})`,
        expected: v.normalized,
        fix: f.text,
        ...(f.edits.length ? { fixable: 'edit' as const, edits: f.edits } : {}),
        causes: v.causes,
      });
    }
    const id = await identify(hp.host, hp.port);
    const where = `${hp.host}:${hp.port}`;
    const names = [...new Set(us.map((u) => u.name))];
    answering.push({ base: baseValue, kind: id.kind, where, how: `${b.how}=${baseValue} ${fromWhere(b.source, env)}` });
    if (id.kind === 'none' && opts.litellmConfig) {
      // The proxy that should answer here is not running: with its config named, say why it cannot start.
      const file = resolve(state.cwd, opts.litellmConfig);
      const lf = fileOf(file);
      const start = `litellm --config ${tildify(file, env)} --host 127.0.0.1 --port ${hp.port}`;
      litellmPath = file;
      const problem = lf.data ? masterKeyProblem(lf, env) : undefined;
      if (problem) {
        const reuse = key && key.value.trim() && key.value !== 'none' && !isPublicKey(key.value) ? key.value : undefined;
        const master = reuse ?? `sk-${randomBytes(24).toString('hex')}`;
        const edits: UserEdit[] = [{ path: file, format: 'yaml', keyPath: ['general_settings', 'master_key'], ...(lf.masterKey !== undefined ? { old: lf.masterKey } : {}), new: master, secret: true }];
        let aiderText = '';
        if (!reuse) {
          const at = key?.source ?? state.aider.confFiles.filter((f) => f.exists).pop()?.path ?? join(state.gitRoot ?? state.cwd, '.aider.conf.yml');
          const kf = aiderOptionFix('openai-api-key', at, key?.value ?? '', master, env);
          const e = kf.edits[0];
          if (e) {
            edits.push({ ...e, ...(key ? {} : { old: undefined }), secret: true });
            aiderText = ` and give Aider the same key (${e.keyPath.join('.')} in ${tildify(e.path, env)}${key && isPublicKey(key.value) ? ', now the publicly known key, which LiteLLM refuses too' : ''})`;
          } else aiderText = ` and give Aider the same key (${fromWhere(at, env).replace(/^from /, '')}: --openai-api-key)`;
        }
        push({
          id: 'chain.proxy.master_key',
          group: 'proxy',
          title: `nothing listens on ${where}, where Aider sends ${names.join(', ')}: the LiteLLM proxy cannot start with ${tildify(file, env)}, which has ${problem.startsWith('no ') ? 'no general_settings.master_key' : 'a master key LiteLLM refuses'} (LiteLLM 1.108+ refuses to start then)`,
          status: 'fail',
          observed: `${where}: ${id.tcp.error?.message ?? 'no connection'}; ${tildify(file, env)}: ${problem}`,
          expected: "general_settings.master_key: a key of your own, the same as Aider's openai-api-key",
          fix: `In ${tildify(file, env)} set general_settings.master_key: ${lf.masterKey === undefined ? '(not set)' : lf.masterKey.trim() ? mask(lf.masterKey) : '(empty)'} → ${reuse ? `the key Aider already sends (${mask(reuse)})` : 'a new random key (--fix writes it)'}${aiderText}, then start the proxy: ${start}`,
          fixable: 'edit',
          edits,
          start,
          causes: ['master-key', 'C7'],
        });
        continue;
      }
      if (lf.data) {
        push({ id: `chain.reach.${where}`, group: 'proxy', title: `nothing listens on ${where}, where Aider sends ${names.join(', ')}: the LiteLLM proxy for ${tildify(file, env)} is not running`, status: 'fail', observed: `${b.how}=${baseValue} ${fromWhere(b.source, env)}; ${id.tcp.error?.message ?? 'no connection'}`, expected: `the LiteLLM proxy listening on ${where}`, fix: `Start the proxy: ${start}`, start, causes: ['C7'] });
        // What the proxy would do once started, from its file: a wrong upstream is found now, not after the start.
        const fileDeps = fromEntries(lf.entries);
        for (const u of us) {
          const t = await throughProxy(u, { who: `the proxy of ${tildify(file, env)}`, served: [...new Set(fileDeps.map((d) => d.group))], deps: fileDeps, depsHow: tildify(file, env), file, fileDeps, afterText: `start the proxy: ${start}`, after: { start } });
          // Each upstream server's own check is in the report when it returns.
          later.push(...t.healthy.map((h) => h.then(() => undefined)));
        }
        continue;
      }
    }
    if (id.kind === 'none') {
      const f = b.source === 'shell' ? baseFix(b, 'the base of the server you mean', state, env) : undefined;
      // Names that are neither a repo id nor default_model are a proxy's model groups: it is the proxy that is not running.
      const aliases = names.filter((n) => !n.slice('openai/'.length).includes('/') && n !== `openai/${UPSTREAM_DEFAULT_MODEL}`);
      const allAliases = aliases.length === names.length;
      // A LiteLLM config where people keep one, with those groups: named in the command instead of <your config>.
      const groups = aliases.map((n) => n.slice('openai/'.length));
      const near = allAliases ? [state.cwd, ...(state.gitRoot && state.gitRoot !== state.cwd ? [state.gitRoot] : []), state.home]
        .flatMap((d) => ['litellm.yaml', 'litellm.yml', 'litellm_config.yaml', 'config.yaml', 'litellm/config.yaml'].map((f) => join(d, f)))
        .find((f) => { const lf = fileOf(f); return lf.data !== undefined && groups.every((g) => lf.entries.some((e) => e.modelName === g)); }) : undefined;
      const proxyFirst = allAliases
        ? `Start the LiteLLM proxy whose model group${aliases.length > 1 ? 's are' : ' is'} ${groups.join(', ')} (Aider's ${aliases.join(', ')} ${aliases.length > 1 ? 'are' : 'is'} not a model id mlx_lm.server serves): litellm --config ${near ? tildify(near, env) : '<your config>'} --port ${hp.port} (${near ? `${tildify(near, env)} has ${groups.length > 1 ? 'those groups' : 'that group'}; ` : ''}pass --litellm-config FILE and the doctor checks that config before you start it)`
        : undefined;
      push({
        id: `chain.reach.${where}`,
        group: 'server',
        title: `nothing listens on ${where}, where Aider sends ${names.join(', ')}`,
        status: 'fail',
        observed: `${b.how}=${baseValue} ${fromWhere(b.source, env)}; ${id.tcp.error?.message ?? 'no connection'}`,
        expected: `mlx_lm.server or a LiteLLM proxy listening on ${where}`,
        fix: proxyFirst
          ? `${proxyFirst}${f ? `; or, if Aider should not go there: ${f.text}` : `, or point ${b.how} at the proxy that runs.`}`
          : f
            ? f.text
            : `Start the server or proxy on port ${hp.port} (mlx_lm.server --model <repo> --port ${hp.port}), or point ${b.how} at the one that runs.`,
        causes: ['C7'],
      });
      continue;
    }
    if (id.kind === 'other') {
      const what = id.looksLike ?? (id.error?.kind === 'timeout' ? 'a process that never answers' : 'a server that is neither mlx_lm.server nor LiteLLM');
      for (const u of us) {
        const r = id.error ? undefined : await probeChat(normalizeApiBase(baseValue).base, u.name.slice(7), { ...popts, ...(key ? { apiKey: key.value } : {}), maxTokens: 1 });
        if (r?.ok) {
          probedOk++;
          push({ id: `chain.model.${u.name}`, group: 'server', title: `${u.name} answers at ${where} (${what})`, status: 'pass', latencyMs: r.latencyMs });
          continue;
        }
        const f = b.source === 'shell' || b.source.startsWith('env ') ? baseFix(b, 'the base of your mlx_lm.server or proxy', state, env) : undefined;
        push({
          id: `chain.model.${u.name}`,
          group: 'server',
          title: `Aider sends ${u.name} to ${where} (${b.how} ${fromWhere(b.source, env)}), which is ${what}, and it fails`,
          status: 'fail',
          observed: `${id.evidence.slice(0, 2).join('; ')}${r ? `; ${u.name.slice(7)} → ${describe(r)}` : ''}`,
          expected: `mlx_lm.server or a LiteLLM proxy at ${baseValue}`,
          fix: f?.text ?? `Point ${b.how} at your mlx_lm.server or proxy, or stop what holds port ${hp.port} (lsof -nP -iTCP:${hp.port} -sTCP:LISTEN).`,
          causes: ['C8'],
        });
      }
      continue;
    }
    if (id.kind === 'mlx_lm.server') {
      // ---- Aider straight at an mlx_lm.server
      const served = await servedBy(hp.host, hp.port, id);
      const healthy = await serverCheck(hp.host, hp.port, hp.root, served);
      for (const u of us) {
        const up = u.name.slice('openai/'.length);
        const vd = verdictFor(up, served, id);
        if (!vd.safe) {
          const elsewhere = (await (servers ??= localMlxServers(caps.processes))).find((x) => x.model === up && x.port !== hp.port);
          if (elsewhere && (await identify(elsewhere.host, elsewhere.port)).kind === 'mlx_lm.server') {
            const right = `http://${elsewhere.host}:${elsewhere.port}/v1`;
            const f = baseFix(b, right, state, env, true);
            push({
              id: `chain.model.${u.name}`,
              group: 'server',
              title: `Aider sends "${up}" to the mlx_lm.server on :${hp.port} (${b.how} ${fromWhere(b.source, env)}), which serves ${served.model ?? 'another model'}; the mlx_lm.server serving ${up} listens on :${elsewhere.port}`,
              status: 'fail',
              observed: `${b.how}=${baseValue} ${fromWhere(b.source, env)}; the model on :${hp.port} from ${served.how}; ${up} is the --model of pid ${elsewhere.pid} on :${elsewhere.port}; "${up}" not sent to :${hp.port} (${vd.why})`,
              expected: `API base ${right}`,
              fix: f.text,
              ...(f.edits.length ? { fixable: 'edit' as const, edits: f.edits } : {}),
              causes: ['C18', 'C1', ...(vd.cause === 'C1' ? [] : [vd.cause])],
              explainsError: true,
            });
            continue;
          }
          // The name is a model group of a LiteLLM proxy running here: the base sends Aider past it.
          const px = await proxyWithGroup(up);
          if (px) {
            pastProxy = true;
            const right = `http://127.0.0.1:${px.port}/v1`;
            const f = baseFix(b, right, state, env, true);
            const keyNote = px.masterKey && key?.value !== px.masterKey ? ` Aider must send that proxy's key too: openai-api-key (or OPENAI_API_KEY) equal to general_settings.master_key of ${tildify(px.config, env)}.` : '';
            push({
              id: `chain.model.${u.name}`,
              group: 'server',
              title: `Aider sends "${up}" straight to the mlx_lm.server on :${hp.port} (${b.how} ${fromWhere(b.source, env)}), past the proxy: the LiteLLM proxy with model group "${up}" listens on :${px.port}`,
              status: 'fail',
              observed: `${b.how}=${baseValue} ${fromWhere(b.source, env)}; the server on :${hp.port} serves ${served.model ?? 'another model'} (${served.how}); "${up}" is a model_name of ${tildify(px.config, env)}, the --config of the LiteLLM proxy pid ${px.pid} on :${px.port} (${px.argv.map(shellQuote).join(' ')}); "${up}" not sent to :${hp.port} (${vd.why})`,
              expected: `API base ${right}`,
              fix: `${f.text}${keyNote}`,
              ...(f.edits.length ? { fixable: 'edit' as const, edits: f.edits } : {}),
              causes: ['C18', 'C1'],
              explainsError: true,
            });
            continue;
          }
          const want = `openai/${served.model ?? UPSTREAM_DEFAULT_MODEL}`;
          const swap = aiderOptionFix(u.role, u.source, u.name, want, env);
          // An alias (openai/editor) is not a model: the server's own model is the fix. A real repo id
          // is the model the user chose: the base may be what is wrong (a shell variable left over, a
          // port mixed up) as well as the model, so both ways are said, and --fix picks neither.
          const chosen = vd.cause === 'C6';
          const baseFrom = b.source === 'shell' ? ` (${b.how} comes from your shell environment: unset it, or set openai-api-base in .aider.conf.yml, which beats it)` : ` (${b.how} ${fromWhere(b.source, env)})`;
          const f = chosen
            ? { text: `Either start an mlx_lm.server for ${up} (mlx_lm.server --model ${up} --port <a free port>) and point Aider's API base at it${baseFrom}, or use the model this server serves: ${swap.text.replace(/^./, (c) => c.toLowerCase())}`, edits: [] as UserEdit[] }
            : swap;
          push({
            id: `chain.model.${u.name}`,
            group: 'server',
            title: `Aider sends "${up}" straight to the mlx_lm.server on :${hp.port}; that server serves ${served.model ?? 'the model it was started with'} and ${vd.cause === 'C1' ? 'answers any other name than default_model or its --model with 404' : 'would load another model for it'}`,
            status: 'fail',
            observed: `${u.role}: ${u.name} ${fromWhere(u.source, env)}; the server's model from ${served.how}; the doctor did not send "${up}" to it, because ${vd.why}`,
            expected: chosen ? `an mlx_lm.server serving ${up} at Aider's API base, or ${u.role}: ${want}` : `${u.role}: ${want}`,
            fix: f.text,
            ...(f.edits.length ? { fixable: 'edit' as const, edits: f.edits } : {}),
            // A repo id that is not its --model is a name it does not serve, as an alias is (C1).
            causes: vd.cause === 'C1' ? ['C1'] : [vd.cause, 'C1'],
          });
          continue;
        }
        if (!healthy) {
          out.push({ id: `chain.model.${u.name}`, group: 'server', title: `${u.name} at ${where}`, status: 'skip', observed: `not checked: chain.server.${where} failed` });
          continue;
        }
        deferred(
          `chain.model.${u.name}`,
          'server',
          () => probeChat(normalizeApiBase(baseValue).base, up, { ...popts, ...(key ? { apiKey: key.value } : {}), maxTokens: 1 }),
          (r) =>
            r.ok
              ? { id: `chain.model.${u.name}`, group: 'server', title: `${u.name} answers at ${where} (${vd.why})`, status: 'pass', latencyMs: r.latencyMs, causes: ['C1'] }
              : { id: `chain.model.${u.name}`, group: 'server', title: `${u.name} fails at ${where}`, status: 'fail', observed: describe(r), expected: 'HTTP 200 chat.completion', fix: 'Check the server log.', causes: suspectsFromText(parseErrorText(r.bodyHead)).map((s) => s.cause) },
        );
      }
      continue;
    }

    // ---- a LiteLLM proxy at Aider's base
    const proxyRoot = hp.root;
    const proc = await procOf(hp.host, hp.port);
    const la = proc ? litellmArgs(proc.argv, proc.cwd) : undefined;
    let file: string | undefined;
    let fileHow = '';
    if (opts.litellmConfig) {
      file = resolve(state.cwd, opts.litellmConfig);
      fileHow = '--litellm-config';
    } else if (la?.config) {
      file = la.config;
      fileHow = `the running proxy's own --config (pid ${proc!.pid})`;
    }
    // The command the proxy runs with, its --config made absolute (it was started from another folder, and
    // the command is run from wherever the user is); with --litellm-config, that file (it may be another one).
    const restart = proc && la?.isLitellm
      ? restartArgv(proc.argv, proc.cwd, opts.litellmConfig ? file : undefined).map((a) => shellQuote(a.startsWith('/') ? tildify(a, env) : a)).join(' ')
      : `litellm --config ${file ? tildify(file, env) : '<your config>'} --port ${hp.port}`;
    const restartText = `restart the proxy (it reads its config only at start; aider-mlx did not start it, so it does not restart it: stop the one running now${proc ? ` (pid ${proc.pid})` : ''}, then start it again): ${restart}`;
    const lf = file ? fileOf(file) : undefined;
    if (file) litellmPath = file;
    const info = await infoOf(proxyRoot);
    const fileDeps = lf?.data ? fromEntries(lf.entries) : undefined;
    out.push(
      lf
        ? lf.data
          ? { id: 'uses.litellm', group: 'uses', title: `LiteLLM config: ${tildify(file!, env)} (${fileHow})`, status: 'pass', observed: `${lf.entries.length} deployment(s): ${lf.entries.map((e) => `${e.modelName} → ${e.model} @ ${e.apiBase}`).join('; ')}` }
          : { id: 'uses.litellm', group: 'uses', title: `LiteLLM config ${tildify(file!, env)} (${fileHow}) cannot be read`, status: 'fail', observed: lf.error ?? (lf.exists ? 'empty' : 'no such file'), fix: 'Pass the file the proxy runs with: --litellm-config FILE.' }
        : info.deployments
          ? { id: 'uses.litellm', group: 'uses', title: `LiteLLM config: as the proxy on :${hp.port} reports it (GET /model/info; its file is not known)`, status: 'pass', observed: info.deployments.map((d) => `${d.group} → ${d.model} @ ${d.apiBase}`).join('; ') }
          : { id: 'uses.litellm', group: 'uses', title: `LiteLLM config: not known`, status: 'skip', observed: `not checked: the process on :${hp.port} is not ours to read, and ${info.why}; pass --litellm-config FILE` },
    );
    // What the running proxy really sends: its own report beats the file (it may run an older one).
    let deps = info.deployments ?? fileDeps;
    let depsHow = info.deployments ? 'the running proxy (GET /model/info)' : `${tildify(file ?? '', env)}`;
    /** The proxy runs another config than the one the user named (--litellm-config): judge the file, restart first. */
    let stale = false;
    if (info.deployments && fileDeps) {
      const differ = fileDeps.filter((d) => !info.deployments!.some((x) => x.group === d.group && x.model === d.model && normalizeApiBase(x.apiBase ?? '').base === normalizeApiBase(d.apiBase ?? '').base));
      if (differ.length) {
        const named = opts.litellmConfig !== undefined;
        stale = named;
        const runsWith = la?.config ? ` (pid ${proc!.pid}, started with --config ${tildify(la.config, env)})` : proc ? ` (pid ${proc.pid})` : '';
        if (named) {
          deps = fileDeps;
          depsHow = tildify(file!, env);
        }
        push({
          id: 'chain.proxy.stale',
          group: 'proxy',
          title: `the proxy on :${hp.port} runs another config than ${tildify(file!, env)}`,
          status: 'fail',
          observed: `the file: ${differ.map((d) => `${d.group} → ${d.model} @ ${d.apiBase}`).join('; ')}; the running proxy: ${info.deployments.map((d) => `${d.group} → ${d.model} @ ${d.apiBase}`).join('; ')}`,
          expected: 'the proxy started from the file as it is now',
          fix: named
            ? `Stop the proxy on :${hp.port}${runsWith} and start it with ${tildify(file!, env)}: ${restart}`
            : `Restart the proxy: ${restart}`,
          restart,
          causes: ['C11'],
        });
      }
    }
    const lp = await litellmOf(proxyRoot);
    if (lp.authFailed && key?.value) {
      const master = lf?.masterKey;
      const f = master && key ? aiderOptionFix('openai-api-key', key.source, key.value, master, env) : undefined;
      push({
        id: 'chain.proxy.auth',
        group: 'proxy',
        title: `the proxy on :${hp.port} refuses the key Aider sends`,
        status: 'fail',
        observed: `${lp.models.error?.message ?? `HTTP ${lp.models.status}`}; Aider sends ${key ? `${mask(key.value)} ${fromWhere(key.source, env)}` : 'no key'}`,
        expected: "Aider's openai-api-key equal to the proxy's general_settings.master_key",
        fix: f?.text ?? "Set Aider's openai-api-key to the proxy's master_key.",
        ...(f?.edits.length ? { fixable: 'edit' as const, edits: f.edits } : {}),
        causes: ['C10'],
      });
    }
    for (const u of us) {
      const group = u.name.slice('openai/'.length);
      const tid = `chain.through.${u.name}`;
      const served = lp.models.ok && !stale ? lp.names : deps ? [...new Set(deps.map((d) => d.group))] : undefined;
      const { known, allSafe, healthy, others } = await throughProxy(u, { who: `the proxy on :${hp.port}`, served, deps, depsHow, file, fileDeps, afterText: restartText, after: { restart } });
      if (!known) continue;
      if (stale) {
        out.push({ id: tid, group: 'proxy', title: `${u.name} through the proxy on :${hp.port}`, status: 'skip', observed: `not checked: the proxy runs another config than ${tildify(file!, env)} (chain.proxy.stale): nothing is sent through it until it is restarted` });
        continue;
      }
      if (lp.authFailed) {
        out.push({ id: tid, group: 'proxy', title: `${u.name} through the proxy on :${hp.port}`, status: 'skip', observed: key?.value ? 'not checked: chain.proxy.auth failed' : 'not checked: Aider has no API key (chain.key)' });
        continue;
      }
      const notSent: DoctorCheck = {
        id: tid,
        group: 'proxy',
        title: `${u.name} through the proxy on :${hp.port}`,
        status: 'skip',
        observed: deps
          ? 'not checked: a deployment of that group sends a name its mlx_lm.server would try to load, or cannot be reached: not sent, see above'
          : `not checked: what the proxy sends upstream is not known (${info.why}; no config file found), so nothing is sent through it; pass --litellm-config FILE`,
      };
      if (!allSafe) {
        out.push(notSent);
        continue;
      }
      // No key: Aider's own client sends nothing (chain.key); what the proxy answers a keyless request says nothing more.
      if (!key?.value) {
        out.push({ ...notSent, observed: 'not checked: Aider has no API key (chain.key), so its client sends no request to the proxy at all' });
        continue;
      }
      deferred(
        tid,
        'proxy',
        () => probeChat(`${proxyRoot}/v1`, group, { ...popts, ...(key ? { apiKey: key.value } : {}), maxTokens: 1 }),
        async (r) => {
          // A server that fails its own check: the answer through the proxy says nothing more.
          if (!(await Promise.all(healthy)).every(Boolean)) return { ...notSent, observed: 'not judged: a deployment of that group fails its own check (see above)' };
          if (r.ok) return { id: tid, group: 'proxy', title: `${u.name} answers through the proxy on :${hp.port}`, status: 'pass', latencyMs: r.latencyMs, causes: ['C1', 'C11', 'C12'] };
          const parsed = parseErrorText(r.error && r.status === undefined ? r.error.message : r.bodyHead);
          const seen = r.status !== undefined ? `HTTP ${r.status}: ${parsed.summary}` : (r.error?.message ?? 'no answer');
          if (others.length) {
            // An upstream that is not mlx_lm.server answered it: that deployment is the failure, and this is what it explains.
            for (const at of others) out[at] = { ...out[at]!, status: 'fail', explainsError: true };
            const ids = others.map((at) => out[at]!.id).join(', ');
            return { id: tid, group: 'proxy', title: `${u.name} fails through the proxy on :${hp.port}`, status: 'fail', observed: `${seen}; explained by ${ids}: the proxy sends it to a server that is not mlx_lm.server (above)`, expected: 'HTTP 200 chat.completion', fix: `Fix the upstream above (${ids}), then ${restartText}`, restart, causes: [] };
          }
          return { id: tid, group: 'proxy', title: `${u.name} fails through the proxy on :${hp.port}`, status: 'fail', observed: seen, expected: 'HTTP 200 chat.completion', fix: `Check the proxy's log; ${restartText}`, restart, causes: suspectsFromText(parsed).map((s) => s.cause) };
        },
      );
    }
  }

  await Promise.all(later);
  // ---- an honest verdict: nothing probed is not "it works"
  if (!failed && probedOk === 0) {
    out.push({
      id: 'chain.verdict',
      group: 'aider',
      title: 'no hop of the chain could be probed, so nothing says it works',
      status: 'fail',
      observed: out.filter((c) => c.status === 'skip').map((c) => `${c.id}: ${c.observed?.replace(/^not checked: /, '')}`).join('; ') || 'no openai/ model with a base to probe',
      expected: 'a 1-token completion answered for each Aider model',
      fix: 'See the skipped checks above.',
    });
  }
  return { checks: onePerId(out), ...(litellmPath ? { litellmPath, litellm: fileOf(litellmPath) } : {}), none: false, answering, ...(pastProxy ? { pastProxy } : {}) };
}

/**
 * Two roles with one name (model and weak-model both openai/coder) ask the same questions of the
 * same hops: each check once, the first, with the edits of the others it lacks (the other role's
 * own line in .aider.conf.yml) and their fix text when it differs.
 */
function onePerId(checks: DoctorCheck[]): DoctorCheck[] {
  const at = new Map<string, number>();
  const out: DoctorCheck[] = [];
  for (const c of checks) {
    const i = at.get(c.id);
    if (i === undefined) {
      at.set(c.id, out.length);
      out.push(c);
      continue;
    }
    const first = out[i]!;
    const extra = (c.edits ?? []).filter((e) => !(first.edits ?? []).some((f) => sameEdit(e, f)));
    if (!extra.length) continue;
    out[i] = { ...first, edits: [...(first.edits ?? []), ...extra], ...(c.fix && c.fix !== first.fix ? { fix: `${first.fix ?? ''} ${c.fix}`.trim() } : {}) };
  }
  return out;
}

function describe(r: ChatProbe): string {
  if (r.error && r.status === undefined) return r.error.message;
  return `HTTP ${r.status}: ${bodyGist(r.bodyHead, 200)}`;
}
