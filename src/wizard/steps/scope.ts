import type { Scope } from '../../config/plan.js';
import { composeWrites, describeConflict } from '../../config/write.js';
import { tildify } from '../../lib/paths.js';
import type { Choice } from '../prompter.js';
import { inSequence, type Step } from '../step.js';
import type { WizardContext } from '../context.js';
import { draftPlan } from '../draft.js';
import { pointsElsewhere } from '../../setup/proposal.js';

async function chooseScope(ctx: WizardContext): Promise<Scope> {
  const s = ctx.survey;
  const show = (p: string) => tildify(p, ctx.hostEnv);
  const globalElsewhere = pointsElsewhere(s?.aiderConf.global);
  const projectElsewhere = pointsElsewhere(s?.aiderConf.project);
  const choices: Choice<Scope>[] = [
    { value: 'project', label: 'This project', hint: show(s?.aiderConf.projectDir ?? ctx.cwd), description: s?.aiderConf.projectInGit === false ? 'Not inside a git repository: Aider reads .aider.conf.yml from this folder, so Aider started here uses the local models.' : 'Aider reads .aider.conf.yml from the git root: only this repository uses the local models.' },
    { value: 'global', label: 'Every repository (global)', hint: globalElsewhere ? `~/.aider.conf.yml sets ${globalElsewhere}` : '~/.aider.conf.yml', description: 'Your home folder: every repository uses the local models.' },
    { value: 'profile', label: 'An isolated profile', hint: 'run it as `aider-mlx aider`', description: 'Nothing of yours changes: `aider-mlx aider` runs Aider with this setup, plain `aider` keeps yours.' },
  ];
  const help: string[] = [];
  if (globalElsewhere) help.push(`Your global Aider config already points elsewhere (${globalElsewhere}): a project or the profile leaves it as it is.`);
  if (projectElsewhere) help.push(`This project's .aider.conf.yml already points elsewhere (${projectElsewhere}): the profile leaves it as it is.`);
  return ctx.prompter.select<Scope>({
    id: 'scope',
    flag: '--scope project|global|profile',
    message: 'Where should Aider pick this up?',
    help,
    choices,
    default: ctx.answers.scope ?? (projectElsewhere ? 'profile' : 'project'),
  });
}

export const scope: Step = {
  id: 'scope',
  title: 'Scope',
  async run(ctx) {
    await inSequence(ctx, [
      async () => {
        if (ctx.fixed.scope || ctx.accepted) return;
        ctx.answers.scope = await chooseScope(ctx);
        delete ctx.answers.replace;
      },
      async () => {
        for (;;) {
          const { plan, notes } = await draftPlan(ctx);
          const composed = await composeWrites(plan, ctx.env, ctx.survey?.prevPlan, { cwd: ctx.cwd });
          const c = composed.conflicts[0];
          if (c && !(ctx.fixed.replace ?? ctx.answers.replace)) {
            const d = describeConflict(c, ctx.hostEnv);
            const v = await ctx.prompter.select<'profile' | 'replace'>({
              id: 'conflict',
              flag: '--force (replace) or --scope profile',
              message: `${d.file} already sets ${d.sets}`,
              help: [`This setup would replace it with ${d.with}.`],
              choices: [
                ...(plan.aider.scope !== 'profile' && !ctx.fixed.scope ? [{ value: 'profile' as const, label: 'Keep it: use an isolated profile instead', hint: '`aider-mlx aider`' }] : []),
                { value: 'replace', label: 'Replace it', hint: 'a backup is kept' },
              ],
              // Never replace a user's value without a yes: no default when only `replace` is left.
              default: ctx.fixed.scope ? undefined : 'profile',
            });
            if (v === 'profile') ctx.answers.scope = 'profile';
            else ctx.answers.replace = true;
            continue;
          }
          for (const n of notes) ctx.prompter.note('dim', n);
          ctx.plan = plan;
          ctx.composed = composed;
          return;
        }
      },
    ]);
  },
};
