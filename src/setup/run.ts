import { CancelledError, EXIT, UsageError, type ExitCode } from '../errors.js';
import { applyWrites, linkReplacedNote, planWrites, unwritableError, unwritableFolders, type PlannedWrite } from '../lib/fs.js';
import type { Check } from '../lib/check.js';
import { configPaths, tildify, type Env, selfCommand } from '../lib/paths.js';
import { readPlan } from '../config/plan-file.js';
import type { Plan } from '../config/plan.js';
import { composeWrites, describeConflict } from '../config/write.js';
import { servedModels } from '../config/names.js';
import { AIDER_FILES, keyInEnvFile } from '../config/render-context.js';
import { redact } from '../config/secrets.js';
import { which } from '../lib/exec.js';
import { toolEnv } from '../serve/units.js';
import { buildPlan } from './build-plan.js';
import { checkHosts, hostCheckLines, splitFitReport, sshHosts } from './split.js';
import { buildCatalogue, type Catalogue } from '../hub/catalogue.js';
import { overBudgetNote } from './context-fit.js';
import type { SetupInput } from './flags.js';
import { describeTakenProxyPort, privilegedPortProblem, proxyPortState, remoteChecks, verifyProxy, verifyServers, type VerifyCaps } from './verify.js';
import { bindHost, isLoopback, promptCacheFlags, tunnelCommand, tunnelPort } from '../serve/remote.js';
import { promptCacheFor } from '../hub/prompt-cache.js';
import { serverCommandLine } from '../servers/launch.js';

export interface SetupCaps {
  env: Env;
  cwd: string;
  signal?: AbortSignal;
  progress?: (line: string) => void;
  maxContextOf?: (model: string) => Promise<number | undefined>;
  /** See VerifyCaps.servedModel. */
  servedModel?: VerifyCaps['servedModel'];
  defaultContextOf?: (model: string) => Promise<number> | number;
  /** This machine's catalogue (memory, budget, model sizes): the split fit is sized with it. */
  catalogue?: Catalogue;
  /** Lines for the user as they come (stdout), e.g. the split fit before anything is written. */
  say?: (line: string) => void;
  /** fs.access, for tests (root may write anywhere). */
  access?: (path: string, mode: number) => Promise<void>;
}

export interface SetupResult {
  code: ExitCode;
  plan: Plan;
  notes: string[];
  checks: Check[];
  files: Array<{ path: string; changed: boolean; existed: boolean; diff: string; /** The path is a symbolic link this write replaces with a file: what to say. */ linkNote?: string }>;
  written: string[];
  backupDir?: string;
  dryRun: boolean;
  next: string[];
  /** --split-hosts: the split fit as shown (the wizard's split step shows the same lines). */
  split?: string[];
}

/** The commands to run after setup: servers, proxy, aider. */
export function nextSteps(plan: Plan, env: Env): string[] {
  const steps: string[] = [];
  for (const m of servedModels(plan)) {
    for (const d of m.deployments) {
      if (isLoopback(d.host)) {
        // The very command serve runs for it (one builder for both).
        steps.push(`${serverCommandLine(m, d, env)}   # ${m.roles.join(' + ')}, if not running`);
      } else {
        // Never `--host <address>`: mlx_lm.server has no authentication. A tunnel instead.
        steps.push(`${tunnelCommand(d, tunnelPort(d))}   # ${m.roles.join(' + ')}: a tunnel to ${d.host}, where mlx_lm.server --model ${m.model} --port ${d.port}${promptCacheFlags(promptCacheFor(m, env))} runs on its 127.0.0.1; then setup --host 127.0.0.1 --${m.roles[0]}-port ${tunnelPort(d)}`);
      }
    }
  }
  if (plan.mode === 'proxy') {
    steps.push(`litellm --config ${tildify(configPaths(env).litellm, env)} --host 127.0.0.1 --port ${plan.proxy.port}`);
  }
  if (plan.aider.scope === 'profile') steps.push(`${selfCommand()} aider`);
  else if (plan.aider.scope === 'global') steps.push('aider   # in any repository');
  else steps.push(`cd ${tildify(plan.aider.dir, env)} && aider`);
  return steps;
}

/** The packages the plan needs that are not on PATH (nor in ~/.local/bin). */
export function missingToolsFor(plan: Plan, env: Env): string[] {
  const e = toolEnv(env);
  const local = servedModels(plan).some((m) => m.deployments.some((d) => isLoopback(d.host)));
  return [
    ...(local && !which('mlx_lm.server', e) ? ['mlx-lm'] : []),
    ...(plan.mode === 'proxy' && !which('litellm', e) ? ['litellm'] : []),
    ...(!which('aider', e) ? ['aider-chat'] : []),
  ];
}

/**
 * setup --yes: verify every mlx server → render → verify the proxy from the render → merge and
 * write (all or nothing, with one backup set). Nothing is prompted, nothing is left running.
 */
export async function runSetup(input: SetupInput, caps: SetupCaps): Promise<SetupResult> {
  const prev = await readPlan(caps.env);
  const { plan, notes } = await buildPlan(input, caps);
  // Over the memory budget: said (what, by how much, what instead), as the wizard says it; not refused.
  const overBudget = overBudgetNote(plan, caps.catalogue);
  if (overBudget) notes.push(overBudget);
  const missing = missingToolsFor(plan, caps.env);
  if (missing.length) notes.push(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed: install ${missing.length === 1 ? 'it' : 'them'} with \`${selfCommand()} install\`.`);
  const timeoutMs = input.timeoutSec * 1000;
  const splitChecks: Check[] = [];
  let splitLines: string[] | undefined;
  const vcaps = { env: caps.env, timeoutMs, signal: caps.signal, progress: caps.progress, cwd: caps.cwd, ...(caps.servedModel ? { servedModel: caps.servedModel } : {}) };

  // A group: every other host checked (ssh, the same mlx and mlx-lm, the model's files) before anything is written.
  if (input.split) {
    if (sshHosts(input.split).length) caps.progress?.(`Checking each host of the group over ssh (${sshHosts(input.split).join(', ')})…`);
    const hc = await checkHosts({ group: input.split, model: plan.roles.editor.model, env: toolEnv(caps.env), timeoutMs: Math.min(timeoutMs, 30_000) });
    splitChecks.push(...hc.checks);
    // What they found, before anything else can stop the run (a dry run included: they only read).
    for (const l of hostCheckLines(input.split, hc, { dryRun: input.dryRun })) caps.say?.(l);
    const catalogue = caps.catalogue ?? (await buildCatalogue({ env: caps.env, skipHub: true }).catch(() => undefined));
    if (catalogue) {
      const editor = plan.roles.editor;
      const report = await splitFitReport({ group: input.split, model: editor.model, context: editor.context, catalogue, memory: hc.memory, env: toolEnv(caps.env) });
      splitLines = report.lines;
      for (const l of report.lines) caps.say?.(l);
    }
  }

  const privileged = await privilegedPortProblem(plan);
  if (privileged) throw new UsageError(privileged.message, privileged.fix);

  caps.progress?.(`Checking ${servedModels(plan).length === 1 ? 'the mlx_lm.server' : 'each mlx_lm.server'} with a real 1-token completion (up to ${input.timeoutSec} s each)…`);
  const { checks, badInput } = await verifyServers(plan, vcaps);
  if (caps.signal?.aborted) throw new CancelledError();
  if (badInput.length) {
    const c = badInput[0]!;
    throw new UsageError(`${c.observed}.`, c.fix);
  }
  const serversOk = checks.every((c) => c.status !== 'fail');
  checks.unshift(...remoteChecks(plan), ...splitChecks);

  const composed = await composeWrites(plan, caps.env, prev, { cwd: caps.cwd });
  if (keyInEnvFile(plan)) {
    notes.push(`the proxy's key goes to ${tildify(configPaths(caps.env).aiderEnv, caps.env)} (mode 0600, outside the repository); ${AIDER_FILES.conf} reads it with env-file, so nothing in the project holds it`);
  }
  if (composed.conflicts.length && !input.force) {
    const c = describeConflict(composed.conflicts[0]!, caps.env);
    throw new UsageError(
      `${c.file} already sets ${c.sets}; setup would replace it with ${c.with}.`,
      `Keep your setup and use --scope profile (isolated, run with \`aider-mlx aider\`)${plan.aider.scope === 'global' ? ' or --scope project' : ''}, or pass --force to replace it (a backup is kept).`,
    );
  }

  // The proxy port must be free or hold a LiteLLM of this config: never write files that send
  // Aider's requests and key to whoever else listens there (checked with or without litellm).
  if (plan.mode === 'proxy') {
    const held = await proxyPortState(plan, composed.proxyKey, vcaps);
    if (caps.signal?.aborted) throw new CancelledError();
    if (held.state === 'taken') {
      const d = describeTakenProxyPort(plan, held);
      throw new UsageError(d.message, d.fix);
    }
  }

  if (serversOk && plan.mode === 'proxy') {
    caps.progress?.('Starting LiteLLM from the new config to send a completion through it…');
    checks.push(...(await verifyProxy(plan, composed.rendered.litellm, composed.proxyKey, vcaps)));
  } else if (plan.mode === 'proxy') {
    checks.push({ id: 'proxy', title: 'LiteLLM proxy: not verified (a model server failed first)', status: 'skip' });
  }
  if (caps.signal?.aborted) throw new CancelledError();

  const failed = checks.some((c) => c.status === 'fail');
  const planned: PlannedWrite[] = await planWrites(composed.changes, { force: input.force });
  const result: SetupResult = {
    code: failed ? EXIT.verify : EXIT.ok,
    plan,
    notes,
    checks,
    files: planned.map((p) => {
      const linkNote = p.changed ? linkReplacedNote(p, (x) => tildify(x, caps.env)) : undefined;
      return { path: p.path, changed: p.changed, existed: p.existed, diff: redact(p.diff, [composed.proxyKey]), ...(linkNote ? { linkNote } : {}) };
    }),
    written: [],
    dryRun: input.dryRun,
    next: nextSteps(plan, caps.env),
    ...(splitLines ? { split: splitLines } : {}),
  };
  // A folder that cannot be written: the dry run says so as the real run (applyWrites) would.
  if (input.dryRun) {
    const blocked = await unwritableFolders(planned, caps.access);
    if (blocked.length) throw unwritableError(blocked, (x) => tildify(x, caps.env));
  }
  if (input.dryRun || (failed && !input.force)) return result;
  const applied = await applyWrites(planned, { backupRoot: configPaths(caps.env).backups, dirMode: 0o700, signal: caps.signal, ...(caps.access ? { access: caps.access } : {}) });
  result.written = applied.written;
  if (applied.backupDir) result.backupDir = applied.backupDir;
  return result;
}
