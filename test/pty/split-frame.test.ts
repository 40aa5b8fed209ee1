/**
 * "Split across Macs" as a terminal shows it: the built CLI's `--demo` in a real pty, its bytes
 * replayed in a headless xterm.js. The question comes only for a model too big for this machine
 * even at a 4k context (SPLIT_JUDGE_CONTEXT): a 480B model typed as a repo id is, on any machine
 * this runs on. The screen is checked after every key: arrows move the one ❯, Esc goes back to the
 * context question, "Keep it on this Mac" goes on to "Proxy or direct", "Split it" asks for the
 * other Macs, and Esc there comes back to the question.
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { KEY, startEmulated, emulatedRuns } from './emulator.js';
import { sandbox } from './helpers.js';

// Each test's emulated runs are stopped and their sandboxes removed after it; no pty, no tests.
const { runs, roots, describePty } = emulatedRuns();

const BIG = 'mlx-community/Qwen3-Coder-480B-A35B-Instruct-4bit';
const HEADER = /^aider-mlx setup {2}DEMO\s+(\d+)\/(\d+) · (.+)$/;
const HINT = /^(↑↓ move · Enter choose|Enter accept · Esc back)/;
const SPLIT_Q = `? ${BIG} does not fit this Mac. Split it across Macs?`;

interface Frame {
  screen: string[];
  step: { index: number; title: string };
}

/** One header (its step), one key-hint row, one ❯ (on `focus`), and `question` on screen. */
function checkFrame(screen: string[], what: string, o: { question: string; focus: string | RegExp; step: string }): Frame {
  const show = `${what}:\n${screen.map((l) => `|${l}`).join('\n')}`;
  const headers = screen.map((l) => HEADER.exec(l)).filter((m): m is RegExpExecArray => m !== null);
  expect(headers, `one header, ${show}`).toHaveLength(1);
  expect(headers[0]![3], `the step, ${show}`).toBe(o.step);
  expect(screen.filter((l) => HINT.test(l)), `one key-hint row, ${show}`).toHaveLength(1);
  const cursors = screen.filter((l) => /^\s*❯/.test(l));
  expect(cursors, `one ❯, ${show}`).toHaveLength(1);
  if (typeof o.focus === 'string') expect(cursors[0], show).toContain(o.focus);
  else expect(cursors[0], show).toMatch(o.focus);
  const top = screen.findIndex((l) => HEADER.test(l));
  expect(screen.slice(top).join('\n'), `the question in the live area, ${show}`).toContain(o.question);
  return { screen, step: { index: Number(headers[0]![1]), title: headers[0]![3]! } };
}

describePty('"Split across Macs" as a terminal shows it', () => {
  it('100×30: arrows, Esc back to the model step, Keep goes on to the mode, Split asks for the Macs and Esc comes back', async () => {
    const s = await sandbox();
    roots.push(s.root);
    const e = await startEmulated(['--demo', '--demo-dir', join(s.root, 'demo')], { env: s.env, cwd: s.project, cols: 100, rows: 30 });
    runs.push(e);
    const key = async (bytes: string, what: string, o: { until: string; question?: string; focus: string | RegExp; step: string }) => {
      e.write(bytes);
      await e.waitFor(o.until, 30_000);
      return checkFrame(await e.settle(300), what, { question: o.question ?? o.until, focus: o.focus, step: o.step });
    };

    // To the editor's model, by "Adjust…"; the 480B model typed as a repo id, its context kept.
    const first = await e.waitFor(/Use this setup\?|Install\s+(it|both|all\s+\d)\s+now\?/, 30_000);
    if (!first.some((l) => l.includes('Use this setup?'))) {
      e.write(KEY.enter);
      await e.waitFor('Use this setup?', 30_000);
    }
    await e.settle(200);
    e.write(KEY.down);
    await e.waitFor('❯ Adjust…');
    e.write(KEY.enter);
    await e.waitFor('How many models?', 30_000);
    await e.settle(200);
    e.write(KEY.enter);
    await e.waitFor('? Which model writes the code?', 30_000);
    for (let i = 0; i < 8 && !(await e.settle(200)).some((l) => l.startsWith('❯ Type a repo id')); i++) e.write(KEY.down);
    await key(KEY.enter, 'the repo id field', { until: '? Hugging Face repo id or local folder', focus: /^❯/, step: 'Editor model' });
    e.write(BIG);
    await e.waitFor(`❯ ${BIG}`);
    const context = await key(KEY.enter, 'the context field', { until: '? Context window for the editor', focus: /❯ +\d+ +\(Enter keeps it\)/, step: 'Editor model' });
    expect(context.screen.join('\n')).toMatch(/→ too\s+big/);

    // The question: the model, why (the arithmetic, too big), the two choices, Split focused.
    let f = await key(KEY.enter, 'the split question', { until: SPLIT_Q, focus: '❯ Split it across Macs', step: 'Split across Macs' });
    const text = f.screen.join(' ').replace(/\s+/g, ' ');
    expect(text).toMatch(/of [\d.]+ GB budget \(\d+%\) → too big/);
    expect(text).toContain('mlx_lm.server can serve one model over several Macs');
    expect(f.screen.some((l) => /^ {2}Keep it on this Mac {2}it may run out of memory$/.test(l)), f.screen.join('\n')).toBe(true);
    const splitStep = f.step.index;
    expect(splitStep).toBe(context.step.index + 1);

    // Arrows move the one ❯.
    await key(KEY.down, 'down', { until: '❯ Keep it on this Mac', question: SPLIT_Q, focus: '❯ Keep it on this Mac', step: 'Split across Macs' });
    await key(KEY.up, 'up', { until: '❯ Split it across Macs', question: SPLIT_Q, focus: '❯ Split it across Macs', step: 'Split across Macs' });

    // Esc: back to the step before, the editor's model (its number again); the typed id and the
    // context kept, Enter through them comes back to the question.
    f = await key(KEY.esc, 'Esc at the split question', { until: '? Which model writes the code?', focus: /^❯ /, step: 'Editor model' });
    expect(f.step.index).toBe(context.step.index);
    for (let i = 0; i < 8 && !(await e.settle(200)).some((l) => l.startsWith('❯ Type a repo id')); i++) e.write(KEY.down);
    await key(KEY.enter, 'the repo id field again', { until: '? Hugging Face repo id or local folder', focus: BIG, step: 'Editor model' });
    await key(KEY.enter, 'the context field again', { until: '? Context window for the editor', focus: /❯ +\d+ +\(Enter keeps it\)/, step: 'Editor model' });
    f = await key(KEY.enter, 'Enter at the context again', { until: SPLIT_Q, focus: '❯ Split it across Macs', step: 'Split across Macs' });
    expect(f.step.index).toBe(splitStep);

    // "Split it": the other Macs are asked for; Esc there comes back to the question.
    await key(KEY.enter, 'Split it', { until: '? The other Macs: ssh name=address', focus: /^❯/, step: 'Split across Macs' });
    await key(KEY.esc, 'Esc at the hosts', { until: SPLIT_Q, focus: '❯ Split it across Macs', step: 'Split across Macs' });

    // "Keep it on this Mac": on to the next step, Proxy or direct, the next number.
    await key(KEY.down, 'down to Keep', { until: '❯ Keep it on this Mac', question: SPLIT_Q, focus: '❯ Keep it on this Mac', step: 'Split across Macs' });
    f = await key(KEY.enter, 'Keep it', { until: 'How should Aider reach', question: 'How should Aider reach', focus: '❯ Directly', step: 'Proxy or direct' });
    expect(f.step.index).toBe(splitStep + 1);
    expect(f.screen.join('\n')).not.toContain(SPLIT_Q);
    // The answer stays in the history above the live area, whole (not cut at the edge).
    const above = f.screen.slice(0, f.screen.findIndex((l) => HEADER.test(l)));
    expect(above.join(' ').replace(/\s+/g, ' '), f.screen.join('\n')).toContain(`✓ ${SPLIT_Q.slice(2)} Keep it on this Mac`);
    expect(above.filter((l) => l.length >= 99 && l.endsWith('…')), f.screen.join('\n')).toEqual([]);
  }, 120_000);
});
