import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
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
});
