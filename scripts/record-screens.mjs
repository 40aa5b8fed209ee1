#!/usr/bin/env node
/**
 * Regenerates the README's pictures in docs/screens/ from real runs of the built CLI:
 *
 *   model-pick.svg  `aider-mlx --demo`, the editor model question
 *   review.svg      the same run, the review before anything is written
 *   demo.svg        the same run from start to end, animated (Enter at every question)
 *   doctor.svg      `doctor --error …` on a setup whose LiteLLM api_base has a doubled /v1: the
 *                   report's first screenful (the error and its likely cause)
 *   doctor-fix.svg  the same run at its first question, the fix's diff on screen
 *
 * Each run is in a real pseudo-terminal of 90×30 (python3's pty module, a few lines below), in a
 * throwaway HOME. Its bytes go into @xterm/headless, and scripts/screen-svg.mjs draws the screen.
 *
 *   npm run build && node scripts/record-screens.mjs [--out DIR] [--only demo,doctor]
 *
 * Needs python3 (any 3.x). Rerun after any change to what the screens show.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createTerminal, feed, snapshot, snapshotText, toSvg } from './screen-svg.mjs';

const ROOT = resolve(import.meta.dirname, '..');
/**
 * The package as npm installs it (…/node_modules/aider-mlx, what package.json's `files` ships): the
 * screens then name `npx aider-mlx` in their hints, as a user's screens do, not this clone's path.
 */
function installedCopy() {
  const top = mkdtempSync(join(tmpdir(), 'aider-mlx-screens-pkg-'));
  process.on('exit', () => rmSync(top, { recursive: true, force: true }));
  const dir = join(top, 'node_modules', 'aider-mlx');
  const files = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).files ?? ['bin', 'dist', 'templates', 'data'];
  for (const p of [...files, 'package.json']) if (existsSync(join(ROOT, p))) cpSync(join(ROOT, p), join(dir, p), { recursive: true });
  return dir;
}
const BIN = join(installedCopy(), 'bin', 'aider-mlx.js');
const COLS = 90;
const ROWS = 30;

/**
 * The pty: argv[1..2] the size, argv[3] the child's environment as JSON, the rest its argv.
 * Copies the terminal's output to stdout and stdin to the terminal; exits with the child's code.
 */
const PTY_PY = String.raw`
import fcntl, json, os, pty, select, struct, sys, termios
cols, rows, env, argv = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execve(argv[0], argv, env)
watch = [fd, 0]
while True:
    try:
        ready, _, _ = select.select(watch, [], [])
    except InterruptedError:
        continue
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            break
        os.write(1, data)
    if 0 in ready:
        data = os.read(0, 1024)
        if data:
            os.write(fd, data)
        else:
            watch = [fd]
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, 'waitstatus_to_exitcode') else status >> 8)
`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A question is on screen, waiting (the same hints test/pty/helpers.ts looks for). */
const PROMPTING = /Enter (choose|accept|write|default)|⏎|\(Y\/n\)|\(y\/N\)|Enter keeps it|↑↓ navigate/;

/** The built CLI in a pty of COLS×ROWS; every chunk it writes is parsed and kept with its time. */
function startRecording(args, { env, cwd, prelude = '' }) {
  const term = createTerminal(COLS, ROWS);
  const started = Date.now();
  const childEnv = { TERM: 'xterm-256color', COLORTERM: 'truecolor', LANG: 'C.UTF-8', ...env };
  const child = spawn('python3', ['-c', PTY_PY, String(COLS), String(ROWS), JSON.stringify(childEnv), process.execPath, BIN, ...args], {
    cwd,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let parsing = feed(term, prelude);
  let changedAt = Date.now();
  child.stdout.on('data', (d) => {
    parsing = parsing.then(() => feed(term, d)).then(() => {
      changedAt = Date.now();
    });
  });
  const exited = new Promise((res, rej) => {
    child.on('exit', (code) => res(code));
    child.on('error', (e) => rej(new Error(`cannot run python3 for the pty (${e.message}): install Python 3`)));
  });
  let done = false;
  exited.then(() => {
    done = true;
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  exited.then(() => clearTimeout(killer));
  return {
    term,
    started,
    get done() {
      return done;
    },
    /** ms since the screen last changed */
    quietFor: () => Date.now() - changedAt,
    text: () => snapshotText(snapshot(term)),
    snap: () => snapshot(term),
    settled: () => parsing,
    keys: (s) => child.stdin.write(s),
    exited,
    stop: () => {
      if (!done) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A throwaway HOME and project with nothing installed and an offline, empty HF cache. */
function sandbox() {
  const root = mkdtempSync(join(tmpdir(), 'aider-mlx-screens-'));
  const home = join(root, 'home');
  const project = join(root, 'project');
  mkdirSync(home, { recursive: true });
  mkdirSync(project, { recursive: true });
  return {
    root,
    home,
    project,
    env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), PATH: '/usr/bin:/bin', HF_HUB_CACHE: join(root, 'hf'), HF_HUB_OFFLINE: '1' },
  };
}

/**
 * `aider-mlx --demo` with Enter at every question. Returns the screens at the model pick and the
 * review, and the frames of the whole run for the animation.
 */
async function recordDemo() {
  const s = sandbox();
  // no --demo-dir: the demo's own temp folder, named as a person would see it (it removes it)
  const answered = { install: false, adjust: false };
  const typed = '$ npx aider-mlx --demo\r\n';
  const rec = startRecording(['--demo'], { env: s.env, cwd: s.project, prelude: typed });
  const frames = [];
  {
    // the first frame: the command, typed
    const t = createTerminal(COLS, ROWS);
    await feed(t, typed);
    frames.push({ at: 0, snap: snapshot(t), text: typed.trim(), prompt: false });
    t.dispose();
  }
  const shots = {};
  let lastText = '';
  let lastFrameAt = 0;
  const until = Date.now() + 150_000;
  try {
    for (;;) {
      await sleep(100);
      if (Date.now() > until) throw new Error(`the demo did not finish; screen:\n${rec.text()}`);
      await rec.settled();
      const text = rec.text();
      const quiet = rec.quietFor();
      const finished = /This was a demo/.test(text);
      // progress while something runs: a frame whenever the screen has changed and held 250 ms
      if (text !== lastText && quiet > 250 && Date.now() - lastFrameAt > 500) {
        frames.push({ at: Date.now() - rec.started, snap: rec.snap(), text, prompt: false });
        lastText = text;
        lastFrameAt = Date.now();
      }
      if (finished && (rec.done || quiet > 800)) {
        if (text !== frames.at(-1)?.text) frames.push({ at: Date.now() - rec.started, snap: rec.snap(), text, prompt: false });
        break;
      }
      if (quiet > 400 && PROMPTING.test(text)) {
        const snap = rec.snap();
        if (frames.at(-1)?.text === text) frames.at(-1).prompt = true;
        else frames.push({ at: Date.now() - rec.started, snap, text, prompt: true });
        if (!shots.pick && /Which model writes the code\?/.test(text)) shots.pick = snap;
        if (!shots.review && /Write these files\?/.test(text)) shots.review = snap;
        lastText = text;
        // The first two questions are answered with their second row: "Not now" to installing the
        // missing tools, and "Adjust…" to the proposal, so the recording shows every step.
        const second = (!answered.install && /Install\s+(it|both|all\s+\d)\s+now\?/.test(text) && (answered.install = true)) ||
          (!answered.adjust && /Use this setup\?/.test(text) && (answered.adjust = true));
        if (second) rec.keys('\x1b[B');
        if (second) await sleep(150);
        rec.keys('\r');
        await sleep(150);
      }
    }
  } finally {
    await rec.stop();
    rmSync(s.root, { recursive: true, force: true });
  }
  if (!shots.pick || !shots.review) throw new Error('the demo never showed the model pick or the review');
  const busy = /^· port \d+: .*$/m.exec(frames.find((f) => /Look around/.test(f.text))?.text ?? '');
  return { shots, frames, busy: busy?.[0] };
}

/** How long each frame of the animation shows: questions long enough to read, progress quick. */
function timing(frames) {
  return frames.map((f, i) => {
    if (i === 0) return 1.2;
    if (i === frames.length - 1) return 5;
    if (f.prompt) return 2;
    const real = (frames[i + 1].at - f.at) / 1000;
    return Math.min(1.2, Math.max(0.4, real));
  });
}

/** test/doctor/world.ts, bundled for plain node (its vitest hook stubbed: nothing here calls it). */
async function loadWorld(dir) {
  const { build } = await import('esbuild');
  const outfile = join(dir, 'world.mjs');
  await build({
    entryPoints: [join(ROOT, 'test/doctor/world.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'error',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    plugins: [
      {
        name: 'no-vitest',
        setup(b) {
          b.onResolve({ filter: /^vitest$/ }, () => ({ path: 'vitest', namespace: 'stub' }));
          b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({ contents: 'export const afterEach = () => {};', loader: 'js' }));
        },
      },
    ],
  });
  return import(outfile);
}

const DOCTOR_ERROR = 'litellm.NotFoundError: NotFoundError: OpenAIException - Not Found';

/** The doctor on a healthy world whose LiteLLM config got a doubled /v1 (cause C2). */
async function recordDoctor() {
  // inside the checkout (its tmp/ is ignored by git): the bundle finds templates/ from where it is
  mkdirSync(join(ROOT, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'tmp', 'screens-world-'));
  const { makeWorld } = await loadWorld(dir);
  const w = await makeWorld();
  try {
    w.editYaml(w.paths.litellm, (d) => {
      d.model_list[0].litellm_params.api_base = `${w.editor.baseUrl}/v1`;
    });
    await w.restartProxy();
    const shown = `$ npx aider-mlx doctor --error "${DOCTOR_ERROR}"\r\n`;
    // the report is longer than the screen: the picture keeps its first ROWS rows (the scrollback)
    const rec = startRecording(['doctor', '--error', DOCTOR_ERROR], { env: w.env, cwd: w.project, prelude: `\x1b[1m${shown}\x1b[0m` });
    // On a terminal the doctor walks through its findings and asks before each fix: the picture
    // is the screen at its first question. Then no to every fix, so nothing changes.
    let shot;
    const until = Date.now() + 60_000;
    while (!rec.done) {
      await sleep(100);
      if (Date.now() > until) throw new Error(`the doctor did not finish; screen:\n${rec.text()}`);
      await rec.settled();
      const text = rec.text();
      if (rec.quietFor() > 400 && /\[(y\/N|Y\/n)\] *$/.test(text)) {
        shot ??= rec.snap();
        rec.keys(/\[y\/N\] *$/.test(text) ? 'n\r' : '\r');
        await sleep(300);
      }
    }
    const code = await rec.exited;
    await rec.settled();
    if (process.env.RECORD_SCREENS_DUMP) writeFileSync(process.env.RECORD_SCREENS_DUMP, fullText(rec.term));
    if (code !== 1) throw new Error(`doctor exited ${code}, expected 1 (a failed check); screen:\n${rec.text()}`);
    if (!shot) throw new Error(`the doctor asked nothing; screen:\n${rec.text()}`);
    // the report's start (the error, its likely cause): the first screenful, scrolled up to
    return { shot, top: snapshot(rec.term, { fromTop: true, rows: ROWS }) };
  } finally {
    await w.close();
    rmSync(dir, { recursive: true, force: true });
    try {
      rmdirSync(join(ROOT, 'tmp')); // only when empty
    } catch {}
  }
}

/** Everything the terminal showed, scrollback included (RECORD_SCREENS_DUMP=FILE, to check a run). */
function fullText(term) {
  const buf = term.buffer.active;
  return snapshotText(snapshot(term, { fromTop: true, rows: buf.length }));
}

function write(out, name, svg) {
  const path = join(out, name);
  writeFileSync(path, svg);
  const kb = statSync(path).size / 1024;
  console.log(`${path}  ${kb.toFixed(1)} KB${kb > 60 ? '  (over 60 KB)' : ''}`);
}

async function main() {
  const { values } = parseArgs({ options: { out: { type: 'string' }, only: { type: 'string' }, frames: { type: 'string' } } });
  if (!existsSync(join(ROOT, 'dist', 'cli.js'))) throw new Error('No build in dist/: run `npm run build` first.');
  const out = resolve(values.out ?? join(ROOT, 'docs', 'screens'));
  mkdirSync(out, { recursive: true });
  const only = new Set((values.only ?? 'demo,doctor').split(','));

  if (only.has('demo')) {
    // Something of someone else's on the demo's ports (8080…) shows in its look around: not what a
    // person sees on a fresh machine. Try again a few times, then say so.
    let r;
    for (let i = 0; i < 4; i++) {
      r = await recordDemo();
      if (!r.busy) break;
      console.error(`record-screens: the demo saw "${r.busy.slice(2)}"; ${i < 3 ? 'recording again in 10 s' : 'keeping this run'}`);
      if (i < 3) await sleep(10_000);
    }
    const { shots, frames } = r;
    write(out, 'model-pick.svg', toSvg(shots.pick, { title: 'npx aider-mlx --demo' }));
    write(out, 'review.svg', toSvg(shots.review, { title: 'npx aider-mlx --demo' }));
    write(out, 'demo.svg', toSvg(frames.map((f) => f.snap), { title: 'npx aider-mlx --demo', durations: timing(frames) }));
    // --frames DIR: each frame of the animation as its own picture, to look at one by one
    if (values.frames) {
      mkdirSync(values.frames, { recursive: true });
      frames.forEach((f, i) => writeFileSync(join(values.frames, `frame-${String(i).padStart(2, '0')}.svg`), toSvg(f.snap, { title: `frame ${i} at ${f.at} ms${f.prompt ? ' (question)' : ''}` })));
    }
  }
  if (only.has('doctor')) {
    const { shot, top } = await recordDoctor();
    write(out, 'doctor.svg', toSvg(top, { title: 'npx aider-mlx doctor' }));
    write(out, 'doctor-fix.svg', toSvg(shot, { title: 'npx aider-mlx doctor' }));
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`record-screens: ${e.message}`);
    process.exit(1);
  },
);
