import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { chooseFace, splitOwnFlags } from './setup.js';

const tty = { stdin: { isTTY: true }, stdout: { isTTY: true } };
const none = { yes: false, json: false, answers: false, plain: false };

describe('chooseFace', () => {
  it('Ink on a terminal; line mode with --plain or TERM=dumb', () => {
    expect(chooseFace(none, {}, tty)).toBe('ink');
    expect(chooseFace({ ...none, plain: true }, {}, tty)).toBe('plain');
    expect(chooseFace(none, { TERM: 'dumb' }, tty)).toBe('plain');
  });

  it('never prompts without a terminal, in CI, or when told not to', () => {
    expect(chooseFace(none, {}, { stdin: { isTTY: false }, stdout: { isTTY: true } })).toBe('non-interactive');
    expect(chooseFace(none, {}, { stdin: { isTTY: true }, stdout: {} })).toBe('non-interactive');
    expect(chooseFace(none, { CI: 'true' }, tty)).toBe('non-interactive');
    expect(chooseFace({ ...none, plain: true }, { CI: '1' }, tty)).toBe('non-interactive');
    expect(chooseFace({ ...none, yes: true }, {}, tty)).toBe('non-interactive');
    expect(chooseFace({ ...none, json: true }, {}, tty)).toBe('non-interactive');
    expect(chooseFace({ ...none, answers: true }, {}, tty)).toBe('non-interactive');
    expect(chooseFace(none, { CI: 'false' }, tty)).toBe('ink');
  });
});

describe('splitOwnFlags', () => {
  it('takes out --plain, --demo, --answers and --demo-dir, leaves the setup flags', () => {
    expect(splitOwnFlags(['--plain', '--editor', 'a/b', '--answers', 'x.yaml', '--demo', '--demo-dir=/tmp/d', '--yes'])).toEqual({
      own: { plain: true, demo: true, answers: 'x.yaml', demoDir: '/tmp/d' },
      rest: ['--editor', 'a/b', '--yes'],
    });
  });

  it('says what is missing', () => {
    expect(() => splitOwnFlags(['--answers'])).toThrow(UsageError);
    expect(() => splitOwnFlags(['--demo-dir', '/x'])).toThrow(/only goes with --demo/);
  });
});
