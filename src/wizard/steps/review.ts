import { CancelledError } from '../../errors.js';
import { linkReplacedNote, planWrites } from '../../lib/fs.js';
import { tildify } from '../../lib/paths.js';
import { redact } from '../../config/secrets.js';
import { describeConflict } from '../../config/write.js';
import type { ReviewFile } from '../prompter.js';
import type { Step } from '../step.js';

export const review: Step = {
  id: 'review',
  title: 'Review',
  async run(ctx) {
    const planned = await planWrites(ctx.composed!.changes, {
      label: (p) => tildify(p, ctx.hostEnv),
      force: Boolean(ctx.fixed.replace ?? ctx.answers.replace),
    });
    ctx.planned = planned;
    const files: ReviewFile[] = planned.map((p) => ({
      path: p.path,
      label: tildify(p.path, ctx.hostEnv),
      status: !p.changed ? 'unchanged' : p.existed ? 'update' : 'create',
      diff: redact(p.diff, [ctx.composed!.proxyKey]),
    }));
    if (!files.some((f) => f.status !== 'unchanged')) {
      ctx.prompter.note('info', 'Nothing to change: the files already hold this setup.');
      return;
    }
    // The user's own values this setup replaces (they said so at the conflict question): said again here.
    const help = ctx.composed!.conflicts.map((c) => {
      const d = describeConflict(c, ctx.hostEnv);
      return `Replaces your ${d.sets} in ${d.file} with ${d.with} (your file is kept in the backup).`;
    });
    // A link the write replaces with a file: said, since its diff reads as an edit of the link's target.
    for (const p of planned) {
      const note = p.changed ? linkReplacedNote(p, (x) => tildify(x, ctx.hostEnv)) : undefined;
      if (note) help.push(note);
    }
    const ok = await ctx.prompter.review({
      id: 'review',
      message: ctx.dryRun ? 'Dry run: these are the changes (nothing will be written)' : 'Write these files?',
      ...(help.length ? { help } : {}),
      files,
    });
    if (!ok) throw new CancelledError();
  },
};
