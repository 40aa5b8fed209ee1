/**
 * What a person sees: the built CLI's `--demo` in a real pty, its raw bytes replayed in a headless
 * xterm.js of the same size, the visible screen checked after every key. One `❯`, one copy of each
 * row, one key-hint line, one header; typed text edited in place; a paste with its Enter recorded
 * as typed (never the default); a resize mid-step redrawn once.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runPiped, sandbox } from './helpers.js';
import { startFakeMlxServer, type FakeMlxServer } from '../../src/servers/fake-mlx-server.js';
import { KEY, startEmulated, type Emulated, emulatedRuns } from './emulator.js';
import { waitNoLeftovers } from './tmux.js';

// Each test's emulated runs are stopped and their sandboxes removed after it; no pty, no tests.
const { runs, roots, describePty } = emulatedRuns();

/** The key-hint line of each kind of screen (its start: narrow terminals cut its end). */
const HINT = /^(↑↓ move · Enter choose|↑↓ file · PgUp\/PgDn|Enter accept · Esc back|y\/n answer · Enter)/;
const HEADER = /^aider-mlx (setup {2}DEMO|reconfigure {2})/;
const RULE = /^─{10,}/;
const PGDN = '\x1b[6~';
const CTRL_U = '\x15';

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** The checks every frame must pass; `focus`: what the `❯` line must hold. */
function checkFrame(screen: string[], what: string, focus?: string | RegExp): void {
  const show = `${what}:\n${screen.map((l) => `|${l}`).join('\n')}`;
  const headers = screen.filter((l) => HEADER.test(l));
  expect(headers, `one header, ${show}`).toHaveLength(1);
  const hints = screen.filter((l) => HINT.test(l));
  expect(hints, `one key-hint line, ${show}`).toHaveLength(1);
  const cursors = screen.filter((l) => /^\s*❯/.test(l));
  // A yes/no question has no list: no ❯ at all, and its one "(Y/n)" prompt.
  const yesNo = screen.filter((l) => /^\? .*\((Y\/n|y\/N)\)/.test(l));
  expect(yesNo.length, `at most one yes/no prompt, ${show}`).toBeLessThanOrEqual(1);
  expect(cursors, `one ❯, ${show}`).toHaveLength(yesNo.length === 1 ? 0 : 1);
  if (focus !== undefined) {
    if (typeof focus === 'string') expect(cursors[0], show).toContain(focus);
    else expect(cursors[0], show).toMatch(focus);
  }
  // The live area: from the header to the hints (on the review screen, to the diff's rule).
  const top = screen.findIndex((l) => HEADER.test(l));
  const hint = screen.findIndex((l) => HINT.test(l));
  expect(top, `header above the hints, ${show}`).toBeLessThan(hint);
  let live = screen.slice(top + 1, hint);
  const rule = live.findIndex((l) => RULE.test(l));
  if (rule >= 0) live = live.slice(0, rule);
  const rows = live.map((l) => l.replace(/^\s*❯/, '').trim()).filter(Boolean);
  const repeated = rows.filter((r, i) => rows.indexOf(r) !== i);
  expect(repeated, `no row twice, ${show}`).toEqual([]);
}

interface Walk {
  e: Emulated;
  size: string;
  step: number;
}

/** Send one write, wait for `until` (if given) and for the output to settle, check the frame. */
async function press(w: Walk, bytes: string, o: { until?: string | RegExp; focus?: string | RegExp; timeoutMs?: number } = {}): Promise<string[]> {
  w.e.write(bytes);
  if (o.until) await w.e.waitFor(o.until, o.timeoutMs);
  const screen = await w.e.settle();
  checkFrame(screen, `${w.size}, step ${++w.step}, after ${JSON.stringify(bytes)}`, o.focus);
  return screen;
}

async function at(w: Walk, until: string | RegExp, focus?: string | RegExp, timeoutMs?: number): Promise<string[]> {
  await w.e.waitFor(until, timeoutMs);
  const screen = await w.e.settle();
  checkFrame(screen, `${w.size}, step ${++w.step}, at ${String(until)}`, focus);
  return screen;
}

/** Type text one key at a time, each its own write, checking every frame. */
async function typeKeys(w: Walk, text: string): Promise<void> {
  for (const ch of text) await press(w, ch);
}

const MODEL = /❯ mlx-community\//;


/**
 * The install offer: on a Mac with Apple silicon Enter installs (the default), elsewhere (MLX cannot
 * run there) it is "Not now". Either way the arrows go between the two, and the walk goes on from "Not now".
 */
async function installOffer(w: Walk): Promise<void> {
  const appleSilicon = process.platform === 'darwin' && process.arch === 'arm64';
  await at(w, /Install\s+(it|both|all\s+\d)\s+now\?/, appleSilicon ? /❯ Install (it|both|all \d) now/ : '❯ Not now', 30_000);
  if (!appleSilicon) await press(w, KEY.up, { focus: /❯ Install (it|both|all \d) now/ });
  await press(w, KEY.down, { focus: '❯ Not now' });
}

describePty('pty frames: --demo as a terminal shows it', () => {
  for (const [cols, rows, resize] of [
    [100, 30, [70, 20]],
    [80, 24, undefined],
    [60, 20, undefined],
  ] as Array<[number, number, [number, number] | undefined]>) {
    it(`${cols}×${rows}: every step, one frame on screen after every key${resize ? `, resized to ${resize.join('×')} and back mid-step` : ''}`, async () => {
      const s = await sandbox();
      roots.push(s.root);
      const demoDir = join(s.root, 'demo');
      // The stand-in server goes on a port that is free now (8080 may be anyone's on this machine).
      const port = await freePort();
      const e = await startEmulated(['--demo', '--demo-dir', demoDir], { env: s.env, cwd: s.project, cols, rows });
      runs.push(e);
      const w: Walk = { e, size: `${cols}×${rows}`, step: 0 };

      // Missing tools: one question first (the demo installs nothing either way): "Not now".
      await installOffer(w);
      await press(w, KEY.enter, { until: 'Use this setup?' });

      // The proposal: arrows between its two rows, then "Adjust…" opens every single step.
      await at(w, 'Use this setup?', '❯ Use this setup', 30_000);
      await press(w, KEY.down, { focus: '❯ Adjust…' });
      await press(w, KEY.up, { focus: '❯ Use this setup' });
      await press(w, KEY.down, { focus: '❯ Adjust…' });
      await press(w, KEY.enter, { until: 'How many models?' });

      // Roles: arrows down and up.
      await at(w, 'How many models?', '❯ One model for everything', 30_000);
      await press(w, KEY.down, { focus: '❯ Architect + editor' });
      await press(w, KEY.down, { focus: '❯ One model + a small weak model' });
      await press(w, KEY.up, { focus: '❯ Architect + editor' });
      await press(w, KEY.up, { focus: '❯ One model for everything' });
      const models = await press(w, KEY.enter, { until: '? Which model writes the code?', focus: MODEL });
      // The row keeps its size and fit at every width (under the name when the line is too short).
      expect(models.join('\n'), models.join('\n')).toMatch(/recommended · not cached · [\d.]+ GB · (fits|tight)/);

      // The model list, a resize in the middle of it.
      await press(w, KEY.down, { focus: '❯ Search the Hugging Face Hub' });
      await press(w, KEY.down, { focus: '❯ Type a repo id' });
      if (resize) {
        await e.resize(resize[0], resize[1]);
        checkFrame(await e.settle(400), `${w.size} resized to ${resize.join('×')}`, '❯ Type a repo id');
        await e.resize(cols, rows);
        checkFrame(await e.settle(400), `${w.size} resized back`, '❯ Type a repo id');
      }
      await press(w, KEY.up, { focus: '❯ Search the Hugging Face Hub' });
      await press(w, KEY.up, { focus: MODEL });
      await press(w, KEY.enter, { until: '? Context window for the editor', focus: /❯ +\d+ +\(Enter keeps it\)/ });

      // The context field: typed keys edit one line in place.
      await typeKeys(w, '1638');
      expect((await press(w, KEY.left)).filter((l) => l.startsWith('❯'))).toEqual(['❯ 1638']);
      await press(w, '9', { focus: /^❯ 16398$/ });
      await press(w, KEY.home);
      await press(w, '2', { focus: /^❯ 216398$/ });
      await press(w, KEY.end);
      await press(w, KEY.backspace, { focus: /^❯ 21639$/ });
      await press(w, KEY.home);
      await press(w, KEY.del, { focus: /^❯ 1639$/ });
      await press(w, KEY.right);
      await press(w, KEY.right);
      await press(w, KEY.backspace, { focus: /^❯ 139$/ });
      // Esc goes back to the model list, Enter comes forward again to a fresh field.
      await press(w, KEY.esc, { until: '? Which model writes the code?', focus: MODEL });
      await press(w, KEY.enter, { until: '? Context window for the editor', focus: /❯ +\d+ +\(Enter keeps it\)/ });
      // A paste with its Enter, in one write: recorded as typed.
      let screen = await press(w, '8192\r', { until: /How should Aider reach\s+the\s+servers\?/, focus: '❯ Directly' });
      expect(e.all().join('\n')).toContain('✓ Context window for the editor (tokens) 8192');
      expect(screen.join('\n')).not.toMatch(/Context window for the editor \(tokens\) 16384/);

      // Proxy or direct.
      await press(w, KEY.down, { focus: '❯ Through a LiteLLM proxy' });
      await press(w, KEY.up, { focus: '❯ Directly' });
      await press(w, KEY.enter, { until: /\? (Ports|Some ports are taken)/, focus: '❯ Use editor' });

      // Ports: a bad value pasted with its Enter is refused with the field's error, not replaced.
      await press(w, KEY.down, { focus: '❯ Change the editor port' });
      await press(w, KEY.enter, { until: '? Port for the editor', focus: /❯ +\d+ +\(Enter keeps it\)/ });
      screen = await press(w, '70000\r', { until: '✗ a whole number from 1 to 65535', focus: /^❯ 70000$/ });
      expect(screen.join('\n')).toContain('Port for the editor');
      expect(e.all().join('\n')).not.toContain('✓ Port for the editor');
      await press(w, CTRL_U);
      await press(w, `${port}\r`, { until: `Use editor ${port}`, focus: `❯ Use editor ${port}` });
      await press(w, KEY.enter, { until: 'Start it now and check it answers', focus: '❯ Start it now' });

      // Servers: the stand-in starts and answers; then the scope.
      await press(w, KEY.enter, { until: '? Where should Aider pick this up?', focus: '❯ This project', timeoutMs: 60_000 });
      await press(w, KEY.down, { focus: '❯ Every repository' });
      await press(w, KEY.up, { focus: '❯ This project' });

      // Review: every file row distinct, arrows, PgDn, Esc back and forward.
      await press(w, KEY.enter, { until: '? Write these files?', focus: /❯ create +\S*plan\.yaml$/ });
      await press(w, KEY.down, { focus: /❯ create +\S*\.aider\.conf\.yml$/ });
      await press(w, KEY.down, { focus: /❯ create +\S*\.aider\.model\.settings\.yml$/ });
      await press(w, KEY.down, { focus: /❯ create +\S*\.aider\.model\.metadata\.json$/ });
      await press(w, KEY.up, { focus: /❯ create +\S*\.aider\.model\.settings\.yml$/ });
      await press(w, PGDN, { focus: /❯ create +\S*\.aider\.model\.settings\.yml$/ });
      await press(w, KEY.esc, { until: '? Where should Aider pick this up?', focus: '❯ This project' });
      await press(w, KEY.enter, { until: '? Write these files?', focus: /❯ create +\S*plan\.yaml$/ });
      // No aider here: "Start Aider now?" is not asked; the end says how to install it.
      e.write(KEY.enter);
      await e.waitFor('This was a demo', 30_000);
      expect(await e.exited()).toBe(0);

      // What was recorded is what was typed.
      const metadata = JSON.parse(await readFile(join(demoDir, 'project', '.aider.model.metadata.json'), 'utf8')) as Record<string, { max_input_tokens?: number }>;
      expect(Object.values(metadata).map((m) => m.max_input_tokens)).toContain(8192);
      expect(await readFile(join(demoDir, 'home', '.config', 'aider-mlx', 'plan.yaml'), 'utf8')).toContain(String(port));
      expect(await waitNoLeftovers(e.marker)).toEqual([]);
    });
  }
});

describePty('pty frames: reconfigure and its review as a terminal shows them', () => {
  const servers: FakeMlxServer[] = [];
  afterEach(async () => {
    for (const srv of servers.splice(0)) await srv.close();
  });
  for (const [cols, rows] of [
    [100, 30],
    [80, 24],
    [60, 20],
  ] as Array<[number, number]>) {
    it(`${cols}×${rows}: the change menu, the scope question and the review, one frame after every key`, async () => {
      const s = await sandbox();
      roots.push(s.root);
      const model = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
      const srv = await startFakeMlxServer({ model });
      servers.push(srv);
      // What an earlier setup wrote (direct mode: nothing else to run).
      const setup = await runPiped(['setup', '--yes', '--editor', model, '--editor-port', String(srv.port), '--mode', 'direct', '--timeout', '10'], { env: s.env, cwd: s.project });
      expect(setup.code, setup.stderr).toBe(0);
      const before = await readFile(join(s.project, '.aider.conf.yml'), 'utf8');

      const e = await startEmulated(['reconfigure'], { env: s.env, cwd: s.project, cols, rows });
      runs.push(e);
      const w: Walk = { e, size: `reconfigure ${cols}×${rows}`, step: 0 };
      await installOffer(w);
      await press(w, KEY.enter, { until: 'What do you want to change?' });
      await at(w, 'What do you want to change?', '❯ Change the editor model', 30_000);
      await press(w, KEY.down, { focus: '❯ Add an architect' });
      await press(w, KEY.down, { focus: '❯ Add a small weak model' });
      await press(w, KEY.down, { focus: '❯ Change a port or the host' });
      await press(w, KEY.down, { focus: '❯ Switch to proxy mode' });
      await press(w, KEY.down, { focus: '❯ Move the Aider files' });
      await press(w, KEY.up, { focus: '❯ Switch to proxy mode' });
      await press(w, KEY.down, { focus: '❯ Move the Aider files' });
      await press(w, KEY.enter, { until: '? Where should Aider pick this up?' });
      await press(w, KEY.down);
      await press(w, KEY.down);
      await press(w, KEY.up);
      await press(w, KEY.esc, { until: 'What do you want to change?' });
      for (let i = 0; i < 8 && !(await w.e.settle()).some((l) => l.startsWith('❯ Move the Aider files')); i++) await press(w, KEY.down);
      await press(w, KEY.enter, { until: '? Where should Aider pick this up?' });
      // An isolated profile: new files under ~/.config/aider-mlx/aider, the plan updated.
      const screen = await w.e.settle();
      const downs = screen.filter((l) => /^\s*(❯|\s)\s\S/.test(l)).findIndex((l) => /profile|isolated/i.test(l));
      for (let i = 0; i < Math.max(0, downs); i++) await press(w, KEY.down);
      await press(w, KEY.enter, { until: '? Write these files?', timeoutMs: 30_000 });
      await press(w, KEY.down);
      await press(w, KEY.down);
      await press(w, KEY.up);
      await press(w, PGDN);
      await press(w, KEY.esc, { until: '? Where should Aider pick this up?' });
      await press(w, KEY.enter, { until: '? Write these files?' });
      // Cancelled at the review: nothing written.
      e.write('\x03');
      expect(await e.exited()).toBe(130);
      expect(await readFile(join(s.project, '.aider.conf.yml'), 'utf8')).toBe(before);
    });
  }
});
