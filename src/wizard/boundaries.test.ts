import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..');
const UI_LIBS = /from\s+['"](ink|react|react\/jsx-runtime|ink-testing-library|@inkjs\/[^'"]+|@inquirer\/[^'"]+)['"]|import\(\s*['"](ink|react|@inquirer\/[^'"]+)['"]\s*\)/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(e) ? [p] : [];
  });
}

describe('layering', () => {
  it('only src/ui and src/prompters import ink, react or @inquirer', () => {
    const offenders = files(SRC)
      .map((p) => relative(SRC, p))
      .filter((p) => !p.startsWith('ui/') && !p.startsWith('prompters/'))
      .filter((p) => UI_LIBS.test(readFileSync(join(SRC, p), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('the wizard steps never import a face', () => {
    const offenders = files(join(SRC, 'wizard'))
      .filter((p) => /from\s+['"]\.\.\/(\.\.\/)?(ui|prompters)\//.test(readFileSync(p, 'utf8')))
      .map((p) => relative(SRC, p))
      // the non-interactive face is the wizard's own default for tests
      .filter((p) => !p.endsWith('.test.ts'));
    expect(offenders).toEqual([]);
  });

  const ENTRIES = ['cli.ts', 'lean.ts', 'main.ts'];
  it('nothing below src/commands imports it (commands use the wizard, never the reverse)', () => {
    const offenders = files(SRC)
      .map((p) => relative(SRC, p))
      // The entries (cli.ts, lean.ts) and their one command line (main.ts) sit above the commands.
      .filter((p) => !p.startsWith('commands/') && !ENTRIES.includes(p))
      .filter((p) => !/\.test\.tsx?$/.test(p))
      .flatMap((p) => importsOf(join(SRC, p)).filter((t) => ENTRIES.includes(t) || t.startsWith('commands/')).map((t) => `${p} -> ${t}`));
    expect(offenders).toEqual([]);
  });

  it('the wizard imports nothing from src/commands, tests included', () => {
    const offenders = files(join(SRC, 'wizard'))
      .flatMap((p) => importsOf(p).filter((t) => t.startsWith('commands/')).map((t) => `${relative(SRC, p)} -> ${t}`));
    expect(offenders).toEqual([]);
  });
});

/** Every relative module a file imports (static, dynamic or re-export), as a path under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.map((s) => relative(SRC, resolve(dirname(file), s)).replace(/\.js$/, '.ts'));
}
