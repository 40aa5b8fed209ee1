/**
 * Everyday failures of the file system (no permission, a full disk, a read-only volume) as one
 * plain message naming the path and what to do, instead of a stack trace. No imports of errors.ts:
 * formatError uses this.
 */
import { basename, dirname, join } from 'node:path';
import { tildify } from './paths.js';

export interface PlainError {
  message: string;
  tryThis: string;
}

/**
 * A staged temp file (`.aider-mlx-tmp..aider.conf.yml.123-abcd`, or an older build's
 * `..aider.conf.yml.aider-mlx-123-abcd.tmp`) is named by the file it stands for.
 */
function realTarget(p: string): string {
  const m = /^\.aider-mlx-tmp\.(.+)\.\d+-[0-9a-f]+$/.exec(basename(p)) ?? /^\.(.+)\.aider-mlx-\d+-[0-9a-f]+\.tmp$/.exec(basename(p));
  return m ? join(dirname(p), m[1]!) : p;
}

const VERB: Record<string, string> = {
  open: 'open',
  write: 'write',
  rename: 'replace',
  unlink: 'remove',
  rmdir: 'remove',
  rm: 'remove',
  mkdir: 'create the folder',
  copyfile: 'copy',
  chmod: 'change the mode of',
  scandir: 'list',
  access: 'reach',
  utime: 'touch',
};

/** A plain message for a Node system error we know, or undefined for anything else. */
export function plainSystemError(err: unknown): PlainError | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string') return undefined;
  const path = typeof e.path === 'string' ? realTarget(e.path) : undefined;
  const shown = path ? tildify(path) : undefined;
  const folder = path ? tildify(dirname(path)) : undefined;
  const verb = (e.syscall && VERB[e.syscall]) || 'write';
  const what = shown ? `${verb} ${shown}` : `${verb} a file`;
  switch (e.code) {
    case 'EACCES':
      return {
        message: `Permission denied: aider-mlx could not ${what} (EACCES).`,
        tryThis: shown
          ? `Give your user access (\`ls -ld ${folder} ${shown}\` shows the owner and mode; \`chmod u+w\` or \`chown\` fixes it), then run again.`
          : 'Check the owner and mode of the files and folders involved, then run again.',
      };
    case 'EPERM':
      return {
        message: `Operation not permitted: aider-mlx could not ${what} (EPERM).`,
        tryThis: `The file may be locked or immutable (\`ls -lO\` on macOS shows uchg; \`chflags nouchg\` / \`chattr -i\` clears it), or protected by the system's privacy settings. Fix that, then run again.`,
      };
    case 'EROFS':
      return {
        message: `Read-only file system: aider-mlx could not ${what} (EROFS).`,
        tryThis: 'That disk or folder is mounted read-only: run from a writable folder, or choose another --scope.',
      };
    case 'ENOSPC':
      return {
        message: `The disk is full: aider-mlx could not ${what} (ENOSPC).`,
        tryThis: `Free some space${folder ? ` on the disk holding ${folder}` : ''} (\`df -h\` shows it), then run again.`,
      };
    case 'EDQUOT':
      return {
        message: `Disk quota exceeded: aider-mlx could not ${what} (EDQUOT).`,
        tryThis: 'Free some of your quota, then run again.',
      };
    case 'EMFILE':
    case 'ENFILE':
      return { message: `Too many open files (${e.code}).`, tryThis: 'Close some programs, or raise the limit (`ulimit -n 4096`), then run again.' };
    default:
      return undefined;
  }
}

/** yaml's guard against "billion laughs" files, thrown from wherever a document is converted. */
export function isAliasBomb(err: unknown): boolean {
  return err instanceof ReferenceError && /Excessive alias count/.test(err.message);
}
