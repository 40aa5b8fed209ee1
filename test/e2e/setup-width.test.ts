/**
 * Y3: the non-interactive faces wrap prose at 80 columns (no terminal here); a command or a path
 * is never broken, `$ command` lines and commands after "…: " stay whole on a row of their own.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROGRAM } from '../../src/lib/wrap.js';
import { findFreePort } from '../../src/servers/ports.js';
import { cli, sandbox, standInProcess } from './helpers.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';

/** Lines over 80 columns that are prose (not a command row). */
function longProse(text: string): string[] {
  return text.split('\n').filter((l) => [...l].length > 80).filter((l) => {
    const t = l.trim().replace(/^(?:\d+[.)]|[·!✗✓…│-]) +/, '');
    return !(t.startsWith('$ ') || PROGRAM.test(t));
  });
}

describe('non-interactive setup output fits 80 columns (Y3)', () => {
  it('setup --yes --dry-run --force with a server down: prose wrapped, the start command whole', async () => {
    const s = sandbox();
    const port = await findFreePort('127.0.0.1', 20_000 + Math.floor(Math.random() * 20_000));
    const env = { ...s.env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HF_HUB_CACHE: join(s.root, 'hf'), HF_HUB_OFFLINE: '1' };
    const r = await cli(['setup', '--yes', '--dry-run', '--force', '--editor', EDITOR, '--editor-port', String(port), '--timeout', '3'], { cwd: s.repo, env, timeoutMs: 60_000 });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    // Before the diffs: the files' own text is shown as it is.
    const prose = r.stdout.split('\nDry run: nothing written.')[0]!;
    expect(prose).toContain('install litellm');
    expect(longProse(prose)).toEqual([]);
    expect(prose.split('\n').some((l) => l.trim().startsWith(`mlx_lm.server --model ${EDITOR} --port ${port}`))).toBe(true);
    // A `quoted` command is one unit: never split over two rows.
    for (const l of prose.split('\n')) expect((l.match(/`/g) ?? []).length % 2, l).toBe(0);
  }, 120_000);

  it('setup --adopt --dry-run: every prose line fits', async () => {
    const s = sandbox();
    const model = `mlx-community/Qwen2.5-Coder-7B-Instruct-width-${process.pid}-4bit`;
    const server = await standInProcess(model);
    try {
      mkdirSync(join(s.repo, 'sub'), { recursive: true });
      writeFileSync(join(s.repo, '.aider.conf.yml'), `model: openai/default_model\nopenai-api-base: http://127.0.0.1:${server.port}/v1\nopenai-api-key: sk-local\n`);
      const r = await cli(['setup', '--adopt', '--dry-run'], { cwd: s.repo, env: s.env, timeoutMs: 60_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(model);
      expect(longProse(r.stdout)).toEqual([]);
    } finally {
      await server.close();
    }
  }, 120_000);
});
