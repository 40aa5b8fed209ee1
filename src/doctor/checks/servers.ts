/**
 * Hop 2, each mlx_lm.server of the plan, probed in parallel, each chain in order: reachable → is it
 * mlx_lm.server → does `default_model` answer → version → the configured base's path → the exact
 * model string the config sends → chat template → (`--deep`) the 512-token cap. A link whose
 * upstream failed is skipped, not failed. Never sends a model name that could make the server
 * download something (SPEC §4 #6): only `default_model`, or the --model itself when the server lists it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiBase, UPSTREAM_DEFAULT_MODEL, type ServedModel } from '../../config/names.js';
import { isLocalPath, type Deployment } from '../../config/plan.js';
import type { Env } from '../../lib/paths.js';
import { promptCacheFor } from '../../hub/prompt-cache.js';
import { promptCacheEntries } from '../../hub/fit.js';
import { promptCacheFlags } from '../../serve/remote.js';
import {
  diagnoseNotFound,
  identifyServer,
  bodyGist,
  normalizeApiBase,
  probeChat,
  probeModels,
  probeTcp,
  rootUrl,
  type ChatProbe,
  type ServerIdentity,
} from '../../servers/probe.js';
import type { DiskState } from '../files.js';
import { deploymentLabel, providerOf, type Expectations } from '../expect.js';
import { namesInUse } from './aider.js';
import { hostPort } from './config.js';
import { cmpVersion, hubCacheDir } from './env.js';
import { skipped, type DoctorCaps, type DoctorCheck, type DoctorOptions } from '../types.js';

const DOCS = {
  server: 'https://github.com/ml-explore/mlx-lm/blob/main/mlx_lm/SERVER.md',
  modelName: 'https://github.com/ml-explore/mlx-lm/issues/1133',
  template: 'https://huggingface.co/docs/transformers/main/chat_templating',
};

/** Whether one deployment answered a completion (what the proxy checks wait for). */
export interface ServerHealth {
  label: string;
  healthy: boolean;
}

export interface ServerOutcome {
  model: ServedModel;
  deployment: Deployment;
  label: string;
  checks: DoctorCheck[];
  /** The server answered a completion: the proxy may be probed for this model. */
  healthy: boolean;
}

export function startCommand(m: ServedModel, d: Deployment, env?: Env): string {
  // Without env (no HF cache to read the model's KV size from) only the entry count is bounded.
  return `mlx_lm.server --model ${m.model} --port ${d.port}${promptCacheFlags(env ? promptCacheFor(m, env) : { entries: promptCacheEntries(m.roles.length) })}${d.host === '127.0.0.1' || d.host === 'localhost' ? '' : ` --host ${d.host}`}`;
}

/** The bases and upstream names the config sends to this server (proxy: LiteLLM entries; direct: Aider). */
export function configuredFor(m: ServedModel, d: Deployment, state: DiskState, exp: Expectations): { bases: string[]; upstreams: string[] } {
  const here = `${d.host === 'localhost' ? '127.0.0.1' : d.host}:${d.port}`;
  const bases = new Set<string>();
  const upstreams = new Set<string>();
  if (exp.plan.mode === 'proxy') {
    for (const e of state.litellm.entries) {
      if (e.modelName !== m.modelName || !e.apiBase || hostPort(e.apiBase) !== here) continue;
      bases.add(e.apiBase);
      if (e.model && providerOf(e.model)) upstreams.add(e.model.slice(e.model.indexOf('/') + 1));
    }
  } else {
    for (const u of namesInUse(state)) {
      if (providerOf(u.name) !== 'openai') continue;
      const extra = state.aider.settings.get(u.name)?.value.extra_params as Record<string, unknown> | undefined;
      const base = typeof extra?.api_base === 'string' ? extra.api_base : (state.env.OPENAI_BASE_URL ?? state.env.OPENAI_API_BASE)?.value;
      if (!base || hostPort(base) !== here) continue;
      bases.add(base);
      upstreams.add(u.name.slice('openai/'.length));
    }
  }
  return { bases: [...bases], upstreams: [...upstreams] };
}

function describeFailure(r: ChatProbe): string {
  if (r.notFound === 'model') return `HTTP 404: the server could not load "${r.model}" (${bodyGist(r.bodyHead, 200)})`;
  if (r.notFound === 'path') return `HTTP 404 Not Found on ${new URL(r.url).pathname}: not a route of mlx_lm.server`;
  if (r.error) return r.error.message;
  return `HTTP ${r.status}: ${bodyGist(r.bodyHead, 200)}`;
}

/** The snapshot folder of a cached repo (refs/main, else the newest snapshot), or a local model folder. */
export function modelFolder(model: string, env: Env): string | undefined {
  if (isLocalPath(model)) {
    const p = model.startsWith('~/') ? join(env.HOME ?? '', model.slice(2)) : model;
    return existsSync(p) ? p : undefined;
  }
  const repo = join(hubCacheDir(env), `models--${model.replace(/\//g, '--')}`);
  try {
    const ref = readFileSync(join(repo, 'refs', 'main'), 'utf8').trim();
    if (ref && existsSync(join(repo, 'snapshots', ref))) return join(repo, 'snapshots', ref);
  } catch {
    /* no refs/main */
  }
  try {
    const snaps = readdirSync(join(repo, 'snapshots'));
    return snaps.length ? join(repo, 'snapshots', snaps[snaps.length - 1]!) : undefined;
  } catch {
    return undefined;
  }
}

/** `template` when the model folder carries a chat template, `none` when its tokenizer config has none. */
export function chatTemplateIn(folder: string): 'template' | 'none' | 'unknown' {
  if (existsSync(join(folder, 'chat_template.jinja')) || existsSync(join(folder, 'chat_template.json'))) return 'template';
  try {
    const cfg = JSON.parse(readFileSync(join(folder, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    return cfg.chat_template ? 'template' : 'none';
  } catch {
    return 'unknown';
  }
}

/** The requests of a server chain that need only the plan (who holds the port, does default_model answer). */
export interface EarlyProbes {
  id: Promise<ServerIdentity>;
  chat: Promise<ChatProbe>;
}

function probeOptions(opts: DoctorOptions, caps: DoctorCaps) {
  return { timeoutMs: opts.timeoutMs, ...(caps.signal ? { signal: caps.signal } : {}), ...(caps.fetch ? { fetch: caps.fetch } : {}) };
}

/**
 * Sends a deployment's plan-only requests at once, before the files are read: the server works on
 * them while the doctor parses. Harmless to any server (GETs and a 1-token default_model completion).
 */
export function startEarlyProbes(d: Deployment, opts: DoctorOptions, caps: DoctorCaps): EarlyProbes {
  const popts = probeOptions(opts, caps);
  const early = { id: identifyServer(d.host, d.port, popts), chat: probeChat(apiBase(d), UPSTREAM_DEFAULT_MODEL, { ...popts, maxTokens: 1 }) };
  // Never awaited when the plan turns out invalid: no unhandled rejection then.
  early.id.catch(() => undefined);
  early.chat.catch(() => undefined);
  return early;
}

export async function serverChain(
  m: ServedModel,
  d: Deployment,
  state: DiskState,
  exp: Expectations,
  opts: DoctorOptions,
  caps: DoctorCaps,
  hooks: { chatDone?: (healthy: boolean) => void; early?: EarlyProbes } = {},
): Promise<ServerOutcome> {
  const label = deploymentLabel(m, d.port);
  const idp = `server.${label}`;
  const where = `${d.host}:${d.port}`;
  const who = `${m.roles.join(' + ')} server (${m.model}) on ${where}`;
  const popts = probeOptions(opts, caps);
  const checks: DoctorCheck[] = [];
  const base = apiBase(d);
  const g = 'server' as const;
  const cfg = configuredFor(m, d, state, exp);
  const done = (healthy: boolean): ServerOutcome => ({ model: m, deployment: d, label, checks, healthy });
  const skipRest = (why: string, from: string[]) => {
    const titles: Record<string, string> = {
      identity: `${where} is mlx_lm.server`,
      chat: `${who} answers default_model`,
      version: `${where}: mlx-lm version`,
      path: `${where}: the configured base reaches the server's routes`,
      model: `${where}: the configured model name answers`,
      template: `${m.model}: chat template`,
      max_tokens: `${where}: output cap (512-token default)`,
    };
    for (const k of from) checks.push(skipped({ id: `${idp}.${k}`, group: g, title: titles[k]! }, why));
  };

  // Probed at once (a hung server costs one timeout, a healthy one a single round of requests),
  // reported in order: a link whose upstream failed is skipped. Every request here is harmless
  // to any server: GETs, and a 1-token completion for `default_model`.
  const early = hooks.early ?? startEarlyProbes(d, opts, caps);
  const [id, chat, routes] = await Promise.all([
    early.id,
    early.chat,
    // A base that is the server's own /v1 was already read by identifyServer: not asked twice.
    Promise.all(
      cfg.bases.map(async (b) => ({
        base: b,
        r: (b.replace(/\/+$/, '') === `${rootUrl(d.host, d.port)}/v1` ? (await early.id).probes.models : undefined) ?? (await probeModels(b, popts)),
      })),
    ),
  ]);
  hooks.chatDone?.(id.kind === 'mlx_lm.server' && chat.ok);

  // 1. reachable (#7)
  const tcp = id.tcp;
  if (!tcp.ok) {
    let also = '';
    if (tcp.error?.kind === 'refused' && (d.host === '127.0.0.1' || d.host === 'localhost')) {
      const v6 = await probeTcp('::1', d.port, { ...popts, timeoutMs: Math.min(opts.timeoutMs, 1000) });
      if (v6.ok) also = `; something listens on [::1]:${d.port} instead (a server started with --host ::1, or another program)`;
    }
    checks.push({
      id: `${idp}.reachable`,
      group: g,
      title: `${who}: nothing answers`,
      status: 'fail',
      observed: `${tcp.error?.message ?? 'no connection'}${also}`,
      expected: `mlx_lm.server listening on ${where}`,
      fix: tcp.error?.kind === 'timeout' ? `Something swallows connections to ${where} (a firewall, or a hung process): check it with lsof -nP -iTCP:${d.port}.` : `Start it in another terminal: ${startCommand(m, d, caps.env)}`,
      causes: ['C7'],
      latencyMs: tcp.latencyMs,
      docs: DOCS.server,
    });
    skipRest(`${idp}.reachable failed`, ['identity', 'chat', 'version', 'path', 'model']);
    checks.push(templateCheck(m, idp, caps.env));
    if (opts.deep) skipRest(`${idp}.reachable failed`, ['max_tokens']);
    return done(false);
  }
  checks.push({ id: `${idp}.reachable`, group: g, title: `${where} accepts connections`, status: 'pass', latencyMs: tcp.latencyMs, causes: ['C7'] });

  // 2. identity (#8)
  if (id.kind !== 'mlx_lm.server') {
    const hung = id.kind === 'other' && id.noHttpAnswer === true;
    const what = id.kind === 'litellm' ? 'a LiteLLM proxy' : id.looksLike ?? (hung ? 'a process that accepts connections but never answers' : 'a server that is not mlx_lm.server');
    checks.push({
      id: `${idp}.identity`,
      group: g,
      title: `${where} is held by ${what}`,
      status: 'fail',
      observed: id.evidence.slice(0, 3).join('; ') || id.error?.message || id.kind,
      expected: `mlx_lm.server serving ${m.model}`,
      fix: hung
        ? `Find it with lsof -nP -iTCP:${d.port} -sTCP:LISTEN; if it is your mlx_lm.server, it is stuck (restart it: ${startCommand(m, d, caps.env)}), or still loading on an old mlx-lm (wait, or raise --timeout).`
        : `Stop it (lsof -nP -iTCP:${d.port} -sTCP:LISTEN shows the PID), or move the ${m.roles[0]} to a free port with \`aider-mlx setup --${m.roles[0]}-port N\`.`,
      causes: hung ? ['C8', 'C13'] : ['C8'],
      latencyMs: id.latencyMs,
      docs: DOCS.server,
    });
    skipRest(`${idp}.identity failed`, ['chat', 'version', 'path', 'model']);
    checks.push(templateCheck(m, idp, caps.env));
    if (opts.deep) skipRest(`${idp}.identity failed`, ['max_tokens']);
    return done(false);
  }
  checks.push({
    id: `${idp}.identity`,
    group: g,
    title: `${where} is mlx_lm.server${id.hasHealth === false ? ' (older than 0.24: no /health)' : ''}`,
    status: 'pass',
    observed: id.evidence.join('; '),
    latencyMs: id.latencyMs,
    causes: ['C8'],
  });

  // 3. default_model answers (readiness, #13, #16)
  if (!chat.ok) {
    const kind = chat.error?.kind;
    checks.push({
      id: `${idp}.chat`,
      group: g,
      title: kind === 'timeout' ? `${who}: no answer within ${Math.round(opts.timeoutMs / 1000)} s` : `${who}: a 1-token completion fails`,
      status: 'fail',
      observed: describeFailure(chat),
      expected: `HTTP 200 chat.completion for "default_model" within ${Math.round(opts.timeoutMs / 1000)} s`,
      fix:
        kind === 'timeout'
          ? `It is still downloading or loading the model (or busy with a long prompt): watch its log, then run \`aider-mlx doctor --timeout 600\`. If it never answers, restart it: ${startCommand(m, d, caps.env)}`
          : kind === 'reset'
            ? `The server dropped the connection: it does that when a parameter fails validation, or when it crashed. Check its log for a traceback; restart it: ${startCommand(m, d, caps.env)}`
            : chat.notFound === 'model'
              ? `The server cannot load its own --model: check the log, the model id, and HF_HUB_OFFLINE/HF_TOKEN; restart it: ${startCommand(m, d, caps.env)}`
              : `Check the server's log; restart it: ${startCommand(m, d, caps.env)}`,
      causes: kind === 'timeout' ? ['C13'] : kind === 'reset' ? ['C16', 'C7'] : ['C1'],
      latencyMs: chat.latencyMs,
      docs: DOCS.server,
    });
    skipRest(`${idp}.chat failed`, ['version', 'model']);
  } else {
    checks.push({
      id: `${idp}.chat`,
      group: g,
      title: `${who} answers default_model`,
      status: 'pass',
      observed: `1-token completion, finish_reason ${chat.finishReason ?? '?'}${chat.serverVersion ? `, mlx-lm ${chat.serverVersion}` : ''}`,
      latencyMs: chat.latencyMs,
      causes: ['C13', 'C16'],
    });
    checks.push(versionCheck(idp, where, chat.serverVersion, exp));
  }

  // 4. the configured base's routes (#2, #3)
  if (!cfg.bases.length) {
    checks.push(skipped({ id: `${idp}.path`, group: g, title: `${where}: the configured base reaches the server's routes` }, `no config sends ${m.roles.join(' + ')} requests to ${where} (see config.litellm.api_base / aider.api_base)`));
  } else {
    const rows: string[] = [];
    let status: 'pass' | 'warn' | 'fail' = 'pass';
    const causes = new Set<string>();
    for (const { base: b, r } of routes) {
      {
        const n = normalizeApiBase(b);
        if (r.ok) {
          rows.push(`GET ${b.replace(/\/+$/, '')}/models → 200 list`);
          continue;
        }
        const missingV1 = n.problems.some((p) => p.startsWith('added /v1'));
        if (missingV1 && r.status === 404) {
          status = status === 'fail' ? 'fail' : 'warn';
          causes.add('C3');
          rows.push(`${b} has no /v1: chat still works (mlx_lm.server aliases /chat/completions) but GET /models → 404`);
        } else {
          status = 'fail';
          causes.add(r.status === 404 ? 'C2' : 'C7');
          rows.push(`GET ${b.replace(/\/+$/, '')}/models → ${r.status ?? r.error?.message}${r.status === 404 ? ` ${r.bodyHead}` : ''}${n.problems.length ? ` (${n.problems.join('; ')})` : ''}`);
        }
      }
    }
    checks.push({
      id: `${idp}.path`,
      group: g,
      title: status === 'pass' ? `${where}: the configured base reaches the server's routes` : `${where}: the configured base misses the server's routes`,
      status,
      observed: rows.join('; '),
      ...(status !== 'pass'
        ? {
            expected: `${base} exactly (the client appends /chat/completions itself)`,
            fix: 'Run `npx aider-mlx doctor --fix` (rewrites the base).',
            fixable: 'rewrite' as const,
            causes: [...causes],
            docs: 'https://docs.litellm.ai/docs/providers/openai_compatible',
          }
        : { causes: ['C2', 'C3'] }),
    });
  }

  // 5. the exact model string the config sends (#1, #6, #17)
  if (chat.ok) checks.push(await modelCheck(m, d, idp, where, cfg.upstreams, id, base, exp, popts, chat.serverVersion));

  // 6. chat template (#15)
  checks.push(await templateCheckDeep(m, idp, caps.env, chat.ok ? base : undefined, opts, popts));

  // 7. the 512 cap (#14): costs a generation
  if (opts.deep) {
    checks.push(chat.ok ? await maxTokensCheck(m, d, idp, where, base, state, exp, popts) : skipped({ id: `${idp}.max_tokens`, group: g, title: `${where}: output cap (512-token default)` }, `${idp}.chat failed`));
  }
  return done(chat.ok);
}

function versionCheck(idp: string, where: string, v: string | undefined, exp: Expectations): DoctorCheck {
  const base = { id: `${idp}.version`, group: 'server' as const, causes: ['C15', 'C17'] };
  if (!v) return { ...base, title: `${where}: mlx-lm version not reported`, status: 'pass', observed: 'no system_fingerprint (older than 0.26?)' };
  const notes: string[] = [];
  if (cmpVersion(v, '0.25.1') < 0) notes.push('older than 0.25.1: chat_template.jinja files are not downloaded, so newer models may have no chat template');
  if (exp.plan.mode === 'direct' && cmpVersion(v, '0.27.0') < 0) notes.push('older than 0.27: naming the exact --model reloads it, and an absolute local path answers 404');
  if (exp.plan.mode === 'direct' && cmpVersion(v, '0.27.0') >= 0 && cmpVersion(v, '0.28.0') < 0) notes.push('0.27.x lower-cases model names: a mixed-case repo id may not match');
  return notes.length
    ? { ...base, title: `${where}: mlx-lm ${v} is old`, status: 'warn', observed: notes.join('; '), expected: 'mlx-lm 0.28 or newer', fix: 'Upgrade: uv tool upgrade mlx-lm (or pip install -U mlx-lm), then restart the server.', docs: DOCS.server }
    : { ...base, title: `${where}: mlx-lm ${v}`, status: 'pass' };
}

async function modelCheck(
  m: ServedModel,
  d: Deployment,
  idp: string,
  where: string,
  upstreams: string[],
  id: ServerIdentity,
  base: string,
  exp: Expectations,
  popts: { timeoutMs: number; signal?: AbortSignal; fetch?: typeof fetch },
  serverVersion: string | undefined,
): Promise<DoctorCheck> {
  const c = { id: `${idp}.model`, group: 'server' as const, title: `${where}: the model name the config sends answers` };
  const listed = id.models ?? [];
  const listsPlanModel = listed.length === 0 || listed.includes(m.model) || isLocalPath(m.model);
  const swapNote = listsPlanModel
    ? undefined
    : `the server's cache listing (${listed.slice(0, 4).join(', ')}${listed.length > 4 ? ', …' : ''}) does not include ${m.model}: it was probably started with another --model`;
  if (!upstreams.length) return skipped(c, `no config sends ${m.roles.join(' + ')} requests to ${where}`);
  const rows: string[] = [];
  const fails: string[] = [];
  const causes = new Set<string>();
  for (const up of upstreams) {
    if (up === UPSTREAM_DEFAULT_MODEL) {
      rows.push('default_model answers (it maps to the --model the server was started with)');
      continue;
    }
    if (up === m.model && listsPlanModel) {
      const dx = await diagnoseNotFound(base, up, popts);
      if (dx.kind === 'ok') rows.push(`"${up}" answers`);
      else {
        const text = dx.first.bodyHead;
        // ≤0.26.4 refuses an absolute --model path named in a request; ≤0.27.1 says only "Not Found".
        const oldServer = serverVersion === undefined || cmpVersion(serverVersion, '0.27.0') < 0;
        const c17 = /Local models must be relative/.test(text) || (dx.kind === 'model' && up.startsWith('/') && oldServer);
        causes.add(c17 ? 'C17' : dx.kind === 'path' ? 'C2' : 'C1');
        fails.push(`"${up}" → ${describeFailure(dx.first)}${dx.evidence.length ? ` (${dx.evidence.join('; ')})` : ''}`);
      }
      continue;
    }
    // Not sent: any other name is a load instruction (a Hub lookup, maybe a download of GBs).
    if (/:\/\//.test(up)) {
      causes.add('C1');
      fails.push(`"${up}" is a URL used as a model name (aider#3551): the server answers 404`);
    } else if (listed.includes(up)) {
      causes.add('C6');
      fails.push(`"${up}" is another model in the server's cache: the server would unload ${m.model} and load it`);
    } else if (/^[\w.-]+\/[\w.-]+$/.test(up) && up !== m.model) {
      causes.add('C6');
      fails.push(`"${up}" is not the server's --model: it would look it up on the Hub and download it (or answer 404)`);
    } else if (up === m.model) {
      causes.add('C6');
      fails.push(`"${up}" (not sent): ${swapNote}`);
    } else {
      causes.add('C1');
      fails.push(`"${up}" is not default_model or the --model: the server looks it up on the Hub and answers 404`);
    }
  }
  if (fails.length) {
    return {
      ...c,
      title: `${where}: the model name the config sends does not map to the server's --model`,
      status: 'fail',
      observed: fails.join('; '),
      expected: exp.plan.mode === 'proxy' ? 'litellm_params.model: openai/default_model' : `Aider model openai/${m.model} (the exact --model)`,
      fix: causes.has('C17')
        ? exp.plan.mode === 'direct'
          ? `Upgrade mlx-lm to 0.27 or newer (uv tool upgrade mlx-lm), or switch to proxy mode (\`aider-mlx setup --mode proxy\`), which sends default_model.`
          : 'Run `npx aider-mlx doctor --fix` (sends default_model).'
        : causes.has('C6') && !listsPlanModel
          ? `Restart the server with the planned model: ${startCommand(m, d)}`
          : 'Run `npx aider-mlx doctor --fix` (sends default_model / the exact --model).',
      ...((causes.has('C6') && !listsPlanModel) || (causes.has('C17') && exp.plan.mode === 'direct') ? {} : { fixable: 'rewrite' as const }),
      causes: [...causes],
      docs: DOCS.modelName,
    };
  }
  if (swapNote) {
    return { ...c, title: `${where} may be serving another model`, status: 'warn', observed: `${rows.join('; ')}; but ${swapNote}`, expected: `mlx_lm.server --model ${m.model}`, fix: `Restart it with the planned model: ${startCommand(m, d)}`, causes: ['C6'] };
  }
  return { ...c, status: 'pass', observed: rows.join('; '), causes: ['C1', 'C6', 'C17'] };
}

function templateCheck(m: ServedModel, idp: string, env: Env): DoctorCheck {
  const c = { id: `${idp}.template`, group: 'server' as const, title: `${m.model}: chat template`, causes: ['C15'], docs: DOCS.template };
  const folder = modelFolder(m.model, env);
  if (!folder) return skipped(c, `${m.model} is not in the local Hugging Face cache${m.model.startsWith('/') ? '' : ` (${hubCacheDir(env)})`}; \`--deep\` checks an answer instead`);
  const t = chatTemplateIn(folder);
  if (t === 'template') return { ...c, title: `${m.model} has a chat template`, status: 'pass', observed: folder };
  if (t === 'unknown') return skipped(c, `${folder} has no readable tokenizer_config.json`);
  return {
    ...c,
    title: `${m.model} has no chat template: answers will be role-play (USER:/ASSISTANT:)`,
    status: 'fail',
    observed: `no chat_template in ${folder}/tokenizer_config.json and no chat_template.jinja`,
    expected: 'a chat template in the model folder',
    fix: 'Upgrade mlx-lm (≥0.25.1 downloads chat_template.jinja) and re-download the model, or start the server with --chat-template / --use-default-chat-template.',
  };
}

async function templateCheckDeep(
  m: ServedModel,
  idp: string,
  env: Env,
  base: string | undefined,
  opts: DoctorOptions,
  popts: { timeoutMs: number; signal?: AbortSignal; fetch?: typeof fetch },
): Promise<DoctorCheck> {
  const stat = templateCheck(m, idp, env);
  if (!opts.deep || !base || stat.status === 'fail') return stat;
  const r = await probeChat(base, UPSTREAM_DEFAULT_MODEL, { ...popts, maxTokens: 64, prompt: 'Reply with the single word: pong' });
  const text = `${r.content ?? ''}`;
  if (!r.ok) return { ...stat, status: stat.status === 'pass' ? 'pass' : 'skip', observed: `${stat.observed ?? ''}; the answer probe failed: ${describeFailure(r)}` };
  if (/(^|\n)\s*(USER|ASSISTANT|Human|Assistant):/.test(text)) {
    return {
      ...stat,
      title: `${m.model} answers in role-play: no chat template`,
      status: 'fail',
      observed: `asked for one word, got: ${JSON.stringify(text.slice(0, 160))}`,
      expected: 'a single answer, no USER:/ASSISTANT: turns',
      fix: 'Upgrade mlx-lm (≥0.25.1 downloads chat_template.jinja) and re-download the model, or start the server with --chat-template / --use-default-chat-template.',
    };
  }
  return { ...stat, title: `${m.model} answers as a chat model`, status: 'pass', observed: `asked for one word, got ${JSON.stringify(text.trim().slice(0, 60))}`, latencyMs: r.latencyMs };
}

async function maxTokensCheck(
  m: ServedModel,
  d: Deployment,
  idp: string,
  where: string,
  base: string,
  state: DiskState,
  exp: Expectations,
  popts: { timeoutMs: number; signal?: AbortSignal; fetch?: typeof fetch },
): Promise<DoctorCheck> {
  const c = { id: `${idp}.max_tokens`, group: 'server' as const, title: `${where}: output cap when a request names none`, causes: ['C14'], docs: 'https://aider.chat/docs/troubleshooting/token-limits.html' };
  const r = await probeChat(base, UPSTREAM_DEFAULT_MODEL, {
    ...popts,
    maxTokens: null,
    prompt: 'Write a long, detailed essay of at least 3000 words about the history of the sea.',
  });
  if (!r.ok) return { ...c, status: 'warn', observed: `the long-answer probe failed: ${describeFailure(r)}`, expected: 'an answer within --timeout', fix: 'Give it more time: `aider-mlx doctor --deep --timeout 600`.' };
  const n = r.usage?.completion_tokens;
  const capped = r.finishReason === 'length';
  const configured = exp.plan.mode === 'proxy'
    ? state.litellm.entries.find((e) => e.modelName === m.modelName && e.maxTokens != null)?.maxTokens
    : (state.aider.settings.get(m.aiderName)?.value.extra_params as Record<string, unknown> | undefined)?.max_tokens;
  if (!capped) return { ...c, title: `${where}: no output cap hit (${n ?? '?'} tokens, finish_reason ${r.finishReason})`, status: 'pass', observed: `finish_reason ${r.finishReason} after ${n ?? '?'} tokens`, latencyMs: r.latencyMs };
  if (configured != null) {
    return { ...c, title: `${where}: the server stops at ${n} tokens by default, but the config sends max_tokens ${String(configured)}`, status: 'pass', observed: `finish_reason length at ${n} tokens without max_tokens`, latencyMs: r.latencyMs };
  }
  return {
    ...c,
    title: `${where}: answers stop at ${n} tokens and nothing raises the cap`,
    status: 'fail',
    observed: `finish_reason "length" after ${n} completion tokens with no max_tokens in the request; the config sets none`,
    expected: `max_tokens ${exp.models.find((x) => x.served === m)?.maxTokens ?? 8192} in ${exp.plan.mode === 'proxy' ? 'litellm_params' : 'extra_params'}, or the server started with --max-tokens`,
    fix: `Run \`npx aider-mlx doctor --fix\` (sets max_tokens), or restart the server: ${startCommand(m, d)} --max-tokens 16384`,
    fixable: 'rewrite',
    latencyMs: r.latencyMs,
  };
}

