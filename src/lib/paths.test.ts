import { describe, expect, it } from 'vitest';
import { unifiedDiff } from './diff.js';
import { asRun, outsideDiffs, selfCommand } from './paths.js';

const self = selfCommand();
const FILE = 'a: 1\n# run `aider-mlx status` to see it\nb: 2\nc: 3\n';

describe('asRun leaves the diffs it is given as the files have them', () => {
  it('from a clone it names this copy outside a diff', () => {
    expect(self).not.toBe('aider-mlx');
    expect(asRun('Run `aider-mlx status`.')).toBe(`Run \`${self} status\`.`);
  });

  it('a diff line that says `aider-mlx status` stays; the hints before and after it name this copy', () => {
    const diff = unifiedDiff(FILE, FILE.replace('b: 2', 'b: 3'), '~/.aider.conf.yml');
    const text = `Changes (see \`aider-mlx status\`):\n${diff} next: \`aider-mlx status\`\n`;
    expect(asRun(text)).toBe(`Changes (see \`${self} status\`):\n${diff} next: \`${self} status\`\n`);
  });

  it('several diffs and hunks, a missing final newline, a new file, a diff that opens or ends the text', () => {
    const long = Array.from({ length: 30 }, (_, i) => (i % 5 ? `k${i}: v` : `# \`aider-mlx status\` ${i}`)).join('\n');
    const d1 = unifiedDiff(long, long.replace('k1: v', 'k1: w').replace('k28: v', 'k28: w'), 'f.yml');
    expect(d1.match(/^@@/gm)).toHaveLength(2);
    expect(d1).toContain('\\ No newline at end of file');
    const d2 = unifiedDiff(undefined, FILE, '/p/new.yml');
    for (const text of [d1 + d2, `${d1}\`aider-mlx doctor\`\n${d2}`, d2 + d1.replace(/\n$/, '')]) {
      expect(asRun(text)).toBe(text.replace('`aider-mlx doctor`', `\`${self} doctor\``));
    }
  });

  it('text that only looks like a diff header is text', () => {
    const text = '--- notes\n+++ more\n`aider-mlx status`\n';
    expect(asRun(text)).toBe(`--- notes\n+++ more\n\`${self} status\`\n`);
    expect(outsideDiffs('', (t) => `${t}!`)).toBe('!');
  });
});
