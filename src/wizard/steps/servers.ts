import { apiBase, servedModels, type ServedModel } from '../../config/names.js';
import { isLocalPath, type Deployment, type Plan } from '../../config/plan.js';
import { maxOutputTokens } from '../../config/render.js';
import { which } from '../../lib/exec.js';
import { selfCommand } from '../../lib/paths.js';
import type { Check } from '../../lib/check.js';
import { formatGB } from '../../hub/fit.js';
import { identifyServer, waitForChat, type WaitResult } from '../../servers/probe.js';
import { describePortHolder, isPortFree, sameModel, servedModelAt } from '../../servers/ports.js';
import { bindHost, isLoopback } from '../../serve/remote.js';
import { serverArgs, shellWords, type LaunchedServer } from '../../servers/launch.js';
import { promptCacheFor, type PromptCacheBound } from '../../hub/prompt-cache.js';
import { sizingFor } from '../model-rows.js';
import { GoTo } from '../prompter.js';
import type { Step } from '../step.js';
import { pickFor, throwIfCancelled, type WizardContext } from '../context.js';
import { draftPlan } from '../draft.js';
import { installByDefault, installChoice, installNow } from '../install-offer.js';
import type { ToolName } from '../../tools/pins.js';

/** The server's prompt-cache bound: its config.json here, else the sizing the fit used. */
export function cacheBound(ctx: Pick<WizardContext, 'hostEnv' | 'survey'>, m: ServedModel): PromptCacheBound {
  return promptCacheFor(m, ctx.hostEnv, sizingFor(ctx.survey, m.model).kvBytesPerToken);
}

/** The command that brings a server back (what the final screen prints). */
export function startCommandFor(ctx: Pick<WizardContext, 'serverKind'>, model: string, d: Deployment, maxTokens?: number, promptCache?: PromptCacheBound): string {
  const args = shellWords(serverArgs({ model, port: d.port, host: d.host, ...(maxTokens ? { maxTokens } : {}), ...(promptCache ? { promptCache } : {}) }));
  return ctx.serverKind === 'stand-in' ? `${selfCommand()} fake-mlx-server ${args}` : `mlx_lm.server ${args}`;
}

/** Why a server did not answer, in plain words, from its result and the end of its log. */
export function explainFailure(r: Pick<WaitResult, 'ok' | 'error' | 'status' | 'notFound' | 'model'> & { exitedEarly?: boolean }, log: string[], timeoutSec: number): string {
  const tail = log.filter((l) => l.trim()).slice(-20).join('\n');
  const known: Array<[RegExp, string]> = [
    [/Address already in use/i, 'the port is already taken by another program'],
    [/RepositoryNotFoundError|404 Client Error|Repository Not Found/i, 'the Hugging Face Hub has no such model (check the repo id)'],
    [/GatedRepoError|401 Client Error|gated/i, 'the model is gated: accept its licence on huggingface.co and log in (`hf auth login`)'],
    [/No module named|ModuleNotFoundError|ImportError/i, 'mlx_lm is broken in its environment (reinstall it: `uv tool install --force mlx-lm`)'],
    [/\[METAL\]|Insufficient Memory|out of memory|MemoryError/i, 'the model does not fit in memory (pick a smaller model or a shorter context)'],
    [/No space left on device/i, 'the disk is full'],
    [/Connection ?Error|Max retries exceeded|Temporary failure in name resolution/i, 'the model could not be downloaded (no connection to the Hub)'],
    [/does not appear to have a file named config\.json|not a valid model|No safetensors/i, 'that folder or repo is not an MLX model'],
  ];
  for (const [re, words] of known) if (re.test(tail)) return `${words}. Last log line: ${lastLine(log)}`;
  if (r.exitedEarly) return `mlx_lm.server exited before it answered. Last log line: ${lastLine(log) || '(none)'}`;
  if (r.notFound === 'model') return `the server cannot load "${r.model}"`;
  if (r.error?.kind === 'timeout') return `no answer within ${timeoutSec} s: it may still be downloading or loading the model (try again, or allow more time with --timeout)`;
  if (r.error) return r.error.message;
  return `HTTP ${r.status}`;
}

function lastLine(log: string[]): string {
  return (log.filter((l) => l.trim()).pop() ?? '').slice(0, 160);
}

type Outcome =
  | { ok: true; latencyMs?: number; how: 'reused' | 'started' }
  | { ok: false; cause: string; /** A tool that is not installed. */ missing?: ToolName; /** The port is held by a server an `aider-mlx serve` of ours runs. */ serve?: { pid: number; background: boolean } };

/** The `aider-mlx serve` behind whatever listens on the port, if one of ours runs it. */
async function serveHolding(ctx: WizardContext, port: number): Promise<{ pid: number; background: boolean } | undefined> {
  const holder = await describePortHolder(port).catch(() => undefined);
  if (!holder) return undefined;
  const { serveBehind } = await import('../../serve/background.js');
  return serveBehind(holder.pid, ctx.env).catch(() => undefined);
}

/** Stop that serve (it stops what it started) and wait for the port to be free. */
async function stopServe(ctx: WizardContext, serve: { pid: number; background: boolean }, d: Deployment): Promise<void> {
  const { stopBackground, stopServePid } = await import('../../serve/background.js');
  await ctx.prompter.task(`Stopping aider-mlx serve (pid ${serve.pid})`, async (h) => {
    if (serve.background) await stopBackground(ctx.env);
    else await stopServePid(serve.pid);
    const deadline = Date.now() + 15_000;
    while (!(await isPortFree(bindHost(d.host), d.port)) && Date.now() < deadline && !h.signal.aborted) await new Promise((r) => setTimeout(r, 200));
  });
  throwIfCancelled(ctx.signal);
  // Once the files are written, the serve comes back, in the background, with the new setup.
  ctx.restartServe = true;
}

/** `wizard-<port>.log` in aider-mlx's log folder (0700); undefined: a pipe, as before. */
async function serverLogFile(ctx: WizardContext, port: number): Promise<string | undefined> {
  // Only where "Start Aider now?" can be asked and Aider really starts.
  if (ctx.demo || ctx.dryRun || ctx.prompter.face === 'non-interactive') return undefined;
  const { mkdir, chmod } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { ownedLocations } = await import('../../service/locations.js');
  const dir = ownedLocations(ctx.env).logs;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    return join(dir, `wizard-${port}.log`);
  } catch {
    return undefined;
  }
}

async function verifyRunning(ctx: WizardContext, m: ServedModel, d: Deployment): Promise<Outcome> {
  const r = await ctx.prompter.task(`Sending a 1-token completion to ${d.host}:${d.port}`, (h) =>
    waitForChat(apiBase(d), m.upstream, {
      timeoutMs: Math.min(ctx.timeoutSec, 120) * 1000,
      intervalMs: 2000,
      signal: h.signal,
      onWait: (w) => h.status(`${w.message} (${Math.round(w.elapsedMs / 1000)} s)`),
    }),
  );
  throwIfCancelled(ctx.signal);
  return r.ok ? { ok: true, latencyMs: r.latencyMs, how: 'reused' } : { ok: false, cause: explainFailure(r, [], Math.min(ctx.timeoutSec, 120)) };
}

function isCached(ctx: WizardContext, model: string): boolean {
  return ctx.survey?.catalogue.cached.some((c) => c.repoId === model && c.cached?.status === 'complete') ?? false;
}

/** What the download before a start comes to: the Hub's download size, else the weights' estimate. */
function downloadWords(ctx: WizardContext, model: string): string {
  const c = ctx.survey?.catalogue;
  const e = [...(c?.curated.picks ?? []), ...(c?.hub ?? []), ...(c?.cached ?? [])].find((x) => x.repoId === model);
  if (e?.downloadBytes) return `downloads ${formatGB(e.downloadBytes)} first`;
  if (e?.estimate.weightsBytes) return `downloads about ${formatGB(e.estimate.weightsBytes)} first`;
  return 'downloads the model first';
}

/** The start choice's hint: cached only when the model is in the Hugging Face cache. */
export function startHint(ctx: WizardContext, model: string): string {
  if (isLocalPath(model)) return 'a local folder: nothing to download';
  if (isCached(ctx, model)) return 'cached';
  // The stand-in fetches nothing; a real start would download it.
  if (ctx.serverKind === 'stand-in') return `not cached: a real start ${downloadWords(ctx, model)} (the stand-in downloads nothing)`;
  return `not cached: ${downloadWords(ctx, model)}`;
}

async function startServer(ctx: WizardContext, m: ServedModel, d: Deployment): Promise<Outcome> {
  const key = `${d.host}:${d.port}`;
  if (ctx.serverKind === 'mlx' && !which('mlx_lm.server', ctx.hostEnv)) {
    return { ok: false, missing: 'mlx-lm', cause: 'mlx_lm is not installed (mlx_lm.server is not on PATH). Install it: uv tool install mlx-lm   (or: pipx install mlx-lm), or `aider-mlx install mlx-lm`' };
  }
  if (ctx.serverKind === 'mlx' && !isLocalPath(m.model) && !isCached(ctx, m.model)) {
    try {
      await ctx.prompter.task(`Downloading ${m.model}`, async (h) => {
        await ctx.deps.pull({
          repoId: m.model,
          env: ctx.hostEnv,
          signal: h.signal,
          onProgress: (p) => {
            if (p.phase === 'downloading') {
              h.progress({ done: p.bytes, total: p.total, label: p.file ?? m.model });
              h.status(`${formatGB(p.bytes)} of ${formatGB(p.total)}${p.fileCount ? ` · file ${p.fileIndex ?? 0}/${p.fileCount}` : ''}`);
            } else h.status(p.phase === 'resolving' ? 'asking the Hub for the file list…' : `${p.phase}…`);
          },
        });
        h.progress(undefined);
      });
    } catch (e) {
      throwIfCancelled(ctx.signal);
      if ((e as Error).name === 'GoBack') throw e;
      return { ok: false, cause: `the download failed: ${(e as Error).message}` };
    }
  }
  let server: LaunchedServer | undefined;
  let ready = false;
  try {
    const label = ctx.serverKind === 'stand-in' ? 'the stand-in mlx_lm.server' : 'mlx_lm.server';
    // Its output goes to a log file, not a pipe to us: "Start Aider now?" can hand it to the background serve.
    const logFile = await serverLogFile(ctx, d.port);
    const r = await ctx.prompter.task(`Starting ${label} for ${m.model} on ${key}`, async (h) => {
      server = ctx.deps.launch({
        ...(logFile ? { logFile } : {}),
        model: m.model,
        port: d.port,
        host: d.host,
        maxTokens: maxOutputTokens(m),
        promptCache: cacheBound(ctx, m),
        kind: ctx.serverKind,
        env: ctx.hostEnv,
        onLine: (l) => h.log(l),
      });
      // Registered before the wait: Ctrl-C during the load must stop it too.
      ctx.started.set(key, { model: m.model, host: d.host, port: d.port, server });
      return server.ready({
        timeoutMs: ctx.timeoutSec * 1000,
        signal: h.signal,
        onWait: (w) => h.status(`${w.waitingFor === 'listen' ? 'starting' : 'loading the model'} (${Math.round(w.elapsedMs / 1000)} s)`),
      });
    });
    throwIfCancelled(ctx.signal);
    if (r.ok) {
      ready = true;
      return { ok: true, latencyMs: r.latencyMs, how: 'started' };
    }
    return { ok: false, cause: explainFailure(r, server?.log ?? [], ctx.timeoutSec) };
  } finally {
    if (!ready && server) {
      await server.stop();
      ctx.started.delete(key);
    }
  }
}

/** One model's server: reuse, start, or skip; on failure: retry, change the model or port, or skip. */
async function ensureServer(ctx: WizardContext, m: ServedModel, d: Deployment): Promise<Check> {
  const key = `${d.host}:${d.port}`;
  const role = m.roles[0]!;
  const pick = pickFor(ctx, role);
  const id = `server.${m.roles.join('+')}.${d.port}`;
  const title = `${m.roles.join(' + ')}: ${m.model} on ${key}`;
  let installed = false; // installed, or a serve of ours stopped: start straight away
  for (let attempt = 0; ; attempt++) {
    let outcome: Outcome;
    const mine = ctx.started.get(key);
    if (mine && mine.model === m.model) {
      outcome = { ok: true, how: 'started' };
    } else {
      const who = await ctx.prompter.task(`Looking at ${key}`, (h) => identifyServer(d.host, d.port, { timeoutMs: 5000, signal: h.signal }));
      throwIfCancelled(ctx.signal);
      // Which model it serves is its command line's --model: its /v1/models lists its whole cache.
      // On another Mac there is no command line to read: there its listing is all there is.
      const served = who.kind === 'mlx_lm.server' && !pick?.running ? await servedModelAt(d.host, d.port, who.models) : undefined;
      const remote = !isLoopback(d.host) && d.host !== '0.0.0.0';
      const serves = served?.model !== undefined ? sameModel(served.model, m.model, ctx.hostEnv.HOME) : remote && (who.models?.includes(m.model) ?? false);
      if (who.kind === 'mlx_lm.server' && (pick?.running || serves)) {
        outcome = await verifyRunning(ctx, m, d);
      } else if (who.kind !== 'none') {
        const what =
          who.kind === 'mlx_lm.server'
            ? served?.model
              ? `an mlx_lm.server serving ${served.model}`
              : 'an mlx_lm.server whose model could not be read (its command line is not ours to see)'
            : who.kind === 'litellm'
              ? 'a LiteLLM proxy'
              : (who.looksLike ?? 'a program that is not mlx_lm.server');
        const serve = who.kind === 'mlx_lm.server' ? await serveHolding(ctx, d.port) : undefined;
        outcome = { ok: false, cause: `${key} is held by ${what}${serve ? `, which aider-mlx serve (pid ${serve.pid}) runs` : ''}`, ...(serve ? { serve } : {}) };
      } else if (pick?.running) {
        outcome = { ok: false, cause: `nothing answers on ${key} any more` };
      } else if (d.group) {
        // A group is started by serve (every rank, on every host), not by the wizard.
        ctx.prompter.note('info', `${title}: split over ${d.group.hosts.length} ranks; \`aider-mlx serve\` starts the group (each host was checked above)`);
        return { id, title, status: 'warn', observed: 'a group: not started by setup, not verified', expected: `mlx_lm.server serving ${m.model} over ${d.group.hosts.length} ranks`, fix: 'Start it with `npx aider-mlx serve` (or `launch`).' };
      } else {
        const choice =
          (installed ? 'start' : undefined) ??
          ctx.fixed.servers[m.model] ??
          (ctx.accepted ? ctx.answers.servers[m.model] : undefined) ??
          (await ctx.prompter.select<'start' | 'skip'>({
            id: `server.${role}`,
            message: `Nothing runs on ${key} yet. Start ${ctx.serverKind === 'stand-in' ? 'a stand-in mlx_lm.server' : 'mlx_lm.server'} for ${m.model}?`,
            help: [`$ ${startCommandFor(ctx, m.model, d, maxOutputTokens(m), cacheBound(ctx, m))}`],
            choices: [
              { value: 'start', label: 'Start it now and check it answers', hint: startHint(ctx, m.model) },
              { value: 'skip', label: 'Skip: I will start it myself later', hint: 'the setup is written unverified' },
            ],
            default: ctx.answers.servers[m.model] === 'skip' ? 'skip' : 'start',
          }));
        ctx.answers.servers[m.model] = choice;
        if (choice === 'skip') {
          return { id, title, status: 'warn', observed: 'not started, not verified', expected: `mlx_lm.server serving ${m.model}`, fix: `Start it: ${startCommandFor(ctx, m.model, d, maxOutputTokens(m), cacheBound(ctx, m))}` };
        }
        outcome = await startServer(ctx, m, d);
      }
    }
    if (outcome.ok) {
      ctx.prompter.note('success', `${title}: ${outcome.how === 'reused' ? 'already running, answered' : 'running, answered'} a 1-token completion${outcome.latencyMs !== undefined ? ` (${Math.round(outcome.latencyMs)} ms)` : ''}`);
      return { id, title: `${title} answered a 1-token completion as "${m.upstream}"`, status: 'pass', ...(outcome.latencyMs !== undefined ? { latencyMs: outcome.latencyMs } : {}) };
    }
    ctx.prompter.note('error', `${title}: ${outcome.cause}`);
    const offer = outcome.missing ? await installChoice(ctx, outcome.missing, 'install' as const) : undefined;
    const ours = outcome.serve;
    const next = await ctx.prompter.select<'install' | 'restart' | 'retry' | 'model' | 'port' | 'skip'>({
      id: `server.${role}.failed`,
      message: 'What now?',
      choices: [
        ...(offer ? [offer.choice] : []),
        ...(ours
          ? [{ value: 'restart' as const, label: `Restart it with the new model`, hint: `stops aider-mlx serve (pid ${ours.pid}), starts ${m.model}, checks it answers`, description: 'Once the files are written, aider-mlx serve runs again in the background with the new setup.' }]
          : []),
        { value: 'retry', label: 'Try again' },
        { value: 'model', label: `Choose another ${role} model` },
        { value: 'port', label: 'Use another port' },
        { value: 'skip', label: 'Skip: write the setup anyway and start the server later' },
      ],
      // Without a terminal (or with --yes) one retry, then skip: never loop, never install unasked
      // (nor by Enter where MLX cannot run: the install stays a choice there).
      default:
        ctx.prompter.face !== 'non-interactive' && offer && installByDefault(ctx, [outcome.missing!])
          ? 'install'
          : ctx.prompter.face !== 'non-interactive' && ours
            ? 'restart'
            : attempt === 0
              ? 'retry'
              : 'skip',
    });
    if (next === 'restart' && ours) {
      await stopServe(ctx, ours, d);
      installed = true;
      continue;
    }
    if (next === 'install' && offer) {
      // Installed: start the server straight away (not installed: the menu again, with the reason).
      installed = (await installNow(ctx, offer.installer, outcome.missing!)) !== undefined;
      continue;
    }
    installed = false;
    // From the proposal to the single questions: the model or the port is asked now.
    if (next === 'model' || next === 'port') ctx.accepted = false;
    if (next === 'model') throw new GoTo(`model.${role}`);
    if (next === 'port') throw new GoTo('ports');
    if (next === 'skip') return { id, title, status: 'fail', observed: outcome.cause, expected: `mlx_lm.server serving ${m.model}`, fix: `Start it: ${startCommandFor(ctx, m.model, d, maxOutputTokens(m), cacheBound(ctx, m))}` };
  }
}

/** Stop what this run started and the plan no longer uses (after Esc and a change). */
async function stopUnused(ctx: WizardContext, plan: Plan): Promise<void> {
  const wanted = new Set(servedModels(plan).flatMap((m) => m.deployments.map((d) => `${d.host}:${d.port}=${m.model}`)));
  for (const [key, s] of [...ctx.started]) {
    if (!wanted.has(`${key}=${s.model}`)) {
      await s.server.stop();
      ctx.started.delete(key);
    }
  }
}

export const servers: Step = {
  id: 'servers',
  title: 'Servers',
  async run(ctx) {
    const { plan } = await draftPlan(ctx);
    await stopUnused(ctx, plan);
    ctx.checks = ctx.checks.filter((c) => !c.id.startsWith('server.'));
    for (const m of servedModels(plan)) {
      for (const d of m.deployments) ctx.checks.push(await ensureServer(ctx, m, d));
    }
  },
};
