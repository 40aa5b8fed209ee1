// Catalogue costs as ratios against a baseline measured in the same run (never absolute thresholds):
//  1. scanning a cache of 1,000 synthetic MLX repos vs scanning an empty cache folder;
//  2. Hub search to the first result vs one bare HTTP round trip to the same stand-in Hub, and the
//     full search (sizes and config.json of 20 results) vs the first result.
//  3. `aider-mlx models --offline --json` over the same 1,000 repos (a whole process, the built
//     dist/: run `npx tsup` first) vs a whole Python process running huggingface_hub's
//     `scan_cache_dir()` on them (what `mlx_lm.manage --scan` uses), with the Python of the peers'
//     mlx venv (test/peers/README.md) or BENCH_PYTHON; skipped when neither has huggingface_hub.
// The TypeScript sources are bundled once with esbuild (tsup's own) into node_modules/.cache.
// Run: node bench/catalogue.mjs   (BENCH_RUNS=N pairs, default 15)
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const runs = Number(process.env.BENCH_RUNS ?? 15);
const outDir = join(root, 'node_modules/.cache/aider-mlx-bench');
mkdirSync(outDir, { recursive: true });
const entry = join(outDir, 'catalogue-entry.ts');
const { writeFileSync } = await import('node:fs');
writeFileSync(
  entry,
  [
    `export { scanCache } from ${JSON.stringify(join(root, 'src/hub/cache.ts'))};`,
    `export { searchHub, streamHubModels } from ${JSON.stringify(join(root, 'src/hub/search.ts'))};`,
    `export { startStandInHub, fakeMlxRepo } from ${JSON.stringify(join(root, 'test/stand-in-hub/server.ts'))};`,
    `export { makeCachedRepo, mlxFiles } from ${JSON.stringify(join(root, 'test/stand-in-hub/cache-fixtures.ts'))};`,
  ].join('\n'),
);
const bundle = join(outDir, 'catalogue.mjs');
await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'error' });
const { scanCache, streamHubModels, searchHub, startStandInHub, fakeMlxRepo, makeCachedRepo, mlxFiles } = await import(bundle);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const now = () => Number(process.hrtime.bigint()) / 1e6;

/** Alternate A and B so drift hits both alike; report medians and the median of the ratios. */
async function pair(name, a, b, per) {
  await a();
  await b(); // warm-up
  const as = [];
  const bs = [];
  const ratios = [];
  for (let i = 0; i < runs; i++) {
    let t = now();
    await a();
    const x = now() - t;
    t = now();
    await b();
    const y = now() - t;
    as.push(x);
    bs.push(y);
    ratios.push(x / y);
  }
  const fmt = (ms) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0)).padStart(7);
  const r = (x) => x.toFixed(median(ratios) < 3 ? 2 : 1);
  console.log(
    `${name.padEnd(52)} median ${fmt(median(as))} ms vs ${fmt(median(bs))} ms  ratio ${r(median(ratios))}x (min ${r(Math.min(...ratios))}, max ${r(Math.max(...ratios))})` +
      (per ? `  = ${((median(as) - median(bs)) / per).toFixed(3)} ms per repo` : ''),
  );
}

console.log(`aider-mlx catalogue bench — Node ${process.version}, ${runs} pairs each`);

// 1. Cache scan.
const big = mkdtempSync(join(tmpdir(), 'bench-hf-cache-'));
const empty = mkdtempSync(join(tmpdir(), 'bench-hf-empty-'));
const t0 = now();
for (let i = 0; i < 1000; i++) {
  makeCachedRepo(big, `mlx-community/Synthetic-${i}-7B-Instruct-4bit`, { files: mlxFiles({ shards: i % 3 === 0 ? 3 : 1 }) });
}
console.log(`(made 1,000 synthetic repos in ${(now() - t0).toFixed(0)} ms)`);
let count = 0;
await pair(
  'scanCache: 1,000 repos  vs  empty cache',
  async () => {
    count = (await scanCache({ env: {}, cacheDir: big })).models.length;
  },
  async () => {
    await scanCache({ env: {}, cacheDir: empty });
  },
  1000,
);
if (count !== 1000) throw new Error(`scan found ${count} repos, not 1000`);

// 3. The whole command vs huggingface_hub in the same run.
function peersPython() {
  if (process.env.BENCH_PYTHON) return process.env.BENCH_PYTHON;
  const base = process.env.AIDER_MLX_PEERS_DIR ?? join(homedir(), '.cache', 'aider-mlx-peers');
  for (const set of existsSync(base) ? readdirSync(base) : []) {
    const py = join(base, set, 'mlx', 'bin', 'python');
    if (existsSync(py)) return py;
  }
  return undefined;
}
const python = peersPython();
const hasHub = python && spawnSync(python, ['-c', 'import huggingface_hub'], { stdio: 'ignore' }).status === 0;
if (!existsSync(join(root, 'dist/cli.js'))) console.log('models --offline --json vs scan_cache_dir: skipped (no dist/: run `npx tsup`)');
else if (!hasHub) console.log('models --offline --json vs scan_cache_dir: skipped (no Python with huggingface_hub: set BENCH_PYTHON)');
else {
  const home = mkdtempSync(join(tmpdir(), 'bench-home-'));
  const run = (cmd, args, env) => {
    const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const cli = [join(root, 'bin/aider-mlx.js'), 'models', '--offline', '--json'];
  const nodeEnv = { PATH: process.env.PATH, HOME: home, HF_HUB_CACHE: big, NO_COLOR: '1' };
  const listed = JSON.parse(run(process.execPath, cli, nodeEnv)).cached.length;
  const py = ['-c', `import sys, huggingface_hub as h; r = h.scan_cache_dir(sys.argv[1]); print(len(r.repos))`, big];
  const scanned = Number(String(run(python, py, { PATH: process.env.PATH, HOME: home })).trim());
  if (listed !== 1000 || scanned !== 1000) throw new Error(`listed ${listed}, scan_cache_dir ${scanned}: not 1000 each`);
  await pair(
    'models --offline --json  vs  scan_cache_dir (1,000)',
    async () => run(process.execPath, cli, nodeEnv),
    async () => run(python, py, { PATH: process.env.PATH, HOME: home }),
  );
  await pair('models --offline --json: empty cache vs node -e 0', async () => run(process.execPath, cli, { ...nodeEnv, HF_HUB_CACHE: empty }), async () => run(process.execPath, ['-e', '0'], nodeEnv));
  rmSync(home, { recursive: true, force: true });
}
rmSync(big, { recursive: true, force: true });
rmSync(empty, { recursive: true, force: true });

// 2. Search against the stand-in Hub.
const hub = await startStandInHub({
  repos: Array.from({ length: 200 }, (_, i) => fakeMlxRepo(`mlx-community/Bench-${i}-Coder-7B-Instruct-4bit`, { downloads: 1000 - i, shardBytes: 1024 })),
});
const env = { HF_ENDPOINT: hub.url };
try {
  const first = async () => {
    for await (const m of streamHubModels({ env, query: 'coder' })) {
      if (!m.repoId) throw new Error('no repo id');
      break;
    }
  };
  await pair('search → first result  vs  one bare HTTP round trip', first, async () => {
    const r = await fetch(`${hub.url}/api/models?limit=1`);
    await r.arrayBuffer();
  });
  await pair('full search (20, sizes + config)  vs  first result', async () => {
    const r = await searchHub({ env, query: 'coder', limit: 20 });
    if (r.status.kind !== 'ok' || r.models.length !== 20) throw new Error(r.status.message);
  }, first);
} finally {
  await hub.close();
}
