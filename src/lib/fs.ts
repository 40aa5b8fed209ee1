/**
 * Safe writes for several files at once: one backup set per run, every new content staged in a
 * temp file beside its target, then renamed into place; a failure midway puts the old files back.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AppError, CancelledError } from '../errors.js';
import { unifiedDiff } from './diff.js';
import type { BackupManifest } from './manifest-schema.js';
import { tildify } from './paths.js';

export interface FileChange {
  path: string;
  content: string | Uint8Array;
  /** Final permission bits (0o600 for files that hold a key); default: keep the old file's. */
  mode?: number;
  /** Remove the file instead (`content` is ignored); it goes into the backup set like a replaced one. */
  delete?: boolean;
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
}

export interface ApplyResult {
  written: string[];
  backupDir?: string;
}

export const MANIFEST = 'manifest.json';

// The manifest's zod schema loads only when a manifest is read: importing this module does not load zod.
export type { BackupManifest } from './manifest-schema.js';

/** Read what is on disk and work out which files really change, with a diff for each. */
export async function planWrites(
  changes: readonly FileChange[],
  opts: { label?: (path: string) => string } = {},
): Promise<PlannedWrite[]> {
  const label = opts.label ?? tildify;
  const out: PlannedWrite[] = [];
  for (const change of changes) {
    const path = resolve(change.path);
    const target = await resolveTarget(path);
    const old = await readIfExists(target);
    const bytes = change.delete ? Buffer.alloc(0) : toBuffer(change.content);
    const oldMode = old ? (await fsp.stat(target)).mode & 0o777 : undefined;
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
      oldSha256: old ? sha256(old) : null,
    });
  }
  return out;
}

/**
 * Write (or remove) every changed file of a plan, all or nothing. Existing files about to be replaced are
 * first copied into one backup set `backupRoot/<timestamp>/` with a manifest.
 */
export async function applyWrites(planned: readonly PlannedWrite[], opts: ApplyOptions): Promise<ApplyResult> {
  const ops: Op[] = planned
    .filter((p) => p.changed)
    .map((p) => ({
      path: p.path,
      target: p.target,
      bytes: p.delete ? null : toBuffer(p.content),
      mode: p.mode ?? p.oldMode,
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
    const target = await resolveTarget(file.path);
    const current = await readIfExists(target);
    if (!file.existed) {
      if (current === undefined) continue;
      ops.push({ path: file.path, target, bytes: null, expectSha: sha256(current) });
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
    const currentMode = current ? (await fsp.stat(target)).mode & 0o777 : undefined;
    if (current?.equals(bytes) && (mode === undefined || mode === currentMode)) continue;
    ops.push({ path: file.path, target, bytes, mode: mode ?? currentMode, expectSha: current ? sha256(current) : null });
    restored.push(file.path);
  }
  const result = await commit(ops, { backupRoot: opts.backupRoot ?? dirname(resolve(dir)), now: opts.now, rename: opts.rename });

  for (const file of manifest.files) {
    const now = await readIfExists(await resolveTarget(file.path));
    const sha = now ? sha256(now) : null;
    if (sha !== (file.existed ? file.sha256 : null)) {
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
  /** null: delete the file. */
  bytes: Buffer | null;
  mode?: number | undefined;
  /** sha256 the target must still have (null: must not exist). */
  expectSha: string | null;
}

interface Original {
  bytes: Buffer;
  mode: number;
}

async function commit(ops: Op[], opts: ApplyOptions): Promise<ApplyResult> {
  if (ops.length === 0) return { written: [] };
  throwIfCancelled(opts.signal);

  // Re-read now: the plan may be minutes old (a wizard waits for answers).
  const originals = new Map<Op, Original>();
  for (const op of ops) {
    const bytes = await readIfExists(op.target);
    if ((bytes ? sha256(bytes) : null) !== op.expectSha) {
      throw new AppError(`${tildify(op.path)} changed while aider-mlx was running.`, 'Run again; nothing was written.');
    }
    if (bytes) originals.set(op, { bytes, mode: (await fsp.stat(op.target)).mode & 0o777 });
  }

  const backupDir = originals.size > 0 ? await writeBackupSet(ops, originals, opts) : undefined;
  const dropBackup = async () => {
    if (backupDir) await fsp.rm(backupDir, { recursive: true, force: true });
  };

  const temps = new Map<Op, string>();
  const createdDirs: string[] = [];
  const removeTemps = async (andDirs: boolean) => {
    await Promise.all([...temps.values()].map((t) => fsp.rm(t, { force: true })));
    // Folders made for this run hold nothing of anyone else's.
    if (andDirs) for (const dir of createdDirs.reverse()) await fsp.rm(dir, { recursive: true, force: true });
  };
  try {
    for (const op of ops) {
      if (!op.bytes) continue;
      const made = await fsp.mkdir(dirname(op.target), {
        recursive: true,
        ...(opts.dirMode !== undefined ? { mode: opts.dirMode } : {}),
      });
      if (made) createdDirs.push(made);
      temps.set(op, await writeTemp(op.target, op.bytes, op.mode));
    }
    throwIfCancelled(opts.signal);
  } catch (err) {
    await removeTemps(true);
    await dropBackup();
    throw err;
  }

  const rename = opts.rename ?? fsp.rename;
  const done: Op[] = [];
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
    await removeTemps(failed.length === 0);
    const target = ops[done.length]?.path ?? '';
    const reason = (err as Error).message;
    if (failed.length === 0) {
      await dropBackup();
      throw new AppError(`Could not write ${tildify(target)}: ${reason}`, 'Nothing was changed; check that folder is writable, then run again.');
    }
    throw new AppError(
      `Could not write ${tildify(target)} (${reason}), and could not put back ${failed.map((p) => tildify(p)).join(', ')}.`,
      backupDir
        ? `The original files are in ${tildify(backupDir)}; run \`aider-mlx restore\` or copy them back by hand.`
        : 'Those files are new; remove them by hand.',
    );
  }
  await Promise.all([...new Set(ops.map((op) => dirname(op.target)))].map(fsyncDir));
  return { written: ops.map((op) => op.path), ...(backupDir ? { backupDir } : {}) };
}

/** Undo the renames already done: originals back, new files removed. Returns what failed. */
async function rollBack(done: Op[], originals: Map<Op, Original>): Promise<string[]> {
  const failed: string[] = [];
  for (const op of [...done].reverse()) {
    const original = originals.get(op);
    try {
      if (original) await atomicWriteFile(op.target, original.bytes, original.mode);
      else await fsp.rm(op.target, { force: true });
    } catch {
      failed.push(op.path);
    }
  }
  return failed;
}

async function writeBackupSet(ops: Op[], originals: Map<Op, Original>, opts: ApplyOptions): Promise<string> {
  await fsp.mkdir(opts.backupRoot, { recursive: true, mode: 0o700 });
  const stamp = backupStamp(opts.now ?? new Date());
  let dir = join(opts.backupRoot, stamp);
  // Two runs in the same millisecond must not share a set.
  for (let n = 2; ; n++) {
    try {
      await fsp.mkdir(dir, { mode: 0o700 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      dir = join(opts.backupRoot, `${stamp}-${n}`);
    }
  }
  try {
    const files: BackupManifest['files'] = [];
    let i = 0;
    for (const op of ops) {
      const original = originals.get(op);
      if (!original) {
        files.push({ path: op.path, existed: false, sha256: null, backup: null, mode: null });
        continue;
      }
      const name = `${++i}-${basename(op.path)}`;
      // Backups may hold keys: never more open than 0600.
      await writeDurable(join(dir, name), original.bytes, 0o600);
      files.push({ path: op.path, existed: true, sha256: sha256(original.bytes), backup: name, mode: original.mode });
    }
    const manifest: BackupManifest = { version: 1, createdAt: (opts.now ?? new Date()).toISOString(), files };
    await writeDurable(join(dir, MANIFEST), Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), 0o600);
    await fsyncDir(dir);
    return dir;
  } catch (err) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** `.<name>.aider-mlx-<pid>-<rand>.tmp` beside the target, created with the final mode, synced. */
async function writeTemp(target: string, bytes: Buffer, mode?: number): Promise<string> {
  const temp = join(dirname(target), `.${basename(target)}.aider-mlx-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeDurable(temp, bytes, mode);
  } catch (err) {
    await fsp.rm(temp, { force: true });
    throw err;
  }
  return temp;
}

async function writeDurable(path: string, bytes: Buffer, mode?: number): Promise<void> {
  const fh = await fsp.open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, mode ?? 0o666);
  try {
    // The umask can only narrow a mode; chmod makes an explicit one exact.
    if (mode !== undefined) await fh.chmod(mode);
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await fsp.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Not every platform can sync a directory; the data itself is already synced.
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
