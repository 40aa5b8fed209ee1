/**
 * The doctor: read what is on disk, run every hop's checks (independent probes in parallel, each
 * chain in order, a check whose upstream failed skipped), then weigh the causes, error-first when
 * the user pasted an error.
 */
import { isAbsolute, join, relative } from 'node:path';
import { servedModels } from '../config/names.js';
import { AIDER_FILES } from '../config/render-context.js';
import { asRun, tildify } from '../lib/paths.js';
import { which } from '../lib/which.js';
import { VERSION } from '../version.js';
import { rankCauses, leadingCheckIds, type Suspect } from './causes.js';
import { aiderChecks, namesInUse } from './checks/aider.js';
import { configChecks } from './checks/config.js';
import { envChecks, envTools, type EnvTools } from './checks/env.js';
import { logChecks, promptCacheCheck } from './checks/logs.js';
import { proxyChecks, aiderKey } from './checks/proxy.js';
import { groupChecks } from './checks/group.js';
import { serverChain, startEarlyProbes, type EarlyProbes, type ServerHealth, type ServerOutcome } from './checks/servers.js';
import { httpFetch } from './http.js';
import { parseErrorText, type ParsedError } from './error-text.js';
import { deploymentLabel, expectations, type Expectations } from './expect.js';
import { checkPlan, litellmFile, readDiskState, readPlanUnchecked, type DiskState, type PlanRead } from './files.js';
import type { Plan } from '../config/plan.js';
import { GROUPS, type DoctorCaps, type DoctorCheck, type DoctorOptions } from './types.js';

export interface DoctorReport {
  version: string;
  mode?: 'proxy' | 'direct';
  planPath: string;
  hasPlan: boolean;
  deep: boolean;
  timeoutMs: number;
  elapsedMs: number;
  error?: ParsedError;
  likely: Suspect[];
  /** In hop order (error cross-checks, environment, config, servers, proxy, Aider). */
  checks: DoctorCheck[];
  /** With an error: ids of the checks that can explain it, most likely cause first. */
  lead: string[];
  summary: Record<DoctorCheck['status'], number>;
  ok: boolean;
  exitCode: 0 | 1;
  /** Values never to print (keys), for the report's redaction. Not serialised. */
  secrets: string[];
  /** The state the checks read (for --fix). Not serialised. */
  state: DiskState;
  /** The plan is an adopted hand-written chain (checked as the user wrote it). */
  adopted?: boolean;
  /** No plan, and the hand-written chain works: `setup --adopt` can make it one. */
  adoptable: boolean;
}

/** Is our Aider config one of the files Aider reads from here? (project scope, run from elsewhere) */
function planConfInChain(state: DiskState): boolean {
  const plan = state.plan;
  if (!plan || plan.aider.scope === 'profile') return true;
  const ours = join(plan.aider.dir, AIDER_FILES.conf);
  return state.aider.confFiles.some((f) => f.path === ours);
}

function errorChecks(p: ParsedError, exp: Expectations | undefined, state: DiskState): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  if (!exp) return out;
  const plan = exp.plan;
  if (p.port !== undefined && (!p.host || /^(localhost|127\.\d+\.\d+\.\d+|::1|0\.0\.0\.0)$/.test(p.host))) {
    const known = new Map<number, string>();
    for (const m of exp.models) for (const d of m.served.deployments) known.set(d.port, `the ${m.served.roles.join(' + ')} server`);
    if (plan.mode === 'proxy') known.set(plan.proxy.port, 'the LiteLLM proxy');
    const who = known.get(p.port);
    out.push(
      who
        ? { id: 'error.target', group: 'error', title: `the error came from ${who} (port ${p.port})`, status: 'pass', observed: `${p.host ?? '127.0.0.1'}:${p.port}` }
        : {
            id: 'error.target',
            group: 'error',
            title: `the error names port ${p.port}, which is not in the plan`,
            status: 'warn',
            observed: `${p.host ?? '?'}:${p.port}${p.host === '::1' ? ' (IPv6: localhost resolved to ::1)' : ''}`,
            expected: `one of ${[...known.entries()].map(([port, w]) => `${port} (${w})`).join(', ')}`,
            fix: 'The Aider that printed it reads other settings than the plan: see the Aider API base and environment variable checks below, or run the doctor from the folder where you ran aider.',
          },
    );
  }
  const named = p.model ?? p.modelGroup;
  if (named) {
    const ours = new Set([...exp.models.map((m) => m.aiderName), ...exp.models.map((m) => m.served.modelName)]);
    const inUse = namesInUse(state).map((u) => u.name);
    const bare = named.replace(/^openai\//, '');
    const match = ours.has(named) || ours.has(bare) || exp.models.some((m) => m.served.model === bare);
    out.push(
      match
        ? { id: 'error.model', group: 'error', title: `the error is about ${named}, a model of the plan`, status: 'pass' }
        : {
            id: 'error.model',
            group: 'error',
            title: `the error is about "${named}", which is not a name of the plan`,
            status: 'warn',
            observed: `${named}${inUse.includes(named) ? ' (Aider here uses it too)' : ''}`,
            expected: `one of ${[...ours].join(', ')}`,
            fix: inUse.includes(named)
              ? 'Aider here is configured with a name the plan does not serve: `aider-mlx doctor --fix` aligns it.'
              : 'The error came from an Aider run with other settings (another folder, another --model, or AIDER_MODEL): use the names above.',
          },
    );
  }
  return out;
}

/**
 * A key error, pasted, when Aider here talks straight to mlx_lm.server: that server checks no key,
 * so the error cannot have come from it. OpenAI's own wording ("Incorrect API key provided") or its
 * host says where it came from; either way the Aider that printed it sent its requests elsewhere.
 */
function errorSourceCheck(p: ParsedError, targets: Array<{ where: string; how: string }>): DoctorCheck | undefined {
  const openai = p.signals.includes('went-to-openai');
  if (!targets.length || !(openai || p.signals.includes('auth-rejected'))) return undefined;
  const where = targets.map((t) => t.where).join(', ');
  const how = targets.map((t) => t.how).join('; ');
  return {
    id: 'error.source',
    group: 'error',
    title: openai
      ? `the error came from OpenAI's own API, not from the mlx_lm.server Aider here sends to (${where}), which checks no key`
      : `a server refused the key, but Aider here sends straight to mlx_lm.server (${where}), which checks no key: the error came from elsewhere`,
    status: 'fail',
    observed: `${openai ? (/api\.openai\.com/.test(p.url ?? '') ? 'the text names api.openai.com' : '"Incorrect API key provided" is how api.openai.com refuses a key') : 'a key was refused'}; Aider here: ${how}, an mlx_lm.server (it accepts any key)`,
    expected: `the error from the server at ${where}`,
    fix: `The Aider that printed this did not use ${where}. Run aider from the folder the doctor checked (it reads .aider.conf.yml from the git root, the current folder and your home), and in that shell look for OPENAI_API_BASE or OPENAI_BASE_URL (\`env | grep OPENAI_\`) and for --openai-api-base or --model on its command line; \`aider --verbose\` prints the API base it uses. The key itself is not the problem: mlx_lm.server takes any non-empty key.`,
    causes: ['C18'],
  };
}

async function deepAiderCall(state: DiskState, exp: Expectations, opts: DoctorOptions, caps: DoctorCaps): Promise<DoctorCheck> {
  const c = { id: 'aider.call', group: 'aider' as const, title: 'a real Aider call answers' };
  const bin = which('aider', caps.env);
  if (!bin) return { ...c, status: 'skip', observed: 'not checked: aider is not on PATH' };
  const exec = caps.exec ?? (await import('../lib/exec.js')).run;
  const profile = exp.plan.aider.scope === 'profile';
  const args = [
    ...(profile
      ? ['--config', exp.confPath, '--model-settings-file', exp.settingsPath, '--model-metadata-file', exp.metadataPath]
      : []),
    '--yes-always',
    '--no-check-update',
    '--no-show-release-notes',
    '--analytics-disable',
    '--no-show-model-warnings',
    '--no-stream',
    '--no-pretty',
    '--no-fancy-input',
    '--dry-run',
    '--no-auto-commits',
    '--no-gitignore',
    '--chat-history-file',
    '/dev/null',
    '--input-history-file',
    '/dev/null',
    '--map-tokens',
    '0',
    '--message',
    'Reply with the single word: pong',
  ];
  const started = performance.now();
  const r = await exec(bin, args, { timeoutMs: opts.timeoutMs, cwd: profile ? state.cwd : exp.plan.aider.dir, env: caps.env }).catch(
    (e: Error) => ({ code: -1, stdout: '', stderr: e.message }),
  );
  const latencyMs = Math.round(performance.now() - started);
  const output = `${r.stdout}\n${r.stderr}`;
  const err = /^litellm\.\w+(?:Error|Timeout)\b[\s\S]*?(?=\n[ \t]*\n|$(?![\s\S]))/m.exec(output)?.[0];
  if (err || r.code !== 0) {
    const parsed = parseErrorText(err ?? output.slice(-4000));
    return {
      ...c,
      title: 'a real Aider call fails',
      status: 'fail',
      observed: err ? parsed.summary : `aider exited ${r.code}: ${output.trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`,
      expected: 'an answer, no litellm error',
      fix: 'Run `aider-mlx doctor --error "<that text>"` for the cause, or fix the failing checks above first.',
      causes: rankCauses(parsed, []).map((s) => s.cause),
      latencyMs,
    };
  }
  if (!output.trim()) {
    return { ...c, title: 'a real Aider call printed nothing', status: 'fail', observed: `aider exited ${r.code} without output`, expected: 'an answer', fix: 'Run the same call by hand with --verbose: aider --message "Reply with the single word: pong" --verbose', latencyMs };
  }
  return { ...c, status: 'pass', observed: `aider answered in ${latencyMs} ms`, latencyMs };
}

function collectSecrets(state: DiskState): string[] {
  const s = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string' && v.length >= 8) s.add(v);
  };
  add(state.litellm.masterKey);
  for (const e of state.litellm.entries) add(e.apiKey);
  for (const k of ['OPENAI_API_KEY', 'LITELLM_MASTER_KEY', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN']) add(state.env[k]?.value);
  add(state.aider.conf['openai-api-key']?.value);
  add(aiderKey(state));
  for (const v of state.aider.settings.values()) add((v.value.extra_params as Record<string, unknown> | undefined)?.api_key);
  return [...s];
}

/**
 * The probes do not wait for zod: the plan file is only parsed (YAML) to start them, and its
 * validation (which loads zod) runs while they are in flight. A plan that fails validation is
 * reported exactly as before: the optimistic probes are aborted and the doctor runs without a plan.
 */
export async function runDoctor(opts: DoctorOptions, capsIn: DoctorCaps): Promise<DoctorReport> {
  const started = performance.now();
  const first = await readPlanUnchecked(capsIn.env);
  if (!first.raw) return doctorRun(opts, capsIn, started, first.planError !== undefined ? { planError: first.planError } : {});
  // An adopted chain is checked as the user wrote it (their files, their proxy config), not against our render.
  const adopted = adoptedOf(first.raw.data);
  if (adopted) {
    const v = await checkPlan(first.raw.data, capsIn.env);
    if (v.plan) {
      const cwd = v.plan.aider.scope === 'project' ? v.plan.aider.dir : capsIn.cwd;
      const r = await doctorRun({ ...opts, ...(opts.litellmConfig || !adopted.litellmConfig ? {} : { litellmConfig: adopted.litellmConfig }) }, { ...capsIn, cwd }, started, { adopted: v.plan });
      // Run from another folder than the adopted project's: Aider started here reads other files.
      const rel = relative(cwd, capsIn.cwd);
      if (cwd !== capsIn.cwd && (rel.startsWith('..') || isAbsolute(rel))) {
        const here = tildify(capsIn.cwd, capsIn.env);
        const there = tildify(cwd, capsIn.env);
        const away: DoctorCheck = {
          id: 'aider.location',
          group: 'aider',
          title: `Aider started in ${here} would not read the plan's files: the checks below are of ${there}, where the plan's chain is`,
          status: 'warn',
          observed: `the plan adopted the Aider files of ${there} (project scope); you ran the doctor in ${here}`,
          expected: `run aider inside ${there}`,
          fix: `cd ${there} before running aider (or run \`aider-mlx doctor\` from the folder where Aider failed, with no plan there: move the plan aside), or re-run setup with --scope global.`,
        };
        return { ...r, checks: [away, ...r.checks], summary: { ...r.summary, warn: r.summary.warn + 1 }, mode: v.plan.mode, hasPlan: true, adopted: true, adoptable: false };
      }
      return { ...r, mode: v.plan.mode, hasPlan: true, adopted: true, adoptable: false };
    }
  }
  const data = first.raw.data;
  let validation: Promise<PlanRead> | undefined;
  const validate = () => (validation ??= checkPlan(data, capsIn.env));
  // Loading zod takes a few ms of compiling: it starts now, and overlaps the file reads and the probes.
  void validate();
  const ctrl = new AbortController();
  const outer = capsIn.signal;
  const onAbort = () => ctrl.abort(outer?.reason);
  if (outer?.aborted) ctrl.abort(outer.reason);
  else outer?.addEventListener('abort', onAbort, { once: true });
  try {
    return await doctorRun(opts, { ...capsIn, signal: ctrl.signal }, started, { plan: data as Plan }, async () => {
      const v = await validate();
      if (!v.plan) throw new PlanInvalid();
      return v.plan;
    });
  } catch (e) {
    // Also an error of a malformed plan the optimistic run tripped over before its validation.
    const v = await validate();
    if (v.plan) throw e;
    ctrl.abort();
    return doctorRun(opts, capsIn, started, v);
  } finally {
    outer?.removeEventListener('abort', onAbort);
  }
}

class PlanInvalid extends Error {}

function adoptedOf(data: unknown): { litellmConfig?: string } | undefined {
  const a = (data as { adopted?: unknown } | null)?.adopted;
  if (!a || typeof a !== 'object') return undefined;
  const l = (a as { litellmConfig?: unknown }).litellmConfig;
  return typeof l === 'string' ? { litellmConfig: l } : {};
}

/**
 * Without a plan the chain checks replace the ones that compare with a plan (names, bases, key,
 * upstream names); with no setup at all, nothing that only applies to a proxy or a model is said.
 */
const REPLACED_WITHOUT_PLAN = new Set(['aider.model', 'aider.names', 'aider.api_base', 'aider.key', 'config.litellm.names', 'config.litellm.upstream', 'config.litellm.api_base']);
function keepWithoutPlan(c: DoctorCheck, none: boolean): boolean {
  if (REPLACED_WITHOUT_PLAN.has(c.id)) return false;
  if (none) return !c.id.startsWith('aider.') && !c.id.startsWith('config.litellm.');
  return true;
}

async function doctorRun(
  opts: DoctorOptions,
  capsIn: DoctorCaps,
  started: number,
  planRead: PlanRead,
  /** The plan of planRead validated (rejects when it is not valid); awaited once the probes are in flight. */
  validated?: () => Promise<Plan>,
): Promise<DoctorReport> {
  const caps: DoctorCaps = { ...capsIn, fetch: capsIn.fetch ?? httpFetch };
  // The servers' plan-only requests go out before the files are read (they need only the plan).
  const early = new Map<string, EarlyProbes>();
  for (const d of planRead.plan ? servedModels(planRead.plan).flatMap((m) => m.deployments) : []) {
    const k = `${d.host}:${d.port}`;
    if (!early.has(k)) early.set(k, startEarlyProbes(d, opts, caps));
  }
  const how = opts.aiderArgs ? { aiderArgs: opts.aiderArgs } : {};
  let state = await readDiskState(caps.env, caps.cwd, planRead, how);
  const pre: DoctorCheck[] = [];
  if (state.plan && !planConfInChain(state)) {
    const dir = state.plan.aider.dir;
    pre.push({
      id: 'aider.location',
      group: 'aider',
      title: `Aider started in ${tildify(caps.cwd, caps.env)} would not read the plan's files`,
      status: 'warn',
      observed: `the plan's Aider files are in ${tildify(dir, caps.env)} (project scope); the checks below read them as Aider does from there`,
      expected: `run aider inside ${tildify(dir, caps.env)}`,
      fix: `cd ${tildify(dir, caps.env)} before running aider, or re-run setup with --scope global (every folder) or --scope profile (\`aider-mlx aider\`).`,
    });
    state = await readDiskState(caps.env, dir, planRead, how);
  }
  const exp = state.plan ? expectations(state.plan, caps.env) : undefined;
  const parsed = opts.errorText !== undefined ? parseErrorText(opts.errorText) : undefined;

  const serverJobs: Array<Promise<ServerOutcome>> = [];
  const groupJobs: Array<Promise<DoctorCheck[]>> = [];
  // The proxy may send a completion for a model as soon as one of its servers answered one.
  const byModel = new Map<string, Promise<ServerHealth[]>>();
  if (exp) {
    for (const m of exp.models) {
      const health: Array<Promise<ServerHealth>> = [];
      for (const d of m.served.deployments) {
        const label = deploymentLabel(m.served, d.port);
        let resolve!: (h: ServerHealth) => void;
        health.push(new Promise<ServerHealth>((r) => (resolve = r)));
        const job = serverChain(m.served, d, state, exp, opts, caps, { chatDone: (healthy) => resolve({ label, healthy }), early: early.get(`${d.host}:${d.port}`) });
        void job.then((o) => resolve({ label, healthy: o.healthy }), () => resolve({ label, healthy: false }));
        serverJobs.push(job);
        if (d.group) groupJobs.push(groupChecks(m.served, { ...d, group: d.group }, label, opts, caps));
      }
      byModel.set(m.served.modelName, Promise.all(health));
    }
  }
  const proxyP = exp && exp.plan.mode === 'proxy' ? proxyChecks(state, exp, byModel, opts, caps, caps.env) : Promise.resolve([]);
  if (validated) {
    // Handled here too: if the plan turns out invalid, these are aborted and never awaited.
    for (const p of [...serverJobs, ...groupJobs, proxyP]) p.catch(() => undefined);
    // The report keeps the validated plan (zod's output), as readPlan returns it.
    state = { ...state, plan: await validated() };
  }
  const callP = exp && opts.deep ? deepAiderCall(state, exp, opts, caps) : undefined;
  // No plan: the chain the user's own files (and command line) name, found and probed as the tools would.
  // (An unreadable plan is reported as such, and nothing is probed: fix the plan first.)
  const chainP = exp || state.planError !== undefined ? undefined : (await import('./checks/chain.js')).chainChecks(state, opts, caps);
  // Its first requests are out (it ran up to its first wait): the machine's tools are read while they are answered.
  const tools = chainP ? await new Promise<EnvTools>((r) => setImmediate(() => r(envTools(caps)))) : undefined;
  const chain = await chainP;
  if (chain?.litellm) state = { ...state, litellm: chain.litellm };
  // The probes are in flight: the file checks and the machine checks run while they wait.
  // Aider straight at mlx_lm.server, no proxy in the chain: the plan's direct mode, or every base of a
  // hand-written chain answering as mlx_lm.server.
  const direct: Array<{ where: string; how: string }> | undefined = exp
    ? exp.plan.mode === 'direct'
      ? exp.models.flatMap((m) => m.served.deployments.map((d) => ({ where: `${d.host}:${d.port}`, how: `the plan's ${m.served.roles.join(' + ')} server` })))
      : undefined
    : chain?.answering?.length && chain.answering.every((a) => a.kind === 'mlx_lm.server') && !chain.pastProxy
      ? chain.answering.map((a) => ({ where: a.where, how: a.how }))
      : undefined;
  const config = configChecks(state, exp, caps.env).filter((c) => !chain || keepWithoutPlan(c, chain.none));
  const aider = [...pre, ...aiderChecks(state, exp, caps.env).filter((c) => !chain || keepWithoutPlan(c, chain.none))];
  const envC = envChecks(state.plan, caps, { direct: direct !== undefined, ...(tools ? { tools } : {}) });
  // The server logs are aider-mlx's own (a plan's serve writes them): read only with a plan.
  const logs = exp ? logChecks(caps.env) : [];
  const cacheP = exp ? promptCacheCheck(state.plan, caps.env) : undefined;
  const [servers, proxy, call, groups, cache] = await Promise.all([Promise.all(serverJobs), proxyP, callP, Promise.all(groupJobs), cacheP]);
  if (call) aider.push(call);

  const hopOrder: DoctorCheck[] = [
    ...(chain?.checks ?? []),
    ...(parsed ? errorChecks(parsed, exp, state) : []),
    ...(parsed && direct ? [errorSourceCheck(parsed, direct)].filter((c): c is DoctorCheck => !!c) : []),
    ...envC,
    ...config,
    ...servers.flatMap((s) => s.checks),
    ...groups.flat(),
    ...logs,
    ...(cache ? [cache] : []),
    ...proxy,
    ...aider,
  ];
  hopOrder.sort((a, b) => GROUPS.indexOf(a.group) - GROUPS.indexOf(b.group));
  // No proxy between Aider and the servers: a proxy's causes (its key, its names, its cooldown) cannot be.
  const likely = rankCauses(parsed, hopOrder, { proxy: !direct });
  const lead = parsed ? leadingCheckIds(likely) : [];
  // Each fix names this tool as it is run here (from a clone, `npx aider-mlx` would ask the registry).
  const adoptable = !state.plan && !state.adopted && state.planError === undefined && chain !== undefined && !chain.none && hopOrder.every((c) => c.status !== 'fail');
  // No plan, a chain of the user's own: `setup` would refuse to replace their model and base, `setup --adopt` takes it as it is.
  const planLine = (c: DoctorCheck): DoctorCheck =>
    c.id !== 'config.plan' || state.plan || state.adopted || state.planError !== undefined || !chain || chain.none
      ? c
      : {
          ...c,
          expected: 'a plan, so `status`, `serve` and `reconfigure` work and the doctor knows which server should answer where',
          fix: adoptable
            ? 'Your own chain works: run `npx aider-mlx setup --adopt` to make it the plan (only the plan is written; your files stay as they are).'
            : 'Fix the problems above first; once the doctor passes, run `npx aider-mlx setup --adopt` to make your chain the plan (your files stay as they are). Plain `setup` replaces your model and API base only with --force.',
        };
  const checks = hopOrder.map(planLine).map((c) => (c.fix?.includes('npx aider-mlx') ? { ...c, fix: asRun(c.fix) } : c));

  const summary = { pass: 0, warn: 0, fail: 0, skip: 0 };
  // What Aider will use is shown, not counted: a value is not a check that passed.
  for (const c of checks) if (!(c.group === 'uses' && c.status === 'pass')) summary[c.status]++;
  return {
    version: VERSION,
    ...(state.plan ? { mode: state.plan.mode } : {}),
    planPath: state.planPath,
    hasPlan: state.plan !== undefined,
    deep: opts.deep,
    timeoutMs: opts.timeoutMs,
    elapsedMs: Math.round(performance.now() - started),
    ...(parsed ? { error: parsed } : {}),
    likely,
    checks,
    lead,
    summary,
    ok: summary.fail === 0,
    exitCode: summary.fail === 0 ? 0 : 1,
    adoptable,
    // A key a fix would write (a new master key) is redacted like the ones on disk.
    secrets: [...collectSecrets(state), ...checks.flatMap((c) => (c.edits ?? []).filter((e) => e.secret).map((e) => String(e.new)))],
    state,
  };
}
