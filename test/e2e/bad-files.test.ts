/**
 * A file aider-mlx reads that is broken (bad YAML) or cannot be read (a folder, mode 000, a broken
 * symlink): one message naming the file, where and why once, and what to do; exit 2; nothing written.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
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

describe('a file that cannot be read', () => {
  it('plan.yaml a symlink to nothing: said so (not "no plan yet"), exit 2, the link left alone', async () => {
    const s = sandbox();
    mkdirSync(s.config, { recursive: true });
    symlinkSync(join(s.root, 'dotfiles/plan.yaml'), join(s.config, 'plan.yaml'));
    for (const cmd of ['status', 'reconfigure']) {
      const r = await cli([cmd], { cwd: s.repo, env: s.env });
      expect(r.code, r.stderr).toBe(2);
      const text = r.stderr.replace(/\n\s+/g, ' ');
      expect(text).toContain(`The plan ~/.config/aider-mlx/plan.yaml is a symlink to ${join(s.root, 'dotfiles/plan.yaml')}, which does not exist.`);
      expect(text).toContain('Point the link at your plan again, or remove it');
      expect(readdirSync(s.config)).toEqual(['plan.yaml']);
    }
  });

  it('--error-file missing, or a symlink to nothing: the reason in words, not ENOENT', async () => {
    const s = sandbox();
    const link = join(s.root, 'err.log');
    symlinkSync(join(s.root, 'gone.log'), link);
    for (const [file, why] of [[join(s.root, 'none.log'), 'no such file'], [link, `it is a symlink to ${join(s.root, 'gone.log')}, which does not exist`]] as const) {
      const r = await cli(['doctor', '--error-file', file], { cwd: s.repo, env: s.env });
      expect(r.code).toBe(2);
      const text = r.stderr.replace(/\n\s+/g, ' ');
      expect(text).toContain(`Cannot read --error-file ${file}: ${why}.`);
      expect(text).not.toContain('ENOENT');
      expect(text).toContain('Give the path of a file holding the error text');
    }
  });
});
