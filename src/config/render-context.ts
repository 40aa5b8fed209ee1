/**
 * What the templates are filled with, computed from the plan: names, bases, output budgets. Kept
 * apart from the template engine (render.ts) so the doctor, which only compares, never loads it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { familyOf, editFormatFor } from './families.js';
import { apiBase, LOCAL_API_KEY, servedModels, type ServedModel } from './names.js';
import type { Plan } from './plan.js';
import { timeoutFromPrefill } from '../bench/timeouts.js';

export const AIDER_FILES = {
  conf: '.aider.conf.yml',
  settings: '.aider.model.settings.yml',
  metadata: '.aider.model.metadata.json',
} as const;

export interface RenderPaths {
  litellmConfig: string;
  aiderDir: string;
  /** The proxy's master key (see secrets.ts); only used in proxy mode. Absent: names-only renders. */
  proxyKey?: string;
  /** The env file that carries the key for Aider in project scope (configPaths().aiderEnv). */
  aiderEnv?: string;
  /** Measured prefill tok/s per model (`aider-mlx bench`, bench/store.ts measuredPrefills): the timeouts derive from it. */
  prefill?: Record<string, number>;
}

/**
 * Seconds each model's requests may take: the plan's timeout, or more where a bench measured a
 * prefill too slow for a full context within it (bench/timeouts.ts).
 */
export function modelTimeouts(plan: Plan, prefill: Record<string, number> | undefined): Map<string, number> {
  return new Map(servedModels(plan).map((m) => [m.model, timeoutFromPrefill(m.context, prefill?.[m.model], plan.requestTimeout)]));
}

/**
 * Project scope in proxy mode: the key is not written into the repository's .aider.conf.yml (git
 * would pick it up); that file names an env file outside it instead (Aider's env-file, loaded after
 * every .env, override on). Its variable is AIDER_OPENAI_API_KEY: configargparse ranks variables
 * above every config file, so a home ~/.aider.conf.yml with its own openai-api-key cannot win.
 */
export function keyInEnvFile(plan: Plan): boolean {
  return plan.mode === 'proxy' && plan.aider.scope === 'project';
}

/** How long a session stays pinned after its last turn (LiteLLM's default is 3600). */
export const SESSION_TTL_SECONDS = 3600;

export const AIDER_ENV_KEY = 'AIDER_OPENAI_API_KEY';

/** The env file's text: one comment, one variable. */
export function renderAiderEnv(key: string): string {
  return (
    '# Written by aider-mlx: the local LiteLLM proxy\'s key, for Aider. A project\'s .aider.conf.yml\n' +
    '# reads it with env-file, so no repository holds it. Mode 0600; aider-mlx uninstall removes it.\n' +
    `${AIDER_ENV_KEY}=${key}\n`
  );
}

/** Output budget per model: half the window, capped (reasoning models think at length). */
export function maxOutputTokens(m: ServedModel): number {
  const cap = familyOf(m.model).reasoning ? 16384 : 8192;
  return Math.max(256, Math.min(cap, Math.floor(m.context / 2)));
}

export function proxyBase(plan: Plan): string {
  return apiBase(plan.proxy);
}

/** The api_base Aider uses for one model: the proxy, or the model's own server in direct mode. */
export function aiderApiBase(plan: Plan, m: ServedModel): string {
  return plan.mode === 'proxy' ? proxyBase(plan) : apiBase(m.deployments[0]!);
}

/** The LiteLLM callback aider-mlx writes next to its config (templates/aider_mlx_usage.py): the turns log. */
export const USAGE_MODULE = 'aider_mlx_usage';
export const USAGE_CALLBACK = `${USAGE_MODULE}.handler`;

/** The entries of a LiteLLM config's litellm_settings.callbacks that name our module (`aider_mlx_usage.handler`). */
export function usageCallbackEntries(data: unknown): string[] {
  const ls = (data as { litellm_settings?: { callbacks?: unknown } } | undefined)?.litellm_settings;
  const cbs = ls && typeof ls === 'object' ? ls.callbacks : undefined;
  const list = Array.isArray(cbs) ? cbs : cbs === undefined || cbs === null ? [] : [cbs];
  return list.filter((c): c is string => typeof c === 'string' && c.split('.').slice(0, -1).join('.') === USAGE_MODULE);
}

/**
 * Our callback named in the config, and its file not where LiteLLM looks: litellm 1.108
 * (proxy/types_utils/utils.py get_instance_fn) splits `aider_mlx_usage.handler` into module and
 * instance and loads `<the config file's folder>/aider_mlx_usage.py`; without that file it falls
 * back to Python's import path, where it is not, and the proxy fails to start.
 */
export function missingUsageCallback(configPath: string, data: unknown): { entries: string[]; file: string; folder: string } | undefined {
  const entries = usageCallbackEntries(data);
  if (!entries.length) return undefined;
  const folder = dirname(resolve(configPath));
  const file = join(folder, `${USAGE_MODULE}.py`);
  return existsSync(file) ? undefined : { entries, file, folder };
}

/** The header LiteLLM's `session_affinity` routes on (litellm 1.108.7, proxy/litellm_pre_call_utils.py). */
export const SESSION_HEADER = 'x-litellm-session-id';

/**
 * Several servers of one model behind the proxy: each conversation should stay on the server that
 * holds its prompt cache. LiteLLM pins a session id to the deployment that answered it.
 */
export function wantsSessionAffinity(plan: Plan): boolean {
  return plan.mode === 'proxy' && servedModels(plan).some((m) => m.deployments.length > 1);
}

/**
 * The session id the written files carry: one per Aider setup (scope + folder), so plain `aider`
 * runs keep their cache too. `aider-mlx aider` replaces it with a fresh id per run.
 */
export function defaultSessionId(plan: Plan): string {
  return `aider-mlx-${createHash('sha256').update(`${plan.aider.scope}:${plan.aider.dir}`).digest('hex').slice(0, 16)}`;
}

export function renderContext(plan: Plan, paths: RenderPaths) {
  if (keyInEnvFile(plan) && paths.proxyKey !== undefined && paths.aiderEnv === undefined) {
    throw new Error('aider-mlx: rendering the project files with a key needs the env file\'s path (RenderPaths.aiderEnv)');
  }
  const models = servedModels(plan);
  const byRole = (r: 'editor' | 'architect' | 'weak') => models.find((m) => m.roles.includes(r));
  const editor = byRole('editor')!;
  const architect = byRole('architect');
  const weak = byRole('weak') ?? editor;
  const twoModels = architect !== undefined && architect !== editor;
  const main = twoModels ? architect : editor;
  const profile = plan.aider.scope === 'profile';
  const affinity = wantsSessionAffinity(plan);
  // Through the proxy every conversation carries a session id: with several servers LiteLLM pins
  // it to one (affinity); with one, the turns log can still tell a follow-up turn from a new one
  // (and say why a turn missed the prompt cache).
  const extraHeaders = plan.mode === 'proxy' ? { [SESSION_HEADER]: defaultSessionId(plan) } : undefined;
  const timeouts = modelTimeouts(plan, paths.prefill);
  // Aider has one timeout (and LiteLLM one default): the longest any model needs.
  const requestTimeout = Math.max(plan.requestTimeout, ...timeouts.values());

  const settingsModels = models.map((m) => {
    const fam = familyOf(m.model);
    const edit = editFormatFor(m.model);
    const isMain = m === main;
    return {
      aider_name: m.aiderName,
      edit_format: edit,
      weak_model_name: weak.aiderName,
      editor_model_name: isMain && twoModels ? editor.aiderName : undefined,
      editor_edit_format: isMain && twoModels ? `editor-${editFormatFor(editor.model)}` : undefined,
      examples_as_sys_msg: fam.reasoning ? true : undefined,
      temperature: fam.temperature,
      top_p: fam.topP,
      reasoning_tag: fam.reasoning ? 'think' : undefined,
      api_base: aiderApiBase(plan, m),
      max_output_tokens: maxOutputTokens(m),
      max_input_tokens: m.context,
      extra_headers: extraHeaders,
    };
  });

  const deployments = models.flatMap((m) =>
    m.deployments.map((d) => ({
      model_name: m.modelName,
      litellm_model: `openai/${m.upstream}`,
      api_base: apiBase(d),
      api_key: LOCAL_API_KEY,
      timeout: timeouts.get(m.model) ?? plan.requestTimeout,
      max_output_tokens: maxOutputTokens(m),
      max_input_tokens: m.context,
    })),
  );

  return {
    config_path: paths.litellmConfig,
    proxy_port: plan.proxy.port,
    request_timeout: requestTimeout,
    num_retries: Math.max(0, ...models.map((m) => m.deployments.length - 1)),
    ...(models.some((m) => m.deployments.length > 1) ? { allowed_fails: 0, cooldown_time: 10 } : {}),
    ...(affinity ? { optional_pre_call_checks: ['session_affinity'], deployment_affinity_ttl_seconds: SESSION_TTL_SECONDS } : {}),
    api_key: LOCAL_API_KEY,
    callbacks: [USAGE_CALLBACK],
    proxy_key: paths.proxyKey ?? LOCAL_API_KEY,
    aider_api_key: keyInEnvFile(plan) ? undefined : plan.mode === 'proxy' ? (paths.proxyKey ?? LOCAL_API_KEY) : LOCAL_API_KEY,
    env_file: keyInEnvFile(plan) ? paths.aiderEnv : undefined,
    deployments,
    models: settingsModels,
    main_model: main.aiderName,
    architect: twoModels ? true : undefined,
    editor_model: twoModels ? editor.aiderName : undefined,
    weak_model: weak.aiderName,
    openai_api_base: aiderApiBase(plan, editor),
    model_settings_file: profile ? join(paths.aiderDir, '.aider.model.settings.yml') : undefined,
    model_metadata_file: profile ? join(paths.aiderDir, '.aider.model.metadata.json') : undefined,
  };
}
