// Catalogue costs as ratios against a baseline measured in the same run (never absolute thresholds):
//  1. scanning a cache of 1,000 synthetic MLX repos vs scanning an empty cache folder;
//  2. Hub search to the first result vs one bare HTTP round trip to the same stand-in Hub, and the
//     full search (sizes and config.json of 20 results) vs the first result.
// The TypeScript sources are bundled once with esbuild (tsup's own) into node_modules/.cache.
// Run: node bench/catalogue.mjs   (BENCH_RUNS=N pairs, default 15)
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  console.log(
    `${name.padEnd(52)} median ${fmt(median(as))} ms vs ${fmt(median(bs))} ms  ratio ${median(ratios).toFixed(1)}x (min ${Math.min(...ratios).toFixed(1)}, max ${Math.max(...ratios).toFixed(1)})` +
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
