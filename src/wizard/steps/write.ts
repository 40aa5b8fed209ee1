import { applyWrites } from '../../lib/fs.js';
import { configPaths, tildify } from '../../lib/paths.js';
import type { Step } from '../step.js';
import { throwIfCancelled } from '../context.js';

export const write: Step = {
  id: 'write',
  title: 'Write',
  async run(ctx) {
    const planned = ctx.planned ?? [];
    if (ctx.dryRun) {
      ctx.prompter.note('info', 'Dry run: nothing was written.');
      return;
    }
    throwIfCancelled(ctx.signal);
    if (planned.some((p) => p.changed)) {
      // All or nothing, with one backup set; from here on Esc no longer goes back.
      const applied = await applyWrites(planned, { backupRoot: configPaths(ctx.env).backups, dirMode: 0o700, signal: ctx.signal });
      ctx.written = applied.written;
      if (applied.backupDir) ctx.backupDir = applied.backupDir;
    }
    ctx.wrote = true;
    for (const p of planned) {
      ctx.prompter.note(p.changed ? 'success' : 'dim', `${p.changed ? (p.existed ? 'updated  ' : 'created  ') : 'unchanged'} ${tildify(p.path, ctx.hostEnv)}`);
    }
    if (ctx.backupDir) ctx.prompter.note('dim', `backup of the replaced files: ${tildify(ctx.backupDir, ctx.hostEnv)}`);
  },
};
