/**
 * `doctor --json` must start fast (issue 13: ≤ 2× `node -e 0` plus the slowest probe): what every
 * doctor run loads is the static import graph of src/commands/doctor.ts. execa, zod, Ink and React
 * are for the checks that need them (a group, a --deep Aider call, a plan to validate) and come in
 * through dynamic import() there, never eagerly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/** Package → the chain of modules that first imports it statically (`import type` and import() are not loads). */
function eagerPackages(entry: string): Map<string, string> {
  const parent = new Map<string, string | null>();
  const pkgs = new Map<string, string>();
  const chain = (f: string | null | undefined): string => {
    const out: string[] = [];
    for (let x = f; x; x = parent.get(x)) out.unshift(relative(ROOT, x));
    return out.join(' → ');
  };
  const walk = (f: string, from: string | null) => {
    if (parent.has(f)) return;
    parent.set(f, from);
    const text = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)([^;]*?)\s*from\s*'([^']+)'/gm)) {
      const names = m[1]!.trim();
      if (/^\{[^}]*\}$/.test(names) && names.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith('type '))) continue;
      const spec = m[2]!;
      if (spec.startsWith('.')) {
        const ts = resolve(dirname(f), spec.replace(/\.js$/, '.ts'));
        const file = existsSync(ts) ? ts : ts.replace(/\.ts$/, '.tsx');
        if (existsSync(file)) walk(file, f);
      } else if (!spec.startsWith('node:') && !pkgs.has(spec)) pkgs.set(spec, `${chain(f)} → ${spec}`);
    }
  };
  walk(join(ROOT, entry), null);
  return pkgs;
}

it('a doctor run loads no execa, zod, Ink or React until a check needs them', () => {
  const pkgs = eagerPackages('src/commands/doctor.ts');
  const heavy = [...pkgs].filter(([p]) => /^(execa|zod|ink|react)(\/|$)/.test(p)).map(([, how]) => how);
  expect(heavy).toEqual([]);
  // It does read YAML files: the parser is expected.
  expect(pkgs.has('yaml')).toBe(true);
});
