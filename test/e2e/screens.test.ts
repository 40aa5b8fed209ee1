/**
 * What a newcomer's first runs print without a terminal (a pipe): lines that fit 80 columns,
 * one numbering of the steps, no question echoed back, and no demo folder left behind.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, sandbox, type Sandbox } from './helpers.js';

const boxes: Sandbox[] = [];
afterEach(() => {
  for (const s of boxes.splice(0)) rmSync(s.root, { recursive: true, force: true });
});
/** A sandbox whose temp folder (TMPDIR) is its own: what a demo leaves there is seen. */
function box(): Sandbox & { tmp: string } {
  const s = sandbox();
  boxes.push(s);
  const tmp = join(s.root, 'tmp');
  mkdirSync(tmp);
  return { ...s, tmp, env: { ...s.env, TMPDIR: tmp, XDG_CONFIG_HOME: join(s.home, '.config'), HF_HUB_OFFLINE: '1', HF_HUB_CACHE: join(s.root, 'hf') } };
}

/** Rows wider than 80 columns, commands (`$ …`) left out: they are kept whole, the terminal may soft-wrap them. */
// Nor a row whose word is too long for any row (a deep temp path): the terminal has to break that one.
const wide = (text: string) =>
  text.split('\n').filter((l) => [...l].length > 80 && !/^\s*(?:\d+[.)] +)?\$ /.test(l) && !l.split(/\s+/).some((w) => [...w].length > 72));

describe('the demo without a terminal', () => {
  it('setup --plain --demo says in one line that it runs without questions; its lines fit 80 columns; a taken answer is said once', async () => {
    const s = box();
    const r = await cli(['setup', '--plain', '--demo'], { cwd: s.repo, env: s.env, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const all = `${r.stdout}${r.stderr}`;
    expect(all.replace(/\s+/g, ' ')).toContain('No terminal: --plain needs one to ask; running without questions, as --yes would (answers from a file: --answers FILE).');
    expect(wide(all), all).toEqual([]);
    expect(all).not.toContain('Use this setup? Use this setup');
    expect(all).toMatch(/^ {2}Use this setup$/m);
  }, 120_000);

  it('setup --plain with its input piped (or none) asks nothing and writes nothing: as without --plain, it names --yes and --answers', async () => {
    const s = box();
    for (const input of ['2\n', undefined]) {
      const r = await cli(['setup', '--plain'], { cwd: s.repo, env: s.env, timeoutMs: 60_000, ...(input === undefined ? {} : { input }) });
      expect(r.code, r.stderr).toBe(2);
      const err = r.stderr.replace(/\s+/g, ' ');
      expect(err).toContain('There is no terminal to ask the setup questions in (--plain asks on a terminal only).');
      expect(err).toMatch(/--yes .*--answers FILE/);
      expect(err).not.toMatch(/at .*\.js:\d+/);
      expect(readdirSync(s.home).filter((f) => f !== '.config')).toEqual([]);
    }
  }, 120_000);

  it('a finished demo keeps its /tmp/aider-mlx-demo-* folder for the next steps it prints, which run as printed, and says how to remove it', async () => {
    const s = box();
    const r = await cli(['setup', '--plain', '--demo'], { cwd: s.repo, env: s.env, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const all = `${r.stdout}${r.stderr}`;
    const kept = readdirSync(s.tmp).filter((n) => n.startsWith('aider-mlx-demo-'));
    expect(kept).toHaveLength(1);
    const folder = join(s.tmp, kept[0]!);
    expect(all.replace(/\s+/g, ' ')).toContain(`When you are done: rm -rf ${folder}`);
    // The "status" next step, as printed: it finds the demo's plan (before, the folder was gone: "No plan yet", exit 2).
    const step = /\$ HOME=(\S+) XDG_CONFIG_HOME=(\S+) node \S+ status/.exec(all)!;
    expect(step, all).not.toBeNull();
    const st = await cli(['status', '--json'], { cwd: s.repo, env: { ...s.env, HOME: step[1]!, XDG_CONFIG_HOME: step[2]! } });
    expect(st.stderr).not.toContain('No plan yet');
    expect(JSON.parse(st.stdout)).toHaveProperty('mode');
  }, 120_000);

  it('a demo that is cancelled or fails before writing removes its folder', async () => {
    const s = box();
    // --dry-run writes nothing: no next step reads the folder, so it goes.
    const r = await cli(['setup', '--plain', '--demo', '--dry-run'], { cwd: s.repo, env: s.env, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(s.tmp).filter((n) => n.startsWith('aider-mlx-demo-'))).toEqual([]);
  }, 120_000);
});

describe('lines fit 80 columns without a terminal', () => {
  for (const args of [['docter'], ['--bogus'], ['setup', '--bogus'], ['setup', '--port', '8080']]) {
    it(`the error for ${args.join(' ')}: wrapped, its \`command\` whole on one row`, async () => {
      const s = box();
      const r = await cli(args, { cwd: s.repo, env: s.env });
      expect(r.code).toBe(2);
      expect(wide(r.stderr), r.stderr).toEqual([]);
      for (const l of r.stderr.split('\n')) expect((l.match(/`/g) ?? []).length % 2, r.stderr).toBe(0);
    });
  }
  it('setup --port suggests the port flags it has, not --host', async () => {
    const s = box();
    const r = await cli(['setup', '--port', '8080'], { cwd: s.repo, env: s.env });
    expect(r.code).toBe(2);
    const text = r.stderr.replace(/\s+/g, ' ');
    expect(text).toMatch(/Did you mean --editor-port, .*--proxy-port\?/);
    expect(text).not.toContain('--host');
  });
});
