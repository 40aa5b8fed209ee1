import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Check } from '../lib/check.js';
import { guardPath, unguardPath } from '../lib/exec.js';
import { safeLitellmInstall } from '../lib/compromised.js';
import type { Env } from '../lib/paths.js';
import { apiBase, servedModels, UPSTREAM_DEFAULT_MODEL, type ServedModel } from '../config/names.js';
import { isLocalPath } from '../config/plan.js';
import { redact } from '../config/secrets.js';
import type { Plan } from '../config/plan.js';
import { USAGE_CALLBACK } from '../config/render-context.js';
import { renderUsageCallback, usageCallbackPath } from '../config/render.js';
import { bodyGist, identifyServer, probeChat, probeLitellm, rootUrl, seconds, waitForChat, type ChatProbe, type WaitInfo } from '../servers/probe.js';
import { findLitellm, startLitellmProxy } from '../servers/litellm.js';
import { bindError, connectable, describePortHolder, findFreePort, isPortFree, PRIVILEGED_PORT_HINT, processOnPort, sameModel, servedModelOf, type PortHolder, type ServedModelSource } from '../servers/ports.js';
import { ownedLocations } from '../service/locations.js';
import { exposureWarning, isLoopback, promptCacheFlags, serverStartAdvice } from '../serve/remote.js';
import { promptCacheFor } from '../hub/prompt-cache.js';

export interface VerifyCaps {
  env: Env;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Progress lines ("waiting for …"): stderr in the CLI, a spinner in the wizard. */
  progress?: (line: string) => void;
  /** Where aider-mlx keeps its own files (the scratch config goes there); `env` when not given. */
  stateEnv?: Env;
  /** Where a relative local model path is looked for (setup's cwd). */
  cwd?: string;
  /** Which --model the server on host:port was started with (its command line); tests pass a fake. */
  servedModel?: (host: string, port: number, planned: string) => Promise<ServedModelSource>;
}

/** Start or restart advice; a remote server is never told to listen on the network. */
function startAdvice(m: ServedModel, port: number, host: string, env: Env, verb?: string): string {
  return serverStartAdvice(m.model, { host, port }, { ...(verb ? { verb } : {}), portFlag: `--${m.roles[0]}-port`, promptCache: promptCacheFor(m, env) });
}

/** A server on another machine is reached over the network, and mlx_lm.server has no authentication. */
export function remoteChecks(plan: Plan): Check[] {
  const seen = new Set<string>();
  const out: Check[] = [];
  for (const m of servedModels(plan)) {
    for (const d of m.deployments) {
      const where = `${d.host}:${d.port}`;
      if (isLoopback(d.host) || seen.has(where)) continue;
      seen.add(where);
      out.push({
        id: `remote.${where}`,
        title: `${m.roles.join(' + ')}: ${where} is on another machine, reached over the network without authentication`,
        status: 'warn',
        observed: `a deployment on ${where}`,
        expected: 'servers on 127.0.0.1, or an SSH tunnel to one',
        fix: exposureWarning(d),
      });
    }
  }
  return out;
}

function describeChatFailure(r: ChatProbe): string {
  if (r.notFound === 'model') return `HTTP 404: the server could not load "${r.model}" (${bodyGist(r.bodyHead, 160)})`;
  if (r.notFound === 'path') return `HTTP 404 Not Found on ${new URL(r.url).pathname}: not a route of mlx_lm.server`;
  if (r.error) return r.error.message;
  return `HTTP ${r.status}: ${bodyGist(r.bodyHead, 160)}`;
}

/** A local model path as this Mac sees it (~ is the user's home, a relative path is from `cwd`). */
function localModelPath(model: string, env: Env, cwd: string | undefined): string {
  if (model === '~' || model.startsWith('~/')) return join(env.HOME ?? homedir(), model.slice(1));
  return resolve(cwd ?? process.cwd(), model);
}

/**
 * Every deployment must be an mlx_lm.server started with the planned model (read from the command
 * line of the process holding a local port) that answers a real 1-token completion. Only
 * `default_model` or the server's exact --model is ever sent: any other name is a load instruction.
 * A port held by something else, or a local model folder that does not exist (and that no server
 * there serves), is bad input (exit 2), returned in `badInput`.
 */
export async function verifyServers(plan: Plan, caps: VerifyCaps): Promise<{ checks: Check[]; badInput: Check[] }> {
  const checks: Check[] = [];
  const badInput: Check[] = [];
  const lookup = caps.servedModel ?? ((host: string, port: number, planned: string) => servedModelOf(host, port, planned));
  const jobs = servedModels(plan).flatMap((m) => m.deployments.map((d) => ({ m, d })));
  await Promise.all(
    jobs.map(async ({ m, d }) => {
      const where = `${d.host}:${d.port}`;
      const role = m.roles[0]!;
      const id = `server.${m.roles.join('+')}.${d.port}`;
      const title = `${m.roles.join(' + ')}: ${m.model} on ${where}`;
      let source: ServedModelSource | undefined;

      // A folder that is not there: refused before anything is sent, unless a server already serves it.
      if (isLocalPath(m.model) && isLoopback(d.host) && !existsSync(localModelPath(m.model, caps.env, caps.cwd))) {
        source = await lookup(d.host, d.port, m.model);
        if (!(source.kind === 'cmdline' && sameModel(source.model, m.model, caps.env.HOME))) {
          badInput.push({
            id, title, status: 'fail',
            observed: `--${role} ${m.model}: no such folder on this Mac${source.kind === 'cmdline' ? ` (and the server on ${where} serves ${source.model})` : ''}`,
            expected: 'the folder of a downloaded MLX model, or a Hugging Face repo id',
            fix: `Check the path, or give a repo id, e.g. --${role} mlx-community/Qwen2.5-Coder-7B-Instruct-4bit.`,
          });
          return;
        }
      }

      const idMs = Math.min(caps.timeoutMs, 10_000);
      const who = await identifyServer(d.host, d.port, { timeoutMs: idMs, signal: caps.signal });
      if (who.kind === 'none') {
        checks.push({
          id, title, status: 'fail',
          observed: `nothing answers on ${where} (${who.error?.message ?? 'connection refused'})`,
          expected: `mlx_lm.server serving ${m.model}`,
          fix: startAdvice(m, d.port, d.host, caps.env),
        });
        return;
      }
      if (who.noHttpAnswer) {
        // Could be our own server, busy: a failed check, not a wrong owner.
        checks.push({
          id, title, status: 'fail',
          observed: `${where} accepted the connection, no HTTP answer within ${seconds(idMs)}: busy loading, stuck, or not an HTTP server`,
          expected: `mlx_lm.server serving ${m.model}`,
          fix: `See what holds it: lsof -nP -iTCP:${d.port} -sTCP:LISTEN. If it is your mlx_lm.server, wait and run setup again (or raise --timeout), or ${startAdvice(m, d.port, d.host, caps.env, 'restart it')}. Otherwise stop it, or pick another port (--${role}-port).`,
        });
        return;
      }
      if (who.kind !== 'mlx_lm.server') {
        const what = who.kind === 'litellm' ? 'a LiteLLM proxy' : who.looksLike ?? 'a server that is not mlx_lm.server';
        // Which process it is, on this machine: its pid and command line (a key in it redacted).
        const holder = isLoopback(d.host) || d.host === '0.0.0.0' ? await processOnPort(d.port).catch(() => undefined) : undefined;
        const line = holder ? redact(holder.commandLine ?? holder.argv.join(' ')) : '';
        badInput.push({
          id, title, status: 'fail',
          observed: `${where} is held by ${what} (${who.evidence.slice(0, 2).join('; ')})${holder ? `: pid ${holder.pid}, ${line.length > 80 ? `${line.slice(0, 79)}…` : line}` : ''}`,
          expected: `mlx_lm.server serving ${m.model}`,
          fix: `Stop it${holder ? ` (pid ${holder.pid})` : ''}, or pick another port for the ${role} (--${role}-port).`,
        });
        return;
      }

      source ??= await lookup(d.host, d.port, m.model);
      if (source.kind === 'cmdline' && !sameModel(source.model, m.model, caps.env.HOME)) {
        checks.push({
          id, title: `${title}: that server serves ${source.model}`, status: 'fail',
          observed: `${where} serves ${source.model} (from its command line, pid ${source.pid}), not ${m.model}`,
          expected: `mlx_lm.server --model ${m.model} on ${where}`,
          fix: `Give ${m.model} another port (--${role}-port N, and start it: mlx_lm.server --model ${m.model} --port N${promptCacheFlags(promptCacheFor(m, caps.env))}), or ${startAdvice(m, d.port, d.host, caps.env, `restart the server on ${d.port} with the planned model`)}`,
        });
        return;
      }
      // Direct mode sends the model string itself: only when it is the server's exact --model.
      const confirmed = source.kind === 'cmdline';
      const send = m.upstream === UPSTREAM_DEFAULT_MODEL || (confirmed && source.kind === 'cmdline' && source.model === m.upstream) ? m.upstream : UPSTREAM_DEFAULT_MODEL;
      const r = await waitForChat(apiBase(d), send, {
        timeoutMs: caps.timeoutMs,
        signal: caps.signal,
        intervalMs: 5000,
        onWait: (w: WaitInfo) =>
          caps.progress?.(`… ${m.roles.join('+')} on ${where}: ${w.message} (${Math.round(w.elapsedMs / 1000)} s of ${Math.round(caps.timeoutMs / 1000)} s)`),
      });
      if (r.ok && confirmed && send === m.upstream) {
        checks.push({ id, title: `${m.roles.join(' + ')}: ${where} serves ${m.model} (from its command line) and answered a 1-token completion as "${send}"`, status: 'pass', latencyMs: r.latencyMs });
        return;
      }
      if (r.ok) {
        const why =
          source.kind === 'remote'
            ? 'it runs on another machine: its command line cannot be read from here'
            : source.kind === 'unreadable'
              ? source.why
              : `its --model is ${source.model}, not exactly "${m.upstream}"`;
        const unsent = send !== m.upstream ? `; "${m.upstream}" was not sent: any name but default_model or the server's exact --model makes mlx_lm.server load it` : '';
        checks.push({
          id, title: `${title}: answered as "${send}", but which model it serves is unconfirmed`, status: 'warn', latencyMs: r.latencyMs,
          observed: `${why}${unsent}`,
          expected: `mlx_lm.server --model ${m.model} on ${where}`,
          fix: startAdvice(m, d.port, d.host, caps.env, 'Make sure it was started with'),
        });
        return;
      }
      checks.push({
        id, title, status: 'fail',
        observed: describeChatFailure(r),
        expected: `HTTP 200 chat.completion for model "${send}" within ${Math.round(caps.timeoutMs / 1000)} s`,
        fix:
          r.notFound === 'model'
            ? `The server on ${where} cannot load "${send}". ${startAdvice(m, d.port, d.host, caps.env, 'Restart it')}`
            : r.error?.kind === 'timeout'
              ? `It is still loading or downloading: wait and run setup again, or give more time with --timeout.`
              : `Check the server's log; ${startAdvice(m, d.port, d.host, caps.env, 'restart it')}`,
      });
    }),
  );
  const order = (c: Check) => c.id;
  checks.sort((a, b) => order(a).localeCompare(order(b)));
  badInput.sort((a, b) => order(a).localeCompare(order(b)));
  return { checks, badInput };
}

/**
 * A port this machine would refuse to let us listen on (below 1024 without root) where nothing
 * listens yet: the server or proxy could never be started there. The flag and the reason, or
 * undefined. (Where a server started by root already answers, the port is fine.)
 */
export async function privilegedPortProblem(plan: Plan): Promise<{ message: string; fix: string } | undefined> {
  const slots = servedModels(plan).flatMap((m) => m.deployments.map((d) => ({ flag: `--${m.roles[0]}-port`, host: d.host, port: d.port })));
  if (plan.mode === 'proxy') slots.push({ flag: '--proxy-port', host: plan.proxy.host, port: plan.proxy.port });
  for (const s of slots) {
    if (s.port >= 1024) continue;
    const e = await bindError(s.host, s.port);
    if (e?.code !== 'EACCES' || (await connectable(s.host, s.port))) continue;
    return {
      message: `${s.flag} ${s.port}: permission denied: ${PRIVILEGED_PORT_HINT}.`,
      fix: `For example ${s.flag} ${s.flag === '--proxy-port' ? 4000 : 8080}.`,
    };
  }
  return undefined;
}

export type ProxyPortState =
  | { state: 'free' }
  /** A LiteLLM proxy that takes our master key and serves every model name: Aider can use it. */
  | { state: 'ours' }
  | { state: 'taken'; what: string; holder?: PortHolder; free: number };

/**
 * Who holds the plan's proxy port. Anything but a LiteLLM proxy of this config there would get
 * Aider's requests, master key included, so setup must not write files pointing at it.
 */
export async function proxyPortState(plan: Plan, proxyKey: string, caps: Pick<VerifyCaps, 'timeoutMs' | 'signal'>): Promise<ProxyPortState> {
  const { host, port } = plan.proxy;
  if (await isPortFree(host, port)) return { state: 'free' };
  const names = servedModels(plan).map((m) => m.modelName);
  const p = await probeLitellm(rootUrl(host, port), { timeoutMs: Math.min(caps.timeoutMs, 5000), signal: caps.signal, apiKey: proxyKey });
  if (p.ok && names.every((n) => p.names.includes(n))) return { state: 'ours' };
  const holder = await describePortHolder(port).catch(() => undefined);
  const who = holder
    ? `${holder.command} (pid ${holder.pid}${holder.user ? `, user ${holder.user}` : ''})${holder.commandLine ? `: ${holder.commandLine.slice(0, 120)}` : ''}`
    : undefined;
  const kind = p.liveliness.ok
    ? p.authFailed
      ? 'a LiteLLM proxy with another master key'
      : `a LiteLLM proxy with another config (it serves ${p.names.join(', ') || 'none of these models'})`
    : p.liveliness.error?.kind === 'timeout'
      ? 'a program that accepts connections but does not answer'
      : 'a program that is not a LiteLLM proxy';
  const what = who ? `${kind}, ${who}` : `${kind} (lsof could not say which)`;
  const avoid = servedModels(plan).flatMap((m) => m.deployments.map((d) => d.port));
  const free = await findFreePort(host, port + 1, { avoid: [port, ...avoid] });
  return { state: 'taken', what, ...(holder ? { holder } : {}), free };
}

/** The one-line refusal for a taken proxy port, and the way on. */
export function describeTakenProxyPort(plan: Plan, s: Extract<ProxyPortState, { state: 'taken' }>): { message: string; fix: string } {
  return {
    message: `Port ${plan.proxy.port}, the proxy's port, is held by ${s.what}. Aider would send its requests and the proxy key to it.`,
    fix: `Use a free port: --proxy-port ${s.free}; or stop that process${s.holder ? ` (pid ${s.holder.pid})` : ''} and run setup again.`,
  };
}

const SCRATCH_PREFIX = 'proxy-check-';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Scratch configs a killed run left: ours (`proxy-check-<pid>-*` whose process is gone), and the
 * `aider-mlx-proxy-*` folders older versions made in the system temp folder (they hold a copy of
 * the master key). Best effort.
 */
async function removeLeftovers(root: string): Promise<void> {
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const pid = Number(/^proxy-check-(\d+)-/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid)) {
      await rm(join(root, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }
  const tmp = tmpdir();
  const uid = process.getuid?.();
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    if (!name.startsWith('aider-mlx-proxy-')) continue;
    const st = await lstat(join(tmp, name)).catch(() => undefined);
    if (st?.isDirectory() && (uid === undefined || st.uid === uid)) await rm(join(tmp, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * A private folder for the scratch LiteLLM config (it holds the master key): under aider-mlx's own
 * state folder, 0700, removed when the check ends, and by the watchdog if this process is killed.
 */
async function scratchFolder(env: Env): Promise<string> {
  const root = join(ownedLocations(env).run, 'scratch');
  await mkdir(root, { recursive: true, mode: 0o700 });
  await removeLeftovers(root);
  const dir = await mkdtemp(join(root, `${SCRATCH_PREFIX}${process.pid}-`));
  guardPath(dir);
  return dir;
}

/**
 * Start LiteLLM from the rendered config (127.0.0.1, the planned port when it is free, a free one
 * when a LiteLLM of this config already holds it), send a completion through it for every
 * model_name, stop it. Leaves nothing running. A port held by anything else fails the check.
 */
export async function verifyProxy(plan: Plan, renderedLitellm: string, proxyKey: string, caps: VerifyCaps): Promise<Check[]> {
  const lite = await findLitellm(caps.env);
  if (!lite) {
    return [{
      id: 'proxy.installed', title: 'LiteLLM proxy: not verified', status: 'warn',
      observed: 'litellm is not installed (not on PATH)',
      expected: 'litellm, to run the proxy the Aider files point at',
      fix: `Install it: ${safeLitellmInstall()} — then run \`aider-mlx setup\` again to verify.`,
    }];
  }
  if (lite.compromised) {
    return [{
      id: 'proxy.compromised', title: `LiteLLM proxy: not started: litellm ${lite.version} is a known-compromised release`, status: 'fail',
      observed: `${lite.bin} is litellm ${lite.version}`,
      expected: 'a litellm release not on the known-compromised list',
      fix: `Remove it now and reinstall: ${safeLitellmInstall()}`,
    }];
  }
  const held = await proxyPortState(plan, proxyKey, caps);
  if (held.state === 'taken') {
    const d = describeTakenProxyPort(plan, held);
    return [{
      id: 'proxy.port', title: `LiteLLM proxy: port ${plan.proxy.port} is taken`, status: 'fail',
      observed: d.message, expected: `port ${plan.proxy.port} free, or a LiteLLM proxy of this config on it`, fix: d.fix,
    }];
  }
  const dir = await scratchFolder(caps.stateEnv ?? caps.env);
  let proxy: Awaited<ReturnType<typeof startLitellmProxy>>;
  let port: number;
  try {
    const configPath = join(dir, 'litellm.yaml');
    await writeFile(configPath, renderedLitellm, { mode: 0o600 });
    // The usage callback the config names is looked up next to it; its turns go to a scratch log
    // (a check's completions are not the user's turns).
    if (renderedLitellm.includes(USAGE_CALLBACK)) await writeFile(usageCallbackPath(configPath), renderUsageCallback(join(dir, 'turns.jsonl')), { mode: 0o600 });
    port = held.state === 'free' ? plan.proxy.port : await findFreePort('127.0.0.1');
    proxy = await startLitellmProxy({ bin: lite.bin, configPath, port, env: caps.env, cwd: dir });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    unguardPath(dir);
    throw e;
  }
  const checks: Check[] = [];
  // If LiteLLM dies (bad config, import error), stop waiting at once and show its log.
  const died = new AbortController();
  let exited = false;
  void proxy.exited.then(() => {
    exited = true;
    died.abort();
  });
  const signal = caps.signal ? AbortSignal.any([caps.signal, died.signal]) : died.signal;
  try {
    const models = servedModels(plan);
    for (const m of models) {
      caps.progress?.(`… proxy on 127.0.0.1:${port}: sending a completion for ${m.modelName}`);
      const r = await waitForChat(`${proxy.root}/v1`, m.modelName, {
        timeoutMs: caps.timeoutMs,
        signal,
        apiKey: proxyKey,
        intervalMs: 1000,
      });
      checks.push(
        r.ok
          ? { id: `proxy.model.${m.modelName}`, title: `proxy (litellm ${lite.version ?? '?'}): ${m.modelName} answered through it`, status: 'pass', latencyMs: r.latencyMs }
          : {
              id: `proxy.model.${m.modelName}`, title: `proxy: ${m.modelName} through LiteLLM`, status: 'fail',
              observed: redact(`${exited ? 'LiteLLM exited' : describeChatFailure(r)}${proxy.log.length ? `; proxy log: ${proxy.log.slice(-3).join(' | ').slice(0, 300)}` : ''}`, [proxyKey]),
              expected: 'HTTP 200 chat.completion through the proxy',
              fix: 'Run `aider-mlx doctor` for the hop-by-hop diagnosis.',
            },
      );
      if (!r.ok) break;
    }
    return checks;
  } finally {
    await proxy.stop();
    await rm(dir, { recursive: true, force: true });
    unguardPath(dir);
  }
}

export { probeChat };
