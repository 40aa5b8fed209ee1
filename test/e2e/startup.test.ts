import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const DIST = join(ROOT, 'dist');
const read = (f: string) => readFileSync(join(DIST, f), 'utf8');

/** The files a module loads before its code runs: its static imports, transitively. */
function staticClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of read(file).matchAll(/(?:^|[;\s}])(?:import|export)\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([\w.-]+\.js)["']/g)) visit(m[1]!);
  };
  visit(entry);
  return [...seen];
}

/** Text only Ink, React or @inquirer bundles carry. */
const UI_MARKERS = [/Raw mode is not supported/, /react\.element/, /ExitPromptError/];
const uiChunks = () => readdirSync(DIST).filter((f) => f.endsWith('.js') && UI_MARKERS.some((m) => m.test(read(f))));

describe('startup stays light', () => {
  it('the markers find the UI libraries in the bundle (so the checks below can fail)', () => {
    expect(uiChunks().length).toBeGreaterThan(0);
  });

  // The cli entry, and every command that must answer without paying for Ink: --version, --help,
  // status, doctor --json, models, bench and the day-two commands.
  const entries = () =>
    readdirSync(DIST).filter((f) => f === 'cli.js' || /^(status|doctor|models|bench|restore|uninstall|install|service|aider)-[\w]+\.js$/.test(f));

  it('no non-interactive command statically loads Ink, React or @inquirer', () => {
    const ui = new Set(uiChunks());
    const list = entries();
    expect(list).toContain('cli.js');
    expect(list.some((f) => f.startsWith('status-'))).toBe(true);
    for (const entry of list) {
      const hit = staticClosure(entry).filter((f) => ui.has(f));
      expect(hit, `${entry} loads ${hit.join(', ')}`).toEqual([]);
    }
  });

  it('the package has no runtime dependencies: npx installs one package', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.engines.node).toBe('>=20.19');
  });
});
