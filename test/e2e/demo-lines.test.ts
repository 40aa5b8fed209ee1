/**
 * What a new user reads first, without a terminal (a pipe, a log, CI: wrapped at 80): the demo's
 * every line, then `status` and `serve --once --plain` in the demo's own HOME. Prose fits 80
 * columns; a command is never broken (a `$ ` line is whole, however wide; a `quoted` command
 * stays on one line); every numbered next step is a command that runs as printed, in the demo's
 * HOME.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, sandbox } from './helpers.js';

const chars = (l: string) => [...l].length;
const COMMAND = /^\s*(?:\d+[.)] +)?\$ /;

/** Every line at most 80 columns but a `$ ` command line; no `quoted` span cut across lines. */
function expectFitted(text: string): void {
  for (const l of text.split('\n')) {
    if (!COMMAND.test(l)) expect(chars(l), `${chars(l)} columns:\n${l}\n\nin:\n${text}`).toBeLessThanOrEqual(80);
    expect((l.match(/`/g) ?? []).length % 2, `a quoted span broken across lines:\n${l}\n\nin:\n${text}`).toBe(0);
  }
}

/** The summary's "Next steps" (not the step heading "[n/N] Next steps"): its lines up to the next section. */
function nextSteps(text: string): string[] {
  const lines = text.split('\n');
  const at = lines.lastIndexOf('Next steps');
  expect(at, text).toBeGreaterThan(0);
  const end = lines.findIndex((l, i) => i > at && (l === '' || /^\S/.test(l)));
  return lines.slice(at + 1, end < 0 ? undefined : end);
}

describe('the demo without a terminal, at 80 columns', () => {
  for (const face of [[], ['--plain']]) {
    it(`--demo ${face.join(' ')}: prose fits, commands whole, every numbered step a command with the demo's HOME`, async () => {
      const s = sandbox();
      const demo = join(s.root, 'demo');
      const env = { ...s.env, CI: 'true', HF_HUB_OFFLINE: '1', HF_HUB_CACHE: join(s.root, 'hf') };
      const r = await cli(['--demo', ...face, '--demo-dir', demo], { cwd: s.repo, env, timeoutMs: 120_000 });
      const all = r.stdout + r.stderr;
      expect(r.code, all).toBe(0);
      expectFitted(all);

      const steps = nextSteps(all);
      const numbered = steps.filter((l) => /^ {2}\d+\. /.test(l));
      expect(numbered.length, all).toBeGreaterThan(1);
      // In order, 1, 2, 3…, each a whole command in the demo's HOME (not the real one).
      expect(numbered.map((l) => Number(/^ {2}(\d+)\./.exec(l)![1])), all).toEqual(numbered.map((_, i) => i + 1));
      const prefix = `HOME=${join(demo, 'home')} XDG_CONFIG_HOME=${join(demo, 'home', '.config')} `;
      for (const l of numbered) expect(l, all).toMatch(new RegExp(`^ {2}\\d+\\. \\$ ${prefix.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\S`));
      // Prose goes above or below the list: inside it, only its commands and their `# ` comments.
      const first = steps.indexOf(numbered[0]!);
      const last = steps.indexOf(numbered.at(-1)!);
      for (const l of steps.slice(first, last + 1)) expect(l, all).toMatch(/^ {2}\d+\. \$ |^ +# /);

      // The demo's own HOME: status and serve --once read its plan, and print within 80 too.
      const demoEnv = { ...env, HOME: join(demo, 'home'), XDG_CONFIG_HOME: join(demo, 'home', '.config') };
      const st = await cli(['status'], { cwd: s.repo, env: demoEnv });
      expect(st.stdout, st.stdout + st.stderr).toContain('aider-mlx status');
      expectFitted(st.stdout + st.stderr);
      const sv = await cli(['serve', '--stand-in', '--once', '--plain'], { cwd: s.repo, env: demoEnv, timeoutMs: 90_000 });
      expect(sv.code, sv.stdout + sv.stderr).toBe(0);
      expectFitted(sv.stdout + sv.stderr);
      // Each line says one thing once; it has stopped by the end, so no "Ctrl-C stops …".
      for (const l of sv.stderr.split('\n')) expect(l, sv.stderr).not.toMatch(/\b(\w+) — \1\b/);
      expect(sv.stderr).not.toContain('Ctrl-C');
    }, 240_000);
  }
});
