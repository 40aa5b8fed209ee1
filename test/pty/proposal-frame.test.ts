/**
 * The proposal on a short terminal, as a terminal shows it: the built CLI's `--demo` in a real pty,
 * its bytes replayed in a headless xterm.js of the same size. However short the terminal, the
 * screen shows each role's model and how the whole fits, both choices and the key hints, and no
 * row of it is cut off or broken mid-word.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { KEY, startEmulated, emulatedRuns } from './emulator.js';
import { sandbox } from './helpers.js';

// Each test's emulated runs are stopped and their sandboxes removed after it; no pty, no tests.
const { runs, roots, describePty } = emulatedRuns();

const HEADER = /^aider-mlx setup {2}DEMO/;
const HINTS = /^↑↓ move · Enter choose · Esc back · Ctrl-C cancel$/;
/** A role's line: `model: org/name (14.8 GB)`, `editor + weak: …`, `architect: …`. */
const ROLE = /^ {2}(model|editor|editor \+ weak|architect|weak): (\S+\/\S+)/;
const FIT = /^ {2}memory: [\d.]+ GB of [\d.]+ GB \(\d+%\) → (fits|tight|too big)$/;

function checkProposal(screen: Array<{ text: string; wrapped: boolean }>, cols: number, what: string, focus: string): void {
  const show = `${what}:\n${screen.map((r) => `${r.wrapped ? '+' : '|'}${r.text}`).join('\n')}`;
  const text = screen.map((r) => r.text);
  const top = text.findIndex((l) => HEADER.test(l));
  const bottom = text.findIndex((l) => HINTS.test(l));
  expect(text.filter((l) => HEADER.test(l)), `one header, ${show}`).toHaveLength(1);
  expect(bottom, `the key hints below the header, whole, ${show}`).toBeGreaterThan(top);
  const live = screen.slice(top, bottom + 1);
  const question = live.findIndex((r) => r.text === '? Use this setup?');
  expect(question, `the question, ${show}`).toBeGreaterThan(0);
  // The essentials: every role with its model, and the fit, between the question and the choices.
  const choices = live.findIndex((r) => /^[❯ ] Use this setup( {2}|$)/.test(r.text));
  expect(choices, `the first choice, ${show}`).toBeGreaterThan(question);
  const between = live.slice(question + 1, choices).map((r) => r.text);
  const roles = between.map((l) => ROLE.exec(l)).filter((m): m is RegExpExecArray => m !== null);
  expect(roles.length, `a role and its model, ${show}`).toBeGreaterThanOrEqual(1);
  expect(between.some((l) => FIT.test(l)), `the memory fit, ${show}`).toBe(true);
  // The model the proposal names is the one "Use this setup" takes.
  const accept = live.slice(choices, choices + 3).map((r) => r.text).join(' ');
  for (const m of roles) expect(accept, show).toContain(m[2]!.replace(/\s.*$/, ''));
  expect(live.some((r) => /^\s*Adjust…/.test(r.text) || r.text.startsWith('❯ Adjust…')), `both choices, ${show}`).toBe(true);
  expect(live.filter((r) => r.text.startsWith('❯')).map((r) => r.text)[0], show).toContain(focus);
  // Nothing cut: no row the terminal had to wrap, no row Ink truncated (a row that runs to the
  // edge and ends in "…").
  expect(live.filter((r) => r.wrapped).map((r) => r.text), `no row too wide, ${show}`).toEqual([]);
  expect(live.filter((r) => /…$/.test(r.text) && [...r.text].length >= cols - 1).map((r) => r.text), `no row cut off, ${show}`).toEqual([]);
}

describePty('the proposal on a short terminal', () => {
  for (const [cols, rows] of [
    [70, 20],
    [80, 24],
  ] as const) {
    it(`${cols}×${rows}: each role's model and the fit, both choices and the key hints, after every key`, async () => {
      const s = await sandbox();
      roots.push(s.root);
      const e = await startEmulated(['--demo', '--demo-dir', join(s.root, 'demo')], { env: s.env, cwd: s.project, cols, rows });
      runs.push(e);
      const first = await e.waitFor(/Use this setup\?|Install\s+(it|both|all\s+\d)\s+now\?/, 30_000);
      if (!first.some((l) => l.includes('Use this setup?'))) {
        e.write(KEY.enter);
        await e.waitFor('? Use this setup?', 30_000);
      }
      await e.settle(300);
      checkProposal(e.rows(), cols, `${cols}×${rows}, the proposal`, 'Use this setup');
      for (const [key, focus] of [
        [KEY.down, 'Adjust…'],
        [KEY.up, 'Use this setup'],
      ] as const) {
        e.write(key);
        await e.waitFor(`❯ ${focus}`);
        await e.settle(300);
        checkProposal(e.rows(), cols, `${cols}×${rows}, after ${JSON.stringify(key)}`, focus);
      }
      // Enter takes it: the next step's heading, the proposal gone from the live area.
      e.write(KEY.enter);
      const next = await e.waitFor(/Servers|Starting/, 30_000);
      expect(next.filter((l) => l === '? Use this setup?'), next.join('\n')).toEqual([]);
    }, 90_000);
  }
});
