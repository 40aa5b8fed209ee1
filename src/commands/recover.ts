/**
 * Before a command that reads or writes aider-mlx's files: a set of writes that a killed run left
 * half-done (its journal is still there) is finished or put back, and the user is told which.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { configPaths, tildify, type Env } from '../lib/paths.js';

export const RECOVERING_COMMANDS = new Set(['setup', 'reconfigure', 'doctor', 'restore', 'uninstall', 'serve', 'launch', '--demo', '--plain']);

export async function recoverBeforeCommand(env: Env = process.env, out: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<void> {
  const paths = configPaths(env);
  // The cheap case (no journal folder) costs one stat and loads nothing.
  if (!existsSync(join(paths.dir, 'journal'))) return;
  const { recoverPendingWrites } = await import('../lib/fs.js');
  const recovered = await recoverPendingWrites(paths.backups);
  for (const r of recovered) {
    const files = r.files.map((f) => tildify(f, env)).join(', ');
    if (r.outcome === 'forward') out(`! An earlier aider-mlx run was stopped while writing its files; finished writing them: ${files}.`);
    else if (r.outcome === 'back') out(`! An earlier aider-mlx run was stopped while writing its files; put the previous ones back: ${files}.`);
    else
      out(
        `✗ An earlier aider-mlx run was stopped while writing ${files}, and they cannot be put in order (${r.problems.join('; ')}).\n` +
          `  → Check those files (\`aider-mlx restore --list\` shows the backups), then remove ${tildify(r.journal, env)}.`,
      );
  }
}
