import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

/** The files dist/cli.js loads before any command runs: its static imports, transitively. */
function staticClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = readFileSync(join(ROOT, 'dist', file), 'utf8');
    for (const m of src.matchAll(/(?:^|[;\s}])(?:import|export)\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([\w.-]+\.js)["']/g)) visit(m[1]!);
  };
  visit(entry);
  return [...seen];
}

describe('startup stays light', () => {
  it('--version/--help/status/doctor load no Ink or React: the entry statically imports neither', () => {
    const files = staticClosure('cli.js');
    const text = files.map((f) => readFileSync(join(ROOT, 'dist', f), 'utf8')).join('\n');
    expect(files.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/react-reconciler|useInput|ink-testing|@inquirer/);
  });

  it('the package has no runtime dependencies: npx installs one package', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.engines.node).toBe('>=20.19');
  });
});
