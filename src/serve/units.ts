/**
 * The plan as supervised units: one per deployment of each distinct model (mlx_lm.server), one
 * for the LiteLLM proxy. Each says how to tell who holds its port, how to start, how to know it
 * really answers, and how to check it cheaply while it runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import { apiBase, servedModels } from '../config/names.js';
import type { Plan } from '../config/plan.js';
import { configPaths, tildify, type Env } from '../lib/paths.js';
import { safeLitellmInstall } from '../lib/compromised.js';
import { launchMlxServer, serverLaunchFor, type ServerKind } from '../servers/launch.js';
import { findLitellm, startLitellmProxy } from '../servers/litellm.js';
import { bindError, bindFailureIn, describePortHolder, modelFromCommandLine, modelOfHolder, PRIVILEGED_PORT_HINT, sameModel, type Exec, type PortHolder } from '../servers/ports.js';
import { identifyServer, probeHealth, probeLitellm, rootUrl, waitForChat } from '../servers/probe.js';
import { maxOutputTokens } from '../config/render.js';
import { missingUsageCallback, USAGE_MODULE } from '../config/render-context.js';
import { promptCacheFor } from '../hub/prompt-cache.js';
import { serverUnitId } from './metrics.js';
import { litellmConfigOf } from '../config/secrets.js';
import { ownedLocations } from '../service/locations.js';
import { bindHost, exposureWarning, isLoopback, looksLikeTunnel } from './remote.js';
import type { Inspection, ReadyResult, UnitProcess, UnitSpec } from './supervisor.js';
import type { ServedModel } from '../config/names.js';
import type { Deployment, Group } from '../config/plan.js';
import { groupIsLocal } from '../config/group.js';
import { groupParallel, startGroup } from './group.js';

export interface UnitCaps {
  env: Env;
  /** The real mlx_lm.server, or the built-in stand-in. */
  kind?: ServerKind;
  /** The proxy's master key (litellm.yaml general_settings.master_key). */
  proxyKey?: string;
  /** For lsof/ps; tests pass a fake. */
  exec?: Exec;
  /** Model names with at least one deployment up: the proxy sends its test completion only for those. */
  modelsUp?: () => string[];
}

/** PATH plus the folder uv, pipx and our venv links use: a login or launchd shell may lack it. */
export function toolEnv(env: Env): Env {
  const bin = ownedLocations(env).localBin;
  const parts = (env.PATH ?? '').split(delimiter).filter(Boolean);
  return parts.includes(bin) ? env : { ...env, PATH: [...parts, bin].join(delimiter) };
}

export { modelFromCommandLine };

function describeHolder(port: number, h: PortHolder | undefined): string {
  if (!h) return `port ${port} is in use by something that is not mlx_lm.server (lsof could not say what)`;
  return `port ${port} is held by ${h.command} (pid ${h.pid}${h.user ? `, user ${h.user}` : ''})${h.commandLine ? `: ${h.commandLine.slice(0, 160)}` : ''}`;
}

/**
 * Before a start: can the port be bound at all? A port below 1024 without root, or one held on
 * another address, fails every restart the same way: say so at once instead.
 */
async function unbindable(host: string, port: number, caps: UnitCaps): Promise<Inspection | undefined> {
  const e = await bindError(host, port);
  if (!e) return undefined;
  if (e.code === 'EACCES') return { action: 'blocked', reason: `permission denied on port ${port}: ${PRIVILEGED_PORT_HINT} (change the port in the plan: \`aider-mlx reconfigure\`)` };
  if (e.code === 'EADDRINUSE') return { action: 'blocked', reason: describeHolder(port, await describePortHolder(port, caps.exec ? { exec: caps.exec } : {})) };
  return { action: 'blocked', reason: `cannot listen on ${host}:${port}: ${e.code ?? e.message}` };
}

/** A start that failed to bind its port: the cause, and for a port in use, who holds it. */
async function bindFailure(log: string[], port: number, caps: UnitCaps): Promise<string | undefined> {
  const cause = bindFailureIn(log, port);
  if (!cause || !/already in use/.test(cause)) return cause;
  const holder = await describePortHolder(port, caps.exec ? { exec: caps.exec } : {}).catch(() => undefined);
  return holder ? describeHolder(port, holder) : cause;
}

function processOf(s: { pid: number | undefined; exited: Promise<unknown>; log: string[]; stop(): Promise<void> }): UnitProcess {
  return {
    pid: s.pid,
    exited: s.exited.then((c) => (typeof c === 'number' ? c : c && typeof c === 'object' && 'exitCode' in c ? ((c as { exitCode?: number }).exitCode ?? null) : null)),
    log: s.log,
    stop: s.stop,
  };
}

export function buildUnits(plan: Plan, caps: UnitCaps): UnitSpec[] {
  const env = toolEnv(caps.env);
  const units: UnitSpec[] = [];
  const serverIds: string[] = [];
  const probeMs = 3000;

  for (const m of servedModels(plan)) {
    for (const d of m.deployments) {
      const id = serverUnitId(m.roles, d);
      serverIds.push(id);
      if (d.group) {
        units.push(groupUnit(id, m, { ...d, group: d.group }, caps, env));
        continue;
      }
      const local = isLoopback(d.host);
      const base = apiBase(d);
      units.push({
        id,
        kind: 'server',
        label: m.roles.join(' + '),
        model: m.model,
        host: d.host,
        port: d.port,
        async inspect(signal): Promise<Inspection> {
          if (!local) return { action: 'remote', note: `on another machine: watched, not started. ${exposureWarning(d)}` };
          const who = await identifyServer(d.host, d.port, { timeoutMs: probeMs, signal });
          if (who.kind === 'none') return (await unbindable(bindHost(d.host), d.port, caps)) ?? { action: 'start' };
          const holder = await describePortHolder(d.port, caps.exec ? { exec: caps.exec } : {});
          if (who.kind === 'mlx_lm.server') {
            const running = modelOfHolder(holder, m.model);
            if (running && !sameModel(running, m.model, env.HOME)) {
              return { action: 'blocked', reason: `an mlx_lm.server for another model (${running}) holds port ${d.port} (pid ${holder!.pid}); stop it or change the port in the plan` };
            }
            const how = running
              ? `adopted the mlx_lm.server already serving it (pid ${holder!.pid})`
              : looksLikeTunnel(holder?.commandLine)
                ? `adopted: an SSH tunnel (pid ${holder!.pid}) to an mlx_lm.server`
                : 'adopted the mlx_lm.server already answering there (its command line could not be read to confirm the model)';
            return { action: 'adopt', note: how, ...(holder ? { pid: holder.pid } : {}) };
          }
          const what = who.kind === 'litellm' ? 'a LiteLLM proxy' : (who.looksLike ?? 'a server that is not mlx_lm.server');
          return { action: 'blocked', reason: `${describeHolder(d.port, holder)} — it answers as ${what}` };
        },
        fatal: (log) => bindFailure(log, d.port, caps),
        async start(onLine) {
          const s = launchMlxServer({
            ...serverLaunchFor(m, d, env),
            kind: caps.kind ?? 'mlx',
            env,
            onLine,
          });
          return processOf(s);
        },
        async ready(signal, timeoutMs): Promise<ReadyResult> {
          // default_model: never a load instruction, whatever mlx-lm version answers (SPEC §1.4).
          const r = await waitForChat(base, 'default_model', { timeoutMs, signal, intervalMs: 500 });
          return { ok: r.ok, message: r.ok ? `answered in ${r.latencyMs} ms` : (r.error?.message ?? `HTTP ${r.status}`) };
        },
        async alive(signal, timeoutMs) {
          // Any HTTP answer: /health is served by another thread while the model generates.
          const r = await probeHealth(rootUrl(d.host, d.port), { timeoutMs, signal });
          return r.status !== undefined;
        },
      });
    }
  }

  if (plan.mode === 'proxy') {
    const { host, port } = plan.proxy;
    const root = rootUrl(host, port);
    const names = servedModels(plan).map((m) => m.modelName);
    const key = caps.proxyKey;
    const configPath = litellmConfigOf(plan, caps.env);
    units.push({
      id: `proxy@${host}:${port}`,
      kind: 'proxy',
      label: 'proxy',
      host,
      port,
      after: serverIds,
      async inspect(signal): Promise<Inspection> {
        if (!isLoopback(host)) return { action: 'blocked', reason: `the proxy host ${host} is not this machine: serve only starts a proxy on 127.0.0.1` };
        const p = await probeLitellm(root, { timeoutMs: probeMs, signal, ...(key ? { apiKey: key } : {}) });
        if (p.liveliness.error?.kind === 'refused') return (await unbindable(host, port, caps)) ?? { action: 'start' };
        const holder = await describePortHolder(port, caps.exec ? { exec: caps.exec } : {});
        if (p.liveliness.ok) {
          const missing = names.filter((n) => !p.names.includes(n));
          if (p.ok && missing.length === 0) return { action: 'adopt', note: `adopted the LiteLLM proxy already serving ${names.join(', ')}${holder ? ` (pid ${holder.pid})` : ''}`, ...(holder ? { pid: holder.pid } : {}) };
          return {
            action: 'blocked',
            reason: p.authFailed
              ? `a LiteLLM proxy with another master key holds port ${port}${holder ? ` (pid ${holder.pid})` : ''}; stop it`
              : `a LiteLLM proxy with another config holds port ${port} (it serves ${p.names.join(', ') || 'nothing we know'}); stop it`,
          };
        }
        return { action: 'blocked', reason: describeHolder(port, holder) };
      },
      fatal: (log) => bindFailure(log, port, caps),
      async start(onLine) {
        if (!existsSync(configPath)) throw new Error(`no LiteLLM config at ${tildify(configPath, caps.env)}: run \`aider-mlx setup\` first`);
        // LiteLLM would die at start with an ImportError traceback: say what is missing and how to put it back.
        const miss = missingUsageCallback(configPath, await readYamlQuietly(configPath));
        if (miss) {
          throw new Error(
            `${tildify(configPath, caps.env)} names ${miss.entries.join(', ')} in litellm_settings.callbacks, but ${USAGE_MODULE}.py is not in ${tildify(miss.folder, caps.env)}, where LiteLLM looks for it, so the proxy would not start: not started. ` +
              `Run \`aider-mlx doctor --fix\` to write it again (or remove ${miss.entries.join(', ')} from litellm_settings.callbacks), then serve again.`,
          );
        }
        const lite = await findLitellm(env);
        if (!lite) throw new Error(`litellm is not installed (not on PATH): ${safeLitellmInstall()}`);
        if (lite.compromised) throw new Error(`${lite.bin} is litellm ${lite.version}, a known-compromised release: not started. Remove it and reinstall: ${safeLitellmInstall()}`);
        const run = ownedLocations(caps.env).run;
        const proxy = await startLitellmProxy({ bin: lite.bin, configPath, port, env, cwd: run });
        // startLitellmProxy keeps its lines in an array: pass each on as it is added.
        const push = proxy.log.push.bind(proxy.log);
        proxy.log.push = (...lines: string[]) => {
          for (const l of lines) onLine(l);
          return push(...lines);
        };
        return processOf({ pid: pidOf(proxy), exited: proxy.exited, log: proxy.log, stop: proxy.stop });
      },
      async ready(signal, timeoutMs): Promise<ReadyResult> {
        const up = caps.modelsUp ? caps.modelsUp() : names;
        const deadline = Date.now() + timeoutMs;
        // First: alive with our config (fast, needs no model server).
        for (;;) {
          const p = await probeLitellm(root, { timeoutMs: 3000, signal, ...(key ? { apiKey: key } : {}) });
          if (p.ok && names.every((n) => p.names.includes(n))) break;
          if (signal.aborted || Date.now() > deadline) return { ok: false, message: p.liveliness.error?.message ?? p.models.error?.message ?? 'not answering' };
          await new Promise((r) => setTimeout(r, 500));
        }
        const sent: string[] = [];
        for (const n of names.filter((x) => up.includes(x))) {
          const r = await waitForChat(`${root}/v1`, n, { timeoutMs: Math.max(1000, deadline - Date.now()), signal, intervalMs: 1000, ...(key ? { apiKey: key } : {}) });
          if (!r.ok) return { ok: false, message: `${n} through the proxy: ${r.error?.message ?? `HTTP ${r.status}`}` };
          sent.push(n);
        }
        return { ok: true, message: sent.length ? `answered for ${sent.join(', ')}` : 'up (no model server is up yet, so no completion was sent)' };
      },
      async alive(signal, timeoutMs) {
        const p = await probeLitellm(root, { timeoutMs, signal, ...(key ? { apiKey: key } : {}) });
        return p.liveliness.status !== undefined;
      },
    });
  }
  return units;
}

function pidOf(proxy: { exited: unknown }): number | undefined {
  const pid = (proxy.exited as { pid?: unknown }).pid;
  return typeof pid === 'number' ? pid : undefined;
}

/**
 * A group (several ranks serving one copy of the model): one unit. Started as a whole, ready on a
 * completion through rank 0, restarted as a whole when any rank exits or rank 0's /health says
 * 503 (a rank is gone: it stays up but cannot generate).
 */
function groupUnit(id: string, m: ServedModel, d: Deployment & { group: Group }, caps: UnitCaps, env: Env): UnitSpec {
  const g = d.group;
  const base = apiBase(d);
  const local = groupIsLocal(g);
  const probeMs = 3000;
  const ranks = g.hosts.length;
  let parallel: 'tensor' | 'pipeline' = g.parallel ?? 'tensor';
  let how = '';
  return {
    id,
    kind: 'server',
    label: m.roles.join(' + '),
    model: m.model,
    host: d.host,
    port: d.port,
    async inspect(signal): Promise<Inspection> {
      const choice = await groupParallel(m.model, g, caps.env);
      if (!choice.ok) return { action: 'blocked', reason: `${choice.problem} (change parallel or the hosts of the group in plan.yaml)` };
      parallel = choice.parallel;
      how = `${ranks} ranks, ${choice.note}, ${local ? 'ranks started directly' : `through mlx.launch (${g.backend ?? 'ring'})`}`;
      const who = await identifyServer(d.host, d.port, { timeoutMs: probeMs, signal });
      if (who.kind === 'none') return local ? ((await unbindable(bindHost(d.host), d.port, caps)) ?? { action: 'start', note: how }) : { action: 'start', note: how };
      if (who.kind === 'mlx_lm.server') return { action: 'adopt', note: `adopted the mlx_lm.server already answering on ${d.host}:${d.port} (rank 0 of a group started before)` };
      const holder = local ? await describePortHolder(d.port, caps.exec ? { exec: caps.exec } : {}) : undefined;
      return { action: 'blocked', reason: `${describeHolder(d.port, holder)} — it answers as ${who.kind === 'litellm' ? 'a LiteLLM proxy' : (who.looksLike ?? 'a server that is not mlx_lm.server')}` };
    },
    fatal: (log) => bindFailure(log, d.port, caps),
    async start(onLine) {
      onLine(`[aider-mlx] starting a group: ${how}`);
      return startGroup({
        model: m.model,
        group: g,
        parallel,
        host: local ? bindHost(d.host) : d.host,
        port: d.port,
        maxTokens: maxOutputTokens(m),
        ...(caps.kind ? { kind: caps.kind } : {}),
        env,
        onLine,
      });
    },
    async ready(signal, timeoutMs): Promise<ReadyResult> {
      const r = await waitForChat(base, 'default_model', { timeoutMs, signal, intervalMs: 500 });
      return { ok: r.ok, message: r.ok ? `answered in ${r.latencyMs} ms (${how})` : (r.error?.message ?? `HTTP ${r.status}`) };
    },
    async alive(signal, timeoutMs) {
      const r = await probeHealth(rootUrl(d.host, d.port), { timeoutMs, signal });
      // 503: mlx_lm.server's generation thread died (a rank is gone); no restart of rank 0 alone helps.
      if (r.status === 503) return { broken: 'rank 0 reports 503 on /health (a rank of the group is gone)' };
      return r.status !== undefined;
    },
  };
}

/** The config as data, or undefined when it does not parse (LiteLLM then says so itself). */
async function readYamlQuietly(path: string): Promise<unknown> {
  try {
    const { parse } = await import('yaml');
    return parse(readFileSync(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}
