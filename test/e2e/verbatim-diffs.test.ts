/**
 * A diff shows the file's own text: from a clone the hints around it name this copy's command
 * (`node …/bin/aider-mlx.js`), but a file line that says `aider-mlx status` is printed as it is.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeWrites } from '../../src/config/write.js';
import type { Plan } from '../../src/config/plan.js';
import { AIDER_FILES } from '../../src/config/render.js';
import { applyWrites, planWrites } from '../../src/lib/fs.js';
import { configPaths, selfCommand } from '../../src/lib/paths.js';
import { cli, sandbox } from './helpers.js';

const self = selfCommand();
const HINT = '# check it with `aider-mlx status` (and `npx aider-mlx doctor`)';

const plan = (dir: string): Plan => ({
  version: 1,
  mode: 'proxy',
  roles: { editor: { model: 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', context: 32768, deployments: [{ host: '127.0.0.1', port: 8080 }] } },
  proxy: { host: '127.0.0.1', port: 4000 },
  requestTimeout: 600,
  aider: { scope: 'project', dir },
});

describe('diffs are the files\' text, hints name this copy', () => {
  it('uninstall --dry-run: a line saying `aider-mlx status` is printed as the file has it', async () => {
    expect(self).not.toBe('aider-mlx'); // from a clone, asRun rewrites
    const s = sandbox();
    const conf = join(s.repo, AIDER_FILES.conf);
    writeFileSync(conf, `dark-mode: true\n${HINT}\n`);
    const env = { HOME: s.home, PATH: s.env.PATH! };
    const composed = await composeWrites(plan(s.repo), env);
    await applyWrites(await planWrites(composed.changes), { backupRoot: configPaths(env).backups, dirMode: 0o700 });
    expect(readFileSync(conf, 'utf8')).toContain(HINT);

    const r = await cli(['uninstall', '--dry-run'], { cwd: s.repo, env: s.env });
    expect(r.code, r.stderr).toBe(0);
    const at = r.stdout.indexOf('\n--- ');
    expect(at, r.stdout).toBeGreaterThan(0);
    const [hints, diff] = [r.stdout.slice(0, at), r.stdout.slice(at)];
    expect(diff).toContain(`--- ${conf}\n+++ ${conf}\n@@ `);
    // The context line is the file's line exactly, and so is the comment litellm.yaml's template has.
    expect(diff.split('\n')).toContain(` ${HINT}`);
    expect(diff).toContain('many prompt tokens came from its cache (counts only, no text), for `aider-mlx status` and doctor.');
    expect(diff).not.toContain(self);
    expect(hints).not.toMatch(/`aider-mlx /);
  });
});
