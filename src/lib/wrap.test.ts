import { describe, expect, it } from 'vitest';
import { fitTable, wrapLine, wrapText } from './wrap.js';

describe('wrapLine: what counts as a command kept whole', () => {
  const w = (l: string, c = 40) => wrapLine(l, c).split('\n');
  it('a numbered item and one after ": " with flags stay whole', () => {
    expect(w('  3. litellm --config ~/.config/aider-mlx/litellm.yaml --port 4000')).toHaveLength(1);
    expect(w('  fix: start it: mlx_lm.server --model mlx-community/X --port 8080').at(-1)).toBe('  mlx_lm.server --model mlx-community/X --port 8080');
  });
  it('prose that starts with a program name is prose: a heading, a sentence, a log line', () => {
    for (const l of [
      'aider-mlx setup  (DEMO: stand-in servers, files in a temp folder)',
      '  ! aider is not installed, so it cannot start now: run the installer first, then --stand-in',
      '      mlx_lm/server.py: UserWarning: mlx_lm.server is not recommended for production as it only implements basic security checks.',
    ]) {
      const rows = w(l);
      expect(rows.length, l).toBeGreaterThan(1);
      for (const r of rows) expect(r.length, r).toBeLessThanOrEqual(40);
    }
  });
});

describe('wrapLine: a command with its comment, wider than the terminal', () => {
  it('the command stays whole on its row, the comment goes under it wrapped between words, every row a comment', () => {
    const cmd = '$ HOME=/tmp/aider-mlx-demo-abcdef/home XDG_CONFIG_HOME=/tmp/aider-mlx-demo-abcdef/home/.config npx aider-mlx launch --stand-in';
    const line = `  5. ${cmd}   # then: starts the servers in the background, and Aider in this terminal, once it is installed`;
    const rows = wrapLine(line, 80).split('\n');
    expect(rows[0]).toBe(`  5. ${cmd}`);
    expect(rows.length).toBeGreaterThan(2);
    for (const r of rows.slice(1)) {
      expect(r.length).toBeLessThanOrEqual(80);
      expect(r).toMatch(/^ {7}# \S/);
    }
    expect(rows.slice(1).map((r) => r.slice(9)).join(' ')).toBe('then: starts the servers in the background, and Aider in this terminal, once it is installed');
  });
  it('one that fits is left as it is', () => {
    expect(wrapLine('  $ aider-mlx status   # shows them', 80)).toBe('  $ aider-mlx status   # shows them');
  });
});

describe('wrapLine: a `quoted` span closed by punctuation', () => {
  it('ends at `…`? and the next span is a unit of its own', () => {
    const line = '  → Did you mean `aider-mlx doctor`? Run `node /some/where/bin/aider-mlx.js --help` to see the commands.';
    const rows = wrapLine(line, 60).split('\n');
    for (const r of rows) expect((r.match(/`/g) ?? []).length % 2, rows.join('\n')).toBe(0);
    expect(rows.some((r) => r.includes('`node /some/where/bin/aider-mlx.js --help`'))).toBe(true);
  });
});

describe('wrapLine: an error hint naming a command', () => {
  it('a `quoted` command wider than the row goes whole under the sentence as a `$ ` line, never broken between its words', () => {
    const line = '  → e.g. `node /work/clone/bin/aider-mlx.js models pull mlx-community/Qwen2.5-Coder-7B-Instruct-4bit`';
    const rows = wrapLine(line, 80).split('\n');
    expect(rows).toEqual(['  → e.g. the command below', '    $ node /work/clone/bin/aider-mlx.js models pull mlx-community/Qwen2.5-Coder-7B-Instruct-4bit']);
  });
  it('after "run: ", chmod and its path stay one unit (no flags needed: chmod is never a word of a sentence)', () => {
    const line = '  → If you trust it, run: chmod 600 /tmp/aider-mlx-e2e-8xlUHy/home/.config/aider-mlx/plan.yaml';
    const rows = wrapLine(line, 80).split('\n');
    expect(rows).toEqual(['  → If you trust it, run:', '    chmod 600 /tmp/aider-mlx-e2e-8xlUHy/home/.config/aider-mlx/plan.yaml']);
  });
});

describe('wrapLine: a quoted command after a bracket', () => {
  it('"(`node …/bin/aider-mlx.js install litellm`, then …)" keeps the command whole at 40 columns', () => {
    const line = '  mode: direct: LiteLLM is not installed (`node /work/ci2/bin/aider-mlx.js install litellm`, then more)';
    const rows = wrapLine(line, 40).split('\n');
    expect(rows.some((r) => r.includes('(the command below,'))).toBe(true);
    expect(rows).toContain('  $ node /work/ci2/bin/aider-mlx.js install litellm');
  });
});

describe('wrapLine: a quoted command after variables set for it', () => {
  const home = '/tmp/aider-mlx-demo-JIjVN5/home';
  const cmd = `HOME=${home} XDG_CONFIG_HOME=${home}/.config node /work/wt/h7/bin/aider-mlx.js serve --stand-in`;
  it('is never broken between its words: too wide for a row, it goes under the sentence as a `$ ` line', () => {
    const line = `    Stopped the server this wizard started (they stop with the demo); \`${cmd}\` brings it back.`;
    const rows = wrapLine(line, 80).split('\n');
    expect(rows).toEqual([
      '    Stopped the server this wizard started (they stop with the demo); the',
      '    command below brings it back.',
      `    $ ${cmd}`,
    ]);
  });
  it('two of them: the sentence says which is which, each whole on its own `$ ` line, in order', () => {
    const line = `  ! aider is not installed: \`node /x/bin/aider-mlx.js install aider --method uv --yes --force\`, then \`${cmd}\`.`;
    const rows = wrapLine(line, 60).split('\n');
    expect(rows.slice(-2)).toEqual(['    $ node /x/bin/aider-mlx.js install aider --method uv --yes --force', `    $ ${cmd}`]);
    expect(rows.slice(0, -2).join(' ').replace(/\s+/g, ' ')).toContain('the first command below, then the second command below.');
    for (const r of rows.slice(0, -2)) expect([...r].length).toBeLessThanOrEqual(60);
  });
  it('one that fits a row stays in the sentence, whole and quoted', () => {
    const line = '  · It is set up: `HOME=/tmp/h node /x/bin/aider-mlx.js status --json` shows it, and much more text after.';
    const rows = wrapLine(line, 60).split('\n');
    expect(rows.some((r) => r.includes('`HOME=/tmp/h node /x/bin/aider-mlx.js status --json`'))).toBe(true);
  });
});

describe('fitTable: a table for the width, never a cell split across rows', () => {
  const rows = [
    ['· org/a-long-repo-name', '7B 4bit', '4.3 GB download', '1.2k downloads', 'fits 6.8 GB @16k'],
    ['· org/b', '32B 4bit', '18 GB download', '99 downloads', 'too big 24 GB @8k'],
  ];
  const cols = [{ head: true }, { drop: 1 }, { align: 'right' as const, drop: 3 }, { align: 'right' as const, drop: 2 }, {}];
  it('wide enough: one line a row, the columns aligned (a right-aligned cell padded on its left)', () => {
    const t = fitTable(rows, cols, 120).map((r) => r.join('\n'));
    expect(t).toEqual([
      '  · org/a-long-repo-name  7B 4bit   4.3 GB download  1.2k downloads  fits 6.8 GB @16k',
      '  · org/b                 32B 4bit   18 GB download    99 downloads  too big 24 GB @8k',
    ]);
  });
  it('narrower: the least important columns are left out first, lowest `drop` first', () => {
    expect(fitTable(rows, cols, 70).map((r) => r.join('\n'))).toEqual([
      '  · org/a-long-repo-name  4.3 GB download  fits 6.8 GB @16k',
      '  · org/b                  18 GB download  too big 24 GB @8k',
    ]);
  });
  it('too narrow for a table: each row a short block, cells whole, every line within the width', () => {
    const t = fitTable(rows, [{ head: true }, {}, {}, {}, {}], 40);
    expect(t[0]).toEqual(['  · org/a-long-repo-name', '      7B 4bit · 4.3 GB download', '      1.2k downloads · fits 6.8 GB @16k']);
    for (const l of t.flat()) expect([...l].length).toBeLessThanOrEqual(40);
  });
});

describe('wrapText: a file list (Review, Files) laid out as a whole', () => {
  const list = ['  create    /tmp/d/home/.config/aider-mlx/plan.yaml', '  create    /tmp/d/project/.aider.conf.yml', '  unchanged /tmp/d/project/.aider.model.settings.yml'];
  it('every row on its row when all fit', () => {
    expect(wrapText(list.join('\n'), 80)).toBe(list.join('\n'));
  });
  it('one too wide: every row the action word, then its path whole under it, all at one indent', () => {
    const rows = wrapText(list.join('\n'), 50).split('\n');
    expect(rows).toEqual([
      '  create', '    /tmp/d/home/.config/aider-mlx/plan.yaml',
      '  create', '    /tmp/d/project/.aider.conf.yml',
      '  unchanged', '    /tmp/d/project/.aider.model.settings.yml',
    ]);
  });
  it('no indent of ours pushes a path past the edge; one wider than the terminal stays whole', () => {
    const rows = wrapText(list.join('\n'), 43).split('\n');
    expect(rows.filter((r) => r.includes('/'))).toEqual(['  /tmp/d/home/.config/aider-mlx/plan.yaml', '  /tmp/d/project/.aider.conf.yml', '  /tmp/d/project/.aider.model.settings.yml']);
    expect(wrapText('  created   /a/very/long/path/that/is/wider/than/the/terminal', 20).split('\n')).toEqual(['  created', '    /a/very/long/path/that/is/wider/than/the/terminal']);
  });
});

describe('wrapLine: a number and its unit, and `·`-separated facts', () => {
  it('never breaks between a number and its unit', () => {
    const line = '  2) mlx-community/Qwen2.5-Coder-14B-Instruct-4bit  download 7.8 GB at 16384 tokens, 36 ms';
    for (let c = 30; c <= 90; c++) {
      const rows = wrapLine(line, c).split('\n');
      expect(rows.map((r) => r.trim()).join(' ').replace(/\s+/g, ' '), `${c}`).toBe(line.trim().replace(/\s+/g, ' '));
      for (let k = 1; k < rows.length; k++) expect(`${rows[k - 1]}|${rows[k]!.trim()}`, `${c}:\n${rows.join('\n')}`).not.toMatch(/\d\|(?:GB|tokens|ms)/);
    }
  });
  it('a fact between `·` goes whole to the next row when a row can hold it', () => {
    const rows = wrapLine('  1) some/model  recommended · download 7.8 GB · ~9.4 GB at 16k · fits for the set', 40).split('\n');
    expect(rows).toEqual(['  1) some/model  recommended ·', '     download 7.8 GB · ~9.4 GB at 16k ·', '     fits for the set']);
  });
});
