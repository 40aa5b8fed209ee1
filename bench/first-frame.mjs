// The wizard's first frame and peak memory, as ratios against a bundled Ink hello-world measured in
// the same run, on the same machine, in a real pseudo-terminal (`script`). Targets (issue 5):
// first frame ≤ 1.1× the hello-world's, peak memory ≤ 2×. Pairs alternate (A B A B …).
//
//   first frame: spawn → the first bytes of the title on the terminal
//   peak memory: max RSS of the node process (GNU time), the wizard through a whole Enter-only
//                `setup --demo` run (stand-in servers are separate processes and not counted)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin/aider-mlx.js');
const runs = Number(process.env.BENCH_RUNS ?? 9);
const work = mkdtempSync(join(tmpdir(), 'aider-mlx-bench-ff-'));

for (const tool of ['script', '/usr/bin/time']) {
  if (spawnSync(tool, ['--version']).error) {
    console.log(`first-frame bench skipped: ${tool} is not installed (util-linux script, GNU time).`);
    process.exit(0);
  }
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

/**
 * Run argv in a pty; resolve with the ms until `marker` first shows and the node process's max RSS
 * (KiB). `feed(write)` may type into the terminal once the marker is seen.
 */
function measure(argv, marker, feed) {
  const rssFile = join(work, `rss-${Math.random().toString(36).slice(2)}`);
  // script gives the pty no size when its own input is a pipe: 80×24, like a fresh terminal.
  const cmd = `stty cols 80 rows 24; exec /usr/bin/time -f %M -o ${q(rssFile)} ${argv.map(q).join(" ")}`;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env, cwd: work, stdio: ['pipe', 'pipe', 'pipe'] });
    let seen;
    let out = '';
    let feeder;
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
      if (feeder) clearInterval(feeder);
      if (seen === undefined) return reject(new Error(`"${marker}" never appeared:\n${out.slice(-2000)}`));
      let rss = NaN;
      try {
        rss = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
      } catch {
        /* time did not write: leave NaN */
      }
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
