// The wizard's first frame and peak memory, as ratios against a bundled Ink hello-world measured in
// the same run, on the same machine, in a real pseudo-terminal (`script`). Targets (issue 5):
// first frame ≤ 1.1× the hello-world's, peak memory ≤ 2×. Pairs alternate (A B A B …).
//
//   first frame: spawn → the first bytes of the title on the terminal
//   peak memory: the node process's own peak RSS (VmHWM, sampled from /proc until it exits), the
//                wizard through a whole Enter-only `setup --demo` run. Not GNU time's %M: that
//                also counts reaped children (the stand-in servers, and every fork before its exec).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin/aider-mlx.js');
const runs = Number(process.env.BENCH_RUNS ?? 9);
const work = mkdtempSync(join(tmpdir(), 'aider-mlx-bench-ff-'));

if (spawnSync('script', ['--version']).error || !existsSync('/proc/self/status')) {
  console.log('first-frame bench skipped: it needs util-linux `script` and /proc (Linux).');
  process.exit(0);
}

// ---- the baseline: Ink hello-world, bundled the way tsup bundles the CLI ---------------------------
const helloSrc = join(root, 'bench/first-frame.hello.jsx');
const hello = join(work, 'hello.mjs');
const esbuild = spawnSync(
  join(root, 'node_modules/.bin/esbuild'),
  [
    helloSrc, '--bundle', '--format=esm', '--platform=node', '--target=node20', '--minify', `--outfile=${hello}`,
    '--define:process.env.NODE_ENV="production"', `--alias:react-devtools-core=${join(root, 'src/lib/devtools-stub.ts')}`,
    '--jsx=automatic', '--log-level=error',
    `--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);`,
  ],
  { cwd: root, encoding: 'utf8' },
);
if (esbuild.status !== 0) throw new Error(`esbuild failed: ${esbuild.stderr}`);

const env = { PATH: process.env.PATH, HOME: join(work, 'home'), TERM: 'xterm-256color', LANG: 'C.UTF-8', HF_HUB_OFFLINE: '1', HF_HUB_CACHE: join(work, 'hf') };
const q = (s) => `'${s.replace(/'/g, "'\\''")}'`;

/** The pid of the process `script` runs (its only child: the command is exec'd). */
function childOf(ppid) {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) return Number(e);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

function peakRssKiB(pid) {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
}

/**
 * Run argv in a pty; resolve with the ms until `marker` first shows and the process's peak RSS
 * (KiB). `feed(write)` may type into the terminal once the marker is seen.
 */
function measure(argv, marker, feed) {
  // script gives the pty no size when its own input is a pipe: 80×24, like a fresh terminal.
  const cmd = `stty cols 80 rows 24; exec ${argv.map(q).join(' ')}`;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env, cwd: work, stdio: ['pipe', 'pipe', 'pipe'] });
    let seen;
    let out = '';
    let feeder;
    let pid;
    let rss = NaN;
    // VmHWM only grows: the last sample before the exit is the peak (to within 20 ms).
    const sampler = setInterval(() => {
      pid ??= childOf(child.pid);
      const v = pid && peakRssKiB(pid);
      if (v) rss = v;
    }, 20);
    child.stdout.on('data', (d) => {
      out += d;
      if (seen === undefined && out.includes(marker)) {
        seen = Number(process.hrtime.bigint() - started) / 1e6;
        if (feed) feeder = feed((s) => child.stdin.write(s));
      }
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', () => {
      clearTimeout(killer);
      clearInterval(sampler);
      if (feeder) clearInterval(feeder);
      if (seen === undefined) return reject(new Error(`"${marker}" never appeared:\n${out.slice(-2000)}`));
      resolve({ ms: seen, rssKiB: rss, out });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const helloRun = () => measure([process.execPath, hello], 'Hello from Ink');
// Enter every 700 ms: the whole demo with defaults (the wizard exits by itself at "next steps").
const wizardRun = (i) =>
  measure([process.execPath, bin, 'setup', '--demo', '--demo-dir', join(work, `demo-${i}`)], 'aider-mlx setup', (write) => setInterval(() => write('\r'), 700));

console.log(`first-frame bench — Node ${process.version}, ${runs} pairs, in a pty (script), whole processes`);
await helloRun();
await wizardRun('warm');
const frames = [];
const mems = [];
const a = { ms: [], rss: [] };
const b = { ms: [], rss: [] };
for (let i = 0; i < runs; i++) {
  const w = await wizardRun(i);
  const h = await helloRun();
  if (!w.out.includes('This was a demo')) throw new Error(`run ${i}: the demo did not reach its end:\n${w.out.slice(-1500)}`);
  a.ms.push(w.ms);
  b.ms.push(h.ms);
  a.rss.push(w.rssKiB);
  b.rss.push(h.rssKiB);
  frames.push(w.ms / h.ms);
  mems.push(w.rssKiB / h.rssKiB);
}
const f = median(frames);
const m = median(mems);
console.log(
  `first frame   setup --demo ${median(a.ms).toFixed(0)} ms vs Ink hello-world ${median(b.ms).toFixed(0)} ms  ratio ${f.toFixed(2)}x (min ${Math.min(...frames).toFixed(2)}, max ${Math.max(...frames).toFixed(2)})  target ≤ 1.10x  ${f <= 1.1 ? 'ok' : 'OVER'}`,
);
console.log(
  `peak memory   setup --demo ${(median(a.rss) / 1024).toFixed(0)} MB vs Ink hello-world ${(median(b.rss) / 1024).toFixed(0)} MB  ratio ${m.toFixed(2)}x (min ${Math.min(...mems).toFixed(2)}, max ${Math.max(...mems).toFixed(2)})  target ≤ 2.00x  ${m <= 2 ? 'ok' : 'OVER'}`,
);
rmSync(work, { recursive: true, force: true });
