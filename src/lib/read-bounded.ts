/**
 * One way to read a file the user named (a flag, an answers file) or that the config points at:
 * stat first and refuse what is not a regular file (a FIFO without a writer would hang, /dev/zero
 * never ends), open without blocking, and read at most a bounded number of bytes, so memory stays
 * small whatever the path holds.
 */
import { closeSync, existsSync, constants as fsc, fstatSync, lstatSync, openSync, readlinkSync, readSync, statSync, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { AppError, EXIT } from '../errors.js';
import { tildify } from './paths.js';

/** Answers, plan and config files: far larger than any real one, small enough to parse at once. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** A pasted error log: its first and last MAX_LOG_BYTES are kept (the cause is near one end). */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;

export interface BoundedReadOptions {
  /** How the file is named in messages: "the answers file", "--error-file". */
  what: string;
  /** Bytes at most; over it: 'refuse' is an error, 'ends' keeps the first and last maxBytes. */
  maxBytes: number;
  over: 'refuse' | 'ends';
  /** Said after the problem (default: give a regular file). */
  tryThis?: string;
}

export interface BoundedRead {
  text: string;
  /** The file was longer than what was kept (only with over: 'ends'). */
  truncated: boolean;
  size: number;
}

/** What kind of thing a path is, for a message: undefined for a regular file. */
export function notAFile(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

const MB = (n: number) => `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;

function refuseKind(path: string, kind: string, o: BoundedReadOptions): AppError {
  return new AppError(`${o.what} ${tildify(path)} is ${kind}, not a file.`, o.tryThis ?? 'Give the path of a regular file.', EXIT.usage);
}

function refuseSize(path: string, size: number, o: BoundedReadOptions): AppError {
  return new AppError(
    `${o.what} ${tildify(path)} is ${MB(size)}; at most ${MB(o.maxBytes)} is read.`,
    o.tryThis ?? 'Give the right file: this one is far larger than any it could be.',
    EXIT.usage,
  );
}

/** Read `path` within the bounds. Errors of the file system (ENOENT, EACCES…) are thrown as they are. */
export async function readBounded(path: string, o: BoundedReadOptions): Promise<BoundedRead> {
  const kind = notAFile(await stat(path));
  if (kind) throw refuseKind(path, kind, o);
  // O_NONBLOCK: should the path be swapped for a FIFO after the stat, the open does not wait for a writer.
  const fh = await open(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  try {
    const st = await fh.stat();
    const kind2 = notAFile(st);
    if (kind2) throw refuseKind(path, kind2, o);
    const size = st.size;
    if (size > o.maxBytes && o.over === 'refuse') throw refuseSize(path, size, o);
    const readAt = async (pos: number, len: number) => {
      const buf = Buffer.alloc(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    };
    if (size <= o.maxBytes) {
      // Read one byte past the size: a file that grew since the stat is still bounded.
      const buf = await readAt(0, Math.min(size + 1, o.maxBytes));
      return { text: buf.toString('utf8'), truncated: false, size };
    }
    const head = await readAt(0, o.maxBytes);
    const tail = await readAt(Math.max(o.maxBytes, size - o.maxBytes), o.maxBytes);
    return { text: `${head.toString('utf8')}\n[… ${MB(size - head.length - tail.length)} left out …]\n${tail.toString('utf8')}`, truncated: true, size };
  } finally {
    await fh.close();
  }
}

/**
 * The synchronous twin for readers that are synchronous (the doctor's view of the disk): the text,
 * or undefined when the path is missing or not a regular file. Over maxBytes: an error.
 */
export function readBoundedSync(path: string, o: BoundedReadOptions): string | undefined {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (notAFile(st)) return undefined;
  let fd: number;
  try {
    fd = openSync(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st2 = fstatSync(fd);
    if (notAFile(st2)) return undefined;
    if (st2.size > o.maxBytes) throw refuseSize(path, st2.size, o);
    const len = Math.min(st2.size + 1, o.maxBytes);
    const buf = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const n = readSync(fd, buf, got, len - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Where a symlink that leads nowhere points (resolved), or undefined for anything else. */
export function danglingTarget(path: string): string | undefined {
  try {
    return lstatSync(path).isSymbolicLink() && !existsSync(path) ? resolve(dirname(path), readlinkSync(path)) : undefined;
  } catch {
    return undefined;
  }
}
