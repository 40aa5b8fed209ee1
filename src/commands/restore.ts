/**
 * `aider-mlx restore [SET] [--list] [--yes] [--json]`: put back the files of one backup set (the
 * ones `setup` keeps before it replaces anything), in one step, after backing up what is there
 * now, so a restore can itself be undone.
 */
import { readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parseFlags } from '../lib/args.js';
import { EXIT, UsageError } from '../errors.js';
import { readManifest, restoreBackupSet, sha256, type BackupManifest, type RestoreResult } from '../lib/fs.js';
import { asRun, configPaths, tildify, type Env } from '../lib/paths.js';
import { isInteractive, terminalAsker, type Asker } from '../tools/ask.js';

export interface BackupFileState {
  path: string;
  /** The file existed when the set was made (false: restoring removes it). */
  existed: boolean;
  /** How the file on disk now compares with the set. */
  now: 'same' | 'differs' | 'missing';
}

export interface BackupSetInfo {
  name: string;
  dir: string;
  createdAt: string;
  files: BackupFileState[];
}

/** Every backup set under `root`, newest first; folders without a valid manifest are skipped. */
export async function listBackupSets(root: string): Promise<BackupSetInfo[]> {
  let names: string[];
  try {
    names = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const sets: BackupSetInfo[] = [];
  for (const name of names) {
    const dir = join(root, name);
    let manifest: BackupManifest;
    try {
      manifest = await readManifest(dir);
    } catch {
      continue;
    }
    const files: BackupFileState[] = [];
    for (const f of manifest.files) {
      if (f.link) {
        // A symbolic link the set puts back (its target is not the set's to compare).
        const now = await readlink(f.path).catch(() => undefined);
        files.push({ path: f.path, existed: true, now: now === f.link ? 'same' : 'differs' });
        continue;
      }
      const current = await readFile(f.path).catch(() => undefined);
      const now = current === undefined ? 'missing' : (f.existed && sha256(current) === f.sha256 ? 'same' : 'differs');
      files.push({ path: f.path, existed: f.existed, now });
    }
    sets.push({ name, dir, createdAt: manifest.createdAt, files });
  }
  // Stamps sort by time; createdAt breaks ties between `-2` sets of one millisecond.
  return sets.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.name.localeCompare(a.name));
}

function describeFile(f: BackupFileState, env: Env): string {
  const what = !f.existed
    ? f.now === 'missing' ? 'absent then and now' : 'did not exist then: restoring removes it'
    : f.now === 'same' ? 'same as now' : f.now === 'missing' ? 'missing now: restoring puts it back' : 'differs from now';
  return `${tildify(f.path, env)}  (${what})`;
}

export function formatBackupSets(sets: BackupSetInfo[], root: string, env: Env): string {
  if (sets.length === 0) return `No backup sets in ${tildify(root, env)}: setup has not replaced any file yet.\n`;
  const lines = [`Backup sets in ${tildify(root, env)}, newest first:`];
  sets.forEach((s, i) => {
    lines.push(`  ${i + 1}. ${s.name}   (${s.createdAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')})`);
    for (const f of s.files) lines.push(`       ${describeFile(f, env)}`);
  });
  return lines.join('\n') + '\n';
}

/** A set named by its folder name, its number in the list (1 = newest), or a path. */
export function pickBackupSet(sets: BackupSetInfo[], which: string): BackupSetInfo | undefined {
  if (/^\d{1,4}$/.test(which)) return sets[Number(which) - 1];
  return sets.find((s) => s.name === which || s.dir === which || s.dir === which.replace(/\/+$/, ''));
}

export interface RestoreIo {
  env: Env;
  out: (s: string) => void;
  err: (s: string) => void;
  interactive: boolean;
  asker?: Asker;
}

export async function runRestore(args: string[], io: RestoreIo): Promise<number> {
  const parsed = parseFlags(
    args,
    { list: { type: 'boolean' }, yes: { type: 'boolean', short: 'y' }, json: { type: 'boolean' } },
    { command: 'restore', usage: 'Usage: aider-mlx restore [SET] [--list] [--yes] [--json]', allowPositionals: true },
  );
  const values = parsed.values as { list?: boolean; yes?: boolean; json?: boolean };
  const { positionals } = parsed;
  if (positionals.length > 1) throw new UsageError('restore takes at most one backup set.', 'Usage: aider-mlx restore [SET] [--list] [--yes]');
  const { env } = io;
  const root = configPaths(env).backups;
  const sets = await listBackupSets(root);

  if (values.list) {
    io.out(values.json ? JSON.stringify({ root, sets }, null, 2) + '\n' : formatBackupSets(sets, root, env));
    return EXIT.ok;
  }
  if (sets.length === 0) {
    throw new UsageError(`There is nothing to restore: no backup sets in ${tildify(root, env)}.`, 'setup keeps one each time it replaces a file.');
  }

  let chosen: BackupSetInfo | undefined;
  if (positionals[0] !== undefined) {
    chosen = pickBackupSet(sets, positionals[0]);
    if (!chosen) throw new UsageError(`No backup set "${positionals[0]}".`, 'See them with `aider-mlx restore --list`.');
  } else if (values.yes) {
    chosen = sets[0];
  } else if (io.interactive && io.asker) {
    const i = await io.asker.choose(
      'Which backup set should be put back?',
      sets.map((s) => `${s.name}: ${s.files.map((f) => tildify(f.path, env)).join(', ')}`),
      0,
    );
    chosen = sets[i];
  } else {
    throw new UsageError('restore needs to know which backup set to put back.', 'Pass --yes for the newest, or name one (see `aider-mlx restore --list`).');
  }
  const set = chosen!;

  if (!values.yes && positionals[0] === undefined) {
    io.err(`${set.name} will put back:\n${set.files.map((f) => `  ${describeFile(f, env)}`).join('\n')}\n`);
    if (!(await io.asker!.confirm('Restore these files? (what is there now is backed up first)'))) {
      io.err('Nothing was changed.\n');
      return EXIT.cancelled;
    }
  }

  const result: RestoreResult = await restoreBackupSet(set.dir, { backupRoot: root });
  if (values.json) {
    io.out(JSON.stringify({ set: set.name, ...result }, null, 2) + '\n');
    return EXIT.ok;
  }
  const lines: string[] = [];
  if (result.restored.length === 0 && result.removed.length === 0) {
    lines.push(`Every file already matches ${set.name}: nothing to do.`);
  } else {
    lines.push(`Restored ${set.name}:`);
    for (const p of result.restored) lines.push(`  ✓ put back ${tildify(p, env)}`);
    for (const p of result.removed) lines.push(`  ✓ removed ${tildify(p, env)} (it did not exist then)`);
    if (result.backupDir) {
      const name = result.backupDir.slice(root.length + 1);
      lines.push(`What was there before is in ${tildify(result.backupDir, env)}: \`aider-mlx restore ${name}\` undoes this.`);
    }
  }
  io.out(lines.join('\n') + '\n');
  return EXIT.ok;
}

export async function runRestoreCommand(args: string[]): Promise<number> {
  const interactive = isInteractive();
  return runRestore(args, {
    env: process.env,
    // What a person reads names this copy's command (asRun); --json stays as it is.
    out: (s) => void process.stdout.write(args.includes('--json') ? s : asRun(s)),
    err: (s) => void process.stderr.write(asRun(s)),
    interactive,
    ...(interactive ? { asker: terminalAsker() } : {}),
  });
}
