/**
 * The commands the wizard's end prints ("Next steps", "Or by hand") as a terminal of 80 columns
 * shows them, with a long HOME: each is one line (the terminal may soft-wrap it), never broken by us
 * with a newline, so a paste runs it whole. Both faces: Ink and --plain.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ptyAvailable, startEmulated, type Emulated } from './emulator.js';
import { sandbox } from './helpers.js';
import { waitNoLeftovers } from './tmux.js';

const runs: Emulated[] = [];
const roots: string[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) await r.stop();
  for (const d of roots.splice(0)) await rm(d, { recursive: true, force: true });
});

const describePty = ptyAvailable() ? describe : describe.skip;
const PROMPTING = /Enter (choose|accept|write|default)|Enter keeps it|(Choose \[\d+\]:|\[[Yy]\/[Nn]\]|:)\s*$/;

/** The lines as written: rows the terminal soft-wrapped joined back to the line they continue. */
function logicalLines(rows: Array<{ text: string; wrapped: boolean }>, cols: number): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.wrapped && out.length) out[out.length - 1] = out[out.length - 1]!.padEnd(cols) + r.text;
    else out.push(r.text);
  }
  return out;
}

describePty('the commands at the end of the wizard, at 80 columns with a long HOME', () => {
  for (const face of ['ink', 'plain'] as const) {
    it(`${face}: every command of "Next steps" and "Or by hand" is one line`, async () => {
      const s = await sandbox();
      roots.push(s.root);
      const demo = join(s.root, 'a-rather-long-folder-name-for-the-demo', 'that-goes-on-for-a-while-too');
      const cols = 80;
      const e = await startEmulated(['setup', '--demo', '--demo-dir', demo, ...(face === 'plain' ? ['--plain'] : [])], { env: s.env, cwd: s.project, cols, rows: 30 });
      runs.push(e);
      for (let presses = 0; ; presses++) {
        const screen = (await e.settle(400, 60_000)).join('\n');
        if (e.all().some((l) => l.includes('This was a demo'))) break;
        if (presses > 12) throw new Error(`no end; screen:\n${screen}`);
        if (PROMPTING.test(screen) || PROMPTING.test(screen.trimEnd())) e.write('\r');
        else await new Promise((r) => setTimeout(r, 300));
      }
      expect(await e.exited(30_000)).toBe(0);
      const lines = logicalLines(e.rows({ all: true }), cols);
      const shown = lines.join('\n');
      const from = lines.findIndex((l) => l.trim() === 'Next steps');
      const to = lines.findIndex((l) => l.trim() === 'This was a demo');
      expect(from, shown).toBeGreaterThan(0);
      const end = lines.slice(from, to);
      // Every command naming the demo's HOME has it, its XDG_CONFIG_HOME and the command on one line.
      const withHome = end.filter((l) => l.includes(`${demo}/home`));
      expect(withHome.length, shown).toBeGreaterThan(0);
      for (const l of withHome) {
        expect(l, shown).toMatch(new RegExp(`HOME=${demo}/home XDG_CONFIG_HOME=${demo}/home/\\.config \\S*node \\S+aider-mlx\\.js [a-z]`));
      }
      // The stand-in server's command, from its program to its port.
      const byHand = end.filter((l) => l.includes('fake-mlx-server'));
      expect(byHand.length, shown).toBeGreaterThan(0);
      for (const l of byHand) expect(l, shown).toMatch(/fake-mlx-server --model \S+ .*--port \d+/);
      // No line of the end starts with a piece of a command cut off the line above.
      for (const l of end) expect(l, shown).not.toMatch(/^\s*(XDG_CONFIG_HOME=|--port |--host |node \/)/);
      expect(await waitNoLeftovers(e.marker, 15_000)).toEqual([]);
    }, 150_000);
  }
});
