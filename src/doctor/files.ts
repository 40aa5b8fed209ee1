/**
 * What is actually on disk and in the environment, read the way the tools read it (SPEC §3.1):
 * the plan, the LiteLLM config, every Aider config file in Aider's precedence order (home < git
 * root < cwd, or only `--config`), `.env` files, AIDER_* and OPENAI_* variables, model settings and
 * metadata (later files win by exact name). Reads only; never throws for a bad file: a file that
 * does not parse is recorded with its line and column.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { AppError } from '../errors.js';
import { configPaths, homeDir, type Env } from '../lib/paths.js';
import { danglingTarget, MAX_CONFIG_BYTES, readBoundedSync } from '../lib/read-bounded.js';
import { trustProblemAt, type TrustProblem } from '../lib/trust.js';
import { readPlan, readPlanRaw, validatePlan } from '../config/plan-file.js';
import type { Plan } from '../config/plan.js';
import { yamlProblem } from '../config/yaml-error.js';
import { AIDER_FILES } from '../config/render-context.js';

export interface Sourced<T = unknown> {
  value: T;
  /** A file path, `env AIDER_MODEL`, `shell`, or `set-env in <file>`. */
  source: string;
}

export interface ReadFile<T = unknown> {
  path: string;
  exists: boolean;
  data?: T;
  /** `line 3, column 5: …` when the file does not parse. */
  error?: string;
  /** It is a symbolic link to this path, which does not exist (Aider then reads nothing from it). */
  linkTo?: string;
}

export interface LitellmEntry {
  index: number;
  modelName?: string;
  model?: string;
  apiBase?: string;
  apiKey?: string;
  maxTokens?: unknown;
}

export interface LitellmFile extends ReadFile<Record<string, unknown>> {
  entries: LitellmEntry[];
  masterKey?: string;
}

export interface AiderState {
  /** Set when Aider is run with `--config` (profile scope: only that file is read). */
  explicitConfig?: string;
  /** In load order: later wins. */
  confFiles: Array<ReadFile<Record<string, unknown>>>;
  /** Effective option values: files, then AIDER_* variables (configargparse: env beats files). */
  conf: Record<string, Sourced>;
  settingsFiles: Array<ReadFile<unknown[]>>;
  /** By exact model name, the last file's entry. */
  settings: Map<string, Sourced<Record<string, unknown>>>;
  metadataFiles: Array<ReadFile<Record<string, unknown>>>;
  metadata: Map<string, Sourced<Record<string, unknown>>>;
}

export interface DiskState {
  home: string;
  cwd: string;
  gitRoot?: string;
  planPath: string;
  plan?: Plan;
  planError?: string;
  /** The plan when it adopted the user's chain (then `plan` is unset: the files are checked as written). */
  adopted?: Plan;
  litellm: LitellmFile;
  aider: AiderState;
  /** The environment Aider's LiteLLM ends up with: shell, then .env files, then set-env, then the conf's openai-api-base/key. */
  env: Record<string, Sourced<string>>;
  dotenvFiles: string[];
  /** The config folder, plan, LiteLLM config or an Aider config holding the key, when another user owns it or can change (or read) it. */
  trust: TrustProblem[];
}

/** The options this tool reads from Aider's config (YAML key names). */
export const AIDER_KEYS = [
  'model',
  'editor-model',
  'weak-model',
  'architect',
  'edit-format',
  'openai-api-base',
  'openai-api-key',
  'timeout',
  'model-settings-file',
  'model-metadata-file',
  'set-env',
  'api-key',
  'env-file',
] as const;

/** The source label of a value given on Aider's command line (`aider-mlx doctor -- <aider args>`). */
export const CLI_SOURCE = 'command line';

/** Aider's value-taking flags the doctor reads from a pasted command line, and their YAML keys. */
const AIDER_VALUE_FLAGS: Record<string, string> = {
  '--model': 'model',
  '--editor-model': 'editor-model',
  '--weak-model': 'weak-model',
  '--edit-format': 'edit-format',
  '--chat-mode': 'edit-format',
  '--openai-api-base': 'openai-api-base',
  '--openai-api-key': 'openai-api-key',
  '--timeout': 'timeout',
  '--model-settings-file': 'model-settings-file',
  '--model-metadata-file': 'model-metadata-file',
  '--set-env': 'set-env',
  '--api-key': 'api-key',
  '--env-file': 'env-file',
  '--config': 'config',
  '-c': 'config',
};
const LIST_KEYS = new Set(['set-env', 'api-key']);

/**
 * The options of an Aider command line, as Aider's argparse reads them (`--flag value`,
 * `--flag=value`, the list flags repeatable, `--architect`/`--no-architect`); other flags are
 * ignored (they do not change where requests go).
 */
export function parseAiderArgs(args: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (key: string, v: string) => {
    if (LIST_KEYS.has(key)) out[key] = [...((out[key] as string[] | undefined) ?? []), v];
    else out[key] = v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--architect') out.architect = true;
    else if (a === '--no-architect') out.architect = false;
    else if (a.startsWith('--') && a.includes('=')) {
      const [flag, ...rest] = a.split('=');
      const key = AIDER_VALUE_FLAGS[flag!];
      if (key) put(key, rest.join('='));
    } else if (AIDER_VALUE_FLAGS[a] && args[i + 1] !== undefined) {
      put(AIDER_VALUE_FLAGS[a]!, args[i + 1]!);
      i++;
    }
  }
  return out;
}

/** How the user starts Aider, beyond the files: the command line given after `doctor --`. */
export interface AiderLaunch {
  aiderArgs?: readonly string[];
}

const ENV_OF = (key: string) => `AIDER_${key.toUpperCase().replace(/-/g, '_')}`;

/** Variables that change where Aider's LiteLLM sends requests, or with which key. */
export const WATCHED_ENV = ['OPENAI_BASE_URL', 'OPENAI_API_BASE', 'OPENAI_API_KEY', 'LITELLM_MASTER_KEY', 'HF_HUB_OFFLINE'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readText(path: string): string | undefined {
  try {
    return readBoundedSync(path, { what: 'The file', maxBytes: 8 * MAX_CONFIG_BYTES, over: 'refuse' });
  } catch {
    return undefined;
  }
}

/** A file that could not be read: missing, or a link to nothing. */
function missing<T>(path: string): ReadFile<T> {
  const exists = existsSync(path);
  const linkTo = exists ? undefined : danglingTarget(path);
  return { path, exists, ...(linkTo ? { linkTo } : {}) };
}

export function readYamlFile<T>(path: string, want: 'map' | 'list'): ReadFile<T> {
  const text = readText(path);
  if (text === undefined) return missing(path);
  const lc = new LineCounter();
  // PyYAML keeps the last of duplicate keys; so do we. It also reads `<<: *anchor` merge keys (LiteLLM, Aider).
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: false, merge: true });
  const err = doc.errors[0];
  if (err) {
    const { line, col, reason } = yamlProblem(err, lc);
    return { path, exists: true, error: `line ${line}, column ${col}: ${reason}` };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { path, exists: true, error: (e as Error).message };
  }
  if (data === null || data === undefined) return { path, exists: true, data: (want === 'map' ? {} : []) as T };
  if (want === 'map' && !isRecord(data)) return { path, exists: true, error: 'expected a map of key: value lines' };
  if (want === 'list' && !Array.isArray(data)) return { path, exists: true, error: 'expected a list of model entries (- name: …)' };
  return { path, exists: true, data: data as T };
}

/** `//` and `/* *\/` comments outside strings, removed (our metadata template carries a header comment). */
export function stripJsonComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else out += c;
  }
  return out;
}

/** Aider reads metadata with json5. Plain JSON (plus comments) is parsed without loading it. */
async function readJson5File(path: string): Promise<ReadFile<Record<string, unknown>>> {
  const text = readText(path);
  if (text === undefined) return missing(path);
  let fast: unknown;
  try {
    fast = JSON.parse(stripJsonComments(text));
  } catch {
    fast = undefined;
  }
  if (fast !== undefined) {
    if (!isRecord(fast)) return { path, exists: true, error: 'expected a JSON object keyed by model name' };
    return { path, exists: true, data: fast };
  }
  try {
    const { default: JSON5 } = await import('json5');
    const data: unknown = JSON5.parse(text);
    if (!isRecord(data)) return { path, exists: true, error: 'expected a JSON object keyed by model name' };
    return { path, exists: true, data };
  } catch (e) {
    const m = e as { lineNumber?: number; columnNumber?: number; message: string };
    return { path, exists: true, error: m.lineNumber ? `line ${m.lineNumber}, column ${m.columnNumber}: ${m.message.replace(/^JSON5: /, '')}` : m.message };
  }
}

/** The nearest folder holding `.git` (a folder or a worktree file), like `git rev-parse --show-toplevel`. */
export function findGitRoot(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, '.git'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function expand(p: string, home: string, cwd: string): string {
  const e = p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p;
  return isAbsolute(e) ? e : resolve(cwd, e);
}

/** Aider's generate_search_path_list: home, git root, cwd, then the named file; duplicates keep their last place. */
export function searchPath(name: string, home: string, gitRoot: string | undefined, cwd: string, explicit?: string): string[] {
  const files = [join(home, name), ...(gitRoot ? [join(gitRoot, name)] : []), join(cwd, name), ...(explicit ? [explicit] : [])].map((f) =>
    resolve(f),
  );
  const out: string[] = [];
  for (let i = files.length - 1; i >= 0; i--) if (!out.includes(files[i]!)) out.unshift(files[i]!);
  return out;
}

/** KEY=value lines (python-dotenv's common subset). */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    if (/^(['"]).*\1$/.test(v)) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, '');
    out[m[1]!] = v;
  }
  return out;
}

export function litellmFile(path: string): LitellmFile {
  const f = readYamlFile<Record<string, unknown>>(path, 'map');
  const entries: LitellmEntry[] = [];
  let masterKey: string | undefined;
  if (f.data) {
    const list = f.data.model_list;
    if (Array.isArray(list)) {
      list.forEach((e, index) => {
        if (!isRecord(e)) return entries.push({ index });
        const p = isRecord(e.litellm_params) ? e.litellm_params : {};
        entries.push({
          index,
          ...(typeof e.model_name === 'string' ? { modelName: e.model_name } : {}),
          ...(typeof p.model === 'string' ? { model: p.model } : {}),
          ...(typeof p.api_base === 'string' ? { apiBase: p.api_base } : {}),
          ...(p.api_key !== undefined && p.api_key !== null ? { apiKey: String(p.api_key) } : {}),
          ...(p.max_tokens !== undefined ? { maxTokens: p.max_tokens } : {}),
        });
      });
    }
    const gs = f.data.general_settings;
    if (isRecord(gs) && gs.master_key !== undefined && gs.master_key !== null) masterKey = String(gs.master_key);
  }
  return { ...f, entries, ...(masterKey ? { masterKey } : {}) };
}

/** Where our Aider files live and how Aider is started (profile scope: `aider-mlx aider` passes --config). */
function aiderLaunch(plan: Plan | undefined): { explicitConfig?: string; settingsFile?: string; metadataFile?: string } {
  if (plan?.aider.scope !== 'profile') return {};
  return {
    explicitConfig: join(plan.aider.dir, AIDER_FILES.conf),
    settingsFile: join(plan.aider.dir, AIDER_FILES.settings),
    metadataFile: join(plan.aider.dir, AIDER_FILES.metadata),
  };
}

/** The plan as the doctor read it: the plan, or why it could not be read (neither: there is none). */
export interface PlanRead {
  plan?: Plan;
  planError?: string;
  /** A plan that adopted the user's own chain: the chain is checked as they wrote it (no plan above), and this says so. */
  adopted?: Plan;
}

const planErrorText = (e: unknown): string => (e instanceof AppError ? e.message : String((e as Error).message ?? e));

/** The plan, validated (this loads zod). */
export async function readPlanChecked(env: Env): Promise<PlanRead> {
  try {
    const plan = await readPlan(env, configPaths(env).plan);
    return plan ? { plan } : {};
  } catch (e) {
    return { planError: planErrorText(e) };
  }
}

/**
 * The plan file read and parsed but not validated: fast (no zod), so the doctor can start its
 * probes at once. `raw` is undefined when there is no plan or it cannot be read (then `planError`).
 */
export async function readPlanUnchecked(env: Env): Promise<{ raw?: { data: unknown }; planError?: string }> {
  try {
    const raw = await readPlanRaw(env, configPaths(env).plan);
    return raw ? { raw } : {};
  } catch (e) {
    return { planError: planErrorText(e) };
  }
}

/** Validate what readPlanUnchecked read, as readPlanChecked would report it. */
export async function checkPlan(data: unknown, env: Env): Promise<PlanRead> {
  try {
    return { plan: await validatePlan(data, env, configPaths(env).plan) };
  } catch (e) {
    return { planError: planErrorText(e) };
  }
}

/** Everything on disk, from `cwd`; `planRead`: the plan already read (default: read and validate it now). */
export async function readDiskState(env: Env, cwd: string, planRead?: PlanRead, how: AiderLaunch = {}): Promise<DiskState> {
  const home = homeDir(env);
  const paths = configPaths(env);
  const gitRoot = findGitRoot(cwd);
  const { plan, planError, adopted } = planRead ?? (await readPlanChecked(env));
  const litellm = litellmFile(paths.litellm);
  const cli = how.aiderArgs ? parseAiderArgs(how.aiderArgs) : {};
  const launch = typeof cli.config === 'string' ? { explicitConfig: expand(cli.config, home, cwd) } : aiderLaunch(plan);

  const confPaths = launch.explicitConfig ? [launch.explicitConfig] : searchPath(AIDER_FILES.conf, home, gitRoot, cwd);
  const confFiles = confPaths.map((p) => readYamlFile<Record<string, unknown>>(p, 'map'));
  const conf: Record<string, Sourced> = {};
  for (const f of confFiles) {
    if (!f.data) continue;
    for (const [k, v] of Object.entries(f.data)) conf[k] = { value: v, source: f.path };
  }

  // Aider loads .env files with override=True, then re-reads its AIDER_* options.
  const shellEnv: Record<string, Sourced<string>> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) shellEnv[k] = { value: v, source: 'shell' };
  // Aider: generate_search_path_list(".env", git_root, args.env_file), --env-file defaulting to
  // .env in the git root (so the git root's .env is loaded last and wins over the cwd's).
  const envFileOpt = cli['env-file'] ?? shellEnv.AIDER_ENV_FILE?.value ?? conf['env-file']?.value;
  const envFile = typeof envFileOpt === 'string' && envFileOpt ? expand(envFileOpt, home, cwd) : gitRoot ? join(gitRoot, '.env') : join(cwd, '.env');
  const dotenvFiles = [join(home, '.aider', 'oauth-keys.env'), ...searchPath('.env', home, gitRoot, cwd, envFile)].filter((p) => readText(p) !== undefined);
  const effEnv: Record<string, Sourced<string>> = { ...shellEnv };
  for (const p of dotenvFiles) {
    for (const [k, v] of Object.entries(parseDotenv(readText(p) ?? ''))) effEnv[k] = { value: v, source: p };
  }
  for (const key of AIDER_KEYS) {
    const e = effEnv[ENV_OF(key)];
    if (e !== undefined) conf[key] = { value: envValue(key, e.value), source: e.source === 'shell' ? `env ${ENV_OF(key)}` : `${ENV_OF(key)} in ${e.source}` };
  }
  // The command line beats the environment and every file (configargparse).
  for (const [k, v] of Object.entries(cli)) if (k !== 'config') conf[k] = { value: v, source: CLI_SOURCE };
  const setEnv = conf['set-env'];
  for (const item of toList(setEnv?.value)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(item);
    if (m) effEnv[m[1]!] = { value: m[2]!, source: `set-env in ${setEnv!.source}` };
  }
  for (const item of toList(conf['api-key']?.value)) {
    const m = /^([A-Za-z0-9_-]+)=(.*)$/.exec(item);
    if (m) effEnv[`${m[1]!.toUpperCase()}_API_KEY`] = { value: m[2]!, source: `api-key in ${conf['api-key']!.source}` };
  }
  if (conf['openai-api-base']?.value) effEnv.OPENAI_API_BASE = { value: String(conf['openai-api-base'].value), source: conf['openai-api-base'].source };
  if (conf['openai-api-key']?.value) effEnv.OPENAI_API_KEY = { value: String(conf['openai-api-key'].value), source: conf['openai-api-key'].source };
  const watched: Record<string, Sourced<string>> = {};
  for (const k of Object.keys(effEnv)) if (WATCHED_ENV.includes(k) || k.startsWith('AIDER_')) watched[k] = effEnv[k]!;

  const explicitSettings = launch.settingsFile ?? optionalPath(conf['model-settings-file'], home, cwd);
  const settingsFiles = searchPath(AIDER_FILES.settings, home, gitRoot, cwd, explicitSettings).map((p) => readYamlFile<unknown[]>(p, 'list'));
  const settings = new Map<string, Sourced<Record<string, unknown>>>();
  for (const f of settingsFiles) {
    for (const e of f.data ?? []) if (isRecord(e) && typeof e.name === 'string') settings.set(e.name, { value: e, source: f.path });
  }
  const explicitMetadata = launch.metadataFile ?? optionalPath(conf['model-metadata-file'], home, cwd);
  const metadataFiles = await Promise.all(searchPath(AIDER_FILES.metadata, home, gitRoot, cwd, explicitMetadata).map(readJson5File));
  const metadata = new Map<string, Sourced<Record<string, unknown>>>();
  for (const f of metadataFiles) {
    for (const [k, v] of Object.entries(f.data ?? {})) if (isRecord(v)) metadata.set(k, { value: v, source: f.path });
  }

  const holdsKey = (f: ReadFile<Record<string, unknown>>) =>
    litellm.masterKey !== undefined && f.data?.['openai-api-key'] !== undefined && String(f.data['openai-api-key']) === litellm.masterKey;
  const trust = [
    trustProblemAt(paths.dir),
    trustProblemAt(paths.plan),
    trustProblemAt(paths.litellm, { holdsKey: true }),
    // An adopted chain's proxy key is in the user's own LiteLLM config.
    ...(adopted?.adopted?.litellmConfig && adopted.adopted.litellmConfig !== paths.litellm ? [trustProblemAt(adopted.adopted.litellmConfig, { holdsKey: true })] : []),
    ...confFiles.filter(holdsKey).map((f) => trustProblemAt(f.path, { holdsKey: true })),
  ].filter((p): p is TrustProblem => p !== undefined);

  return {
    home,
    cwd,
    trust,
    ...(gitRoot ? { gitRoot } : {}),
    planPath: paths.plan,
    ...(plan ? { plan } : {}),
    ...(adopted ? { adopted } : {}),
    ...(planError ? { planError } : {}),
    litellm,
    aider: {
      ...(launch.explicitConfig ? { explicitConfig: launch.explicitConfig } : {}),
      confFiles,
      conf,
      settingsFiles,
      settings,
      metadataFiles,
      metadata,
    },
    env: watched,
    dotenvFiles,
  };
}

function toList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.map(String);
  return String(v).split(/[,\n]/).map((s) => s.trim()).filter(Boolean);
}

/** configargparse hands env values over as strings; booleans read like the flags. */
function envValue(key: string, v: string): unknown {
  if (key === 'architect') return /^(1|true|yes|on)$/i.test(v);
  return v;
}

function optionalPath(v: Sourced | undefined, home: string, cwd: string): string | undefined {
  return typeof v?.value === 'string' && v.value ? expand(v.value, home, cwd) : undefined;
}
