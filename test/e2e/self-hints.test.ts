/**
 * The hints the built CLI prints name how this copy runs: from a clone, `node <clone>/bin/aider-mlx.js`,
 * never a bare `aider-mlx` (on no PATH from a clone). The help pages keep `npx aider-mlx`: documentation.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { cli, sandbox } from './helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'aider-mlx.js');
const SELF = `node ${BIN}`;
const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A command named bare: in backticks, or alone at the start of an indented line. */
const BARE = /`aider-mlx[ `]|^\s+aider-mlx (?:doctor|setup|status)/m;

describe('hints name this copy of aider-mlx', () => {
  it('an unknown option: "Run `node …/bin/aider-mlx.js --help`"', async () => {
    const s = sandbox();
    roots.push(s.root);
    const r = await cli(['--bogus'], { cwd: s.repo, env: s.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`\`${SELF} --help\``);
    expect(r.stderr).not.toMatch(BARE);
  });

  it("the doctor's text (no plan here): its commands are this checkout's bin", async () => {
    const s = sandbox();
    roots.push(s.root);
    const r = await cli(['doctor', '--plain'], { cwd: s.repo, env: { ...s.env, CI: 'true' }, timeoutMs: 60_000 });
    expect(r.stdout).toContain(SELF);
    expect(r.stdout, r.stdout).not.toMatch(BARE);
    // The help page is documentation: it keeps npx aider-mlx.
    const help = await cli(['doctor', '--help'], { cwd: s.repo, env: s.env });
    expect(help.stdout).toContain('npx aider-mlx');
  });
});
