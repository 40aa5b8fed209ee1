/**
 * A file aider-mlx reads that is broken (bad YAML) or cannot be read (a folder, mode 000, a broken
 * symlink): one message naming the file, where and why once, and what to do; exit 2; nothing written.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, sandbox } from './helpers.js';

const BAD_PLAN = 'version: 1\nmode: proxy\n: bad: [\nroles: {}\n';

/** Every file under dir, with its content. */
const tree = (dir: string) => Object.fromEntries(readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => [join(e.parentPath, e.name), readFileSync(join(e.parentPath, e.name), 'utf8')]));

describe('a plan.yaml with a YAML error on line 3', () => {
  for (const cmd of ['status', 'reconfigure', 'doctor']) {
    it(`${cmd}: names the file, line and column once, says what is wrong and what to do`, async () => {
      const s = sandbox();
      mkdirSync(s.config, { recursive: true });
      writeFileSync(join(s.config, 'plan.yaml'), BAD_PLAN);
      const before = [tree(s.config), tree(s.repo)];
      const r = await cli([cmd], { cwd: s.repo, env: s.env });
      const text = (cmd === 'doctor' ? r.stdout : r.stderr).replace(/\n\s+/g, ' ');
      expect(r.code, r.stdout + r.stderr).toBe(cmd === 'doctor' ? 1 : 2);
      expect(text).toContain('~/.config/aider-mlx/plan.yaml line 3, column 3 is not valid YAML: ');
      expect(text.match(/line \d+, column \d+/g)).toHaveLength(1);
      expect(text).not.toMatch(/:\s*(?:→|$)/m);
      expect(text).toContain('Fix that line, or move the file away and run');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect([tree(s.config), tree(s.repo)]).toEqual(before);
    });
  }
});
