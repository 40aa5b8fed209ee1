/**
 * The step counter as a terminal shows it, in both faces: `--demo`, "Adjust…" (every step asked),
 * then Enter at every question, the visible screen read after every key. Each step heading gets
 * its own number, one more than the one before, and the last heading's total is its number.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { KEY, startEmulated, emulatedRuns } from './emulator.js';
import { sandbox } from './helpers.js';

// Each test's emulated runs are stopped and their sandboxes removed after it; no pty, no tests.
const { runs, roots, describePty } = emulatedRuns();

interface Heading {
  index: number;
  total?: number;
  title: string;
}

/** Ink: the counter at the right of the header row. */
const INK_HEADER = /^aider-mlx setup {2}DEMO\s+(\d+)(?:\/(\d+))? · (.+)$/;
/** Ink's history: `── Roles 3/9`. */
const INK_HISTORY = /^── (.+) (\d+)(?:\/(\d+))?$/;
/** The line face: `[3/9] Roles`. */
const PLAIN_HEADING = /^\[(\d+)(?:\/(\d+))?\] (.+)$/;
/** A question waits: Ink's key hints, or the line face's prompt as the last row. */
const INK_WAITING = /^(↑↓ move · Enter choose|↑↓ file · PgUp\/PgDn|Enter accept · Esc back|y\/n answer · Enter)/;
const PLAIN_WAITING = /(Choose \[\d+\]:|\[[Yy]\/[Nn]\]|:)$/;

const heading = (m: RegExpExecArray, history = false): Heading =>
  history ? { index: Number(m[2]), ...(m[3] ? { total: Number(m[3]) } : {}), title: m[1]!.trim() } : { index: Number(m[1]), ...(m[2] ? { total: Number(m[2]) } : {}), title: m[3]!.trim() };
const same = (a: Heading, b: Heading) => a.index === b.index && a.total === b.total && a.title === b.title;

/** Every heading in the order it came on screen, each once. */
function record(seen: Heading[], screen: string[], face: 'ink' | 'plain'): void {
  for (const l of screen) {
    const m = face === 'plain' ? PLAIN_HEADING.exec(l) : INK_HEADER.exec(l);
    const hm = face === 'ink' ? INK_HISTORY.exec(l) : null;
    const h = m ? heading(m) : hm ? heading(hm, true) : undefined;
    if (h && !seen.some((s) => same(s, h))) seen.push(h);
  }
}

/** After each key, the headings seen so far go up, a title never comes back with another number. */
function expectIncreasing(seen: Heading[], what: string): void {
  const show = `${what}:\n${seen.map((h) => `[${h.index}${h.total ? `/${h.total}` : ''}] ${h.title}`).join('\n')}`;
  const nums = seen.map((h) => h.index);
  expect(nums.every((n, i) => i === 0 || n > nums[i - 1]!), show).toBe(true);
  expect(new Set(seen.map((h) => h.title)).size, show).toBe(seen.length);
}

/** The whole run (what scrolled past too): 1, 2, 3… with no number twice or left out. */
function expectOwnNumbers(seen: Heading[], what: string): void {
  const show = `${what}:\n${seen.map((h) => `[${h.index}${h.total ? `/${h.total}` : ''}] ${h.title}`).join('\n')}`;
  // Strictly increasing, one by one: no number twice, none left out.
  expect(seen.map((h) => h.index), show).toEqual(seen.map((_, i) => i + 1));
  expect(new Set(seen.map((h) => h.title)).size, show).toBe(seen.length);
  for (const t of ['Roles', 'Editor model', 'Proxy or direct', 'Ports', 'Servers', 'Review', 'Next steps']) expect(seen.map((h) => h.title), show).toContain(t);
  const last = seen.at(-1)!;
  expect(last.total, show).toBe(last.index);
  for (const h of seen) if (h.total !== undefined) expect(h.total, show).toBeGreaterThanOrEqual(h.index);
}

describePty('the step counter as a terminal shows it', () => {
  it('Ink, 100×30: --demo, Adjust…, Enter at every question: each heading its own number', async () => {
    const s = await sandbox();
    roots.push(s.root);
    const e = await startEmulated(['--demo', '--demo-dir', join(s.root, 'demo')], { env: s.env, cwd: s.project, cols: 100, rows: 30 });
    runs.push(e);
    const seen: Heading[] = [];
    const first = await e.waitFor(/Use this setup\?|Install\s+(it|both|all\s+\d)\s+now\?/, 30_000);
    record(seen, first, 'ink');
    if (!first.some((l) => l.includes('Use this setup?'))) {
      // The missing tools' question first: Enter (the demo installs nothing).
      e.write(KEY.enter);
      await e.waitFor('Use this setup?', 30_000);
    }
    record(seen, await e.settle(), 'ink');
    e.write(KEY.down);
    await e.waitFor('❯ Adjust…');
    e.write(KEY.enter);
    for (let keys = 0; ; keys++) {
      if (keys > 40) throw new Error(`more than 40 keys; screen:\n${e.screen().join('\n')}`);
      const screen = await e.settle(300, 60_000);
      record(seen, screen, 'ink');
      expectIncreasing(seen, `Ink, after key ${keys}`);
      if (e.all().some((l) => l.includes('This was a demo'))) break;
      if (screen.some((l) => INK_WAITING.test(l))) e.write(KEY.enter);
      else await new Promise((r) => setTimeout(r, 200));
    }
    expect(await e.exited()).toBe(0);
    const run: Heading[] = [];
    record(run, e.all(), 'ink');
    expectOwnNumbers(run, 'Ink, the whole run');
  }, 120_000);

  it('--plain, 100×30: --demo, Adjust…, Enter at every question: each heading its own number', async () => {
    const s = await sandbox();
    roots.push(s.root);
    const e = await startEmulated(['--demo', '--plain', '--demo-dir', join(s.root, 'demo')], { env: { ...s.env, TERM: 'dumb' }, cwd: s.project, cols: 100, rows: 30 });
    runs.push(e);
    const seen: Heading[] = [];
    for (let keys = 0; ; keys++) {
      if (keys > 40) throw new Error(`more than 40 keys; screen:\n${e.screen().join('\n')}`);
      const screen = await e.settle(300, 60_000);
      record(seen, screen, 'plain');
      expectIncreasing(seen, `--plain, after key ${keys}`);
      if (screen.some((l) => l.includes('This was a demo'))) break;
      const last = screen.filter((l) => l.trim()).at(-1)?.trimEnd() ?? '';
      if (PLAIN_WAITING.test(last)) e.write(screen.some((l) => l.startsWith('Use this setup?')) && last.startsWith('Choose') ? '2\r' : '\r');
      else await new Promise((r) => setTimeout(r, 200));
    }
    expect(await e.exited()).toBe(0);
    const run: Heading[] = [];
    record(run, e.all(), 'plain');
    expectOwnNumbers(run, '--plain, the whole run');
  }, 120_000);
});
