import { describe, expect, it } from 'vitest';
import { unifiedDiff } from './diff.js';

/** Apply a unified diff produced by unifiedDiff, strictly (context must match). */
function applyPatch(oldText: string, patch: string): string {
  const old = oldText === '' ? [] : oldText.split(/(?<=\n)/);
  const lines = patch.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const out: string[] = [];
  let pos = 0;
  let i = 2;
  while (i < lines.length) {
    const m = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$/.exec(lines[i]!);
    if (!m) throw new Error(`bad hunk header: ${lines[i]}`);
    const oldStart = Number(m[1]);
    const oldCount = m[2] === undefined ? 1 : Number(m[2]);
    const start = oldCount === 0 ? oldStart : oldStart - 1;
    while (pos < start) out.push(old[pos++]!);
    i++;
    while (i < lines.length && !lines[i]!.startsWith('@@')) {
      const line = lines[i]!;
      const noEol = lines[i + 1] === '\\ No newline at end of file';
      const text = line.slice(1) + (noEol ? '' : '\n');
      if (line[0] === ' ' || line[0] === '-') {
        if (old[pos] !== text) throw new Error(`context mismatch at old line ${pos + 1}`);
        pos++;
      }
      if (line[0] === ' ' || line[0] === '+') out.push(text);
      i += noEol ? 2 : 1;
    }
  }
  while (pos < old.length) out.push(old[pos++]!);
  return out.join('');
}

const numbered = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}\n`).join('');

describe('unifiedDiff', () => {
  it('is empty when nothing changed', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', 'x.yml')).toBe('');
  });

  it('shows one changed line with three lines of context and git-style headers', () => {
    const before = numbered(10);
    const after = before.replace('line 5\n', 'line five\n');
    expect(unifiedDiff(before, after, 'conf.yml')).toBe(
      [
        '--- a/conf.yml',
        '+++ b/conf.yml',
        '@@ -2,7 +2,7 @@',
        ' line 2',
        ' line 3',
        ' line 4',
        '-line 5',
        '+line five',
        ' line 6',
        ' line 7',
        ' line 8',
        '',
      ].join('\n'),
    );
  });

  it('uses /dev/null for a new file', () => {
    expect(unifiedDiff(undefined, 'a: 1\nb: 2\n', 'new.yml')).toBe('--- /dev/null\n+++ b/new.yml\n@@ -0,0 +1,2 @@\n+a: 1\n+b: 2\n');
  });

  it('prints absolute and ~ labels as they are', () => {
    expect(unifiedDiff('a\n', 'b\n', '~/.aider.conf.yml').split('\n').slice(0, 2)).toEqual([
      '--- ~/.aider.conf.yml',
      '+++ ~/.aider.conf.yml',
    ]);
    expect(unifiedDiff(undefined, 'b\n', '/etc/x').split('\n').slice(0, 2)).toEqual(['--- /dev/null', '+++ /etc/x']);
  });

  it('marks a missing newline at the end of file', () => {
    expect(unifiedDiff('a\nb', 'a\nb\n', 'f')).toBe('--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n');
  });

  it('keeps far-apart changes in separate hunks and near ones in one', () => {
    const before = numbered(30);
    const far = before.replace('line 3\n', 'x\n').replace('line 25\n', 'y\n');
    expect(unifiedDiff(before, far, 'f').match(/^@@/gm)).toHaveLength(2);
    const near = before.replace('line 3\n', 'x\n').replace('line 9\n', 'y\n');
    expect(unifiedDiff(before, near, 'f').match(/^@@/gm)).toHaveLength(1);
  });

  it('writes a one-line range without a count, and an empty one at the line before', () => {
    expect(unifiedDiff('a\n', '', 'f')).toBe('--- a/f\n+++ b/f\n@@ -1 +0,0 @@\n-a\n');
    expect(unifiedDiff('a\nb\n', 'a\nx\nb\n', 'f')).toBe('--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n+x\n b\n');
  });

  it('produces patches that rebuild the new text (random edits)', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const words = ['a', 'b', 'c', 'd', 'e'];
      const a = Array.from({ length: rand(40) }, () => words[rand(5)]! + '\n');
      const b = [...a];
      for (let e = rand(8); e > 0; e--) {
        const at = rand(b.length + 1);
        if (rand(2) && b.length) b.splice(at, 1);
        else b.splice(at, 0, words[rand(5)]! + '\n');
      }
      if (rand(4) === 0 && b.length) b[b.length - 1] = b[b.length - 1]!.slice(0, -1);
      const oldText = a.join('');
      const newText = b.join('');
      const patch = unifiedDiff(oldText, newText, 'f');
      if (oldText === newText) expect(patch).toBe('');
      else expect(applyPatch(oldText, patch)).toBe(newText);
    }
  });

  it('stays a valid diff for large rewrites', () => {
    const a = Array.from({ length: 3000 }, (_, i) => `a${i}\n`).join('');
    const b = Array.from({ length: 3000 }, (_, i) => `b${i}\n`).join('');
    expect(applyPatch(a, unifiedDiff(a, b, 'f'))).toBe(b);
  });
});
