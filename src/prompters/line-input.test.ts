import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CancelledError } from '../errors.js';
import { GoBack } from '../wizard/prompter.js';
import { BACK, chooseLine, confirmLine, printable, textLine, wrapLine } from './line-input.js';
import { createPlainPrompter } from './plain.js';

function term() {
  const input = new PassThrough();
  const output = new PassThrough();
  let written = '';
  output.on('data', (b: Buffer) => (written += b.toString('utf8')));
  return { input, output, out: () => written, type: (s: string) => void input.write(s) };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

describe('line questions', () => {
  const choices = [{ label: 'One' }, { label: 'Two', disabled: 'needs more memory' }, { label: 'Three', hint: 'three servers' }];

  it('numbers the choosable rows, takes a number, Enter for the default, and asks again on anything else', async () => {
    const t = term();
    const a = chooseLine({ message: 'How many?', choices, defaultIndex: 2 }, t);
    await tick();
    expect(t.out()).toBe('How many?\n  1) One\n   -  Two  (not available: needs more memory)\n  2) Three  three servers\nChoose [2]: ');
    t.type('3\n');
    await tick();
    expect(t.out()).toMatch(/Choose \[2\]: \n  Type a number from 1 to 2 \(Enter: 2\)\.\nChoose \[2\]: $/);
    t.type('1\n');
    expect(await a).toBe(0);
    const b = chooseLine({ message: 'How many?', choices, defaultIndex: 2 }, t);
    t.type('\n');
    expect(await b).toBe(2);
  });

  it('b, back or a bare Esc go back when the question allows it', async () => {
    const t = term();
    for (const typed of ['b\n', 'Back\n', '\x1b\n']) {
      const a = chooseLine({ message: 'Q', choices, defaultIndex: 0, back: true }, t);
      t.type(typed);
      expect(await a).toBe(BACK);
    }
    const c = confirmLine({ message: 'Go?', default: true, back: true }, t);
    t.type('b\n');
    expect(await c).toBe(BACK);
  });

  it('keeps answers typed ahead (a paste) for the next questions', async () => {
    const t = term();
    t.type('2\r\n8192\ny\n');
    expect(await chooseLine({ message: 'Q', choices, defaultIndex: 0 }, t)).toBe(2);
    expect(await textLine({ message: 'Context', default: '16384' }, t)).toBe('8192');
    expect(await confirmLine({ message: 'Go?', default: false }, t)).toBe(true);
  });

  it('a text answer is checked; Enter keeps the default', async () => {
    const t = term();
    const a = textLine({ message: 'Port', default: '8080', validate: (v) => (Number(v) > 65535 ? 'A port is 1 to 65535.' : undefined) }, t);
    t.type('70000\n');
    await tick();
    expect(t.out()).toContain('Port [8080]: ');
    expect(t.out()).toContain('✗ A port is 1 to 65535.');
    t.type('\n');
    expect(await a).toBe('8080');
  });

  it('Ctrl-C (as a byte from a raw terminal) and the end of input cancel', async () => {
    const t = term();
    const a = confirmLine({ message: 'Go?', default: true }, t);
    t.type('\x03');
    await expect(a).rejects.toBeInstanceOf(CancelledError);
    const b = confirmLine({ message: 'Go?', default: true }, t);
    t.input.end();
    await expect(b).rejects.toBeInstanceOf(CancelledError);
  });

  it('printable() leaves text and newlines only', () => {
    expect(printable('\x1b[32mok\x1b[0m 50%\r100%\tdone\x1b]0;title\x07\n')).toBe('ok 50%100%  done\n');
  });
});

describe('the plain face', () => {
  it('a task\'s log callback writes nothing once the task is over, and nothing lands under an open question', async () => {
    const t = term();
    const ctrl = new AbortController();
    const p = createPlainPrompter({ onCancel: () => ctrl.abort(), signal: ctrl.signal, input: t.input, output: t.output });
    let log!: (l: string) => void;
    await p.task('Starting the server', async (h) => {
      log = h.log;
      h.log('Starting httpd');
    });
    expect(t.out()).toContain('│ Starting httpd');
    const answer = p.select({ id: 'x', message: 'Pick one', choices: [{ value: 'a', label: 'A' }, { value: 'b', label: 'B' }] });
    await tick();
    log('127.0.0.1 - - "POST /v1/chat/completions HTTP/1.1" 200 -');
    p.note('info', 'a note while asking');
    expect(t.out()).toMatch(/Choose \[1\]: $/);
    t.type('2\n');
    expect(await answer).toBe('b');
    expect(t.out()).not.toContain('POST');
    expect(t.out()).toMatch(/Choose \[1\]: \n {2}· a note while asking\n$/);
  });

  it('b goes back (GoBack), Ctrl-C cancels', async () => {
    const t = term();
    const ctrl = new AbortController();
    let cancelled = false;
    const p = createPlainPrompter({ onCancel: () => ((cancelled = true), ctrl.abort()), signal: ctrl.signal, input: t.input, output: t.output });
    const back = p.confirm({ id: 'c', message: 'Start it?', default: true });
    t.type('b\n');
    await expect(back).rejects.toBeInstanceOf(GoBack);
    const c = p.text({ id: 't', message: 'Name' });
    t.type('\x03');
    await expect(c).rejects.toBeInstanceOf(CancelledError);
    expect(cancelled).toBe(true);
  });
});

describe('wrapLine: a long line broken between words at the terminal width', () => {
  it('never splits a word; continued rows keep the indent past the marker; commands and a pipe get lines whole', () => {
    const line = '  · Demo: stand-in servers instead of mlx_lm.server, and a built-in stand-in Hub for the search';
    const rows = wrapLine(line, 30).split('\n');
    expect(rows.every((r) => r.length <= 30), rows.join('\n')).toBe(true);
    expect(rows.slice(1).every((r) => r.startsWith('    ') && r[4] !== ' '), rows.join('\n')).toBe(true);
    expect(rows.map((r) => r.trim()).join(' ')).toBe(line.trim());
    expect(wrapLine(line, undefined)).toBe(line);
    const cmd = '    $ /usr/bin/python3 -m venv --clear ~/.local/share/aider-mlx/venvs/mlx-lm';
    expect(wrapLine(cmd, 30)).toBe(cmd);
    // A word too long for any row stays on its row; a separator ends its row.
    expect(wrapLine('  see /a/very/long/path/that/cannot/fit/anywhere/at/all', 20)).toBe('  see /a/very/long/path/that/cannot/fit/anywhere/at/all');
    // A file list's path goes whole under the paths (see wrap.test.ts).
    expect(wrapLine('  create /a/very/long/path/that/cannot/fit/anywhere/at/all', 20)).toBe('  create\n    /a/very/long/path/that/cannot/fit/anywhere/at/all');
    expect(wrapLine('  Enter accepts · b goes back', 18)).toBe('  Enter accepts ·\n  b goes back');
  });
});
