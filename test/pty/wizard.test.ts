/**
 * The built CLI in a real terminal (tmux), against stand-in servers: keys in, screens out, files
 * and processes checked afterwards.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Plan } from '../../src/config/plan.js';
import { startFakeMlxServer, type FakeMlxServer } from '../../src/servers/fake-mlx-server.js';
import { freePorts, snapshotTree } from '../../src/wizard/test-helpers.js';
import { ARCHITECT, EDITOR, enterUntil, rowNumber, runPiped, sandbox } from './helpers.js';
import { nodeLeftovers, startPty, tmuxAvailable, waitNoLeftovers, type PtyRun } from './tmux.js';

const runs: PtyRun[] = [];
const servers: FakeMlxServer[] = [];
const roots: string[] = [];
afterEach(async () => {
  for (const r of runs.splice(0)) await r.stop();
  for (const s of servers.splice(0)) await s.close();
  for (const d of roots.splice(0)) await rm(d, { recursive: true, force: true });
});

const describePty = tmuxAvailable() ? describe : describe.skip;
type Face = 'ink' | 'plain';
const faceArgs = (f: Face) => (f === 'plain' ? ['--plain'] : []);

async function start(args: string[], s: { env: Record<string, string>; cwd: string }) {
  const run = await startPty(args, s);
  runs.push(run);
  return run;
}

/** The last row of the model list is "A server that is already running…". */
async function pickRunningServer(run: PtyRun, face: Face, port: number) {
  // Ink's list stops at the ends (End jumps to the last row); the line face takes the row's number.
  if (face === 'ink') await run.keys('End', 'Enter');
  else await run.type(`${rowNumber(await run.screen(), /A server that is already running/)}\n`);
  await run.waitFor('Address of the running mlx_lm.server');
  await run.type(`127.0.0.1:${port}`);
  await run.keys('Enter');
}

/** The proposed setup comes first: "Adjust…" (the second row) opens the single questions. */
async function adjust(run: PtyRun, face: 'ink' | 'plain' = 'ink') {
  await run.waitFor('Use this setup?', 30_000);
  if (face === 'ink') await run.keys('Down', 'Enter');
  else await run.type('2\n'); // the line face takes a number
}

/** The first question when tools are missing (python3 is on the sandbox's PATH): "Not now". */
async function notNow(run: PtyRun, face: Face) {
  // The choice's row (the question itself may wrap on a small terminal).
  await run.waitFor(/Install\s+(it|both|all\s+\d)\s+now/, 30_000);
  // Where MLX cannot run (not a Mac with Apple silicon), "Not now" is the default already.
  const appleSilicon = process.platform === 'darwin' && process.arch === 'arm64';
  if (face === 'ink') await (appleSilicon ? run.keys('Down', 'Enter') : run.keys('Enter'));
  else await run.type('2\n');
}

describePty('pty: the built CLI in a terminal', () => {
  for (const face of ['ink', 'plain'] as const) {
    it(`${face}: first-time path against two stand-in servers, keys alone, same files as setup --yes`, async () => {
      const s = await sandbox();
      roots.push(s.root);
      const [pe, pa] = (await freePorts(2)) as [number, number];
      servers.push(await startFakeMlxServer({ port: pe, model: EDITOR }), await startFakeMlxServer({ port: pa, model: ARCHITECT }));
      const run = await start(['setup', ...faceArgs(face)], { env: s.env, cwd: s.project });

      await notNow(run, face);
      await adjust(run, face);
      await run.waitFor('How many models?', 30_000);
      if (face === 'ink') await run.keys('Down', 'Enter'); // Architect + editor
      else await run.type('2\n');
      await run.waitFor('Which model writes the code?');
      await pickRunningServer(run, face, pe);
      await run.waitFor('Context window for the editor');
      await run.keys('Enter');
      await run.waitFor('Which model plans the changes?');
      await pickRunningServer(run, face, pa);
      await run.waitFor('Context window for the architect');
      await run.keys('Enter');
      await run.waitFor('How should Aider reach the servers?');
      await run.keys('Enter'); // no litellm here: direct is the default
      await run.waitFor('Where should Aider pick this up?', 20_000);
      await run.keys('Enter'); // this project
      await run.waitFor('Write these files?');
      await run.keys('Enter');
      const end = await run.waitFor('Next steps', 20_000, 200);
      expect(end).toContain(`architect: ${ARCHITECT} on 127.0.0.1:${pa}`);
      expect(await run.exited()).toBe(0);

      const wizardFiles = await snapshotTree(s.root);
      expect(Object.keys(wizardFiles).filter((k) => /\.aider\.|plan\.yaml/.test(k))).toHaveLength(4);
      // Now the same through `setup --yes` with the equivalent flags, into the same folders.
      await rm(s.home, { recursive: true });
      await mkdir(s.home);
      for (const f of ['.aider.conf.yml', '.aider.model.settings.yml', '.aider.model.metadata.json']) await rm(join(s.project, f));
      const flags = ['--yes', '--editor', EDITOR, '--editor-port', String(pe), '--architect', ARCHITECT, '--architect-port', String(pa), '--mode', 'direct', '--scope', 'project'];
      const r = await runPiped(['setup', ...flags], { env: s.env, cwd: s.project });
      expect(r.code, r.stderr).toBe(0);
      expect(await snapshotTree(s.root)).toEqual(wizardFiles);
    });

    it(`${face}: --demo reaches the next steps with Enter alone`, async () => {
      const s = await sandbox();
      roots.push(s.root);
      const demo = join(s.root, 'demo');
      const run = await start(['setup', '--demo', '--demo-dir', demo, ...faceArgs(face)], { env: s.env, cwd: s.project });
      // The proposal, then the review: the write is reached in at most 4 presses.
      const presses = await enterUntil(run, 'This was a demo');
      expect(presses).toBeLessThanOrEqual(4);
      expect(await run.exited()).toBe(0);
      // The demo says so in what stays on screen (the DEMO badge is in the live header, gone at the end).
      expect(await run.screen(400)).toMatch(/Demo: stand-in servers/);
      const files = Object.keys(await snapshotTree(demo));
      expect(files).toContain(join(demo, 'home/.config/aider-mlx/plan.yaml'));
      expect(files).toContain(join(demo, 'project/.aider.conf.yml'));
      // The stand-in it started was stopped at the end; nothing of the user's was touched.
      expect(await waitNoLeftovers(run.marker)).toEqual([]);
      expect(Object.keys(await snapshotTree(s.home))).toEqual([]);
    });
  }

  for (const face of ['ink', 'plain'] as const) {
    it(`${face}: a server that cannot start offers the install, and the doctor walks through what failed`, async () => {
      const s = await sandbox(); // no mlx_lm on PATH
      roots.push(s.root);
      // A free port of its own: the wizard's "next free after 8080" may be taken by another run
      // on this machine while the test goes on (8080-8082 held: every such run picks 8083).
      const [editorPort] = (await freePorts(1)) as [number];
      const run = await start(['setup', '--editor-port', String(editorPort), ...faceArgs(face)], { env: s.env, cwd: s.project });
      await notNow(run, face);
      await run.waitFor('Use this setup?', 30_000);
      const menu = await (async () => {
        await enterUntil(run, 'What now?');
        return run.screen();
      })();
      expect(menu).toMatch(/mlx_lm is not installed/);
      // Offered when uv, pipx or a python3 is on the sandbox's PATH (/usr/bin:/bin).
      const canInstall = ['uv', 'pipx', 'python3', 'python'].some((b) => existsSync(join('/usr/bin', b)) || existsSync(join('/bin', b)));
      expect(/Install mlx-lm [\d.]+ now/.test(menu)).toBe(canInstall);
      // Not installing in a test: the last choice, Skip (Ink's list stops at the ends).
      if (face === 'ink') await run.keys('End', 'Enter');
      else await run.type(`${rowNumber(menu, /Skip: write the setup anyway/)}\n`);
      await enterUntil(run, 'Written, with failed checks');
      const all = await run.screen(600);
      expect(all).toContain('one part of the setup at a time');
      expect(all).toMatch(/nothing answers/);
      // The terminal wraps long lines anywhere: compare without whitespace.
      const port = (parse(await readFile(join(s.home, '.config/aider-mlx/plan.yaml'), 'utf8')) as Plan).roles.editor.deployments[0]!.port;
      expect(port).toBe(editorPort);
      expect(all.replace(/\s+/g, '')).toMatch(new RegExp(`fix:Startitinanotherterminal:mlx_lm\\.server--model\\S+--port${port}(?!\\d)`));
      expect(await run.exited()).toBe(1);
      expect(await waitNoLeftovers(run.marker)).toEqual([]);
    });
  }

  it('ink: a small terminal (60×20) still gets to the end with Enter alone', async () => {
    const s = await sandbox();
    roots.push(s.root);
    const run = await startPty(['setup', '--demo', '--demo-dir', join(s.root, 'demo')], { env: s.env, cwd: s.project, cols: 60, rows: 20 });
    runs.push(run);
    await notNow(run, 'ink');
    await run.waitFor('Use this setup?', 30_000);
    // Nothing is wider than the terminal (Ink truncates or wraps every line).
    for (const l of (await run.screen()).split('\n')) expect(l.length).toBeLessThanOrEqual(60);
    await enterUntil(run, 'This was a demo');
    expect(await run.exited()).toBe(0);
  });

  it('ink: Esc goes back a step', async () => {
    const s = await sandbox();
    roots.push(s.root);
    const run = await start(['setup', '--demo', '--demo-dir', join(s.root, 'demo')], { env: s.env, cwd: s.project });
    await notNow(run, 'ink');
    await adjust(run);
    await run.waitFor('How many models?', 30_000);
    await run.keys('Enter');
    await run.waitFor('Which model writes the code?');
    await run.keys('Escape');
    const screen = await run.waitFor('How many models?');
    expect(screen).toContain('3/'); // the step counter is back on Roles (after Look around and the proposal)
    await run.keys('C-c');
    expect(await run.exited()).toBe(130);
  });

  // Ctrl-C at every question of the Enter-only demo path (and during the first look around).
  const STOPS: Array<[string, number]> = [
    ['Looking at this', 0], // this Mac, or this machine off macOS
    ['are not installed. Install', 0],
    ['Use this setup?', 1],
    ['Write these files?', 2],
  ];
  for (const [face, stops] of [['ink', STOPS], ['plain', STOPS.filter(([, n]) => n >= 1)]] as const) {
    for (const [text, enters] of stops) {
      it(`${face}: Ctrl-C at "${text}" leaves every file byte-identical and no process alive`, async () => {
        const s = await sandbox();
        roots.push(s.root);
        // The user's own files, in the demo's home and project: they must not change by a byte.
        const demo = join(s.root, 'demo');
        await mkdir(join(demo, 'home'), { recursive: true });
        await mkdir(join(demo, 'project'), { recursive: true });
        await writeFile(join(demo, 'home', '.aider.conf.yml'), '# mine\nmodel: gpt-4o\n');
        await writeFile(join(demo, 'project', '.aider.conf.yml'), '# project\ndark-mode: true\n');
        const before = await snapshotTree(s.root);
        const run = await start(['setup', '--demo', '--demo-dir', demo, ...faceArgs(face)], { env: s.env, cwd: s.project });
        const shown = (t: string) => t;
        for (let j = 1; j <= enters; j++) {
          await run.waitFor(shown(STOPS[j]![0]), 30_000);
          await run.keys('Enter');
        }
        await run.waitFor(shown(text), 30_000);
        if (enters >= 2) {
          // Past the servers step a stand-in runs: the leftover check must see it before Ctrl-C.
          expect(nodeLeftovers(run.marker).some((p) => p.cmd.includes('fake-mlx-server'))).toBe(true);
        }
        await run.keys('C-c');
        expect(await run.exited()).toBe(130);
        expect(await waitNoLeftovers(run.marker)).toEqual([]);
        expect(await snapshotTree(s.root)).toEqual(before);
      });
    }
  }
});

describe('no terminal', () => {
  it('setup without flags fails at once, naming what to pass', async () => {
    const s = await sandbox();
    roots.push(s.root);
    const r = await runPiped(['setup'], { env: s.env, cwd: s.project });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no terminal to ask the setup questions in/i);
    expect(r.stderr).toMatch(/--editor MODEL/);
  });

  it('setup --demo runs to the end with the defaults, and says so', async () => {
    const s = await sandbox();
    roots.push(s.root);
    const demo = join(s.root, 'demo');
    const r = await runPiped(['setup', '--demo', '--demo-dir', demo], { env: { ...s.env, CI: 'true' }, cwd: s.project });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('This was a demo');
    expect(Object.keys(await snapshotTree(demo))).toContain(join(demo, 'project/.aider.conf.yml'));
  });
});
