import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { CancelledError } from '../errors.js';
import { GoBack } from '../wizard/prompter.js';
import { KEY, renderFace } from './test-kit.js';
import { listReducer, windowFor } from './components/select-list.js';
import { fieldKeys, fieldReducer } from './components/text-field.js';
import { elideMiddle } from './screens/review.js';
import { themeFor } from './theme.js';

afterEach(() => cleanup());

const choices = [
  { value: 'a', label: 'Alpha', hint: '4 GB · fits' },
  { value: 'b', label: 'Beta', disabled: 'too big' },
  { value: 'c', label: 'Gamma', description: 'The third one.' },
];

describe('select screen', () => {
  it('starts on the default, skips disabled rows, Enter answers', async () => {
    const f = renderFace();
    const answer = f.prompter.select({ id: 'x', message: 'Pick one', choices, default: 'a' });
    let frame = await f.waitForText('Pick one');
    expect(frame).toMatch(/❯ Alpha {2}4 GB · fits/);
    expect(frame).toContain('Beta  (too big)');
    expect(frame).toContain('↑↓ move · Enter choose · Esc back · Ctrl-C cancel');
    await f.press(KEY.down);
    frame = await f.waitForText('❯ Gamma');
    expect(frame).toContain('The third one.');
    await f.press(KEY.enter);
    expect(await answer).toBe('c');
    await f.waitFor((fr) => fr.includes('✓ Pick one Gamma'), 'the answer in the history');
  });

  it("the focused row's description wraps between words, every row indented, a `command` whole", async () => {
    const f = renderFace();
    const description = 'Pinned, checked after installing, never a known-compromised release, and nothing else is touched: what `node /Users/me/src/aider-mlx/bin/aider-mlx.js install` does.';
    void f.prompter.select({ id: 'x', message: 'Install?', choices: [{ value: 'a', label: 'Install now', description }], default: 'a' });
    const frame = await f.waitForText('Install?');
    const rows = frame.split('\n');
    const at = rows.findIndex((r) => r.includes('Pinned,'));
    const desc = rows.slice(at, rows.findIndex((r, i) => i > at && r.includes('does.')) + 1);
    expect(desc.length).toBeGreaterThan(1);
    for (const r of desc) expect(r).toMatch(/^ {2}\S/);
    expect(desc.join('\n')).toContain('`node /Users/me/src/aider-mlx/bin/aider-mlx.js install`');
  });

  it('Esc rejects with GoBack; Ctrl-C cancels and aborts the run', async () => {
    const f = renderFace();
    const first = f.prompter.select({ id: 'x', message: 'First', choices }).catch((e: unknown) => e);
    await f.waitForText('First');
    await f.press(KEY.esc);
    expect(await first).toBeInstanceOf(GoBack);
    const second = f.prompter.select({ id: 'y', message: 'Second', choices }).catch((e: unknown) => e);
    await f.waitForText('Second');
    await f.press(KEY.ctrlC);
    expect(await second).toBeInstanceOf(CancelledError);
    expect(f.ctrl.signal.aborted).toBe(true);
    await expect(f.prompter.text({ id: 'z', message: 'Third' })).rejects.toBeInstanceOf(CancelledError);
  });

  it('a long list scrolls in a window', () => {
    const many = Array.from({ length: 20 }, (_, i) => ({ value: String(i), disabled: undefined }));
    const reduce = listReducer(many, 5);
    let s = { index: 0, offset: 0 };
    for (let i = 0; i < 7; i++) s = reduce(s, 'down');
    expect(s).toEqual({ index: 7, offset: 3 });
    s = reduce(s, 'end');
    expect(s).toEqual({ index: 19, offset: 15 });
    s = reduce(s, 'home');
    expect(s).toEqual({ index: 0, offset: 0 });
    expect(windowFor(2, 10, 5, 20)).toBe(2);
  });
});

describe('text screen', () => {
  it('Enter on an empty field keeps the default; a bad value shows why and waits', async () => {
    const f = renderFace();
    const q = { id: 'n', message: 'Context', default: '32768', validate: (v: string) => (/^\d+$/.test(v) ? undefined : 'a number') };
    const a1 = f.prompter.text(q);
    expect(await f.waitForText('32768  (Enter keeps it)')).toContain('? Context');
    await f.press(KEY.enter);
    expect(await a1).toBe('32768');
    const a2 = f.prompter.text(q);
    await f.waitForText('? Context');
    await f.type('12x');
    await f.waitForText('12x');
    await f.press(KEY.enter);
    await f.waitForText('✗ a number');
    await f.press(KEY.backspace);
    await f.waitFor((fr) => !fr.includes('12x'), 'the x to go');
    // The complaint was about what is no longer there: it goes with the edit.
    await f.waitFor((fr) => !fr.includes('✗ a number'), 'the stale error to go');
    await f.press(KEY.enter);
    expect(await a2).toBe('12');
  });

  it("the step's live lines follow what is typed (the fit under the context field)", async () => {
    const f = renderFace();
    const live = (v: string) => [`At ${v || '32768'} tokens: ${Number(v || 32768) > 100000 ? 'too big' : 'fits'}`];
    const a = f.prompter.text({ id: 'c', message: 'Context', default: '32768', help: live(''), live });
    await f.waitForText('At 32768 tokens: fits');
    await f.type('200000');
    await f.waitForText('At 200000 tokens: too big');
    await f.press(KEY.backspace);
    await f.waitForText('At 20000 tokens: fits');
    await f.press(KEY.enter);
    expect(await a).toBe('20000');
  });

  it('the field edits like a line editor', () => {
    let s = { value: '', cursor: 0 };
    s = fieldReducer(s, { type: 'insert', text: 'mlx/ab' });
    s = fieldReducer(s, { type: 'left' });
    s = fieldReducer(s, { type: 'erase' });
    expect(s).toEqual({ value: 'mlx/b', cursor: 4 });
    s = fieldReducer(s, { type: 'insert', text: 'pasted\ntext' });
    expect(s.value).toBe('mlx/pastedtextb');
  });
});

/** The answer, or 'no answer' if none came within a few seconds. */
const within = <T,>(p: Promise<T>, ms = 3000) => Promise.race([p, new Promise<string>((r) => setTimeout(() => r('no answer'), ms))]);

describe('keys that arrive together (a paste, a fast typist)', () => {
  it('a chunk with its Enter records what was typed, not the default', async () => {
    const f = renderFace();
    const a = f.prompter.text({ id: 'n', message: 'Context', default: '16384' });
    await f.waitForText('? Context');
    await f.type('8192\r');
    expect(await within(a)).toBe('8192');
  });

  it('typing then Enter before the next frame submits the typed value', async () => {
    const f = renderFace();
    const a = f.prompter.text({ id: 'n', message: 'Context', default: '16384' });
    await f.waitForText('? Context');
    await new Promise((r) => setTimeout(r, 30));
    f.stdin.write('4096');
    f.stdin.write('\r');
    expect(await within(a)).toBe('4096');
  });

  it('an invalid value with its Enter is refused with the error, and the field stays', async () => {
    const f = renderFace();
    const validate = (v: string) => (Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'a whole number from 1 to 65535');
    const a = f.prompter.text({ id: 'p', message: 'Port', default: '8080', validate });
    await f.waitForText('? Port');
    await f.type('70000\r');
    expect(await f.waitForText('✗ a whole number from 1 to 65535')).toContain('70000');
    // Then, in one chunk: erase the 0, Enter.
    await f.type('\x7f\r');
    expect(await within(a)).toBe('7000');
  });

  it('Down and Enter in one chunk choose the row Down went to', async () => {
    const f = renderFace();
    const a = f.prompter.select({ id: 'x', message: 'Pick', choices: [{ value: 'a', label: 'A' }, { value: 'b', label: 'B' }] });
    await f.waitForText('Pick');
    await f.type(`${KEY.down}\r`);
    expect(await within(a)).toBe('b');
  });

  it('one answer per question, however many Enters came', async () => {
    const f = renderFace();
    const a = f.prompter.confirm({ id: 'c', message: 'Go?', default: true });
    await f.waitForText('Go?');
    await new Promise((r) => setTimeout(r, 30));
    // Two keys before the next frame: the first answers, the second is not an answer to anything.
    f.stdin.write('y');
    f.stdin.write('n');
    expect(await within(a)).toBe(true);
    await f.waitFor(() => f.all().includes('✓ Go? yes'), 'the answer');
    expect(f.all()).not.toContain('✓ Go? no');
  });

  it('the field decodes each key of a chunk, in order', () => {
    expect(fieldKeys('8192\r')).toEqual([{ type: 'insert', text: '8192' }, { type: 'submit' }]);
    expect(fieldKeys('ab\x7fc')).toEqual([{ type: 'insert', text: 'ab' }, { type: 'erase' }, { type: 'insert', text: 'c' }]);
    expect(fieldKeys('\x1b[3~')).toEqual([{ type: 'delete' }]);
    expect(fieldKeys('\x1b[D')).toEqual([{ type: 'left' }]);
    expect(fieldKeys('\x1b[H')).toEqual([{ type: 'start' }]);
    expect(fieldKeys('\x1bOF')).toEqual([{ type: 'end' }]);
    expect(fieldKeys('\x1b[A')).toEqual([]);
    expect(fieldKeys('\x15')).toEqual([{ type: 'clear' }]);
  });

  it('Delete removes the character under the cursor, Backspace the one before', () => {
    let s = { value: '216398', cursor: 0 };
    s = fieldReducer(s, { type: 'delete' });
    expect(s).toEqual({ value: '16398', cursor: 0 });
    s = fieldReducer(fieldReducer(s, { type: 'end' }), { type: 'delete' });
    expect(s).toEqual({ value: '16398', cursor: 5 });
    s = fieldReducer(s, { type: 'erase' });
    expect(s).toEqual({ value: '1639', cursor: 4 });
  });
});

describe('narrow terminals', () => {
  it('review paths are cut in the middle: two files never look the same', () => {
    const a = elideMiddle('/tmp/aider-mlx-demo-t9IExK/project/.aider.model.settings.yml', 40);
    const b = elideMiddle('/tmp/aider-mlx-demo-t9IExK/project/.aider.model.metadata.json', 40);
    expect([...a]).toHaveLength(40);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^\/tmp\/.*….*settings\.yml$/);
    expect(elideMiddle('~/short.yml', 40)).toBe('~/short.yml');
  });
});

describe('confirm, review, task, finish', () => {
  it('confirm takes y/n, Enter is the default', async () => {
    const f = renderFace();
    const a = f.prompter.confirm({ id: 'c', message: 'Run aider?', default: true });
    expect(await f.waitForText('Run aider? (Y/n)')).toBeTruthy();
    await f.press('n');
    expect(await a).toBe(false);
  });

  it('review lists every file and shows the focused diff; Enter writes', async () => {
    const f = renderFace();
    const diff = ['--- a', '+++ b', '@@ -1 +1 @@', '-old', '+new', ''].join('\n');
    const a = f.prompter.review({
      id: 'review',
      message: 'Write these files?',
      files: [
        { path: '/p/plan.yaml', label: '~/plan.yaml', status: 'unchanged', diff: '' },
        { path: '/p/.aider.conf.yml', label: '~/p/.aider.conf.yml', status: 'update', diff },
      ],
    });
    const frame = await f.waitForText('Write these files?');
    expect(frame).toContain('  unchanged ~/plan.yaml');
    expect(frame).toContain('❯ update    ~/p/.aider.conf.yml');
    expect(frame).toContain('+new');
    await f.press(KEY.enter);
    expect(await a).toBe(true);
    await f.waitFor((fr) => fr.includes('✓ Write these files? yes (1 file)'), 'the answer');
  });

  it('a task shows status, progress and the log tail; Esc during it goes back', async () => {
    const f = renderFace();
    let release!: () => void;
    const t = f.prompter.task('Downloading m', async (h) => {
      h.status('1.2 GB of 4 GB');
      h.progress({ done: 30, total: 100, label: 'model.safetensors' });
      h.log('Fetching 7 files');
      await new Promise<void>((r) => {
        release = r;
        h.signal.addEventListener('abort', () => r());
      });
      return 'done';
    }).catch((e: unknown) => e);
    const frame = await f.waitForText('Fetching 7 files');
    expect(frame).toContain('Downloading m');
    expect(frame).toContain('1.2 GB of 4 GB');
    expect(frame).toMatch(/█+░+ 30% model\.safetensors/);
    expect(frame).toContain('Esc back · Ctrl-C cancel');
    await f.press(KEY.esc);
    expect(await t).toBeInstanceOf(GoBack);
    expect(release).toBeTypeOf('function');
  });

  it('the summary stays in the output', async () => {
    const f = renderFace({ demo: true });
    await f.prompter.finish({ title: 'Ready', ok: true, sections: [{ title: 'Next steps', lines: ['Two terminals:', '$ mlx_lm.server --model m', '$ aider'] }] });
    await f.waitFor(() => f.all().includes('2. $ aider'), 'the summary');
    expect(f.all()).toContain('✓ Ready');
    expect(f.all()).toContain('1. $ mlx_lm.server --model m');
    // Prose above the steps is not a step: only the commands are numbered.
    expect(f.all()).toMatch(/^ {2}Two terminals:$/m);
  });
});

describe('theme', () => {
  it('NO_COLOR turns every colour off', () => {
    expect(themeFor({ NO_COLOR: '1' })).toEqual({ color: false, dim: false });
    expect(themeFor({}).accent).toBe('cyan');
  });
});
