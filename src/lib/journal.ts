/**
 * The write journal: before a set of writes touches anything, it is recorded in one small file in
 * aider-mlx's config folder (which temp file goes where, which backup holds each original, the
 * sha256 of old and new bytes). It is removed once every rename is done. A run killed part-way
 * (kill -9, a closed terminal, a double Ctrl-C) leaves the journal behind, and the next command
 * that writes files, or the doctor, finishes the set or puts it back: never a mixed set.
 *
 * The rule: if no target has moved yet, the set is rolled back (temps and the unused backup set
 * removed: as if the run never started). If some have, it is rolled forward when every temp that
 * is still needed is present and whole, and back otherwise.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const JOURNAL_VERSION = 1;

export interface JournalEntry {
  /** The path as asked for (what the user sees). */
  path: string;
  /** Where the bytes land. */
  target: string;
  /** The temp beside the target holding the new bytes; null when the op deletes the target. */
  temp: string | null;
  /** sha256 of the new bytes (null: the target is deleted). */
  newSha: string | null;
  /** sha256 of the bytes before the run (null: there was no file). */
  oldSha: string | null;
  /** Name of the original's copy in the backup set (null: there was no file). */
  backup: string | null;
  mode: number | null;
  oldMode: number | null;
  /** The target becomes a symbolic link with this text (absent in older journals). */
  link?: string | null;
  /** The target was a symbolic link with this text: going back makes the link again. */
  oldLink?: string | null;
}

export interface Journal {
  version: typeof JOURNAL_VERSION;
  pid: number;
  createdAt: string;
  /** The backup set this run makes (complete before the first rename). */
  backupDir: string | null;
  entries: JournalEntry[];
}

export interface Recovery {
  journal: string;
  outcome: 'forward' | 'back' | 'stuck';
  /** Paths as the user knows them. */
  files: string[];
  /** For 'stuck': what could not be put in order, and why. */
  problems: string[];
}

/** Temp files carry this prefix, so Aider's `.aider*` ignore pattern covers them. */
export const TEMP_PREFIX = '.aider-mlx-tmp.';

/** `.aider-mlx-tmp.<name>.<pid>-<hex>` beside the target. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `${TEMP_PREFIX}${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Temps left by an older build: `.<name>.aider-mlx-<pid>-<hex>.tmp`. */
const OLD_TEMP = /^\..+\.aider-mlx-(\d+)-[0-9a-f]+\.tmp$/;
const NEW_TEMP = /^\.aider-mlx-tmp\..+\.(\d+)-[0-9a-f]+$/;

export function journalDirFor(backupRoot: string): string {
  return join(dirname(backupRoot), 'journal');
}

export async function writeJournal(dir: string, journal: Journal): Promise<string> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${process.pid}-${randomBytes(4).toString('hex')}.json`);
  const temp = `${file}.part`;
  const fh = await fsp.open(temp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  try {
    await fh.writeFile(JSON.stringify(journal, null, 2) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(temp, file);
  await syncDir(dir);
  return file;
}

export async function removeJournal(file: string): Promise<void> {
  await fsp.rm(file, { force: true });
  await syncDir(dirname(file));
}

/** Is a process with this pid alive (and so possibly still writing its set)? */
export function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Finish or undo every set left by a run that is no longer alive. Journals of live runs (two
 * setups at once) are left alone.
 */
export async function recoverJournals(dir: string): Promise<Recovery[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const out: Recovery[] = [];
  for (const name of names.sort()) {
    const file = join(dir, name);
    if (name.endsWith('.json.part')) {
      // A journal never finished: nothing was staged under it.
      const pid = Number(name.split('-')[0]);
      if (!alive(pid)) await fsp.rm(file, { force: true });
      continue;
    }
    if (!name.endsWith('.json')) continue;
    let journal: Journal;
    try {
      journal = JSON.parse(await fsp.readFile(file, 'utf8')) as Journal;
    } catch {
      out.push({ journal: file, outcome: 'stuck', files: [], problems: [`${file} cannot be read as a journal`] });
      continue;
    }
    if (journal.version !== JOURNAL_VERSION || !Array.isArray(journal.entries)) {
      out.push({ journal: file, outcome: 'stuck', files: [], problems: [`${file} is not a journal of this version`] });
      continue;
    }
    if (alive(journal.pid)) continue;
    out.push(await recoverOne(file, journal));
  }
  return out;
}

type State = 'old' | 'new' | 'other';

async function recoverOne(file: string, journal: Journal): Promise<Recovery> {
  const states: State[] = [];
  for (const e of journal.entries) {
    const sha = await shaOf(e.target);
    states.push(sha === e.newSha ? 'new' : sha === e.oldSha ? 'old' : 'other');
  }
  const files = journal.entries.map((e) => e.path);
  const problems: string[] = [];
  journal.entries.forEach((e, i) => {
    if (states[i] === 'other') problems.push(`${e.path} was changed by something else since`);
  });

  const anyMoved = journal.entries.some((e, i) => states[i] === 'new' && e.newSha !== e.oldSha);
  let canForward = anyMoved;
  if (canForward) {
    for (const [i, e] of journal.entries.entries()) {
      if (states[i] !== 'old') continue;
      if (e.temp === null) continue; // a deletion needs no temp
      if ((await shaOf(e.temp)) !== e.newSha) canForward = false;
    }
  }
  let canBack = true;
  for (const [i, e] of journal.entries.entries()) {
    if (states[i] !== 'new' || e.oldSha === null || e.oldLink) continue;
    const copy = journal.backupDir && e.backup ? join(journal.backupDir, e.backup) : null;
    if (!copy || (await shaOf(copy)) !== e.oldSha) canBack = false;
  }

  if (problems.length > 0 || (!canForward && !canBack)) {
    if (!canForward && !canBack) problems.push('neither the new files nor the backups are whole');
    return { journal: file, outcome: 'stuck', files, problems };
  }

  const outcome: 'forward' | 'back' = canForward ? 'forward' : 'back';
  for (const [i, e] of journal.entries.entries()) {
    if (outcome === 'forward' && states[i] === 'old') {
      if (e.temp === null) await fsp.rm(e.target, { force: true });
      else {
        if (e.mode !== null) await fsp.chmod(e.temp, e.mode);
        await fsp.rename(e.temp, e.target);
      }
    }
    if (outcome === 'back' && states[i] === 'new' && e.newSha !== e.oldSha) {
      if (e.oldSha === null) await fsp.rm(e.target, { force: true });
      else if (e.oldLink) await placeLink(e.target, e.oldLink);
      else {
        const bytes = await fsp.readFile(join(journal.backupDir!, e.backup!));
        const temp = tempPathFor(e.target);
        const fh = await fsp.open(temp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, e.oldMode ?? 0o600);
        try {
          if (e.oldMode !== null) await fh.chmod(e.oldMode);
          await fh.writeFile(bytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await fsp.rename(temp, e.target);
      }
    }
  }
  for (const e of journal.entries) if (e.temp) await fsp.rm(e.temp, { force: true });
  await Promise.all([...new Set(journal.entries.map((e) => dirname(e.target)))].map(syncDir));
  // Rolled back before anything moved: the backup set is of a run that changed nothing.
  if (outcome === 'back' && journal.backupDir && !anyMoved) {
    await fsp.rm(journal.backupDir, { recursive: true, force: true });
  }
  if (journal.backupDir) await fsp.rm(`${journal.backupDir}.partial`, { recursive: true, force: true });
  await removeJournal(file);
  return { journal: file, outcome: anyMoved ? outcome : 'back', files, problems: [] };
}

/** Remove temp files of dead runs (this build's names and an older build's) in these folders. */
export async function sweepTemps(dirs: Iterable<string>): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of new Set(dirs)) {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = NEW_TEMP.exec(name) ?? OLD_TEMP.exec(name);
      if (!m || alive(Number(m[1]))) continue;
      await fsp.rm(join(dir, name), { force: true });
      removed.push(join(dir, name));
    }
  }
  return removed;
}

/** A symbolic link's state in a journal or manifest: its text, never what it points at. */
export function linkState(text: string): string {
  return `link:${text}`;
}

/** The state of what is at `path`, a link not followed (see linkState). */
async function shaOf(path: string): Promise<string | null> {
  try {
    if ((await fsp.lstat(path)).isSymbolicLink()) return linkState(await fsp.readlink(path));
    return createHash('sha256').update(await fsp.readFile(path)).digest('hex');
  } catch {
    return null;
  }
}

/** Make `path` a symbolic link with this text, in one rename over whatever is there. */
export async function placeLink(path: string, text: string): Promise<void> {
  const temp = tempPathFor(path);
  await fsp.symlink(text, temp);
  try {
    await fsp.rename(temp, path);
  } catch (err) {
    await fsp.rm(temp, { force: true });
    throw err;
  }
}

/** fsync a folder so a rename in it is durable (a no-op where a platform cannot). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await fsp.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not every platform can sync a directory.
  }
}
