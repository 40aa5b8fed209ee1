/**
 * The wizard's final summary at 80×24 as a terminal shows it, in both faces (`--demo`, Enter at
 * every question): prose broken between words by the one wrap rule, a long path on a row of its
 * own, never cut at the edge; a command on its own row (the terminal may soft-wrap it), its
 * `# comment` under it, not run on past the edge.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startEmulated, emulatedRuns } from './emulator.js';
import { sandbox } from './helpers.js';
import { wordsSplitAtTheEdge } from './plain-screen.test.js';

const { runs, roots, describePty } = emulatedRuns();

/** Each command (`$ …` and the rows the terminal soft-wrapped it onto), joined. */
function commands(rows: Array<{ text: string; wrapped: boolean }>): string[] {
  const out: string[] = [];
  let open = false;
  for (const r of rows) {
    if (r.wrapped && open) out[out.length - 1] += r.text;
    else if ((open = /^\s*(?:\d+[.)] +)?\$ /.test(r.text))) out.push(r.text);
  }
  return out;
}

describePty('the final summary at 80 columns', () => {
  for (const face of ['ink', 'plain'] as const) {
    it(`${face}: --demo, Enter at every question: the summary breaks between words, a command's comment goes under it`, async () => {
      const s = await sandbox();
      roots.push(s.root);
      const args = face === 'plain' ? ['setup', '--demo', '--plain', '--demo-dir', join(s.root, 'demo')] : ['--demo', '--demo-dir', join(s.root, 'demo')];
      const e = await startEmulated(args, { env: s.env, cwd: s.project, cols: 80, rows: 24 });
      runs.push(e);
      for (let i = 0; i < 30 && !e.all().some((l) => l.includes('This was a demo')); i++) {
        await e.settle(600, 60_000);
        if (e.all().some((l) => l.includes('This was a demo'))) break;
        e.write('\r');
      }
      await e.exited(30_000);
      const all = e.rows({ all: true });
      const from = all.findIndex((r) => /^[✓✗] (Ready|Written)/.test(r.text));
      expect(from, 'the summary').toBeGreaterThan(0);
      const summary = all.slice(from);
      const show = summary.map((r) => `${r.wrapped ? '+' : '|'}${r.text}`).join('\n');
      expect(wordsSplitAtTheEdge(summary, 80), show).toEqual([]);
      // The commands themselves stay whole; their comments are on rows of their own, between words.
      const cmds = commands(summary);
      expect(cmds.length, show).toBeGreaterThan(2);
      for (const c of cmds) expect(c, show).not.toMatch(/ {2,}# /);
      expect(summary.map((r) => r.text).join('\n'), show).toMatch(/\n {7}# then: starts the servers in the background, and Aider in this terminal\n/);
    }, 120_000);
  }
});
