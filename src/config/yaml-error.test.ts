import { describe, expect, it } from 'vitest';
import { checkAiderConf } from './merge.js';

describe('a YAML error in a hand-written file points at the line to fix', () => {
  it('a line indented under a plain value (or one with no ": "): the message names the line after the one the parser starts at', () => {
    const msg = (t: string) => {
      try {
        checkAiderConf(t, '/h/.aider.conf.yml');
      } catch (e) {
        return (e as Error).message;
      }
      return 'parsed';
    };
    expect(msg('a: 1\nb: 2\nkey without colon\nf: 2\n')).toBe('/h/.aider.conf.yml line 3, column 1: YAML reads the text from here to line 4 as one key: check line 4 (indented under the value above it, or a line with no ": ")');
    // Indented under a value: the library's own words for it already say so.
    expect(msg('a: 1\ne: bad value\n  continued: x\n')).toContain('line 2, column 4: a "key: value" where YAML cannot take one (a second ": " on the line, or a line indented under a plain value)');
  });
});
