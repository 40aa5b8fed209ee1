import { selfCommand } from '../lib/paths.js';
/**
 * `aider-mlx reconfigure`: change one role, model or port of the current setup and rewrite only
 * what changed. On a terminal it opens the wizard on the current plan (with each hop's live
 * status); with --yes (or no terminal) the flags given change the plan and nothing is asked.
 */
import { UsageError } from '../errors.js';
import type { LaunchAfter } from '../wizard/context.js';
import { chooseFace, runAiderAfter, runInteractive, runNonInteractive, splitOwnFlags } from './setup.js';

export async function runReconfigureCommand(args: string[]): Promise<number> {
  const { own, rest } = splitOwnFlags(args);
  if (own.demo || own.answers) throw new UsageError('reconfigure takes neither --demo nor --answers.', 'Use `aider-mlx setup --demo` or `aider-mlx setup --answers FILE`.');
  const given = new Set(rest.map((a) => (a === '-y' ? 'yes' : a.replace(/^--/, '').split('=')[0])));
  const face = chooseFace({ yes: given.has('yes'), json: given.has('json'), answers: false, plain: own.plain });
  if (face === 'non-interactive') {
    const [{ readPlan }, { planToArgs }, { configPaths, tildify }] = await Promise.all([
      import('../config/plan-file.js'),
      import('../wizard/answers.js'),
      import('../lib/paths.js'),
    ]);
    const plan = await readPlan(process.env);
    if (!plan) throw new UsageError(`There is no setup to change yet (no ${tildify(configPaths().plan)}).`, `Run \`${selfCommand()} setup\` first.`);
    if (!given.has('yes')) {
      throw new UsageError('There is no terminal to ask what to change.', 'Pass the new values as flags with --yes, e.g. `aider-mlx reconfigure --editor-port 8090 --yes`.');
    }
    // The plan as flags, then the flags typed: they win. A project's files stay where they are.
    // Each model keeps its own context from the plan (one --context for all would give every
    // role the largest); a --context typed still sets them all.
    const base = planToArgs(plan);
    const at = base.indexOf('--context');
    if (at >= 0) base.splice(at, 2);
    const keepContexts = new Map<string, number>();
    for (const r of Object.values(plan.roles)) if (r) keepContexts.set(r.model, r.context);
    return runNonInteractive({
      baseArgs: base,
      rest,
      cwd: plan.aider.scope === 'project' ? plan.aider.dir : process.cwd(),
      command: 'reconfigure',
      keepContexts,
    });
  }
  let launch: LaunchAfter | undefined;
  const code = await runInteractive(face, {
    title: 'aider-mlx reconfigure',
    demo: false,
    run: async (prompter, signal) => {
      const { runReconfigureWizard } = await import('../wizard/reconfigure.js');
      const r = await runReconfigureWizard({ prompter, args: rest, signal });
      launch = r.launch;
      return r.code;
    },
  });
  return launch ? runAiderAfter(launch) : code;
}
