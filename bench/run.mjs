// Startup and status cost as ratios against a baseline measured in the same run (never absolute
// thresholds): `aider-mlx --version` vs `node -e 0`, and `status --json` against two stand-in
// servers vs `node -e 0`. Pairs alternate (A B A B …) so drift hits both sides alike.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin/aider-mlx.js');
const runs = Number(process.env.BENCH_RUNS ?? 15);

function time(args, env) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0 && !args.includes('status')) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function pair(name, a, b, env) {
  time(a, env);
  time(b, env); // warm-up
  const ratios = [];
  const as = [];
  const bs = [];
  for (let i = 0; i < runs; i++) {
    const x = time(a, env);
    const y = time(b, env);
    as.push(x);
    bs.push(y);
    ratios.push(x / y);
  }
  console.log(
    `${name.padEnd(38)} median ${median(as).toFixed(0).padStart(5)} ms vs ${median(bs).toFixed(0).padStart(5)} ms  ratio ${median(ratios).toFixed(2)}x (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)})`,
  );
  return median(ratios);
}

function startStandIn(model, port) {
  const child = spawn(process.execPath, [bin, 'fake-mlx-server', '--model', model, '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => String(d).includes('Starting httpd') && resolve(child));
    child.on('exit', (c) => reject(new Error(`stand-in exited ${c}`)));
  });
}

const home = mkdtempSync(join(tmpdir(), 'aider-mlx-bench-'));
const env = { PATH: process.env.PATH, HOME: home, NO_COLOR: '1' };
console.log(`aider-mlx bench — Node ${process.version}, ${runs} pairs each, whole processes`);
pair('--version  vs  node -e 0', [bin, '--version'], ['-e', '0'], env);
pair('--help     vs  node -e 0', [bin, '--help'], ['-e', '0'], env);

const servers = [await startStandIn('mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', 18280), await startStandIn('mlx-community/QwQ-32B-4bit', 18281)];
try {
  const repo = join(home, 'repo');
  mkdirSync(repo);
  const r = spawnSync(process.execPath, [bin, 'setup', '--yes', '--editor', 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', '--editor-port', '18280', '--architect', 'mlx-community/QwQ-32B-4bit', '--architect-port', '18281', '--proxy-port', '18282', '--scope', 'profile'], { env, cwd: repo });
  if (r.status !== 0) throw new Error(`setup failed: ${r.stdout}${r.stderr}`);
  pair('status --json (2 servers) vs node -e 0', [bin, 'status', '--json'], ['-e', '0'], env);
} finally {
  for (const s of servers) s.kill('SIGTERM');
}
