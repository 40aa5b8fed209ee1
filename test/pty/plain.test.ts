/**
 * The line face (--plain, TERM=dumb) and the commands' questions, byte for byte: in a real
 * pseudo-terminal, everything the CLI writes is kept and checked. A dumb terminal, Emacs' shell or
 * a screen reader gets printable text and newlines, never a cursor movement or an erase.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyWrites, planWrites } from '../../src/lib/fs.js';
import { configPaths } from '../../src/lib/paths.js';
import { freePorts, snapshotTree } from '../../src/wizard/test-helpers.js';
import { nonPlainBytes, python3Available, startBytes, type ByteRun } from './bytes.js';
import { EDITOR, runPiped, sandbox, type Sandbox } from './helpers.js';

const runs: ByteRun[] = [];
const roots: string[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) r.stop();
  for (const d of roots.splice(0)) await rm(d, { recursive: true, force: true });
});

const describePty = python3Available() ? describe : describe.skip;

async function box(): Promise<Sandbox> {
  const s = await sandbox();
  roots.push(s.root);
  return s;
}

function start(args: string[], s: { env: Record<string, string>; cwd: string }): ByteRun {
  const r = startBytes(args, s);
  runs.push(r);
  return r;
}

/**
 * The demo's files, with its ports as <PORT> and <PROXY_PORT>: the demo's stand-ins and proxy take
 * ports the system hands out, so two runs get different ones.
 */
async function filesWithPort(demo: string): Promise<Record<string, string>> {
  const files = await snapshotTree(demo);
  const plan = Buffer.from(files[join(demo, 'home/.config/aider-mlx/plan.yaml')] ?? '', 'base64').toString('utf8');
  const port = /deployments:\n\s+- host: \S+\n\s+port: (\d+)/.exec(plan)?.[1];
  const proxy = /proxy:\n\s+host: \S+\n\s+port: (\d+)/.exec(plan)?.[1];
  expect(port, plan).toBeDefined();
  expect(proxy, plan).toBeDefined();
  const mask = (text: string) =>
    text.replace(new RegExp(`(:|port: )${port}\\b`, 'g'), '$1<PORT>').replace(new RegExp(`(:|port: )${proxy}\\b`, 'g'), '$1<PROXY_PORT>');
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, mask(Buffer.from(v, 'base64').toString('utf8'))]));
}

/** Enter at every question until the CLI exits; the number of Enters. */
async function enterToTheEnd(run: ByteRun, max = 20): Promise<number> {
  let presses = 0;
  while ((await run.waitForPrompt()) === 'prompt') {
    if (++presses > max) throw new Error(`more than ${max} Enters; output:\n${run.text().slice(-2000)}`);
    run.send('\r');
    // The answer's echo, then the next output: wait until the prompt is no longer the last thing.
    const at = run.text().length;
    await run.waitFor(/\n/, { from: at, timeoutMs: 10_000 }).catch(() => undefined);
  }
  return presses;
}

describePty('the line face in a pty, byte for byte', () => {
  for (const [name, extra] of [['TERM=dumb', { TERM: 'dumb' }], ['NO_COLOR=1', { TERM: 'xterm-256color', NO_COLOR: '1' }]] as const) {
    it(`${name}: --demo --plain with Enter alone writes nothing but text and newlines, and the same files as setup --demo without a terminal`, async () => {
      const s = await box();
      const demo = join(s.root, 'demo');
      const run = start(['--demo', '--plain', '--demo-dir', demo], { env: { ...s.env, ...extra }, cwd: s.project });
      const presses = await enterToTheEnd(run);
      expect(await run.exited).toBe(0);
      const out = run.text();
      expect(out).toContain('This was a demo');
      // The proposal, then the review: Enter alone takes what is proposed.
      expect(presses).toBeGreaterThanOrEqual(2);
      // Numbered choices and plain prompts, not an arrow menu.
      expect(out).toMatch(/Use this setup\?[\s\S]*\r\n {2}1\) Use this setup/);
      expect(out).toContain('Choose [1]: ');
      expect(run.bytes().includes(0x1b)).toBe(false);
      expect(nonPlainBytes(run.bytes())).toEqual([]);
      // No server log line lands between a question and its answer.
      for (const m of out.matchAll(/Choose \[\d+\]: ([^\n]*)\n/g)) expect(m[1]).toBe('\r');

      const wizardFiles = await filesWithPort(demo);
      expect(Object.keys(wizardFiles).filter((k) => /\.aider\.|plan\.yaml/.test(k))).toHaveLength(4);
      await rm(demo, { recursive: true });
      const r = await runPiped(['setup', '--demo', '--demo-dir', demo], { env: { ...s.env, CI: 'true' }, cwd: s.project });
      expect(r.code, r.stderr).toBe(0);
      expect(await filesWithPort(demo)).toEqual(wizardFiles);
    });
  }

  it('a choice by its number, and b for back', async () => {
    const s = await box();
    const run = start(['--demo', '--plain', '--demo-dir', join(s.root, 'demo')], { env: { ...s.env, TERM: 'dumb' }, cwd: s.project });
    // The install question: its default is "Not now" where MLX cannot run, else "Install" (python3 is on the sandbox's PATH).
    await run.waitFor(/Install all \d now\?[\s\S]*Choose \[[12]\]: $/);
    run.send('2\r'); // "Not now"
    let at = run.text().length;
    await run.waitFor(/Use this setup\?[\s\S]*Choose \[1\]: $/, { from: at });
    run.send('2\r'); // Adjust…
    at = run.text().length;
    await run.waitFor(/How many models\?[\s\S]*Choose \[1\]: $/, { from: at });
    run.send('2\r'); // Architect + editor
    at = run.text().length;
    await run.waitFor(/\[\d+\/\d+\] Editor model[\s\S]*Choose \[1\]: $/, { from: at });
    run.send('b\r');
    at = run.text().length;
    // Back on Roles, where the choice made is the default now.
    await run.waitFor(/← back[\s\S]*\[\d+\/\d+\] Roles[\s\S]*How many models\?[\s\S]*Choose \[2\]: $/, { from: at });
    run.send('1\r');
    at = run.text().length;
    await run.waitFor(/\[\d+\/\d+\] Editor model[\s\S]*Choose \[1\]: $/, { from: at });
    // Something that is not a choice is asked again, not taken for the default.
    run.send('7\r');
    at = run.text().length;
    await run.waitFor(/Type a number from 1 to \d[^\n]*\r\nChoose \[1\]: $/, { from: at });
    run.send('\x03');
    expect(await run.exited).toBe(130);
    expect(run.text()).toContain('Cancelled');
    expect(run.bytes().includes(0x1b)).toBe(false);
  });
});

describePty("the commands' questions in a pty", () => {
  /** Something to ask about for each command: two backup sets, a cached model, a setup whose server is down. */
  async function world(): Promise<Sandbox> {
    const s = await box();
    const env = { ...s.env, TERM: 'xterm-256color' };
    const [down] = (await freePorts(1)) as [number];
    // A setup written despite its failed check (nothing listens on its port): the doctor has a hop to walk.
    const r = await runPiped(['setup', '--yes', '--force', '--editor', EDITOR, '--editor-port', String(down), '--mode', 'direct', '--scope', 'project'], { env, cwd: s.project });
    expect(r.code, r.stderr).toBe(1);
    const conf = join(s.project, '.aider.conf.yml');
    for (const [i, c] of ['model: openai/one\n', 'model: openai/two\n'].entries()) {
      await applyWrites(await planWrites([{ path: conf, content: c }]), { backupRoot: configPaths(env).backups, now: new Date(Date.UTC(2026, 10, 25, 10 + i)) });
    }
    const snap = join(s.root, 'hf', 'models--mlx-community--Tiny-4bit', 'snapshots', 'abc');
    await mkdir(snap, { recursive: true });
    await writeFile(join(snap, 'config.json'), '{}');
    return { ...s, env };
  }

  const QUESTIONS: Array<[string[], RegExp]> = [
    [['install', 'aider'], /Install\? \[Y\/n\] $/],
    [['restore'], /Choose \[1\]: $/],
    [['uninstall'], /Remove all of this\? \[y\/N\] $/],
    [['models', 'rm', 'mlx-community/Tiny-4bit'], /Delete mlx-community\/Tiny-4bit [^?]*\? \[y\/N\] $/],
    [['doctor'], /(Go on to [^\n]*\?|Apply this fix now\?[^\n]*) \[[Yy]\/[Nn]\] $/],
  ];
  for (const [args, question] of QUESTIONS) {
    it(`${args.join(' ')}: Ctrl-C at its question says Cancelled and exits 130, no stack trace`, async () => {
      const s = await world();
      const before = await snapshotTree(s.root);
      const run = start(args, { env: s.env, cwd: s.project });
      expect(await run.waitForPrompt(30_000)).toBe('prompt');
      expect(run.text()).toMatch(question);
      run.send('\x03');
      expect(await run.exited).toBe(130);
      const out = run.text();
      expect(out).toMatch(/✗ Cancelled\./);
      expect(out).not.toMatch(/^\s+at /m);
      expect(out).not.toMatch(/AbortError|Unexpected error/);
      // Nothing was done.
      expect(await snapshotTree(s.root)).toEqual(before);
    });
  }
});
