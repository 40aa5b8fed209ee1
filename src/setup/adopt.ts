/**
 * `aider-mlx setup --adopt`: a chain written by hand (Aider's own files, a LiteLLM config, the
 * mlx_lm.servers running) becomes a plan, so status, serve and reconfigure work on it. Found the
 * way the doctor finds it: what Aider really uses (doctor/files.ts), the proxy's config
 * (`--litellm-config`, else the running proxy's own --config), and which model each local
 * mlx_lm.server serves (its command line). Only the plan is written; the user's files are recorded
 * where they are, never rewritten.
 */
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { trustProblemAt } from '../lib/trust.js';
import { DEFAULT_CONTEXT, DEFAULT_REQUEST_TIMEOUT, PLAN_VERSION, type Deployment, type Plan, type Role, type RoleName } from '../config/plan.js';
import { homeDir, tildify, type Env } from '../lib/paths.js';
import { litellmFile, readDiskState, type DiskState } from '../doctor/files.js';
import { namesInUse } from '../doctor/checks/aider.js';
import { baseFor, hostPortOf } from '../doctor/checks/chain.js';
import { identifyServer, type ServerIdentity } from '../servers/probe.js';
import { litellmArgs, portProcessLookup, servedModelOf, type PortProcess } from '../servers/ports.js';
import { checkPortClashes } from './build-plan.js';

export interface AdoptCaps {
  env: Env;
  cwd: string;
  timeoutMs: number;
  /** The LiteLLM config the proxy runs with (`--litellm-config FILE`). */
  litellmConfig?: string;
  /** The Aider command line the user runs (`setup --adopt -- <aider args>`). */
  aiderArgs?: string[];
  /** The local process on a port; tests pass their own. */
  portProcess?: (port: number) => Promise<PortProcess | undefined>;
  maxContextOf?: (model: string) => Promise<number | undefined>;
  signal?: AbortSignal;
}

export interface Adoption {
  plan: Plan;
  /** What was found, one line each, for the confirmation. */
  found: string[];
  /** What the user should know before serve uses the chain (a key file others can read), one line each. */
  warnings: string[];
}

/** Aider's roles → the plan's: `model` is the architect when `editor-model` is set, else the editor. */
function roleOf(aiderRole: 'model' | 'editor-model' | 'weak-model', twoModels: boolean): RoleName {
  if (aiderRole === 'weak-model') return 'weak';
  if (aiderRole === 'editor-model') return 'editor';
  return twoModels ? 'architect' : 'editor';
}

const nothing = (why: string, fix: string) => new UsageError(`Nothing coherent to adopt: ${why}.`, fix);
const DOCTOR = 'Run `aider-mlx doctor` to see the chain and what breaks it; or `npx aider-mlx setup` for a new setup.';

export async function findAdoption(caps: AdoptCaps): Promise<Adoption> {
  const env = caps.env;
  const state: DiskState = await readDiskState(env, caps.cwd, {}, caps.aiderArgs ? { aiderArgs: caps.aiderArgs } : {});
  const used = namesInUse(state);
  if (!used.length) throw nothing(`Aider here (${tildify(caps.cwd, env)}) has no model set in any file it reads, nor in AIDER_MODEL`, DOCTOR);
  const twoModels = used.some((u) => u.role === 'editor-model');
  const lookup = caps.portProcess ?? portProcessLookup();
  const popts = { timeoutMs: caps.timeoutMs, ...(caps.signal ? { signal: caps.signal } : {}) };
  const found: string[] = [];
  const roles: Partial<Record<RoleName, Role & { name?: string }>> = {};
  let mode: Plan['mode'] | undefined;
  let proxy: Deployment | undefined;
  let litellmConfig: string | undefined;

  /** The model a local mlx_lm.server serves, from its command line; refuses when it cannot be known. */
  const servedAt = async (host: string, port: number, id: ServerIdentity, what: string): Promise<string> => {
    if (id.kind !== 'mlx_lm.server') {
      throw nothing(`${what} goes to ${host}:${port}, where ${id.kind === 'none' ? 'nothing listens' : `${id.looksLike ?? 'a server that is not mlx_lm.server'} answers`}`, `Start the mlx_lm.server there, then run \`aider-mlx setup --adopt\` again. ${DOCTOR}`);
    }
    const s = await servedModelOf(host, port, undefined, { lookup });
    if (s.kind !== 'cmdline') {
      throw nothing(`which model the mlx_lm.server on ${host}:${port} serves cannot be read (${s.kind === 'remote' ? 'it runs on another machine' : s.why})`, 'Adopt needs each server running on this Mac as your own process; or run `npx aider-mlx setup --editor MODEL …`.');
    }
    return s.model;
  };
  const addRole = async (role: RoleName, model: string, d: Deployment, name?: string) => {
    const prev = roles[role];
    if (prev) {
      if (prev.model !== model) throw nothing(`the ${role} role is served by ${prev.model} and by ${model}`, DOCTOR);
      if (!prev.deployments.some((x) => x.host === d.host && x.port === d.port)) prev.deployments.push(d);
      return;
    }
    const max = await caps.maxContextOf?.(model).catch(() => undefined);
    const meta = state.aider.metadata.get(`openai/${name ?? model}`)?.value;
    const metaCtx = typeof meta?.max_input_tokens === 'number' && meta.max_input_tokens >= 512 ? meta.max_input_tokens : undefined;
    const context = Math.min(metaCtx ?? DEFAULT_CONTEXT, max ?? Infinity);
    roles[role] = { model, context, deployments: [d], ...(name ? { name } : {}) };
  };

  for (const u of used) {
    if (!u.name.startsWith('openai/')) throw nothing(`Aider's ${u.role} ${u.name} is not an openai/ model (a local server or proxy is called as openai/<name>)`, DOCTOR);
    const b = baseFor(state, u.name);
    if (!b) throw nothing(`Aider's ${u.role} ${u.name} has no API base (it would call api.openai.com)`, DOCTOR);
    const hp = hostPortOf(b.value);
    if (!hp) throw nothing(`Aider's API base ${b.value} is not a URL`, DOCTOR);
    const id = await identifyServer(hp.host, hp.port, popts);
    const role = roleOf(u.role, twoModels);
    if (id.kind === 'litellm') {
      if (mode === 'direct' || (proxy && (proxy.host !== hp.host || proxy.port !== hp.port))) throw nothing('Aider\'s models go to different places (a proxy and a server, or two proxies)', DOCTOR);
      mode = 'proxy';
      proxy = { host: hp.host, port: hp.port };
      if (!litellmConfig) {
        if (caps.litellmConfig) litellmConfig = resolve(caps.cwd, caps.litellmConfig);
        else {
          const p = await lookup(hp.port).catch(() => undefined);
          litellmConfig = p ? litellmArgs(p.argv, p.cwd).config : undefined;
        }
        if (!litellmConfig) throw nothing(`the LiteLLM proxy on :${hp.port} does not say which config file it runs`, `Pass it: aider-mlx setup --adopt --litellm-config FILE`);
        found.push(`LiteLLM proxy on ${hp.host}:${hp.port}, config ${tildify(litellmConfig, env)}`);
      }
      const lf = litellmFile(litellmConfig);
      if (!lf.data) throw nothing(`the LiteLLM config ${tildify(litellmConfig, env)} cannot be read (${lf.error ?? (lf.exists ? 'empty' : 'no such file')})`, 'Pass the file the proxy runs with: --litellm-config FILE.');
      const group = u.name.slice('openai/'.length);
      const entries = lf.entries.filter((e) => e.modelName === group);
      if (!entries.length) throw nothing(`${tildify(litellmConfig, env)} has no model_name "${group}", which Aider's ${u.role} asks for`, DOCTOR);
      for (const e of entries) {
        const uhp = e.apiBase ? hostPortOf(e.apiBase) : undefined;
        if (!uhp) throw nothing(`model_list[${e.index}] ("${group}") has no usable api_base`, DOCTOR);
        const uid = await identifyServer(uhp.host, uhp.port, popts);
        const model = await servedAt(uhp.host, uhp.port, uid, `model group "${group}" (model_list[${e.index}])`);
        await addRole(role, model, { host: uhp.host, port: uhp.port }, group);
        found.push(`${role}: ${u.name} (${u.role} ${u.source === 'command line' ? 'on the command line' : `in ${tildify(u.source, env)}`}) → proxy group "${group}" → mlx_lm.server ${uhp.host}:${uhp.port} serving ${model}`);
      }
    } else {
      if (mode === 'proxy') throw nothing('Aider\'s models go to different places (a proxy and a server)', DOCTOR);
      mode = 'direct';
      const model = await servedAt(hp.host, hp.port, id, `Aider's ${u.role} ${u.name}`);
      await addRole(role, model, { host: hp.host, port: hp.port });
      found.push(`${role}: ${u.name} → mlx_lm.server ${hp.host}:${hp.port} serving ${model}`);
    }
  }
  if (!roles.editor) throw nothing('Aider here has an architect model but no editor-model to adopt as the editor', DOCTOR);

  // The folder of the Aider config that sets the model: the project (git root or cwd) or home.
  const conf = state.aider.confFiles.filter((f) => f.exists);
  const modelSrc = used.find((u) => u.role === 'model')?.source;
  const confDir = modelSrc && modelSrc.startsWith('/') ? dirname(modelSrc) : conf.length ? dirname(conf[conf.length - 1]!.path) : (state.gitRoot ?? caps.cwd);
  const scope: Plan['aider']['scope'] = confDir === homeDir(env) ? 'global' : 'project';
  const aiderFiles = [...conf.map((f) => f.path), ...state.aider.settingsFiles.filter((f) => f.exists).map((f) => f.path), ...state.aider.metadataFiles.filter((f) => f.exists).map((f) => f.path), ...state.dotenvFiles];
  const names: Partial<Record<RoleName, string>> = {};
  const strip = (r: (Role & { name?: string }) | undefined): Role | undefined => {
    if (!r) return undefined;
    const { name: _n, ...rest } = r;
    return rest;
  };
  for (const k of ['editor', 'architect', 'weak'] as const) if (roles[k]?.name) names[k] = roles[k]!.name;
  const editor = strip(roles.editor)!;
  const architect = strip(roles.architect);
  const weak = strip(roles.weak);
  const plan: Plan = {
    version: PLAN_VERSION,
    mode: mode!,
    roles: {
      editor,
      ...(architect && architect.model !== editor.model ? { architect } : {}),
      ...(weak && weak.model !== editor.model ? { weak } : {}),
    },
    // Direct mode has no proxy; the schema wants one (unused): a port no server of the plan uses.
    proxy: proxy ?? { host: '127.0.0.1', port: 4000 },
    requestTimeout: Number(state.aider.conf.timeout?.value) > 0 ? Number(state.aider.conf.timeout!.value) : DEFAULT_REQUEST_TIMEOUT,
    aider: { scope, dir: confDir },
    adopted: { ...(litellmConfig ? { litellmConfig } : {}), aiderFiles, ...(Object.keys(names).length ? { names } : {}) },
  };
  const { planSchema, describeZodError } = await import('../config/plan-schema.js');
  const v = planSchema.safeParse(plan);
  if (!v.success) throw nothing(`what was found does not make a valid plan (${describeZodError(v.error)})`, DOCTOR);
  if (mode === 'direct') {
    // The unused proxy port must not be a server's.
    const taken = new Set(Object.values(plan.roles).flatMap((r) => r!.deployments.map((d) => d.port)));
    while (taken.has(plan.proxy.port)) plan.proxy.port++;
  }
  checkPortClashes(plan);
  found.push(`Aider files (recorded, not changed): ${aiderFiles.map((f) => tildify(f, env)).join(', ') || 'none'}`);
  // serve starts the proxy with the key in that file, and refuses a key file others can read.
  const warnings: string[] = [];
  const tp = litellmConfig ? trustProblemAt(litellmConfig, { holdsKey: true }) : undefined;
  if (tp) warnings.push(`${tp.problem}: \`serve\` will not start the proxy with it until you run ${tp.fix}`);
  return { plan, found, warnings };
}

/** The adoption's plan as a write through the safe writer (journal, backup of a replaced plan). */
export async function writeAdoption(plan: Plan, env: Env, o: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<{ path: string; diff: string; written: boolean; backupDir?: string }> {
  const [{ planWrites, applyWrites }, { planToYaml }, { configPaths }] = await Promise.all([import('../lib/fs.js'), import('../config/plan-file.js'), import('../lib/paths.js')]);
  const paths = configPaths(env);
  const planned = await planWrites([{ path: paths.plan, content: planToYaml(plan), mode: 0o600 }]);
  if (o.dryRun) return { path: paths.plan, diff: planned[0]!.diff, written: false };
  const applied = await applyWrites(planned, { backupRoot: paths.backups, dirMode: 0o700, ...(o.signal ? { signal: o.signal } : {}) });
  return { path: paths.plan, diff: planned[0]!.diff, written: applied.written.length > 0, ...(applied.backupDir ? { backupDir: applied.backupDir } : {}) };
}
