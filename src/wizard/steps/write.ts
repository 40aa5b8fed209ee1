import { applyWrites } from '../../lib/fs.js';
import { configPaths } from '../../lib/paths.js';
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
    // The files themselves are listed once, in the summary's Files (with the backup's folder).
    const changed = planned.filter((p) => p.changed).length;
    const same = planned.length - changed;
    const files = (n: number) => `${n} file${n === 1 ? '' : 's'}`;
    ctx.prompter.note(
      changed ? 'success' : 'dim',
      `${changed ? `Wrote ${files(changed)}` : 'Nothing to write'}${same ? `, ${files(same)} unchanged` : ''}${ctx.backupDir ? ', with a backup of the replaced ones' : ''}: listed under Files below.`,
    );
  },
};
