/** `aider-mlx reconfigure` on a terminal: the wizard, opened on the current plan. */
import { UsageError, type ExitCode } from '../errors.js';
import { readPlan } from '../config/plan-file.js';
import { configPaths, tildify, type Env, selfCommand } from '../lib/paths.js';
import { parseSetupFlags } from '../setup/flags.js';
import { createContext, type LaunchAfter, type WizardDeps } from './context.js';
import type { Prompter } from './prompter.js';
import { defaultDeps, runWizard } from './run.js';
import { reconfigureSteps } from './steps/index.js';

export async function runReconfigureWizard(o: {
  prompter: Prompter;
  args: string[];
  signal: AbortSignal;
  env?: Env;
  cwd?: string;
  deps?: Partial<WizardDeps>;
}): Promise<{ code: ExitCode; launch?: LaunchAfter }> {
  const env = o.env ?? process.env;
  const input = parseSetupFlags(o.args);
  const plan = await readPlan(env);
  if (!plan) {
    throw new UsageError(`There is no setup to change yet (no ${tildify(configPaths(env).plan, env)}).`, `Run \`${selfCommand()} setup\` first.`);
  }
  const ctx = createContext({
    prompter: o.prompter,
    deps: { ...defaultDeps(), ...o.deps },
    env,
    hostEnv: env,
    // A project's files stay in that project, wherever reconfigure runs from.
    cwd: plan.aider.scope === 'project' ? plan.aider.dir : (o.cwd ?? process.cwd()),
    signal: o.signal,
    serverKind: 'mlx',
    reconfigure: true,
    dryRun: input.dryRun,
    timeoutSec: input.timeoutSec,
    requestTimeoutSec: plan.requestTimeout,
  });
  ctx.planAhead = plan;
  const r = await runWizard(ctx, reconfigureSteps());
  return { code: r.code, ...(r.launch ? { launch: r.launch } : {}) };
}
