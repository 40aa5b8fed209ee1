/**
 * The commands the built CLI prints for a person to type name this copy (from a clone: `node
 * …/bin/aider-mlx.js`), never a bare `aider-mlx …` (not on PATH from a clone) nor `npx aider-mlx`
 * (it would ask the registry). Prose that names the product keeps the name.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selfCommand } from '../../src/lib/paths.js';
import { cli, sandbox } from './helpers.js';

const self = selfCommand();
/** A line that offers `aider-mlx …` or `npx aider-mlx …` as a command (not part of this copy's own). */
const bareCommand = /(?:^|[\s:`(])(?:npx )?aider-mlx (?:models|stop|service|doctor|setup)\b/m;

describe('models: the commands it names are runnable from here', () => {
  it('the catalogue\'s "Download one:" names this copy\'s command', async () => {
    const s = sandbox();
    const env = { ...s.env, HF_HUB_CACHE: mkdtempSync(join(tmpdir(), 'aider-mlx-hub-')) };
    const r = await cli(['models', '--offline', '--memory', '16'], { cwd: s.repo, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Download one (✓ cached and complete, · not cached):\n  $ ${self} models pull REPO\n`);
    expect(r.stdout).not.toMatch(bareCommand);
  });

  it('the usage hints of `models pull` and `models rm` without a repo too', async () => {
    const s = sandbox();
    for (const sub of ['pull', 'rm']) {
      const r = await cli(['models', sub], { cwd: s.repo, env: s.env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${self} models ${sub} mlx-community/Qwen2.5-Coder-7B-Instruct-4bit`);
      expect(r.stderr).not.toMatch(bareCommand);
    }
  });
});
