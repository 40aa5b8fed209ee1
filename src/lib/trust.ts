/**
 * Files that decide where aider-mlx writes and where the proxy's master key goes (the plan, the
 * LiteLLM config, the config folder, an Aider config holding the key) are trusted only when they
 * belong to the user running aider-mlx and no one else can change them. Whoever can write the plan
 * can point the Aider folder, the proxy and the deployments anywhere: as root, that is an
 * escalation. A key file that other users can read gives them the key.
 */
import { statSync, type Stats } from 'node:fs';
import { userInfo } from 'node:os';
import { AppError, EXIT } from '../errors.js';
import { tildify } from './paths.js';

export interface TrustProblem {
  path: string;
  /** What is wrong, one line. */
  problem: string;
  /** The exact command(s) to run. */
  fix: string;
  /** Only that others can read a key (nobody else can change the file). */
  readableOnly: boolean;
}

export interface TrustOptions {
  /** The file holds a secret: others may not read it either. */
  holdsKey?: boolean;
  /** The uid that must own it (default: this process's). */
  uid?: number;
  /** The user name for `chown` (default: this process's). */
  user?: string;
}

function me(): { uid: number | undefined; user: string } {
  const uid = process.getuid?.();
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = uid === undefined ? '$(id -un)' : String(uid);
  }
  return { uid, user };
}

const quote = (p: string) => (/^[\w@%+=:,./~-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`);
const octal = (m: number) => `0${(m & 0o777).toString(8).padStart(3, '0')}`;

/** What is wrong with a file or folder's owner and mode, or undefined when it can be trusted. */
export function trustProblem(path: string, st: Stats, o: TrustOptions = {}): TrustProblem | undefined {
  const self = me();
  const uid = o.uid ?? self.uid;
  const user = o.user ?? self.user;
  const dir = st.isDirectory();
  const want = dir ? '700' : '600';
  const shown = tildify(path);
  const q = quote(path);
  const fixes: string[] = [];
  const problems: string[] = [];
  if (uid !== undefined && st.uid !== uid) {
    problems.push(`belongs to another user (uid ${st.uid})`);
    fixes.push(`chown ${user} ${q}`);
  }
  const mode = st.mode & 0o777;
  if (mode & 0o022) problems.push(`can be changed by other users (mode ${octal(mode)})`);
  else if (o.holdsKey && !dir && mode & 0o044) problems.push(`holds the proxy's master key and other users can read it (mode ${octal(mode)})`);
  if (mode & 0o022 || (o.holdsKey && !dir && mode & 0o044)) fixes.push(`chmod ${want} ${q}`);
  if (!problems.length) return undefined;
  const readableOnly = !(uid !== undefined && st.uid !== uid) && !(mode & 0o022);
  return { path, problem: `${shown} ${problems.join(' and ')}`, fix: fixes.join(' && '), readableOnly };
}

/** trustProblem for a path on disk; a missing path has no problem. */
export function trustProblemAt(path: string, o: TrustOptions = {}): TrustProblem | undefined {
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  return trustProblem(path, st, o);
}

/** The error every command gives for an untrusted file: what is wrong, and the exact command to run. */
export function untrustedError(p: TrustProblem): AppError {
  return new AppError(
    p.readableOnly ? `${p.problem}.` : `${p.problem}: aider-mlx will not use a file that someone else can change.`,
    p.readableOnly ? `Run: ${p.fix}` : `If you trust it, run: ${p.fix}  (or move it away and run \`aider-mlx setup\` again).`,
    EXIT.usage,
  );
}

/** Throw untrustedError for the first of these paths that cannot be trusted. */
export function assertTrusted(paths: ReadonlyArray<{ path: string; holdsKey?: boolean }>): void {
  for (const { path, holdsKey } of paths) {
    const p = trustProblemAt(path, { holdsKey: Boolean(holdsKey) });
    if (p) throw untrustedError(p);
  }
}
