/**
 * The last hop, Aider, read from the files it actually loads: model names and their prefixes,
 * names the proxy knows, the base and key each model ends up with, architect/editor/weak wiring,
 * settings and metadata keyed by the exact names, parameters the server would reject, timeout
 * (SPEC §3, §4 #1, #4, #5, #9–#11, #13, #14, #16, #18).
 */
import { normalizeApiBase } from '../../servers/probe.js';
import { UPSTREAM_DEFAULT_MODEL } from '../../config/names.js';
import { keyInEnvFile } from '../../config/render-context.js';
import { tildify, type Env } from '../../lib/paths.js';
import type { DiskState, Sourced } from '../files.js';
import { providerOf, type Expectations } from '../expect.js';
import type { DoctorCheck } from '../types.js';
import { baseVerdict, hostPort, worst } from './config.js';

const DOCS = {
  settings: 'https://aider.chat/docs/config/adv-model-settings.html',
  conf: 'https://aider.chat/docs/config/aider_conf.html',
  openaiCompat: 'https://aider.chat/docs/llms/openai-compat.html',
  warnings: 'https://aider.chat/docs/llms/warnings.html',
  tokenLimits: 'https://aider.chat/docs/troubleshooting/token-limits.html',
  architect: 'https://aider.chat/docs/usage/modes.html#architect-mode-and-the-editor-model',
};

type Role = 'model' | 'editor-model' | 'weak-model';

interface InUse {
  role: Role;
  name: string;
  source: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The model names Aider will call: main, editor (architect mode), weak. */
export function namesInUse(state: DiskState): InUse[] {
  const out: InUse[] = [];
  for (const role of ['model', 'editor-model', 'weak-model'] as const) {
    const v = state.aider.conf[role];
    if (typeof v?.value === 'string' && v.value) out.push({ role, name: v.value, source: v.source });
  }
  return out;
}

interface KeyFix {
  fixable?: 'rewrite' | 'align-override';
  fixTargets?: Array<{ path: string; keys: Record<string, unknown> }>;
  fix?: string;
}

/** How to change one conf key to `want`, given where its current value comes from. */
function keyFix(key: string, cur: Sourced | undefined, want: unknown, exp: Expectations, state: DiskState, env: Env): KeyFix {
  const ourFile = state.aider.explicitConfig ?? exp.confPath;
  if (!cur || cur.source === ourFile) return { fixable: 'rewrite' };
  // Project scope, proxy mode: the key comes from our env file, loaded last with override on, so
  // rewriting our files (the env file and the env-file line) wins over any other source.
  if (key === 'openai-api-key' && keyInEnvFile(exp.plan)) return { fixable: 'rewrite' };
  if (cur.source.startsWith('/') && cur.source.endsWith('.aider.conf.yml')) {
    return { fixable: 'align-override', fixTargets: [{ path: cur.source, keys: { [key]: want } }] };
  }
  const envName = `AIDER_${key.toUpperCase().replace(/-/g, '_')}`;
  return { fix: cur.source.startsWith('env ') ? `Unset ${envName} (it beats every config file).` : `Remove ${envName} from ${tildify(cur.source.replace(/^AIDER_\w+ in /, ''), env)}.` };
}

function mergeFixes(fixes: KeyFix[]): KeyFix {
  const manual = fixes.filter((f) => !f.fixable);
  if (manual.length) return { fix: manual.map((f) => f.fix).join(' ') };
  const targets = fixes.flatMap((f) => f.fixTargets ?? []);
  const byPath = new Map<string, Record<string, unknown>>();
  for (const t of targets) byPath.set(t.path, { ...byPath.get(t.path), ...t.keys });
  return targets.length
    ? { fixable: 'align-override', fixTargets: [...byPath.entries()].map(([path, keys]) => ({ path, keys })) }
    : fixes.length
      ? { fixable: 'rewrite' }
      : {};
}

function fixText(k: KeyFix, what: string): string {
  if (!k.fixable) return k.fix ?? what;
  return `Run \`npx aider-mlx doctor --fix\` (${what}).`;
}

function src(s: string, env: Env): string {
  return s.startsWith('/') ? tildify(s, env) : s;
}

export function aiderChecks(state: DiskState, exp: Expectations | undefined, env: Env): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  const conf = state.aider.conf;
  const inUse = namesInUse(state);
  const proxyMode = exp ? exp.plan.mode === 'proxy' : state.litellm.exists;

  // ---- main model
  const model = conf.model;
  if (exp) {
    const ok = model?.value === exp.mainModel;
    const kf = ok ? {} : keyFix('model', model, exp.mainModel, exp, state, env);
    out.push(
      ok
        ? { id: 'aider.model', group: 'aider', title: `Aider's model is ${exp.mainModel}`, status: 'pass', observed: `${exp.mainModel}${model ? ` (${src(model.source, env)})` : ''}` }
        : {
            id: 'aider.model',
            group: 'aider',
            title: model ? `Aider's model is ${String(model.value)}, not the plan's ${exp.mainModel}` : 'Aider has no model set: it would call its default hosted model',
            status: 'fail',
            observed: model ? `model: ${String(model.value)} (${src(model.source, env)})` : 'no model: in any config file Aider reads',
            expected: `model: ${exp.mainModel}`,
            fix: fixText(kf, `sets model: ${exp.mainModel}`),
            ...kf,
            causes: ['C11', 'C1'],
            docs: DOCS.conf,
          },
    );
  } else {
    out.push(
      model
        ? { id: 'aider.model', group: 'aider', title: `Aider's model is ${String(model.value)}`, status: 'pass', observed: src(model.source, env) }
        : { id: 'aider.model', group: 'aider', title: 'Aider has no model set', status: 'warn', observed: 'no model: in any config file Aider reads', fix: 'Run `npx aider-mlx setup`.' },
    );
  }

  // ---- provider prefixes (#4)
  const bare = inUse.filter((u) => !providerOf(u.name));
  if (bare.length) {
    const kfs = exp ? bare.map((u) => keyFix(u.role, conf[u.role], u.role === 'model' ? exp.mainModel : u.role === 'editor-model' ? exp.editorModel : exp.weakModel, exp, state, env)) : [];
    const kf = exp ? mergeFixes(kfs) : {};
    out.push({
      id: 'aider.prefix',
      group: 'aider',
      title: 'An Aider model name has no provider prefix ("LLM Provider NOT provided")',
      status: 'fail',
      observed: bare.map((u) => `${u.role}: ${u.name} (${src(u.source, env)})`).join('; '),
      expected: 'openai/<name>: the prefix tells LiteLLM how to call it; the rest is what the server receives',
      fix: exp ? fixText(kf, 'sets the openai/ names') : `Prefix them: ${bare.map((u) => `${u.role}: openai/${u.name}`).join(', ')}`,
      ...kf,
      causes: ['C4'],
      docs: DOCS.openaiCompat,
    });
  } else {
    out.push({ id: 'aider.prefix', group: 'aider', title: 'every Aider model name has a provider prefix', status: inUse.length ? 'pass' : 'skip', ...(inUse.length ? {} : { observed: 'not checked: no model names set' }), causes: ['C4'] });
  }

  // ---- names the next hop understands (#11 proxy, #1 direct)
  const openaiNames = inUse.filter((u) => providerOf(u.name) === 'openai');
  if (proxyMode) {
    const served = state.litellm.entries.map((e) => e.modelName).filter((n): n is string => !!n);
    if (!state.litellm.data) {
      out.push({ id: 'aider.names', group: 'aider', title: 'Aider names vs the proxy: the LiteLLM config cannot be read', status: 'skip', observed: 'not checked: see config.litellm.file', causes: ['C11'] });
    } else {
      const unknown = openaiNames.filter((u) => !served.includes(u.name.slice('openai/'.length)));
      const kf = exp
        ? mergeFixes(unknown.map((u) => keyFix(u.role, conf[u.role], u.role === 'model' ? exp.mainModel : u.role === 'editor-model' ? exp.editorModel : exp.weakModel, exp, state, env)))
        : {};
      out.push(
        unknown.length
          ? {
              id: 'aider.names',
              group: 'aider',
              title: "Aider asks the proxy for a model_name it does not have (400 Invalid model name)",
              status: 'fail',
              observed: unknown.map((u) => `${u.role}: ${u.name} → proxy model_name "${u.name.slice(7)}"`).join('; ') + `; the proxy config has ${served.join(', ') || 'none'} (case-sensitive)`,
              expected: `openai/<model_name> with a model_name from ${tildify(state.litellm.path, env)}`,
              fix: exp ? fixText(kf, 'aligns the names with the plan') : 'Use openai/<model_name> exactly as in the LiteLLM config.',
              ...kf,
              causes: ['C11'],
              docs: DOCS.openaiCompat,
            }
          : {
              id: 'aider.names',
              group: 'aider',
              title: 'every Aider model name is a model_name of the proxy',
              status: openaiNames.length ? 'pass' : 'skip',
              ...(openaiNames.length ? { observed: [...new Set(openaiNames.map((u) => u.name))].join(', ') } : { observed: 'not checked: no openai/ names' }),
              causes: ['C11'],
            },
      );
    }
  } else if (exp) {
    const ok = (n: string) => exp.models.some((m) => m.served.model === n) || (n === UPSTREAM_DEFAULT_MODEL && exp.models.length === 1);
    const wrong = openaiNames.filter((u) => !ok(u.name.slice('openai/'.length)));
    const kf = mergeFixes(wrong.map((u) => keyFix(u.role, conf[u.role], u.role === 'model' ? exp.mainModel : u.role === 'editor-model' ? exp.editorModel : exp.weakModel, exp, state, env)));
    out.push(
      wrong.length
        ? {
            id: 'aider.names',
            group: 'aider',
            title: 'Direct mode: Aider sends a model name mlx_lm.server cannot map to its --model',
            status: 'fail',
            observed: wrong.map((u) => `${u.role}: ${u.name} → the server receives "${u.name.slice(7)}"`).join('; '),
            expected: `openai/<the exact --model>: ${exp.models.map((m) => m.aiderName).join(', ')}`,
            fix: fixText(kf, 'sets the exact names'),
            ...kf,
            causes: ['C1'],
            docs: 'https://github.com/Aider-AI/aider/issues/3551',
          }
        : { id: 'aider.names', group: 'aider', title: 'Direct mode: every Aider model name is openai/<the exact --model>', status: openaiNames.length ? 'pass' : 'skip', causes: ['C1'] },
    );
  }

  // ---- architect / editor / weak wiring (#5 is about bases: see aider.api_base)
  if (exp) {
    const wiring: Array<[Role | 'architect', unknown, unknown]> = [];
    if (exp.architect) {
      wiring.push(['architect', conf.architect?.value === true || conf['edit-format']?.value === 'architect', true]);
      wiring.push(['editor-model', conf['editor-model']?.value, exp.editorModel]);
    }
    wiring.push(['weak-model', conf['weak-model']?.value, exp.weakModel]);
    const bad = wiring.filter(([k, got, want]) => (k === 'architect' ? got !== true : got !== want));
    const kf = mergeFixes(bad.map(([k, , want]) => keyFix(k, conf[k], want, exp, state, env)));
    out.push(
      bad.length
        ? {
            id: 'aider.roles',
            group: 'aider',
            title: exp.architect ? 'Architect mode is not wired as planned' : 'The weak model is not the planned one',
            status: bad.some(([k]) => k !== 'weak-model') ? 'fail' : 'warn',
            observed: bad.map(([k, got]) => `${k}: ${got === undefined ? '(not set)' : String(got)}${conf[k] ? ` (${src(conf[k]!.source, env)})` : ''}`).join('; '),
            expected: bad.map(([k, , want]) => `${k}: ${String(want)}`).join('; '),
            fix: fixText(kf, 'sets architect, editor-model and weak-model'),
            ...kf,
            causes: ['C5'],
            docs: DOCS.architect,
          }
        : {
            id: 'aider.roles',
            group: 'aider',
            title: exp.architect ? `architect mode: ${exp.mainModel} plans, ${exp.editorModel} edits, ${exp.weakModel} writes commits` : `weak model: ${exp.weakModel}`,
            status: 'pass',
            causes: ['C5'],
          },
    );
  }

  // ---- the base each model ends up with (#2, #3, #5, #7, #18)
  out.push(baseCheck(state, exp, inUse, env));

  // ---- key (#9, #10)
  out.push(keyCheck(state, exp, inUse, proxyMode, env));

  // ---- settings, params, max_tokens, metadata
  out.push(...settingsChecks(state, exp, inUse, proxyMode, env));

  // ---- timeout (#13)
  const timeout = conf.timeout;
  const secs = timeout ? Number(timeout.value) : undefined;
  out.push(
    secs !== undefined && Number.isFinite(secs) && secs < 120
      ? {
          id: 'aider.timeout',
          group: 'aider',
          title: `Aider's timeout is ${secs} s: a large local model can take longer`,
          status: 'warn',
          observed: `timeout: ${secs} (${src(timeout!.source, env)})`,
          expected: `timeout: ${exp?.plan.requestTimeout ?? 600} or more`,
          fix: exp ? 'Run `npx aider-mlx doctor --fix`.' : 'Set timeout: 600.',
          ...(exp && (!timeout || timeout.source === (state.aider.explicitConfig ?? exp.confPath)) ? { fixable: 'rewrite' as const } : {}),
          causes: ['C13'],
        }
      : { id: 'aider.timeout', group: 'aider', title: `Aider's timeout: ${secs !== undefined && Number.isFinite(secs) ? `${secs} s` : "not set (Aider's default is 600 s)"}`, status: 'pass', causes: ['C13'] },
  );
  return out;
}

function baseCheck(state: DiskState, exp: Expectations | undefined, inUse: InUse[], env: Env): DoctorCheck {
  const settings = state.aider.settings;
  const effEnv = state.env;
  const rows: string[] = [];
  const causes = new Set<string>();
  let status: 'pass' | 'warn' | 'fail' = 'pass';
  const fixes: KeyFix[] = [];
  const seen = new Set<string>();
  const resolved: Array<{ name: string; base: string; fromShared: boolean }> = [];
  for (const u of inUse) {
    if (seen.has(u.name) || providerOf(u.name) !== 'openai') continue;
    seen.add(u.name);
    const extra = settings.get(u.name)?.value.extra_params;
    const perModel = isRecord(extra) && typeof extra.api_base === 'string' ? { value: extra.api_base, source: settings.get(u.name)!.source } : undefined;
    const eff = perModel ?? effEnv.OPENAI_BASE_URL ?? effEnv.OPENAI_API_BASE;
    const label = `${u.name}: ${eff ? `${eff.value} (${perModel ? 'extra_params.api_base in ' : eff === effEnv.OPENAI_BASE_URL ? 'OPENAI_BASE_URL, ' : ''}${src(eff.source, env)})` : 'no base'}`;
    const want = exp?.models.find((m) => m.aiderName === u.name)?.apiBase ?? exp?.openaiApiBase;
    if (!eff) {
      rows.push(`${u.name}: no api base at all: LiteLLM would call https://api.openai.com/v1`);
      status = 'fail';
      causes.add('C18');
      fixes.push(exp ? { fixable: 'rewrite' } : { fix: 'Set openai-api-base: http://127.0.0.1:<port>/v1.' });
      continue;
    }
    resolved.push({ name: u.name, base: eff.value, fromShared: !perModel });
    const v = baseVerdict(eff.value);
    const wrongTarget = want !== undefined && hostPort(eff.value) !== hostPort(want);
    if (v.status === 'pass' && !wrongTarget) {
      rows.push(label);
      continue;
    }
    status = worst(status, wrongTarget ? 'fail' : v.status);
    v.causes.forEach((c) => causes.add(c));
    if (wrongTarget) causes.add(eff === effEnv.OPENAI_BASE_URL ? 'C18' : 'C7');
    rows.push(`${label}${v.problems.length ? ` — ${v.problems.join('; ')}` : ''}${wrongTarget ? ` — should be ${want}` : ''}`);
    if (!exp) fixes.push({ fix: 'Set the base to http://127.0.0.1:<port>/v1 exactly.' });
    else if (perModel) fixes.push(perModel.source === exp.settingsPath ? { fixable: 'rewrite' } : { fix: `Fix extra_params.api_base of ${u.name} in ${tildify(perModel.source, env)}.` });
    // A per-model api_base (what setup writes) beats any variable: the rewrite pins it.
    else if (eff === effEnv.OPENAI_BASE_URL) fixes.push({ fixable: 'rewrite' });
    else fixes.push(keyFix('openai-api-base', state.aider.conf['openai-api-base'], exp.openaiApiBase, exp, state, env));
  }
  // #5: two models on different servers, one shared base.
  if (exp?.plan.mode === 'direct') {
    const shared = resolved.filter((r) => r.fromShared);
    const wantDistinct = new Set(exp.models.map((m) => m.apiBase)).size > 1;
    if (wantDistinct && shared.length > 1 && new Set(shared.map((r) => normalizeApiBase(r.base).base)).size === 1) {
      causes.add('C5');
      status = 'fail';
      rows.push(`${shared.map((r) => r.name).join(' and ')} share the one OPENAI_API_BASE, but they run on different servers`);
      fixes.push({ fixable: 'rewrite' });
    }
  }
  const kf = mergeFixes(fixes);
  if (!rows.length) return { id: 'aider.api_base', group: 'aider', title: 'Aider API base: no openai/ models to check', status: 'skip', observed: 'not checked: no openai/ model names' };
  return status === 'pass'
    ? { id: 'aider.api_base', group: 'aider', title: 'every Aider model reaches the right base', status, observed: rows.join('; '), causes: ['C2', 'C3', 'C5', 'C7', 'C18'] }
    : {
        id: 'aider.api_base',
        group: 'aider',
        title: 'an Aider model goes to the wrong API base',
        status,
        observed: rows.join('; '),
        expected: exp ? exp.models.map((m) => `${m.aiderName}: ${m.apiBase}`).join('; ') : 'http://127.0.0.1:<port>/v1',
        fix: fixText(kf, 'sets openai-api-base and each model\'s extra_params.api_base'),
        ...kf,
        causes: [...causes],
        docs: DOCS.openaiCompat,
      };
}

function keyCheck(state: DiskState, exp: Expectations | undefined, inUse: InUse[], proxyMode: boolean, env: Env): DoctorCheck {
  const key = state.env.OPENAI_API_KEY;
  const perModel = inUse
    .map((u) => state.aider.settings.get(u.name)?.value.extra_params)
    .filter(isRecord)
    .map((e) => e.api_key)
    .find((k) => typeof k === 'string' && k);
  const sent = (perModel as string | undefined) ?? key?.value;
  if (!sent) {
    return {
      id: 'aider.key',
      group: 'aider',
      title: 'Aider has no API key for the openai/ provider',
      status: 'fail',
      observed: 'no openai-api-key, no OPENAI_API_KEY, no extra_params.api_key',
      expected: proxyMode ? "openai-api-key: the proxy's master_key" : 'openai-api-key: any non-empty string (mlx_lm.server ignores it)',
      fix: exp ? 'Run `npx aider-mlx doctor --fix`.' : 'Set openai-api-key: sk-local in .aider.conf.yml.',
      ...(exp ? { fixable: 'rewrite' as const } : {}),
      causes: ['C9'],
      docs: DOCS.openaiCompat,
    };
  }
  const master = state.litellm.masterKey ?? state.env.LITELLM_MASTER_KEY?.value;
  if (proxyMode && master && sent !== master && !master.startsWith('os.environ/')) {
    const kf = exp ? keyFix('openai-api-key', state.aider.conf['openai-api-key'], master, exp, state, env) : {};
    return {
      id: 'aider.key',
      group: 'aider',
      title: "Aider's key is not the proxy's master_key (401 from the proxy)",
      status: 'fail',
      observed: `Aider sends ${mask(sent)}${key ? ` (${src(key.source, env)})` : ''}; the proxy's master_key is ${mask(master)}`,
      expected: "openai-api-key equal to general_settings.master_key",
      fix: exp ? fixText(kf, "sets openai-api-key to the proxy's key") : 'Set openai-api-key to the master_key.',
      ...kf,
      causes: ['C10'],
      docs: 'https://docs.litellm.ai/docs/proxy/virtual_keys',
    };
  }
  return { id: 'aider.key', group: 'aider', title: `Aider sends an API key${proxyMode && master ? " (the proxy's master_key)" : ''}`, status: 'pass', observed: `${mask(sent)}${key ? ` (${src(key.source, env)})` : ''}`, causes: ['C9', 'C10'] };
}

/** Enough to tell two keys apart, never the key. */
export function mask(key: string): string {
  return key.length <= 8 ? '(a short key)' : `${key.slice(0, 3)}…(${key.length} chars)`;
}

const AIDER_CHECK_WORDS: Record<string, string> = { 'aider.settings': 'model settings', 'aider.params': 'model parameters', 'aider.max_tokens': 'max_tokens', 'aider.metadata': 'model metadata' };

function settingsChecks(state: DiskState, exp: Expectations | undefined, inUse: InUse[], proxyMode: boolean, env: Env): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  const names = [...new Set(inUse.map((u) => u.name))];
  const settings = state.aider.settings;
  const ours = (n: string) => exp?.models.find((m) => m.aiderName === n);
  const fixable = (n: string, path: string | undefined, file: string | undefined) => exp !== undefined && ours(n) !== undefined && (path === undefined || path === file);
  if (!names.length) {
    for (const id of ['aider.settings', 'aider.params', 'aider.max_tokens', 'aider.metadata']) {
      out.push({ id, group: 'aider', title: `${AIDER_CHECK_WORDS[id] ?? id}: no model names to check`, status: 'skip', observed: 'not checked: no model names set' });
    }
    return out;
  }

  // settings keyed by the exact name
  const missing = names.filter((n) => !settings.has(n));
  const noTag = names.filter((n) => settings.has(n) && ours(n)?.reasoning && !settings.get(n)!.value.reasoning_tag && !settings.get(n)!.value.remove_reasoning);
  const settingsFix = [...missing, ...noTag].every((n) => fixable(n, settings.get(n)?.source, exp?.settingsPath));
  out.push(
    missing.length || noTag.length
      ? {
          id: 'aider.settings',
          group: 'aider',
          title: missing.length ? `no model settings for ${missing.join(', ')} (Aider falls back to generic defaults)` : `reasoning model without reasoning_tag: ${noTag.join(', ')}`,
          status: 'warn',
          observed: [
            ...(missing.length ? [`no entry named exactly ${missing.join(', ')} in ${state.aider.settingsFiles.filter((f) => f.exists).map((f) => tildify(f.path, env)).join(', ') || 'any .aider.model.settings.yml'}`] : []),
            ...(noTag.length ? [`${noTag.join(', ')}: no reasoning_tag, so <think> blocks reach the edit parser`] : []),
          ].join('; '),
          expected: 'an entry `- name: <exact Aider model name>` with edit_format, extra_params (max_tokens, api_base) and reasoning_tag for thinking models',
          fix: settingsFix ? 'Run `npx aider-mlx doctor --fix`.' : `Add the entries to .aider.model.settings.yml (the format: ${DOCS.settings}).`,
          ...(settingsFix ? { fixable: 'rewrite' as const } : {}),
          docs: DOCS.settings,
        }
      : { id: 'aider.settings', group: 'aider', title: 'model settings exist for every Aider model name', status: 'pass', observed: names.map((n) => `${n} (${tildify(settings.get(n)!.source, env)})`).join('; ') },
  );

  // parameters mlx_lm.server validates without a handler (#16)
  const problems: string[] = [];
  for (const n of names) {
    const s = settings.get(n)?.value;
    if (!s) continue;
    const e = isRecord(s.extra_params) ? s.extra_params : {};
    const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
    if (e.max_tokens !== undefined && !(Number.isInteger(e.max_tokens) && (e.max_tokens as number) > 0)) problems.push(`${n}: max_tokens ${JSON.stringify(e.max_tokens)} (a positive whole number)`);
    if (e.top_p !== undefined && !(num(e.top_p) && (e.top_p as number) >= 0 && (e.top_p as number) <= 1)) problems.push(`${n}: top_p ${JSON.stringify(e.top_p)} (0 to 1)`);
    if (e.min_p !== undefined && !(num(e.min_p) && (e.min_p as number) >= 0 && (e.min_p as number) <= 1)) problems.push(`${n}: min_p ${JSON.stringify(e.min_p)} (0 to 1)`);
    if (e.top_k !== undefined && !(Number.isInteger(e.top_k) && (e.top_k as number) >= 0)) problems.push(`${n}: top_k ${JSON.stringify(e.top_k)} (a whole number ≥ 0)`);
    if (e.temperature !== undefined && !(num(e.temperature) && (e.temperature as number) >= 0)) problems.push(`${n}: temperature ${JSON.stringify(e.temperature)} (≥ 0)`);
    const t = s.use_temperature;
    if (t !== undefined && typeof t !== 'boolean' && !(num(t) && (t as number) >= 0)) problems.push(`${n}: use_temperature ${JSON.stringify(t)} (true, false or a number ≥ 0)`);
  }
  const paramsFix = exp !== undefined && names.every((n) => !settings.get(n) || fixable(n, settings.get(n)?.source, exp.settingsPath));
  out.push(
    problems.length
      ? {
          id: 'aider.params',
          group: 'aider',
          title: 'a model setting has a value mlx_lm.server rejects by dropping the connection',
          status: 'fail',
          observed: problems.join('; '),
          expected: 'values mlx_lm.server accepts (it closes the socket without a response otherwise: "Remote end closed connection")',
          fix: paramsFix ? 'Run `npx aider-mlx doctor --fix`.' : 'Fix the values in .aider.model.settings.yml.',
          ...(paramsFix ? { fixable: 'rewrite' as const } : {}),
          causes: ['C16'],
          docs: DOCS.settings,
        }
      : { id: 'aider.params', group: 'aider', title: 'model parameters are in the ranges mlx_lm.server accepts', status: 'pass', causes: ['C16'] },
  );

  // max_tokens (#14): Aider's extra_params, or the proxy's litellm_params
  const capped = names.filter((n) => {
    const e = settings.get(n)?.value.extra_params;
    if (isRecord(e) && e.max_tokens !== undefined) return false;
    if (proxyMode && n.startsWith('openai/')) {
      const entry = state.litellm.entries.find((x) => x.modelName === n.slice(7));
      if (entry?.maxTokens !== undefined && entry.maxTokens !== null) return false;
    }
    return true;
  });
  const maxFix = capped.every((n) => fixable(n, settings.get(n)?.source, exp?.settingsPath));
  out.push(
    capped.length
      ? {
          id: 'aider.max_tokens',
          group: 'aider',
          title: `no max_tokens for ${capped.join(', ')}: mlx_lm.server stops at 512 tokens`,
          status: 'warn',
          observed: `${capped.join(', ')}: no extra_params.max_tokens${proxyMode ? ' and no litellm_params.max_tokens' : ''}`,
          expected: 'extra_params.max_tokens (8192; 16384 for reasoning models), unless the server runs with --max-tokens',
          fix: maxFix ? 'Run `npx aider-mlx doctor --fix`; `doctor --deep` proves the cap.' : 'Add extra_params: {max_tokens: 8192} to the model settings.',
          ...(maxFix ? { fixable: 'rewrite' as const } : {}),
          causes: ['C14'],
          docs: DOCS.tokenLimits,
        }
      : { id: 'aider.max_tokens', group: 'aider', title: 'every Aider model sets max_tokens (no 512-token cut-off)', status: 'pass', causes: ['C14'] },
  );

  // metadata keyed by the exact name
  const meta = state.aider.metadata;
  const noMeta = names.filter((n) => !meta.has(n));
  const metaFix = noMeta.every((n) => fixable(n, undefined, undefined));
  out.push(
    noMeta.length
      ? {
          id: 'aider.metadata',
          group: 'aider',
          title: `no model metadata for ${noMeta.join(', ')} ("Unknown context window size and costs")`,
          status: 'warn',
          observed: `no key named exactly ${noMeta.join(', ')} in ${state.aider.metadataFiles.filter((f) => f.exists).map((f) => tildify(f.path, env)).join(', ') || 'any .aider.model.metadata.json'}`,
          expected: 'an entry per exact Aider model name with max_input_tokens, max_output_tokens and zero costs',
          fix: metaFix ? 'Run `npx aider-mlx doctor --fix`.' : 'Add the entries to .aider.model.metadata.json.',
          ...(metaFix ? { fixable: 'rewrite' as const } : {}),
          causes: ['metadata'],
          docs: DOCS.warnings,
        }
      : { id: 'aider.metadata', group: 'aider', title: 'model metadata exists for every Aider model name', status: 'pass', causes: ['metadata'] },
  );
  return out;
}
