/**
 * The line face's file lists, diffs and end (--demo --plain) as a terminal of 60 columns shows them:
 * the CLI's bytes replayed in a headless xterm.js, read as the rows a person sees (a row the
 * terminal wrapped joined to the one above it: one line the program wrote).
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { startEmulated, emulatedRuns } from './emulator.js';
import { sandbox } from './helpers.js';

const { runs, roots, describePty } = emulatedRuns();

/** The lines the program wrote, as the terminal holds them: a wrapped row joined to the one above. */
function written(rows: Array<{ text: string; wrapped: boolean }>): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.wrapped && out.length) out[out.length - 1] += r.text;
    else out.push(r.text);
  }
  return out;
}

const ACTION = /^ {2}(?:✓ )?(create|update|unchanged|created|updated)\b/;

describePty('the line face at 60 columns: file lists, diffs, the end', () => {
  it('--demo --plain: every row of a file list laid out alike, each path whole; diffs are the files\' lines; next steps and files said once', async () => {
    const cols = 60;
    const s = await sandbox();
    roots.push(s.root);
    // A folder whose .aider.conf.yml row is too wide for 60 columns while its path alone fits (the
    // others do not): the row that used to break on its own, unlike the others.
    const base = await mkdtemp(join(tmpdir(), 'amx-'));
    roots.push(base);
    const demo = join(base, 'demo-folder');
    const files = {
      plan: join(demo, 'home', '.config', 'aider-mlx', 'plan.yaml'),
      conf: join(demo, 'project', '.aider.conf.yml'),
      settings: join(demo, 'project', '.aider.model.settings.yml'),
      metadata: join(demo, 'project', '.aider.model.metadata.json'),
    };
    expect(files.conf.length + 2 <= cols && files.conf.length + 12 > cols, files.conf).toBe(true);
    expect(files.settings.length + 12 > cols).toBe(true);

    const e = await startEmulated(['--demo', '--plain', '--demo-dir', demo], { env: { ...s.env, TERM: 'dumb' }, cwd: s.project, cols, rows: 30 });
    runs.push(e);
    for (let q = 0; q < 20; q++) {
      const screen = await e.waitFor(/(Choose \[\d+\]:|\[[Yy]\/[Nn]\]|:)\s*$|This was a demo/, 60_000);
      await e.settle(300);
      if (screen.some((l) => l.includes('This was a demo'))) break;
      e.write('\r');
      await e.settle(300);
    }
    expect(await e.exited()).toBe(0);
    const rows = e.rows({ all: true });
    const lines = written(rows);
    const show = rows.map((r) => `${r.wrapped ? '+' : '|'}${r.text}`).join('\n');
    const from = (re: RegExp, start = 0) => lines.findIndex((l, i) => i >= start && re.test(l));

    // W1: the Review's list and the summary's Files, each laid out one way for all its rows.
    const review = from(/^\[\d\/\d\] Review/);
    const filesAt = from(/^Files$/, review);
    expect(review, show).toBeGreaterThan(0);
    expect(filesAt, show).toBeGreaterThan(review);
    for (const at of [review + 1, filesAt + 1]) {
      const end = from(/^$/, at);
      const list = lines.slice(at, end);
      const entries: Array<{ action: string; path: string; indent: number; own: boolean }> = [];
      for (let i = 0; i < list.length; i++) {
        const m = ACTION.exec(list[i]!);
        expect(m, `${list[i]}\n\n${show}`).not.toBeNull();
        const rest = list[i]!.slice(m![0].length);
        if (rest.trim()) entries.push({ action: m![1]!, path: rest.trim(), indent: list[i]!.length - rest.trimStart().length, own: false });
        else {
          const next = list[++i]!;
          entries.push({ action: m![1]!, path: next.trim(), indent: next.length - next.trimStart().length, own: true });
        }
      }
      expect(entries.map((x) => x.path).sort(), show).toEqual(expect.arrayContaining(Object.values(files).sort()));
      // Every row alike: all on their rows, or all with the path under the action word, at one indent.
      expect(new Set(entries.map((x) => `${x.own}:${x.indent}`)).size, show).toBe(1);
      // Nothing pushed past the edge by our indent: a path that fits a row is on a row the terminal did not break.
      for (const x of entries) if (x.path.length <= cols) expect(x.indent + x.path.length, `${x.path}\n\n${show}`).toBeLessThanOrEqual(cols);
    }

    // W2: each diff is the file's lines, each with its prefix; the headers whole.
    for (const path of [files.plan, files.conf, files.settings]) {
      const head = lines.indexOf(`+++ ${path}`);
      expect(head, `+++ ${path}\n\n${show}`).toBeGreaterThan(0);
      expect(lines[head - 1], show).toBe('--- /dev/null');
      expect(lines[head + 1], show).toMatch(/^@@ -0,0 \+1,\d+ @@$/);
      const end = from(/^$/, head);
      const body = lines.slice(head + 2, end);
      const text = (await readFile(path, 'utf8')).replace(/\n$/, '').split('\n');
      // The terminal's right-trimmed rows drop a blank at a break: compare without blanks.
      const bare = (l: string) => l.replace(/\s/g, '');
      expect(body.map((l) => l[0]), show).toEqual(text.map(() => '+'));
      expect(body.map((l) => bare(l.slice(1))), show).toEqual(text.map(bare));
    }

    // W4: the end: one list of next steps, in one order, printed once; the files once.
    const step = from(/^\[\d\/\d\] Next steps/);
    const ready = from(/^✓ Ready$/, step);
    expect(step, show).toBeGreaterThan(0);
    const stepText = lines.slice(step, ready).join('\n');
    expect(stepText, show).not.toMatch(/install aider|launch --stand-in|serve --stand-in|\$ /);
    const after = lines.slice(from(/^\[\d\/\d\] Write/)).join('\n');
    for (const cmd of [' install aider', ' launch --stand-in', ' serve --stand-in']) expect(after.split(cmd).length - 1, `${cmd}\n\n${show}`).toBe(1);
    for (const path of Object.values(files)) expect(after.split(path).length - 1, `${path}\n\n${show}`).toBe(1);
  }, 120_000);
});

describePty('the line face at 80 columns: the model list', () => {
  it('--demo --plain, Adjust…: no hint is broken between a number and its unit, nor inside a `·`-separated fact a row can hold', async () => {
    const cols = 80;
    const s = await sandbox();
    roots.push(s.root);
    const e = await startEmulated(['--demo', '--plain', '--demo-dir', join(s.root, 'demo')], { env: { ...s.env, TERM: 'dumb' }, cwd: s.project, cols, rows: 40 });
    runs.push(e);
    let adjusted = false;
    for (let q = 0; q < 20; q++) {
      const screen = await e.waitFor(/(Choose \[\d+\]:|\[[Yy]\/[Nn]\]|:)\s*$|This was a demo/, 60_000);
      await e.settle(300);
      if (screen.some((l) => l.includes('This was a demo'))) break;
      const adjust = !adjusted && screen.join('\n').includes('Use this setup?') ? /(\d+)\) Adjust/.exec(screen.join('\n'))?.[1] : undefined;
      if (adjust) adjusted = true;
      e.write(`${adjust ?? ''}\r`);
      await e.settle(300);
    }
    expect(adjusted).toBe(true);
    const rows = e.rows({ all: true });
    const show = rows.map((r) => `${r.wrapped ? '+' : '|'}${r.text}`).join('\n');
    const hints = rows.filter((r) => /recommended · (?:download|not cached)/.test(r.text)).length;
    expect(hints, show).toBeGreaterThan(0);
    rows.forEach((r, k) => {
      if (k === 0) return;
      const pair = `${rows[k - 1]!.text}|${r.text.trimStart()}`;
      expect(pair, show).not.toMatch(/\d\|(?:GB|MB|ms|s|tokens|tok\/s)\b/);
      // A row broken inside a hint ends at a `·`: its facts (`7.8 GB`, `tight for the set`) whole.
      if (/ · /.test(rows[k - 1]!.text) && /^ {5}\S/.test(r.text) && !r.wrapped) expect(rows[k - 1]!.text, show).toMatch(/·$/);
    });
  }, 120_000);
});
