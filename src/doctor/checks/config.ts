/**
 * Hop 1, the files, read statically: the plan, the LiteLLM config (names, prefixes, upstream model
 * strings, api_base, key, max_tokens, master key), the Aider files that parse or not, and the
 * environment variables that silently override them (SPEC §2.2, §3.1, §4 #1–#4, #9, #11, #14, #18).
 */
import { normalizeApiBase } from '../../servers/probe.js';
import { UPSTREAM_DEFAULT_MODEL } from '../../config/names.js';
import { isLocalPath } from '../../config/plan.js';
import { missingUsageCallback, usageCallbackEntries, USAGE_MODULE } from '../../config/render-context.js';
import { configPaths, tildify, type Env } from '../../lib/paths.js';
import type { DiskState, LitellmEntry, Sourced } from '../files.js';
import { providerOf, type Expectations } from '../expect.js';
import type { DoctorCheck } from '../types.js';
import { exposureWarning, isLoopback } from '../../serve/remote.js';

const DOCS = {
  litellmConfig: 'https://docs.litellm.ai/docs/proxy/configs',
  openaiCompat: 'https://docs.litellm.ai/docs/providers/openai_compatible',
  aiderConf: 'https://aider.chat/docs/config/aider_conf.html',
  aiderDotenv: 'https://aider.chat/docs/config/dotenv.html',
  mlxModel: 'https://github.com/ml-explore/mlx-lm/issues/1133',
  aider3551: 'https://github.com/Aider-AI/aider/issues/3551',
  proxyAuth: 'https://docs.litellm.ai/docs/proxy/virtual_keys',
};

/** `http://127.0.0.1:8080/v1` → `127.0.0.1:8080` (localhost counted as 127.0.0.1). */
export function hostPort(base: string): string | undefined {
  const n = normalizeApiBase(base);
  if (!n.valid) return undefined;
  try {
    const u = new URL(n.base);
    return `${u.hostname.replace(/^\[|\]$/g, '')}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return undefined;
  }
}

/** Problems of a base that break requests (fail) vs. ones that only bite some clients (warn). */
export function baseVerdict(base: string): { status: 'pass' | 'warn' | 'fail'; problems: string[]; normalized: string; causes: string[] } {
  const n = normalizeApiBase(base);
  if (!n.valid) return { status: 'fail', problems: n.problems, normalized: base, causes: ['C2'] };
  const hard = n.problems.filter((p) => /endpoint|doubled|not http|https|query string|unexpected path/.test(p));
  const soft = n.problems.filter((p) => !hard.includes(p));
  const causes: string[] = [];
  if (n.problems.some((p) => /endpoint|doubled|unexpected path/.test(p))) causes.push('C2');
  if (n.problems.some((p) => /added \/v1/.test(p))) causes.push('C3');
  if (n.problems.some((p) => /::1|listen address/.test(p))) causes.push('C7');
  return { status: hard.length ? 'fail' : soft.length ? 'warn' : 'pass', problems: n.problems, normalized: n.base, causes };
}

export function worst<S extends 'pass' | 'warn' | 'fail'>(a: S, b: S): S {
  const r = { pass: 0, warn: 1, fail: 2 } as const;
  return r[a] >= r[b] ? a : b;
}

function where(s: Sourced | undefined, env: Env): string {
  if (!s) return '';
  return s.source.startsWith('/') ? ` (${tildify(s.source, env)})` : ` (${s.source})`;
}

export function configChecks(state: DiskState, exp: Expectations | undefined, env: Env): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const t = (p: string) => tildify(p, env);

  // ---- plan
  if (state.plan) {
    const p = state.plan;
    const roles = Object.entries(p.roles)
      .filter(([, r]) => r)
      .map(([n, r]) => `${n} ${r!.model} on ${r!.deployments.map((d) => `${d.host}:${d.port}`).join(', ')}`);
    checks.push({
      id: 'config.plan',
      group: 'config',
      title: `plan: ${p.mode} mode, Aider files in ${t(p.aider.dir)} (${p.aider.scope})`,
      status: 'pass',
      observed: roles.join('; '),
    });
    // A server on another machine is reached over the network, and mlx_lm.server has no authentication.
    const remote = Object.values(p.roles).flatMap((r) => (r ? r.deployments : [])).filter((d) => !isLoopback(d.host));
    const seen = new Set<string>();
    for (const d of remote) {
      const where = `${d.host}:${d.port}`;
      if (seen.has(where)) continue;
      seen.add(where);
      checks.push({
        id: `config.remote.${where}`,
        group: 'config',
        title: `${where} is on another machine, reached over the network without authentication`,
        status: 'warn',
        observed: `a deployment on ${where}`,
        expected: 'servers on 127.0.0.1, or an SSH tunnel to one',
        fix: exposureWarning(d),
      });
    }
  } else if (state.planError) {
    checks.push({
      id: 'config.plan',
      group: 'config',
      title: 'plan: cannot be read',
      status: 'fail',
      observed: state.planError,
      expected: `a valid plan at ${t(state.planPath)}`,
      fix: 'Fix that line, or move the file away and run `npx aider-mlx setup` again.',
    });
  } else if (state.adopted) {
    checks.push({
      id: 'config.plan',
      group: 'config',
      title: `plan: ${t(state.planPath)}, adopted from your own files (they are checked as you wrote them)`,
      status: 'pass',
    });
  } else {
    checks.push({
      id: 'config.plan',
      group: 'config',
      title: 'plan: none yet (checking what the files on disk say)',
      status: 'warn',
      observed: `no ${t(state.planPath)}`,
      expected: 'a plan written by `aider-mlx setup`, so the doctor knows which server should answer where',
      fix: 'Run `npx aider-mlx setup`.',
    });
  }

  // ---- who can change the files that decide where the key goes
  const trust = state.trust ?? [];
  if (trust.length) {
    checks.push({
      id: 'config.permissions',
      group: 'config',
      title: trust.every((p) => p.readableOnly) ? 'other users can read the proxy\'s master key' : 'another user can change the files aider-mlx trusts',
      // The user's own LiteLLM config (an adopted chain) readable by others works, and serve asks for
      // the chmod before it starts the proxy: a warning. Ours (written 0600) or a file others can change: a failure.
      status: trust.every((p) => p.readableOnly && p.path === state.adopted?.adopted?.litellmConfig) ? 'warn' : 'fail',
      observed: trust.map((p) => p.problem).join('; '),
      expected: 'the config folder 0700 and the plan and key files 0600, owned by you',
      fix: `Run: ${trust.map((p) => p.fix).join(' && ')}`,
    });
  }

  // ---- aider files parse
  const aiderFiles = [...state.aider.confFiles, ...state.aider.settingsFiles, ...state.aider.metadataFiles];
  const broken = aiderFiles.filter((f) => f.error);
  const present = state.aider.confFiles.filter((f) => f.exists).map((f) => t(f.path));
  checks.push(
    broken.length
      ? {
          id: 'config.aider.files',
          group: 'config',
          title: `Aider cannot read ${broken.map((f) => t(f.path)).join(', ')}`,
          status: 'fail',
          observed: broken.map((f) => `${t(f.path)} ${f.error}`).join('; '),
          expected: 'every Aider config file parses (Aider stops on a broken one)',
          fix: 'Fix the line named above; `aider --verbose` shows the same files in the same order.',
          docs: DOCS.aiderConf,
        }
      : {
          id: 'config.aider.files',
          group: 'config',
          title: state.aider.explicitConfig
            ? `Aider reads only ${t(state.aider.explicitConfig)} (--config, via \`aider-mlx aider\`)`
            : present.length
              ? `Aider reads ${present.join(' < ')} (later wins)`
              : 'Aider finds no .aider.conf.yml',
          status: 'pass',
          observed: `config: ${present.join(', ') || 'none'}; settings: ${state.aider.settingsFiles.filter((f) => f.exists).map((f) => t(f.path)).join(', ') || 'none'}; metadata: ${state.aider.metadataFiles.filter((f) => f.exists).map((f) => t(f.path)).join(', ') || 'none'}`,
        },
  );

  // ---- LiteLLM config
  const proxyMode = state.plan ? state.plan.mode === 'proxy' : state.litellm.exists;
  if (proxyMode) checks.push(...litellmChecks(state, exp, env));

  // ---- environment overrides
  checks.push(...overrideChecks(state, exp, env));
  return checks;
}

function litellmChecks(state: DiskState, exp: Expectations | undefined, env: Env): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  const f = state.litellm;
  const path = tildify(f.path, env);
  const ids = ['config.litellm.names', 'config.litellm.prefix', 'config.litellm.upstream', 'config.litellm.api_base', 'config.litellm.key', 'config.litellm.max_tokens', 'config.litellm.master_key'];
  const skipAll = (why: string) =>
    ids.map((id): DoctorCheck => ({ id, group: 'config', title: `LiteLLM config: ${id.split('.').pop()!.replace('_', ' ')}`, status: 'skip', observed: `not checked: ${why}` }));

  if (!f.exists) {
    out.push({
      id: 'config.litellm.file',
      group: 'config',
      title: `LiteLLM config: ${path} is missing`,
      status: 'fail',
      observed: `no ${path}`,
      expected: 'the proxy config setup writes',
      fix: exp ? 'Run `npx aider-mlx doctor --fix` (or `aider-mlx setup`) to write it.' : 'Run `npx aider-mlx setup`.',
      ...(exp ? { fixable: 'rewrite' as const } : {}),
      causes: ['C11'],
    });
    return [...out, ...skipAll('the LiteLLM config is missing')];
  }
  if (f.error || !f.data) {
    out.push({
      id: 'config.litellm.file',
      group: 'config',
      title: `LiteLLM config: ${path} does not parse`,
      status: 'fail',
      observed: `${path} ${f.error ?? 'is empty'}`,
      expected: 'valid YAML with a model_list',
      fix: 'Fix that line (LiteLLM will not start with it), or move the file away and run `aider-mlx setup`.',
      docs: DOCS.litellmConfig,
    });
    return [...out, ...skipAll('the LiteLLM config does not parse')];
  }
  out.push({ id: 'config.litellm.file', group: 'config', title: `LiteLLM config: ${path}, ${f.entries.length} model entr${f.entries.length === 1 ? 'y' : 'ies'}`, status: 'pass', observed: path });

  const names = [...new Set(f.entries.map((e) => e.modelName).filter((n): n is string => !!n))];
  const ours = (e: LitellmEntry) => !exp || exp.models.some((m) => m.served.modelName === e.modelName);
  const ourEntries = f.entries.filter(ours);

  // names (#11)
  if (exp) {
    const missing = exp.models.filter((m) => !names.includes(m.served.modelName)).map((m) => m.served.modelName);
    const caseOnly = missing.filter((n) => names.some((x) => x.toLowerCase() === n.toLowerCase()));
    out.push(
      missing.length
        ? {
            id: 'config.litellm.names',
            group: 'config',
            title: `LiteLLM config lacks model_name ${missing.join(', ')}`,
            status: 'fail',
            observed: `model_list has ${names.join(', ') || 'no model_name'}${caseOnly.length ? ' (model_name is case-sensitive)' : ''}`,
            expected: `a model_list entry named ${exp.models.map((m) => m.served.modelName).join(', ')} (what Aider asks for after openai/)`,
            fix: 'Run `npx aider-mlx doctor --fix` to add the entries (your other entries stay).',
            fixable: 'rewrite',
            causes: ['C11'],
            docs: DOCS.litellmConfig,
          }
        : { id: 'config.litellm.names', group: 'config', title: `LiteLLM config serves ${exp.models.map((m) => m.served.modelName).join(', ')}`, status: 'pass', observed: names.join(', '), causes: ['C11'] },
    );
  } else {
    out.push({ id: 'config.litellm.names', group: 'config', title: `LiteLLM config serves ${names.join(', ') || 'nothing'}`, status: names.length ? 'pass' : 'fail', observed: names.join(', ') || 'an empty model_list', causes: ['C11'] });
  }

  // prefix (#4)
  const noPrefix = f.entries.filter((e) => !e.model || !providerOf(e.model));
  out.push(
    noPrefix.length
      ? {
          id: 'config.litellm.prefix',
          group: 'config',
          title: 'LiteLLM config: a litellm_params.model has no provider prefix',
          status: 'fail',
          observed: noPrefix.map((e) => `${e.modelName ?? `entry ${e.index + 1}`}: model: ${e.model ?? '(missing)'}`).join('; '),
          expected: 'litellm_params.model: openai/default_model (openai/ tells LiteLLM to speak the OpenAI API to api_base)',
          fix: noPrefix.every(ours) && exp ? 'Run `npx aider-mlx doctor --fix`.' : 'Prefix it with openai/ (e.g. model: openai/default_model).',
          ...(noPrefix.every(ours) && exp ? { fixable: 'rewrite' as const } : {}),
          causes: ['C4'],
          docs: DOCS.openaiCompat,
        }
      : { id: 'config.litellm.prefix', group: 'config', title: 'LiteLLM config: every model has a provider prefix', status: 'pass', observed: [...new Set(f.entries.map((e) => e.model))].join(', '), causes: ['C4'] },
  );

  // upstream model string (#1, #6)
  const badUpstream: string[] = [];
  const upstreamCauses = new Set<string>();
  for (const e of ourEntries) {
    if (!e.model || !providerOf(e.model)) continue;
    const up = e.model.slice(e.model.indexOf('/') + 1);
    const planModel = exp?.models.find((m) => m.served.modelName === e.modelName)?.served.model;
    if (up === UPSTREAM_DEFAULT_MODEL || (planModel !== undefined && up === planModel)) continue;
    if (!exp && !/\//.test(up)) {
      // Without a plan we cannot tell an alias from the server's --model; only flag the sure cases.
      if (!/:\/\//.test(up)) continue;
    }
    const kind = /:\/\//.test(up)
      ? `a URL (aider#3551): the server tries to load "${up}" as a model`
      : /^[\w.-]+\/[\w.-]+$/.test(up) && !isLocalPath(up)
        ? `another repo id: the server would download ${up} and swap models`
        : `an alias: the server looks "${up}" up on the Hub and answers 404`;
    upstreamCauses.add(kind.startsWith('another') ? 'C6' : 'C1');
    badUpstream.push(`${e.modelName}: model: ${e.model} is ${kind}`);
  }
  out.push(
    badUpstream.length
      ? {
          id: 'config.litellm.upstream',
          group: 'config',
          title: 'LiteLLM config sends a model name mlx_lm.server cannot map to its --model',
          status: 'fail',
          observed: badUpstream.join('; '),
          expected: 'litellm_params.model: openai/default_model (mlx_lm.server maps default_model to the model it was started with)',
          fix: exp ? 'Run `npx aider-mlx doctor --fix` (sets model: openai/default_model).' : 'Set litellm_params.model: openai/default_model.',
          ...(exp ? { fixable: 'rewrite' as const } : {}),
          causes: [...upstreamCauses],
          docs: DOCS.mlxModel,
        }
      : { id: 'config.litellm.upstream', group: 'config', title: 'LiteLLM config sends default_model (or the exact --model) upstream', status: 'pass', causes: ['C1', 'C6'] },
  );

  // api_base (#2, #3, #7)
  const baseProblems: string[] = [];
  let baseStatus: 'pass' | 'warn' | 'fail' = 'pass';
  const baseCauses = new Set<string>();
  for (const e of ourEntries) {
    const label = e.modelName ?? `entry ${e.index + 1}`;
    if (!e.apiBase) {
      baseProblems.push(`${label}: no api_base (LiteLLM would call api.openai.com)`);
      baseStatus = 'fail';
      baseCauses.add('C7');
      continue;
    }
    const v = baseVerdict(e.apiBase);
    if (v.status !== 'pass') {
      baseProblems.push(`${label}: ${e.apiBase} (${v.problems.join('; ')})`);
      baseStatus = worst(baseStatus, v.status);
      v.causes.forEach((c) => baseCauses.add(c));
    }
    const m = exp?.models.find((x) => x.served.modelName === e.modelName);
    const hp = hostPort(e.apiBase);
    if (m && hp && !m.served.deployments.some((d) => `${d.host === 'localhost' ? '127.0.0.1' : d.host}:${d.port}` === hp)) {
      baseProblems.push(`${label}: ${e.apiBase} points at ${hp}, but the plan serves ${m.served.model} on ${m.served.deployments.map((d) => `${d.host}:${d.port}`).join(', ')}`);
      baseStatus = 'fail';
      baseCauses.add('C7');
    }
  }
  const expectedBases = exp ? [...new Set(exp.models.flatMap((m) => m.served.deployments.map((d) => `http://${d.host}:${d.port}/v1`)))].join(', ') : 'http://127.0.0.1:<port>/v1';
  out.push({
    id: 'config.litellm.api_base',
    group: 'config',
    title: baseStatus === 'pass' ? 'LiteLLM config: every api_base is http://127.0.0.1:<port>/v1 of the right server' : 'LiteLLM config: an api_base is wrong',
    status: baseStatus,
    ...(baseProblems.length ? { observed: baseProblems.join('; ') } : { observed: [...new Set(ourEntries.map((e) => e.apiBase))].join(', ') }),
    expected: expectedBases,
    ...(baseStatus !== 'pass'
      ? { fix: exp ? 'Run `npx aider-mlx doctor --fix` (rewrites api_base).' : 'Set api_base to http://127.0.0.1:<port>/v1 exactly.', ...(exp ? { fixable: 'rewrite' as const } : {}) }
      : {}),
    causes: baseCauses.size ? [...baseCauses] : ['C2', 'C3', 'C7'],
    docs: DOCS.openaiCompat,
  });

  // key (#9)
  const noKey = ourEntries.filter((e) => !e.apiKey);
  out.push(
    noKey.length
      ? {
          id: 'config.litellm.key',
          group: 'config',
          title: 'LiteLLM config: a model has no api_key',
          status: 'fail',
          observed: `${noKey.map((e) => e.modelName ?? `entry ${e.index + 1}`).join(', ')}: no litellm_params.api_key`,
          expected: 'a non-empty api_key (any string: mlx_lm.server has no authentication, but the OpenAI client needs one)',
          fix: exp ? 'Run `npx aider-mlx doctor --fix`.' : 'Add api_key: sk-local to each entry.',
          ...(exp ? { fixable: 'rewrite' as const } : {}),
          causes: ['C9'],
        }
      : { id: 'config.litellm.key', group: 'config', title: 'LiteLLM config: every model has an api_key', status: 'pass', causes: ['C9'] },
  );

  // max_tokens (#14), a lint: the server's own --max-tokens may be set (`--deep` proves it)
  const noMax = ourEntries.filter((e) => e.maxTokens === undefined || e.maxTokens === null);
  out.push(
    noMax.length
      ? {
          id: 'config.litellm.max_tokens',
          group: 'config',
          title: 'LiteLLM config: no max_tokens, so mlx_lm.server stops answers at 512 tokens',
          status: 'warn',
          observed: `${noMax.map((e) => e.modelName ?? `entry ${e.index + 1}`).join(', ')}: no litellm_params.max_tokens`,
          expected: 'litellm_params.max_tokens (e.g. 8192; 16384 for reasoning models), unless the server runs with --max-tokens',
          fix: exp ? 'Run `npx aider-mlx doctor --fix` (sets max_tokens); `doctor --deep` proves the cap.' : 'Add max_tokens: 8192 to each entry.',
          ...(exp ? { fixable: 'rewrite' as const } : {}),
          causes: ['C14'],
        }
      : { id: 'config.litellm.max_tokens', group: 'config', title: 'LiteLLM config: every model sets max_tokens', status: 'pass', observed: ourEntries.map((e) => `${e.modelName}: ${String(e.maxTokens)}`).join(', '), causes: ['C14'] },
  );

  // master key (LiteLLM 1.108+ will not start without one)
  const envKey = state.env.LITELLM_MASTER_KEY;
  out.push(
    f.masterKey || envKey
      ? { id: 'config.litellm.master_key', group: 'config', title: 'LiteLLM config: the proxy has a master key', status: 'pass', observed: f.masterKey ? 'general_settings.master_key is set' : `LITELLM_MASTER_KEY is set${where(envKey, env)}`, causes: ['master-key'] }
      : {
          id: 'config.litellm.master_key',
          group: 'config',
          title: 'LiteLLM config: no master key (LiteLLM 1.108+ refuses to start without one)',
          status: 'warn',
          observed: 'no general_settings.master_key and no LITELLM_MASTER_KEY',
          expected: 'general_settings.master_key: sk-… and the same value as Aider\'s openai-api-key',
          fix: exp
            ? 'Run `npx aider-mlx doctor --fix` (it generates one and gives Aider the same key), then restart the proxy.'
            : 'Add general_settings: {master_key: sk-<random>} and set Aider\'s openai-api-key to it.',
          ...(exp ? { fixable: 'rewrite' as const } : {}),
          causes: ['master-key'],
          docs: DOCS.proxyAuth,
        },
  );
  const cb = usageCallbackCheck(f.path, f.data, exp !== undefined, env);
  if (cb) out.push(cb);
  return out;
}

/**
 * litellm_settings.callbacks names aider-mlx's prompt-cache callback: its file must be in the
 * config's folder (LiteLLM loads `<folder>/aider_mlx_usage.py`, else fails to start).
 */
export function usageCallbackCheck(configPath: string, data: unknown, hasPlan: boolean, env: Env): DoctorCheck | undefined {
  const entries = usageCallbackEntries(data);
  if (!entries.length) return undefined;
  const path = tildify(configPath, env);
  const miss = missingUsageCallback(configPath, data);
  if (!miss) {
    return { id: 'config.litellm.callbacks', group: 'config', title: `LiteLLM config: the callback ${entries.join(', ')} has its file, ${USAGE_MODULE}.py, next to the config`, status: 'pass', causes: ['usage-callback'] };
  }
  const folder = tildify(miss.folder, env);
  const onPath = env.PYTHONPATH ? ` (PYTHONPATH is set: if ${USAGE_MODULE}.py is in one of its folders, LiteLLM finds it there)` : '';
  return {
    id: 'config.litellm.callbacks',
    group: 'config',
    title: `LiteLLM config: litellm_settings.callbacks names ${entries.join(', ')}, but ${USAGE_MODULE}.py is not in ${folder}, where LiteLLM looks for it: the proxy will not start`,
    status: env.PYTHONPATH ? 'warn' : 'fail',
    observed: `${path}: litellm_settings.callbacks: ${entries.join(', ')}; no ${tildify(miss.file, env)}${onPath}`,
    expected: `${tildify(miss.file, env)} (LiteLLM loads a callback module from the folder of its --config file, then from Python's import path)`,
    fix: `Run \`aider-mlx doctor --fix\`: it writes ${tildify(miss.file, env)} again from aider-mlx's template (the prompt-cache turns log). Or, to go without it, remove ${entries.join(', ')} from litellm_settings.callbacks in ${path}. Then start the proxy again (a proxy running now loaded it at its start).`,
    fixable: hasPlan ? 'rewrite' : 'edit',
    ...(hasPlan ? {} : { edits: [] }),
    restore: [{ path: miss.file, file: 'usage-callback' as const }],
    causes: ['usage-callback'],
  };
}

function overrideChecks(state: DiskState, exp: Expectations | undefined, env: Env): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  const baseUrl = state.env.OPENAI_BASE_URL;
  const settings = state.aider.settings;
  if (!baseUrl) {
    out.push({ id: 'config.env.base_url', group: 'config', title: 'OPENAI_BASE_URL is not set (it would override openai-api-base)', status: 'pass', causes: ['C18'] });
  } else {
    const names = exp ? exp.models.map((m) => m.aiderName) : [];
    const pinned = names.length > 0 && names.every((n) => typeof (settings.get(n)?.value.extra_params as Record<string, unknown> | undefined)?.api_base === 'string');
    const same = exp && normalizeApiBase(baseUrl.value).base === normalizeApiBase(exp.openaiApiBase).base;
    out.push(
      pinned || same
        ? {
            id: 'config.env.base_url',
            group: 'config',
            title: `OPENAI_BASE_URL is set${where(baseUrl, env)}, but ${same ? 'it equals the expected base' : 'every model names its own api_base'}`,
            status: 'pass',
            observed: `OPENAI_BASE_URL=${baseUrl.value}`,
            causes: ['C18'],
          }
        : {
            id: 'config.env.base_url',
            group: 'config',
            title: `OPENAI_BASE_URL${where(baseUrl, env)} overrides Aider's openai-api-base`,
            status: 'fail',
            observed: `OPENAI_BASE_URL=${baseUrl.value}; LiteLLM uses it before OPENAI_API_BASE, which is what openai-api-base sets`,
            expected: exp ? `unset, or equal to ${exp.openaiApiBase}` : 'unset',
            fix: `${exp ? 'Run `npx aider-mlx doctor --fix` (it pins each model\'s api_base, which beats the variable), or ' : ''}${baseUrl.source === 'shell' ? 'remove `export OPENAI_BASE_URL=…` from your shell profile and open a new terminal' : `remove OPENAI_BASE_URL from ${tildify(baseUrl.source, env)}`}.`,
            ...(exp ? { fixable: 'rewrite' as const } : {}),
            causes: ['C18'],
            docs: DOCS.aiderDotenv,
          },
    );
  }

  // AIDER_* variables silently beat every config file.
  const overrides: string[] = [];
  for (const [k, v] of Object.entries(state.aider.conf)) {
    if (!v.source.startsWith('env ') && !v.source.startsWith('AIDER_')) continue;
    // The key file aider-mlx writes for the project (env-file) sets its own key on purpose.
    if (v.source.includes(configPaths(env).aiderEnv)) continue;
    const fileValue = state.aider.confFiles.map((f) => f.data?.[k]).filter((x) => x !== undefined).pop();
    overrides.push(`${v.source.replace(/^env /, '')}=${String(v.value)}${fileValue !== undefined && String(fileValue) !== String(v.value) ? ` (the files say ${k}: ${String(fileValue)})` : ''}`);
  }
  out.push(
    overrides.length
      ? {
          id: 'config.env.overrides',
          group: 'config',
          title: `AIDER_* variables override the config files: ${overrides.length}`,
          status: 'warn',
          observed: overrides.join('; '),
          expected: 'no AIDER_* variables for the keys aider-mlx manages (environment beats every config file)',
          fix: 'Unset them (check ~/.zshrc and .env files) unless you mean them.',
          docs: DOCS.aiderConf,
        }
      : { id: 'config.env.overrides', group: 'config', title: 'no AIDER_* variables override the config files', status: 'pass' },
  );
  return out;
}

