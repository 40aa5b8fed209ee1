import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

export type Env = Record<string, string | undefined>;

export function homeDir(env: Env = process.env): string {
  return env.HOME || homedir();
}

/** `${XDG_CONFIG_HOME:-~/.config}/aider-mlx` */
export function configDir(env: Env = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homeDir(env), '.config');
  return join(base, 'aider-mlx');
}

export const configPaths = (env: Env = process.env) => {
  const dir = configDir(env);
  return {
    dir,
    plan: join(dir, 'plan.yaml'),
    litellm: join(dir, 'litellm.yaml'),
    /** The proxy's key for Aider in project scope (env-file in .aider.conf.yml): outside any repository. */
    aiderEnv: join(dir, 'aider.env'),
    backups: join(dir, 'backups'),
    /** What setup added to each file it merged into (uninstall reads it when the backups are gone). */
    added: join(dir, 'added.json'),
    profile: join(dir, 'aider'),
  };
};

/** Shorten a path under $HOME to `~/…` for messages. */
export function tildify(p: string, env: Env = process.env): string {
  const home = homeDir(env);
  return p === home ? '~' : p.startsWith(home + '/') ? '~' + p.slice(home.length) : p;
}

let root: string | undefined;
/**
 * The package root (holds templates/ and data/). From the bundle it is dist/.., from source
 * src/lib/../..; walk up until templates/ is found.
 */
export function packageRoot(): string {
  // Where this copy sits does not change while it runs: looked up once (every hint asks, through selfCommand).
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'templates')) && existsSync(join(dir, 'package.json'))) return (root = dir);
    dir = resolve(dir, '..');
  }
  throw new Error('aider-mlx: cannot find its templates/ folder; the package is incomplete');
}

/**
 * How the user runs this aider-mlx again, for the next steps it prints: `npx aider-mlx` when it runs
 * from an installed package (npx's cache or a node_modules), else this checkout's bin (`npx
 * aider-mlx` there would ask the npm registry for a package that is not published yet).
 */
export function selfCommand(): string {
  const root = packageRoot();
  if (/[\\/](?:_npx|node_modules)[\\/]/.test(root)) return 'npx aider-mlx';
  // The absolute path: a `~` would expand to the real home even after a `HOME=…` prefix.
  const bin = join(root, 'bin', 'aider-mlx.js');
  return `node ${/^[\w@%+=:,./~-]+$/.test(bin) ? bin : `'${bin.replace(/'/g, `'\\''`)}'`}`;
}

/**
 * A hint that names `npx aider-mlx`, or a bare `aider-mlx …` in backticks (not on PATH from a clone,
 * nor after a one-off npx run), with the command this copy really runs with (selfCommand).
 */
export function asRun(text: string): string {
  if (!text.includes('aider-mlx')) return text;
  const self = selfCommand();
  return outsideDiffs(text, (t) => t.replace(/npx aider-mlx(?![\w-])|(?<=`)aider-mlx(?=[ `])/g, self));
}

const HUNK = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/;

/**
 * `edit` applied to the text around the unified diffs it holds, never inside one: a diff shows a
 * file's own lines. A diff is a `--- ` line, a `+++ ` line and its hunks, each as long as its
 * `@@ -a,n +b,m @@` header says (so a hint printed right after it is text again).
 */
export function outsideDiffs(text: string, edit: (t: string) => string): string {
  const lines = text.split('\n');
  const parts: string[] = [];
  let from = 0;
  let i = 0;
  while (i < lines.length) {
    if (!(lines[i]!.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ') && HUNK.test(lines[i + 2] ?? ''))) {
      i++;
      continue;
    }
    let j = i + 2;
    let m: RegExpExecArray | null;
    while (j < lines.length && (m = HUNK.exec(lines[j]!))) {
      let old = m[1] === undefined ? 1 : Number(m[1]);
      let now = m[2] === undefined ? 1 : Number(m[2]);
      j++;
      while (j < lines.length && (old > 0 || now > 0 || lines[j]!.startsWith('\\'))) {
        const tag = lines[j]![0];
        if (tag === ' ') (old--, now--);
        else if (tag === '-') old--;
        else if (tag === '+') now--;
        else if (tag !== '\\') break;
        j++;
      }
    }
    if (i > from) parts.push(edit(lines.slice(from, i).join('\n')));
    parts.push(lines.slice(i, j).join('\n'));
    from = i = j;
  }
  if (from < lines.length) parts.push(edit(lines.slice(from).join('\n')));
  return parts.join('\n');
}
