/**
 * Safe writes for several files at once: one backup set per run, every new content staged in a
 * temp file beside its target, then renamed into place; a failure midway puts the old files back.
 * The set is journalled before anything moves (journal.ts), so a run killed part-way is finished
 * or put back by the next one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { AppError, CancelledError, UsageError } from '../errors.js';
import { unifiedDiff } from './diff.js';
import {
  type Journal,
  type JournalEntry,
  type Recovery,
  alive,
  journalDirFor,
  recoverJournals,
  linkState,
  placeLink,
  removeJournal,
  sweepTemps,
  syncDir as fsyncDir,
  tempPathFor,
  writeJournal,
} from './journal.js';
import type { BackupManifest } from './manifest-schema.js';
import { tildify } from './paths.js';

export interface FileChange {
  path: string;
  content: string | Uint8Array;
  /** Final permission bits (0o600 for files that hold a key); default: keep the old file's. */
  mode?: number;
  /**
   * A symlink at `path` may be written through only to a target inside this folder (e.g. the
   * project): a link shipped in a cloned repository must not make us edit files elsewhere.
   * Unset: links are followed wherever they go (the user's own dotfiles).
   */
  linkScope?: string;
  /** Remove the file instead (`content` is ignored); it goes into the backup set like a replaced one. */
  delete?: boolean;
  /**
   * Make `path` a symbolic link with this text instead of a file (`content` is ignored): a link
   * an earlier --force replaced, put back. Its target is not touched.
   */
  link?: string;
}

export interface PlannedWrite {
  /** Absolute path as asked for. */
  path: string;
  /** Where the bytes land: `path` with symlinks resolved, so a dotfiles link stays a link. */
  target: string;
  content: string | Uint8Array;
  mode?: number;
  /** The file is removed, not written. */
  delete?: boolean;
  existed: boolean;
  oldContent?: string;
  oldMode?: number;
  /** Content or mode differs from what is on disk. */
  changed: boolean;
  /** Unified diff of the content ('' when only the mode changes, or nothing). */
  diff: string;
  /** sha256 of the bytes on disk when planned, null when absent; rechecked before writing. */
  oldSha256: string | null;
  /** Set when `path` is a symbolic link that this write replaces with a file (its target stays as it is). */
  replacesLinkTo?: string;
  /** `path` becomes a symbolic link with this text (see FileChange.link). */
  link?: string;
}

/**
 * The folders a write would need to create a file in (the nearest one that exists, for a target
 * whose folder is not made yet) that this user cannot write: a dry run says so, and a real run stops
 * before it makes a backup or a journal. `access` stands in for fs.access in tests (root may write
 * anywhere, so a real read-only folder cannot be made there).
 */
export async function unwritableFolders(planned: readonly PlannedWrite[], access: (path: string, mode: number) => Promise<void> = fsp.access): Promise<string[]> {
  const out: string[] = [];
  for (const p of planned) {
    if (!p.changed) continue;
    let dir = dirname(p.target);
    // The nearest folder that exists: the one a mkdir -p (and then the rename) needs to write in.
    for (;;) {
      try {
        await fsp.stat(dir);
        break;
      } catch {
        const up = dirname(dir);
        if (up === dir) break;
        dir = up;
      }
    }
    if (out.includes(dir)) continue;
    try {
      await access(dir, fsc.W_OK | fsc.X_OK);
    } catch {
      out.push(dir);
    }
  }
  return out;
}

/** The error for folders unwritableFolders found: which, and the command that shows why. */
export function unwritableError(dirs: readonly string[], label: (p: string) => string = tildify): UsageError {
  const shown = dirs.map(label);
  return new UsageError(
    `${shown.join(', ')} ${dirs.length === 1 ? 'is' : 'are'} not writable by you (permission denied), so the files there cannot be written. Nothing was written.`,
    `Check it with \`ls -ld ${shown.join(' ')}\`, make it writable (or choose another --scope), and run again.`,
  );
}

export interface PlanOptions {
  label?: (path: string) => string;
  /**
   * What --force allows: replace a symlink that points outside its `linkScope` with a file, and
   * replace a read-only file. Without it, both are refused with the reason.
   */
  force?: boolean;
}

export type RenameFn = (from: string, to: string) => Promise<void>;

export interface ApplyOptions {
  backupRoot: string;
  now?: Date;
  /** Mode for parent folders this creates (e.g. 0o700 for our own config folder). */
  dirMode?: number;
  signal?: AbortSignal;
  /** For tests: the rename that moves temps into place. */
  rename?: RenameFn;
  /** Where the journal goes; default: `journal/` beside `backupRoot`. */
  journalDir?: string;
  /** For tests: fs.access (root may write anywhere). */
  access?: (path: string, mode: number) => Promise<void>;
}

export interface ApplyResult {
  written: string[];
  backupDir?: string;
  /** Sets of earlier, killed runs that this run finished or put back first. */
  recovered?: Recovery[];
}

export const MANIFEST = 'manifest.json';

// The manifest's zod schema loads only when a manifest is read: importing this module does not load zod.
export type { BackupManifest } from './manifest-schema.js';

/** Read what is on disk and work out which files really change, with a diff for each. */
export async function planWrites(changes: readonly FileChange[], opts: PlanOptions = {}): Promise<PlannedWrite[]> {
  const label = opts.label ?? tildify;
  const out: PlannedWrite[] = [];
  for (const change of changes) {
    const path = resolve(change.path);
    if (change.link !== undefined) {
      const now = await onDisk(path);
      out.push({
        path,
        target: path,
        content: '',
        link: change.link,
        existed: now.sha !== null,
        changed: now.sha !== linkSha(change.link),
        diff: '',
        oldSha256: now.sha,
      });
      continue;
    }
    let target = await resolveTarget(path);
    let replacesLinkTo: string | undefined;
    if (target !== path && change.linkScope !== undefined && (await isLink(path))) {
      const scope = await resolveTarget(resolve(change.linkScope));
      if (!inside(target, scope)) {
        if (!opts.force) {
          throw new UsageError(
            `${tildify(path)} is a symbolic link to ${tildify(target)}, outside ${tildify(resolve(change.linkScope))}: aider-mlx will not write through it.`,
            `Remove the link, or run again with --force to replace the link with a file of its own (${tildify(target)} is left as it is). Nothing was written.`,
          );
        }
        replacesLinkTo = target;
        target = path;
      }
    }
    if (target === path && !change.delete && (await isLink(path))) {
      // A link to nothing (a dotfiles checkout moved or not made yet): the rename would put a file
      // where the link was, and the user's link would be gone.
      const to = resolve(dirname(path), await fsp.readlink(path));
      if (!opts.force) {
        throw new UsageError(
          `${tildify(path)} is a symbolic link to ${tildify(to)}, which does not exist: aider-mlx will not replace your link with a file.`,
          `Create ${tildify(to)} (or point the link at your file), or remove the link; or run again with --force to replace the link with a file of its own. Nothing was written.`,
        );
      }
      replacesLinkTo = to;
    }
    const old = await readIfExists(target);
    const bytes = change.delete ? Buffer.alloc(0) : toBuffer(change.content);
    const oldMode = old ? (await fsp.stat(target)).mode & 0o777 : undefined;
    const contentWillChange = !old || !old.equals(bytes);
    if (old && contentWillChange && oldMode !== undefined && (oldMode & 0o200) === 0 && !opts.force) {
      throw new UsageError(
        `${tildify(path)} is read-only (mode ${oldMode.toString(8).padStart(4, '0')}): aider-mlx will not replace it without being told.`,
        `Make it writable (chmod u+w ${tildify(path)}) or run again with --force (a backup is kept). Nothing was written.`,
      );
    }
    const oldContent = old?.toString('utf8');
    const contentChanged = change.delete ? old !== undefined : !old || !old.equals(bytes);
    const modeChanged = !change.delete && old !== undefined && change.mode !== undefined && oldMode !== change.mode;
    out.push({
      path,
      target,
      content: change.delete ? '' : change.content,
      ...(change.mode !== undefined ? { mode: change.mode } : {}),
      ...(change.delete ? { delete: true } : {}),
      existed: old !== undefined,
      ...(old ? { oldContent, oldMode } : {}),
      changed: contentChanged || modeChanged,
      diff: contentChanged ? unifiedDiff(oldContent, bytes.toString('utf8'), label(path)) : '',
      // The link itself is what is replaced: the set is checked (and backed up) as that link.
      oldSha256: replacesLinkTo ? (await onDisk(path)).sha : old ? sha256(old) : null,
      ...(replacesLinkTo ? { replacesLinkTo } : {}),
    });
  }
  return out;
}

/**
 * What the review says of a write that replaces a symbolic link with a file (the diff alone reads
 * as an ordinary edit of the file the link points at).
 */
export function linkReplacedNote(p: Pick<PlannedWrite, 'path' | 'replacesLinkTo'>, label: (path: string) => string = tildify): string | undefined {
  if (!p.replacesLinkTo) return undefined;
  const to = label(p.replacesLinkTo);
  return `${label(p.path)} is a symbolic link to ${to}: writing replaces the link with a file of its own (--force). ${to} is left as it is; \`aider-mlx restore\` or \`aider-mlx uninstall\` puts the link back.`;
}

async function isLink(path: string): Promise<boolean> {
  try {
    return (await fsp.lstat(path)).isSymbolicLink();
  } catch {
    return false;
  }
}

function inside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Write (or remove) every changed file of a plan, all or nothing. Existing files about to be replaced are
 * first copied into one backup set `backupRoot/<timestamp>/` with a manifest.
 */
export async function applyWrites(planned: readonly PlannedWrite[], opts: ApplyOptions): Promise<ApplyResult> {
  // A folder this user cannot write: said before a backup set or a journal is made for nothing.
  const blocked = await unwritableFolders(planned, opts.access);
  if (blocked.length) throw unwritableError(blocked);
  const ops: Op[] = planned
    .filter((p) => p.changed)
    .map((p) => ({
      path: p.path,
      target: p.target,
      bytes: p.delete || p.link !== undefined ? null : toBuffer(p.content),
      ...(p.link !== undefined ? { link: p.link } : {}),
      mode: p.link !== undefined ? undefined : (p.mode ?? p.oldMode),
      expectSha: p.oldSha256,
    }));
  return commit(ops, opts);
}

/** Write one file atomically (temp beside it, fsync, rename); no backup. */
export async function atomicWriteFile(path: string, content: string | Uint8Array, mode?: number): Promise<void> {
  const target = await resolveTarget(resolve(path));
  const temp = await writeTemp(target, toBuffer(content), mode);
  try {
    await fsp.rename(temp, target);
  } catch (err) {
    await fsp.rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(target));
}

export interface RestoreResult {
  restored: string[];
  removed: string[];
  /** The backup set of the state just replaced, so a restore can itself be undone. */
  backupDir?: string;
}

/**
 * Put every file of a backup set back byte for byte (and remove the ones that did not exist),
 * all or nothing. The current state is backed up first, next to the set being restored.
 */
export async function restoreBackupSet(
  dir: string,
  opts: { backupRoot?: string; now?: Date; rename?: RenameFn } = {},
): Promise<RestoreResult> {
  const manifest = await readManifest(dir);
  const ops: Op[] = [];
  const restored: string[] = [];
  const removed: string[] = [];
  for (const file of manifest.files) {
    if (file.link) {
      // It was a link (replaced by --force): the link comes back, its target is not touched.
      const now = await onDisk(file.path);
      if (now.sha === linkSha(file.link)) continue;
      ops.push({ path: file.path, target: file.path, bytes: null, link: file.link, expectSha: now.sha });
      restored.push(file.path);
      continue;
    }
    // A file that was no link then is put back at its path, never through a link made since.
    const target = file.target === file.path ? file.path : await resolveTarget(file.path);
    const state = await onDisk(target);
    const current = state.bytes;
    if (!file.existed) {
      if (state.sha === null) continue;
      ops.push({ path: file.path, target, bytes: null, expectSha: state.sha });
      removed.push(file.path);
      continue;
    }
    const bytes = await fsp.readFile(join(dir, file.backup!));
    if (sha256(bytes) !== file.sha256) {
      throw new AppError(
        `The backup of ${tildify(file.path)} in ${tildify(dir)} is damaged (its sha256 does not match the manifest).`,
        'Nothing was restored. Pick another backup set, or restore that file by hand.',
      );
    }
    const mode = file.mode ?? undefined;
    const currentMode = state.mode;
    if (!state.link && current?.equals(bytes) && (mode === undefined || mode === currentMode)) continue;
    ops.push({ path: file.path, target, bytes, mode: mode ?? currentMode, expectSha: state.sha });
    restored.push(file.path);
  }
  const result = await commit(ops, { backupRoot: opts.backupRoot ?? dirname(resolve(dir)), now: opts.now, rename: opts.rename });

  for (const file of manifest.files) {
    const at = file.link || file.target === file.path ? file.path : await resolveTarget(file.path);
    const sha = (await onDisk(at)).sha;
    if (sha !== (file.link ? linkSha(file.link) : file.existed ? file.sha256 : null)) {
      throw new AppError(`${tildify(file.path)} does not match its backup after restoring.`, `The backup set is in ${tildify(dir)}.`);
    }
  }
  return { restored, removed, ...(result.backupDir ? { backupDir: result.backupDir } : {}) };
}

export async function readManifest(dir: string): Promise<BackupManifest> {
  const file = join(dir, MANIFEST);
  let raw: string;
  try {
    raw = await fsp.readFile(file, 'utf8');
  } catch {
    throw new AppError(`${tildify(dir)} is not a backup set (no ${MANIFEST}).`, 'Pick a folder under the backups folder.');
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    data = undefined;
  }
  const { manifestSchema } = await import('./manifest-schema.js');
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success) throw new AppError(`${tildify(file)} is not a valid backup manifest.`, 'Nothing was restored.');
  return parsed.data;
}

/** `2026-11-25T13-05-00-123Z`: sorts by time and is a valid file name everywhere. */
export function backupStamp(now: Date): string {
  return now.toISOString().replace(/[:.]/g, '-');
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---------------------------------------------------------------------------------------------

interface Op {
  path: string;
  target: string;
  /** null: delete the file (unless `link` is set). */
  bytes: Buffer | null;
  /** Make the target a symbolic link with this text. */
  link?: string;
  mode?: number | undefined;
  /** sha256 the target must still have (null: must not exist). */
  expectSha: string | null;
}

interface Original {
  /** The file's bytes (for a link: its target's, when there is one). */
  bytes?: Buffer;
  mode?: number;
  /** The target was a symbolic link with this text (the link is what is backed up and put back). */
  link?: string;
}

async function commit(ops: Op[], opts: ApplyOptions): Promise<ApplyResult> {
  if (ops.length === 0) return { written: [] };
  throwIfCancelled(opts.signal);

  // A set an earlier run left half-done is put in order before this one reads anything.
  const journalDir = opts.journalDir ?? journalDirFor(opts.backupRoot);
  const recovered = await recoverJournals(journalDir);
  const stuck = recovered.find((r) => r.outcome === 'stuck');
  if (stuck) throw stuckError(stuck);
  await sweepTemps(ops.map((op) => dirname(op.target)));
  await sweepPartialBackups(opts.backupRoot);
  const withRecovered = <T extends ApplyResult>(r: T): T => (recovered.length ? { ...r, recovered } : r);

  // Re-read now: the plan may be minutes old (a wizard waits for answers).
  const originals = new Map<Op, Original>();
  for (const op of ops) {
    const now = await onDisk(op.target);
    if (now.sha !== op.expectSha) {
      throw new AppError(`${tildify(op.path)} changed while aider-mlx was running.`, 'Run again; nothing was written.');
    }
    if (now.sha !== null) {
      originals.set(op, { ...(now.bytes ? { bytes: now.bytes } : {}), ...(now.mode !== undefined ? { mode: now.mode } : {}), ...(now.link !== undefined ? { link: now.link } : {}) });
    }
  }

  // The journal goes down before anything else: the backup set's name, each temp, old and new sha.
  const reserved = originals.size > 0 ? await reserveBackupSet(opts) : undefined;
  const temps = new Map<Op, string>(ops.filter((op) => op.bytes || op.link !== undefined).map((op) => [op, tempPathFor(op.target)]));
  const backupNames = new Map<Op, string>();
  let i = 0;
  for (const op of ops) if (originals.get(op)?.bytes) backupNames.set(op, `${++i}-${basename(op.path)}`);
  const entries: JournalEntry[] = ops.map((op) => ({
    path: op.path,
    target: op.target,
    temp: temps.get(op) ?? null,
    newSha: op.bytes ? sha256(op.bytes) : op.link !== undefined ? linkSha(op.link) : null,
    oldSha: op.expectSha,
    backup: backupNames.get(op) ?? null,
    mode: op.mode ?? null,
    oldMode: originals.get(op)?.mode ?? null,
    link: op.link ?? null,
    oldLink: originals.get(op)?.link ?? null,
  }));
  const journal: Journal = {
    version: 1,
    pid: process.pid,
    createdAt: (opts.now ?? new Date()).toISOString(),
    backupDir: reserved?.dir ?? null,
    entries,
  };
  let journalFile: string;
  try {
    journalFile = await writeJournal(journalDir, journal);
  } catch (err) {
    if (reserved) await fsp.rm(reserved.partial, { recursive: true, force: true });
    throw err;
  }

  const createdDirs: string[] = [];
  let backupDir: string | undefined;
  const undoStaging = async () => {
    await Promise.all([...temps.values()].map((t) => fsp.rm(t, { force: true })));
    // Folders made for this run hold nothing of anyone else's.
    for (const dir of createdDirs.reverse()) await fsp.rm(dir, { recursive: true, force: true });
    if (reserved) await fsp.rm(reserved.partial, { recursive: true, force: true });
    if (backupDir) await fsp.rm(backupDir, { recursive: true, force: true });
    await removeJournal(journalFile);
  };
  try {
    if (reserved) backupDir = await fillBackupSet(reserved, ops, originals, backupNames, opts);
    for (const op of ops) {
      if (!op.bytes && op.link === undefined) continue;
      const made = await fsp.mkdir(dirname(op.target), {
        recursive: true,
        ...(opts.dirMode !== undefined ? { mode: opts.dirMode } : {}),
      });
      if (made) createdDirs.push(made);
      if (op.bytes) await writeTempAt(temps.get(op)!, op.bytes, op.mode);
      else await fsp.symlink(op.link!, temps.get(op)!);
    }
    throwIfCancelled(opts.signal);
  } catch (err) {
    await undoStaging();
    throw err;
  }

  const rename = opts.rename ?? fsp.rename;
  const done: Op[] = [];
  // The renames take milliseconds: a second Ctrl-C (or a SIGTERM, a closed terminal) waits for them
  // instead of killing the process between two of them. The first one has already been heard.
  const hold = () => {};
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const sig of signals) process.on(sig, hold);
  try {
    for (const op of ops) {
      const temp = temps.get(op);
      if (temp) {
        await rename(temp, op.target);
        temps.delete(op);
      } else {
        await fsp.unlink(op.target);
      }
      done.push(op);
    }
  } catch (err) {
    const failed = await rollBack(done, originals);
    await Promise.all([...temps.values()].map((t) => fsp.rm(t, { force: true })));
    const target = ops[done.length]?.path ?? '';
    const reason = (err as Error).message;
    if (failed.length === 0) {
      for (const dir of createdDirs.reverse()) await fsp.rm(dir, { recursive: true, force: true });
      if (backupDir) await fsp.rm(backupDir, { recursive: true, force: true });
      await removeJournal(journalFile);
      throw new AppError(`Could not write ${tildify(target)}: ${reason}`, 'Nothing was changed; check that folder is writable, then run again.');
    }
    // The journal stays: the next run puts these back from the backup set.
    throw new AppError(
      `Could not write ${tildify(target)} (${reason}), and could not put back ${failed.map((p) => tildify(p)).join(', ')}.`,
      backupDir
        ? `The original files are in ${tildify(backupDir)}; the next aider-mlx command puts them back, or run \`aider-mlx restore\`.`
        : 'Those files are new; remove them by hand.',
    );
  } finally {
    for (const sig of signals) process.off(sig, hold);
  }
  await Promise.all([...new Set(ops.map((op) => dirname(op.target)))].map(fsyncDir));
  await removeJournal(journalFile);
  return withRecovered({ written: ops.map((op) => op.path), ...(backupDir ? { backupDir } : {}) });
}

function stuckError(r: Recovery): AppError {
  return new AppError(
    `An earlier aider-mlx run was stopped while writing ${r.files.map((f) => tildify(f)).join(', ')}, and its set cannot be put in order: ${r.problems.join('; ')}.`,
    `Check those files (the backups are under ~/.config/aider-mlx/backups; \`aider-mlx restore\` lists them), then remove ${tildify(r.journal)}. Nothing was written.`,
  );
}

/** Finish or undo the sets of killed runs (for commands that say so before they start). */
export async function recoverPendingWrites(backupRoot: string): Promise<Recovery[]> {
  const recovered = await recoverJournals(journalDirFor(backupRoot));
  await sweepPartialBackups(backupRoot);
  return recovered;
}

/** Undo the renames already done: originals back, new files removed. Returns what failed. */
async function rollBack(done: Op[], originals: Map<Op, Original>): Promise<string[]> {
  const failed: string[] = [];
  for (const op of [...done].reverse()) {
    const original = originals.get(op);
    try {
      // At the target itself, never through what is there now (a link this run made points at the user's file).
      if (original?.link !== undefined) await placeLink(op.target, original.link);
      else if (original?.bytes) await placeBytes(op.target, original.bytes, original.mode);
      else await fsp.rm(op.target, { force: true });
    } catch {
      failed.push(op.path);
    }
  }
  return failed;
}

interface ReservedSet {
  dir: string;
  /** The set is filled here and renamed to `dir` once its manifest is written. */
  partial: string;
}

const PARTIAL = '.partial-';

/** Pick the set's name (two runs in the same millisecond must not share one) and make its folder. */
async function reserveBackupSet(opts: ApplyOptions): Promise<ReservedSet> {
  await fsp.mkdir(opts.backupRoot, { recursive: true, mode: 0o700 });
  const stamp = backupStamp(opts.now ?? new Date());
  for (let n = 1; ; n++) {
    const dir = join(opts.backupRoot, n === 1 ? stamp : `${stamp}-${n}`);
    if (await exists(dir)) continue;
    const partial = `${dir}${PARTIAL}${process.pid}`;
    try {
      await fsp.mkdir(partial, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    return { dir, partial };
  }
}

async function fillBackupSet(
  set: ReservedSet,
  ops: Op[],
  originals: Map<Op, Original>,
  names: Map<Op, string>,
  opts: ApplyOptions,
): Promise<string> {
  const files: BackupManifest['files'] = [];
  for (const op of ops) {
    const original = originals.get(op);
    if (!original) {
      files.push({ path: op.path, existed: false, sha256: null, backup: null, mode: null, target: op.target });
      continue;
    }
    if (original.link !== undefined) {
      // The link is recorded (restore and uninstall put it back); its target's bytes are kept beside it.
      const name = names.get(op);
      if (name && original.bytes) await writeDurable(join(set.partial, name), original.bytes, 0o600);
      files.push({
        path: op.path,
        existed: true,
        sha256: original.bytes ? sha256(original.bytes) : null,
        backup: name && original.bytes ? name : null,
        mode: null,
        link: original.link,
      });
      continue;
    }
    if (!original.bytes) continue;
    const name = names.get(op)!;
    // Backups may hold keys: never more open than 0600.
    await writeDurable(join(set.partial, name), original.bytes, 0o600);
    files.push({ path: op.path, existed: true, sha256: sha256(original.bytes), backup: name, mode: original.mode ?? null, target: op.target });
  }
  const manifest: BackupManifest = { version: 1, createdAt: (opts.now ?? new Date()).toISOString(), files };
  await writeDurable(join(set.partial, MANIFEST), Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), 0o600);
  await fsyncDir(set.partial);
  // A set appears whole or not at all: a kill while it is written leaves only a `.partial-<pid>`.
  await fsp.rename(set.partial, set.dir);
  await fsyncDir(dirname(set.dir));
  return set.dir;
}

/** Remove half-made backup sets of runs that are gone. */
async function sweepPartialBackups(backupRoot: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(backupRoot);
  } catch {
    return;
  }
  for (const name of names) {
    const at = name.lastIndexOf(PARTIAL);
    if (at < 0) continue;
    const pid = Number(name.slice(at + PARTIAL.length));
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) await fsp.rm(join(backupRoot, name), { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function writeTempAt(temp: string, bytes: Buffer, mode?: number): Promise<void> {
  try {
    await writeDurable(temp, bytes, mode);
  } catch (err) {
    await fsp.rm(temp, { force: true });
    throw err;
  }
}

/** A temp beside the target (named so Aider's `.aider*` ignore pattern covers it), synced. */
async function writeTemp(target: string, bytes: Buffer, mode?: number): Promise<string> {
  const temp = tempPathFor(target);
  await writeTempAt(temp, bytes, mode);
  return temp;
}

async function writeDurable(path: string, bytes: Buffer, mode?: number): Promise<void> {
  // A new file without an explicit mode is 0644 at most: a umask of 000 must not make it world-writable.
  const fh = await fsp.open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, mode ?? 0o644);
  try {
    // The umask can only narrow a mode; chmod makes an explicit one exact.
    if (mode !== undefined) await fh.chmod(mode);
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}


/** A symbolic link's state, as the journal and the manifest name it (a sha of its text would hide what it was). */
export const linkSha = (text: string): string => linkState(text);

/** What is at `path` (not followed when it is a link): its state (sha256, `link:<text>`, or null) and bytes. */
export async function onDisk(path: string): Promise<{ sha: string | null; bytes?: Buffer; mode?: number; link?: string }> {
  let st;
  try {
    st = await fsp.lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { sha: null };
    throw err;
  }
  if (st.isSymbolicLink()) {
    const link = await fsp.readlink(path);
    const bytes = await fsp.readFile(path).catch(() => undefined);
    return { sha: linkSha(link), link, ...(bytes ? { bytes } : {}) };
  }
  const bytes = await readIfExists(path);
  if (!bytes) return { sha: null };
  return { sha: sha256(bytes), bytes, mode: st.mode & 0o777 };
}

/** Put `bytes` at `target` itself (a temp beside it, renamed over whatever is there, a link included). */
async function placeBytes(target: string, bytes: Buffer, mode?: number): Promise<void> {
  const temp = await writeTemp(target, bytes, mode);
  try {
    await fsp.rename(temp, target);
  } catch (err) {
    await fsp.rm(temp, { force: true });
    throw err;
  }
}

async function resolveTarget(path: string): Promise<string> {
  try {
    return await fsp.realpath(path);
  } catch {
    return path;
  }
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await fsp.readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') {
      throw new AppError(`${tildify(path)} is a folder, not a file.`, 'Move it away, then run again; nothing was written.');
    }
    throw err;
  }
}

function toBuffer(content: string | Uint8Array): Buffer {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
}

function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}
