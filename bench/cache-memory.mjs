// The memory of the REAL mlx_lm.server over BENCH_CONVERSATIONS (30) distinct conversations, side by
// side in one run: one server started the way aider-mlx starts it (--prompt-cache-size and
// --prompt-cache-bytes from the fit: src/hub/prompt-cache.ts, src/servers/launch.ts serverArgs) and
// one with mlx-lm's defaults (10 entries, no byte limit). Each conversation is one ~3k-token prompt
// that shares nothing with the others, so each leaves a new KV cache behind. Reported: each
// server's RSS (/proc/<pid>/status VmRSS, else ps) before and after, its peak (VmHWM), the growth
// next to the prompt-cache bound, and the fit aider-mlx computed for it (src/hub/fit.ts).
// Needs the peers (test/peers/README.md). Run: node bench/cache-memory.mjs
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundle, mib, MiB, rssBytes, streamChat } from './lib.mjs';

const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 30);
const CONTEXT = 4096;
const MODEL = 'aider-mlx-bench/qwen2-h128-l4-kv4';
// KV 2 KiB a token (fp16: 2 × 4 layers × 4 KV heads × 32 × 2 B): a 3k-token conversation ≈ 6 MiB.
const SHAPE = ['--hidden', '128', '--layers', '4', '--heads', '4', '--kv-heads', '4', '--intermediate', '256', '--dtype', 'float16'];

const m = await bundle('cache-memory', {
  'promptCacheFor, localKvBytesPerToken': 'src/hub/prompt-cache.ts',
  'estimateModelMemory, formatGB': 'src/hub/fit.ts',
  parseModelConfig: 'src/hub/model-facts.ts',
  serverArgs: 'src/servers/launch.ts',
  ensurePeers: 'test/peers/bootstrap.ts',
  'startMlxServer, runChild, childEnv, tempDir, cleanupTemp, TINY_MODEL_SCRIPT': 'test/peers/harness.ts',
});
const peers = await m.ensurePeers();
if (!peers.mlx) throw new Error(`the mlx peer is not installed: ${peers.errors.mlx}`);
const dir = m.tempDir('bench-cache-memory');
const hfHome = join(dir, 'hf');
const made = await m.runChild(peers.mlx.python, [m.TINY_MODEL_SCRIPT, '--hf-home', hfHome, '--repo-id', MODEL, '--seed', '9', '--answer', 'memory ok', ...SHAPE], { env: m.childEnv({ HF_HOME: hfHome }), timeoutMs: 300_000 });
if (made.code !== 0) throw new Error(`make_tiny_model.py failed: ${made.output}`);
const snapshot = JSON.parse(made.stdout.trim().split('\n').pop()).snapshot;

// The fit aider-mlx computes for this server (one role: the editor), and the bound it passes.
const env = { HF_HOME: hfHome, HOME: dir };
const served = { model: MODEL, roles: ['editor'], context: CONTEXT };
const bound = m.promptCacheFor(served, env);
const shape = m.parseModelConfig(JSON.parse(readFileSync(join(snapshot, 'config.json'), 'utf8')));
const weightsBytes = readFileSync(join(snapshot, 'model.safetensors')).length;
const fit = m.estimateModelMemory({ repoId: MODEL, context: CONTEXT, weightsBytes, shape, cacheEntries: bound.entries });
const ours = m.serverArgs({ model: MODEL, port: 0, host: '127.0.0.1', promptCache: bound, maxTokens: 8 }).slice(6);

const [bounded, unbounded] = await Promise.all([
  m.startMlxServer({ model: MODEL, hfHome, extraArgs: ours, logPath: join(dir, 'bounded.log') }),
  m.startMlxServer({ model: MODEL, hfHome, extraArgs: ['--max-tokens', '8'], logPath: join(dir, 'default.log') }),
]);
const hwm = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m)?.[1] ?? NaN) * 1024;

function conversation(i) {
  // Distinct from the first token: nothing of one prompt is a prefix of another.
  const words = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'sigma', 'kappa', 'theta'];
  let body = `Conversation ${i}. `;
  for (let k = 0; body.length < 3000; k++) body += `${words[(i * 7 + k * 3) % words.length]}_${i}_${k} `;
  return [{ role: 'system', content: `Session ${i} of the memory bench.` }, { role: 'user', content: body }];
}

try {
  const rows = [];
  for (const [label, s] of [['aider-mlx', bounded], ['default', unbounded]]) rows.push({ label, s, before: rssBytes(s.pid), samples: [] });
  console.log(
    `aider-mlx cache-memory bench — ${CONVERSATIONS} distinct conversations of ~3k tokens, context ${CONTEXT}, ${MODEL} (${SHAPE.join(' ')}), KV ${m.localKvBytesPerToken(MODEL, env)} B/token fp16\n` +
      `  aider-mlx's server: ${ours.join(' ')}   (fit: ${fit.arithmetic})\n  default server:    --max-tokens 8 (mlx-lm's --prompt-cache-size 10, no --prompt-cache-bytes)`,
  );
  let prompt = 0;
  for (let i = 0; i < CONVERSATIONS; i++) {
    const [a, b] = await Promise.all(rows.map((r) => streamChat(`${r.s.baseUrl}/chat/completions`, { model: 'default_model', messages: conversation(i), max_tokens: 4 })));
    for (const [k, r] of [a, b].entries()) if (r.status !== 200) throw new Error(`${rows[k].label}: HTTP ${r.status} ${r.raw}`);
    prompt = a.usage?.prompt_tokens ?? prompt;
    for (const r of rows) r.samples.push(rssBytes(r.s.pid));
    if (i === 0 || (i + 1) % 5 === 0) console.log(`  after ${String(i + 1).padStart(2)}: ${rows.map((r) => `${r.label} ${mib(r.samples.at(-1))}`).join('   ')}   (prompt ${prompt} tokens)`);
  }
  const entry = (m.localKvBytesPerToken(MODEL, env) ?? 0) * prompt;
  console.log(`\none conversation's KV cache ≈ ${mib(entry)} (fp16, ${prompt} tokens); aider-mlx's bound: ${bound.entries} entries, ${mib(bound.bytes)}`);
  // The first long prompt also leaves the prefill's working buffers in MLX's pool (not a cache
  // entry, and the same on both servers), so the cache's share is the growth after conversation 1.
  for (const r of rows) {
    const after = r.samples.at(-1);
    const grew = after - r.samples[0];
    console.log(
      `${r.label.padEnd(10)} RSS before ${mib(r.before).padStart(8)}  after 1 ${mib(r.samples[0]).padStart(8)}  after ${CONVERSATIONS} ${mib(after).padStart(8)}  growth after 1 ${mib(grew).padStart(8)}  peak ${mib(hwm(r.s.pid)).padStart(8)}` +
        (r.label === 'aider-mlx' ? `   within the fit (${m.formatGB(fit.totalBytes)}): ${after <= fit.totalBytes ? 'yes' : 'NO'}; growth after 1 within the cache bound (${mib(bound.bytes)}): ${grew <= bound.bytes ? 'yes' : 'NO'}` : ''),
    );
  }
  const [o, d] = rows;
  console.log(`growth after 1, default / aider-mlx: ${(d.samples.at(-1) - d.samples[0]) / MiB < 1 ? 'n/a' : `${((d.samples.at(-1) - d.samples[0]) / Math.max(MiB, o.samples.at(-1) - o.samples[0])).toFixed(1)}x`}; RSS after ${CONVERSATIONS}: ${mib(d.samples.at(-1))} vs ${mib(o.samples.at(-1))}`);
} finally {
  await Promise.all([bounded.stop(), unbounded.stop()]);
  m.cleanupTemp();
}
