// Shared by the benchmarks that run the real peers (turns.mjs, cache-memory.mjs): bundling the
// TypeScript sources once with esbuild, a streaming chat request that times the first token, RSS.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';

export const root = new URL('..', import.meta.url).pathname;

/**
 * Bundles `exports` ({ names: 'src/…ts' }) into test/peers/.bench-<tag>.mjs (git-ignored) and
 * imports it. There because the peers' helpers find pins.json and make_tiny_model.py next to their
 * own file, and packageRoot() finds templates/ two folders up (node_modules/.cache may be shared).
 */
export async function bundle(tag, exports) {
  const outDir = join(root, 'test', 'peers');
  mkdirSync(outDir, { recursive: true });
  const entry = join(outDir, `.bench-${tag}-entry.ts`);
  writeFileSync(entry, Object.entries(exports).map(([names, file]) => `export { ${names} } from ${JSON.stringify(join(root, file))};`).join('\n'));
  const out = join(outDir, `.bench-${tag}.mjs`);
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'error', alias: { 'react-devtools-core': join(root, 'src/lib/devtools-stub.ts') }, banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } });
  return import(out);
}

export const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * One streaming chat completion: ms to the first content token, ms to the end, the usage the last
 * chunk carries (stream_options.include_usage), the text, the HTTP status.
 */
export function streamChat(url, body, headers = {}, timeoutMs = 600_000) {
  const data = JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } });
  const t0 = now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), connection: 'close', ...headers }, timeout: timeoutMs }, (res) => {
      let buf = '';
      let first;
      let usage;
      let text = '';
      let raw = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        raw += chunk;
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line.startsWith('data:')) continue;
          const payload = line.slice(5).trim();
          if (payload === '[DONE]') continue;
          let j;
          try {
            j = JSON.parse(payload);
          } catch {
            continue;
          }
          const delta = j.choices?.[0]?.delta;
          if (first === undefined && (delta?.content || delta?.reasoning)) first = now() - t0;
          if (delta?.content) text += delta.content;
          if (j.usage) usage = j.usage;
        }
      });
      res.on('end', () => resolve({ status: res.statusCode, ttft: first ?? now() - t0, total: now() - t0, usage, text, raw: res.statusCode === 200 ? '' : raw.slice(0, 2000) }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** Resident set of a process in bytes (Linux /proc/<pid>/status VmRSS; else ps). */
export function rssBytes(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    if (m) return Number(m[1]) * 1024;
  } catch {}
  return Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) * 1024;
}

export const MiB = 1024 * 1024;
export const mib = (b) => `${(b / MiB).toFixed(0)} MiB`;
