/**
 * The line face (--plain) as a terminal shows it: the CLI's bytes replayed in a headless xterm.js
 * of the given size, the visible screen checked at every question. A long line is broken between
 * words by the face itself, never by the terminal in the middle of a word.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startEmulated, emulatedRuns } from './emulator.js';
import { sandbox } from './helpers.js';

// Each test's emulated runs are stopped and their sandboxes removed after it; no pty, no tests.
const { runs, roots, describePty } = emulatedRuns();

/** The line face waits for an answer: its last row ends with a prompt. */
const PROMPT = /(Choose \[\d+\]:|\[[Yy]\/[Nn]\]|:)$/;

/**
 * Rows the terminal had to break in the middle of a word: the row above ran to the edge with a word
 * that goes on here. Not counted: a word too long for any row (it already starts a row of its
 * own), a command (`$ …`, `1. $ …` in a list, kept whole so it copies as one line), and a diff's
 * line (from `--- `/`+++ ` to the blank line after it): the file's own line, printed as it is and
 * left whole to the terminal, never wrapped as prose.
 */
export function wordsSplitAtTheEdge(rows: Array<{ text: string; wrapped: boolean }>, cols: number): string[] {
  const bad: string[] = [];
  const inDiff: boolean[] = [];
  let diff = false;
  rows.forEach((r, k) => {
    if (!r.wrapped) {
      if (r.text === '') diff = false;
      else if (r.text.startsWith('--- ') && rows.slice(k + 1).find((x) => !x.wrapped)?.text.startsWith('+++ ')) diff = true;
    }
    inDiff.push(diff);
  });
  rows.forEach((r, k) => {
    if (!r.wrapped || k === 0 || inDiff[k]) return;
    const above = rows[k - 1]!.text;
    const tail = /\S+$/.exec(above)?.[0] ?? '';
    const head = /^\S+/.exec(r.text)?.[0] ?? '';
    if (!tail || !head || above.length < cols) return;
    // The whole word, over every row it runs on: one too long for a row (past an indent) has to break.
    let word = tail + head;
    for (let j = k; rows[j]!.text.length >= cols && rows[j + 1]?.wrapped && !/\s/.test(rows[j]!.text) ; j++) word += /^\S+/.exec(rows[j + 1]!.text)?.[0] ?? '';
    if (word.length > cols - 8) return;
    let start = k - 1;
    while (start > 0 && rows[start]!.wrapped) start--;
    if (/^\s*(?:\d+[.)] +)?\$ /.test(rows[start]!.text)) return;
    // Nor inside a `quoted` command wider than the row: kept whole for the same reason.
    const before = rows.slice(start, k).map((x) => x.text).join('');
    const open = before.lastIndexOf('`');
    if ((before.match(/`/g) ?? []).length % 2 === 1 && /^(?:node |npx |aider-mlx|mlx_lm\.|litellm |uvx? |pipx |chmod |chown )/.test(before.slice(open + 1))) return;
    bad.push(`"${tail}|${head}" in:\n|${above}\n|${r.text}`);
  });
  return bad;
}

describePty('the line face as a terminal shows it', () => {
  it('the check itself finds a word the terminal broke at the edge, and lets a break between words pass', () => {
    const cols = 20;
    expect(wordsSplitAtTheEdge([{ text: 'this is a long sente', wrapped: false }, { text: 'nce', wrapped: true }], cols)).toHaveLength(1);
    expect(wordsSplitAtTheEdge([{ text: 'this is a long', wrapped: false }, { text: 'sentence', wrapped: false }], cols)).toEqual([]);
    expect(wordsSplitAtTheEdge([{ text: 'this is a long', wrapped: false }, { text: 'sentence', wrapped: true }], cols)).toEqual([]);
    expect(wordsSplitAtTheEdge([{ text: 'a /a/very/long/path/', wrapped: false }, { text: 'that/goes/on/and/on', wrapped: true }], cols)).toEqual([]);
    expect(wordsSplitAtTheEdge([{ text: '  $ a command to cop', wrapped: false }, { text: 'y', wrapped: true }], cols)).toEqual([]);
    // A `quoted` command is kept whole too; a quoted word of prose is not.
    expect(wordsSplitAtTheEdge([{ text: '  (`npx aider-mlx re', wrapped: false }, { text: 'configure`)', wrapped: true }], cols)).toEqual([]);
    expect(wordsSplitAtTheEdge([{ text: '  see `this long quo', wrapped: false }, { text: 'te`', wrapped: true }], cols)).toHaveLength(1);
    // A diff's line is the file's: left whole to the terminal; prose after the diff is checked again.
    const diff = [{ text: '--- /dev/null', wrapped: false }, { text: '+++ /tmp/x/plan.yaml', wrapped: false }, { text: '+# a comment of the f', wrapped: false }, { text: 'ile', wrapped: true }];
    expect(wordsSplitAtTheEdge(diff, cols)).toEqual([]);
    expect(wordsSplitAtTheEdge([...diff, { text: '', wrapped: false }, { text: 'this is a long sente', wrapped: false }, { text: 'nce', wrapped: true }], cols)).toHaveLength(1);
  });

  for (const [cols, rows] of [
    [40, 30],
    [60, 20],
  ] as const) {
    it(`${cols}×${rows}: --demo --plain, Enter at every question: the face breaks every long line between words, none is broken at the edge`, async () => {
      const s = await sandbox();
      roots.push(s.root);
      const e = await startEmulated(['--demo', '--plain', '--demo-dir', join(s.root, 'demo')], { env: { ...s.env, TERM: 'dumb' }, cwd: s.project, cols, rows });
      runs.push(e);
      let questions = 0;
      for (;;) {
        const screen = await e.waitFor(/(Choose \[\d+\]:|\[[Yy]\/[Nn]\]|:)\s*$|This was a demo/, 60_000);
        await e.settle(300);
        const shown = e.rows();
        const show = `${cols}×${rows}, question ${questions}:\n${shown.map((r) => `${r.wrapped ? '+' : '|'}${r.text}`).join('\n')}`;
        expect(wordsSplitAtTheEdge(shown, cols), show).toEqual([]);
        if (questions === 0) {
          // The first question reads whole, its words in order, on rows that end between words.
          const text = screen.join(' ').replace(/\s+/g, ' ');
          expect(text, show).toContain('mlx-lm, litellm and aider-chat are not installed. Install all 3 now?');
        }
        if (screen.some((l) => l.includes('This was a demo'))) break;
        const last = screen.filter((l) => l.trim()).at(-1)?.trimEnd() ?? '';
        expect(last, show).toMatch(PROMPT);
        if (++questions > 20) throw new Error(`more than 20 questions; ${show}`);
        e.write('\r');
        await e.settle(300);
      }
      expect(await e.exited()).toBe(0);
      // What scrolled past too, row by row: the face broke every long line between words.
      const all = e.rows({ all: true });
      expect(wordsSplitAtTheEdge(all, cols), all.map((r) => `${r.wrapped ? '+' : '|'}${r.text}`).join('\n')).toEqual([]);
    }, 120_000);
  }
});
