import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Check } from '../lib/check.js';
import { safeLitellmInstall } from '../lib/compromised.js';
import type { Env } from '../lib/paths.js';
import { apiBase, servedModels, UPSTREAM_DEFAULT_MODEL, type ServedModel } from '../config/names.js';
import { isLocalPath } from '../config/plan.js';
import { isLoopback } from '../serve/remote.js';
import { redact } from '../config/secrets.js';
import type { Plan } from '../config/plan.js';
import { identifyServer, probeChat, seconds, waitForChat, type ChatProbe, type WaitInfo } from '../servers/probe.js';
import { findLitellm, startLitellmProxy } from '../servers/litellm.js';
import { findFreePort, isPortFree, sameModel, servedModelOf, type ServedModelSource } from '../servers/ports.js';

export interface VerifyCaps {
  env: Env;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Progress lines ("waiting for …"): stderr in the CLI, a spinner in the wizard. */
  progress?: (line: string) => void;
  /** Where a relative local model path is looked for (setup's cwd). */
  cwd?: string;
  /** Which --model the server on host:port was started with (its command line); tests pass a fake. */
  servedModel?: (host: string, port: number, planned: string) => Promise<ServedModelSource>;
}

function startCommand(m: ServedModel, port: number, host: string): string {
  const hostArg = host === '127.0.0.1' ? '' : ` --host ${host}`;
  return `mlx_lm.server --model ${m.model} --port ${port}${hostArg}`;
}

function describeChatFailure(r: ChatProbe): string {
  if (r.notFound === 'model') return `HTTP 404: the server could not load "${r.model}" (${r.bodyHead.slice(0, 160)})`;
  if (r.notFound === 'path') return `HTTP 404 Not Found on ${new URL(r.url).pathname}: not a route of mlx_lm.server`;
  if (r.error) return r.error.message;
  return `HTTP ${r.status}: ${r.bodyHead.slice(0, 160)}`;
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
          fix: `Start it in another terminal: ${startCommand(m, d.port, d.host)}`,
        });
        return;
      }
      if (who.noHttpAnswer) {
        // Could be our own server, busy: a failed check, not a wrong owner.
        checks.push({
          id, title, status: 'fail',
          observed: `${where} accepted the connection, no HTTP answer within ${seconds(idMs)}: busy loading, stuck, or not an HTTP server`,
          expected: `mlx_lm.server serving ${m.model}`,
          fix: `See what holds it: lsof -nP -iTCP:${d.port} -sTCP:LISTEN. If it is your mlx_lm.server, wait and run setup again (or raise --timeout), or restart it: ${startCommand(m, d.port, d.host)}. Otherwise stop it, or pick another port (--${role}-port).`,
        });
        return;
      }
      if (who.kind !== 'mlx_lm.server') {
        const what = who.kind === 'litellm' ? 'a LiteLLM proxy' : who.looksLike ?? 'a server that is not mlx_lm.server';
        badInput.push({
          id, title, status: 'fail',
          observed: `${where} is held by ${what} (${who.evidence.slice(0, 2).join('; ')})`,
          expected: `mlx_lm.server serving ${m.model}`,
          fix: `Stop it, or pick another port for the ${role} (--${role}-port).`,
        });
        return;
      }

      source ??= await lookup(d.host, d.port, m.model);
      if (source.kind === 'cmdline' && !sameModel(source.model, m.model, caps.env.HOME)) {
        checks.push({
          id, title: `${title}: that server serves ${source.model}`, status: 'fail',
          observed: `${where} serves ${source.model} (from its command line, pid ${source.pid}), not ${m.model}`,
          expected: `mlx_lm.server --model ${m.model} on ${where}`,
          fix: `Give ${m.model} another port (--${role}-port N, and start it: mlx_lm.server --model ${m.model} --port N), or restart the server on ${d.port} with the planned model: ${startCommand(m, d.port, d.host)}`,
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
          fix: `Make sure it was started with: ${startCommand(m, d.port, d.host)}${source.kind === 'remote' ? ' (on that Mac)' : ''}`,
        });
        return;
      }
      checks.push({
        id, title, status: 'fail',
        observed: describeChatFailure(r),
        expected: `HTTP 200 chat.completion for model "${send}" within ${Math.round(caps.timeoutMs / 1000)} s`,
        fix:
          r.notFound === 'model'
            ? `The server on ${where} cannot load "${send}". Restart it: ${startCommand(m, d.port, d.host)}`
            : r.error?.kind === 'timeout'
              ? `It is still loading or downloading: wait and run setup again, or give more time with --timeout.`
              : `Check the server's log; restart it with: ${startCommand(m, d.port, d.host)}`,
      });
    }),
  );
  const order = (c: Check) => c.id;
  checks.sort((a, b) => order(a).localeCompare(order(b)));
  badInput.sort((a, b) => order(a).localeCompare(order(b)));
  return { checks, badInput };
}

/**
 * Start LiteLLM from the rendered config (127.0.0.1, the planned port or a free one), send a
 * completion through it for every model_name, stop it. Leaves nothing running.
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
  const dir = await mkdtemp(join(tmpdir(), 'aider-mlx-proxy-'));
  const configPath = join(dir, 'litellm.yaml');
  await writeFile(configPath, renderedLitellm, { mode: 0o600 });
  const port = (await isPortFree('127.0.0.1', plan.proxy.port)) ? plan.proxy.port : await findFreePort('127.0.0.1');
  const proxy = await startLitellmProxy({ bin: lite.bin, configPath, port, env: caps.env, cwd: dir });
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
  }
}

export { probeChat };
