/**
 * `aider-mlx bench --json` against the REAL mlx_lm.server (0.32.2, CPU, a tiny model): the prompt
 * token counts and cached tokens it reports are the server's own `usage` figures for the same
 * requests (read off the wire by a recording pass-through between them), and the follow-up turn
 * is served from the server's prompt cache (cached_tokens > 0).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePeers } from './bootstrap.js';
import { childEnv, cleanupTemp, makeTinyModel, missingPeers, runChild, startMlxServer, tempDir, TINY_EDITOR, type MlxServer } from './harness.js';
import { planToYaml } from '../../src/config/plan-file.js';
import { PLAN_VERSION, type Plan } from '../../src/config/plan.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/aider-mlx.js');

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
}

let skip: string | null = null;
let server: MlxServer | undefined;
let recorder: http.Server | undefined;
let recorderPort = 0;
/** The usage chunk of each streamed answer, as the server sent it. */
const wireUsage: Usage[] = [];

/** Forwards every request to the real server and keeps the usage chunks of its answers. */
function startRecorder(target: number): Promise<number> {
  recorder = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => {
        text += c;
        res.write(c);
      });
      r.on('end', () => {
        for (const line of text.split('\n')) {
          if (!line.startsWith('data: {')) continue;
          const j = JSON.parse(line.slice(6)) as { usage?: Usage };
          if (j.usage) wireUsage.push(j.usage);
        }
        res.end();
      });
    });
    req.pipe(up);
  });
  return new Promise((resolve) => recorder!.listen(0, '127.0.0.1', () => resolve((recorder!.address() as AddressInfo).port)));
}

beforeAll(async () => {
  if (!fs.existsSync(path.resolve(import.meta.dirname, '../../dist'))) {
    skip = 'dist/ is not built: run `npx tsup` first';
    return;
  }
  skip = missingPeers(await ensurePeers(), ['mlx']);
  if (skip) return;
  const hfHome = tempDir('hf');
  const model = await makeTinyModel(hfHome, TINY_EDITOR);
  server = await startMlxServer({ model: model.repoId, hfHome });
  recorderPort = await startRecorder(server.port);
}, 300_000);

afterAll(async () => {
  await new Promise<void>((r) => (recorder ? recorder.close(() => r()) : r()));
  await server?.stop();
  cleanupTemp();
});

describe('aider-mlx bench against the real mlx_lm.server', () => {
  it('reports the server\'s own prompt and cached token counts; the follow-up is served from its prompt cache', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const home = tempDir('bench-home');
    const cfg = path.join(home, '.config', 'aider-mlx');
    fs.mkdirSync(cfg, { recursive: true, mode: 0o700 });
    const plan: Plan = {
      version: PLAN_VERSION,
      mode: 'direct',
      roles: { editor: { model: TINY_EDITOR.repoId, context: 4096, deployments: [{ host: '127.0.0.1', port: recorderPort }] } },
      proxy: { host: '127.0.0.1', port: 4000 },
      requestTimeout: 600,
      aider: { scope: 'profile', dir: path.join(cfg, 'aider') },
    };
    fs.writeFileSync(path.join(cfg, 'plan.yaml'), planToYaml(plan), { mode: 0o600 });
    wireUsage.length = 0;
    const r = await runChild(process.execPath, [BIN, 'bench', '--json', '--tokens', '150', '--turns', '3', '--timeout', '60'], { env: childEnv({}, home), timeoutMs: 60_000 });
    expect(r.code, r.output).toBe(0);
    const j = JSON.parse(r.stdout) as { results: Array<{ ok: boolean; record: { turns: Array<{ promptTokens: number; cachedTokens: number; completionTokens: number }>; followUpCachedTokens: number; prefillTokPerSec: number } }> };
    const rec = j.results[0]!.record;
    expect(wireUsage).toHaveLength(3);
    // Exactly the server's figures, turn by turn.
    expect(rec.turns.map((t) => [t.promptTokens, t.cachedTokens, t.completionTokens])).toEqual(
      wireUsage.map((u) => [u.prompt_tokens, u.prompt_tokens_details?.cached_tokens, u.completion_tokens]),
    );
    // A real Aider-sized prompt for this tokenizer, cold at first (at most the chat template's opening was cached),
    // then the follow-ups reuse what the earlier turns left: most of the prompt.
    expect(rec.turns[0]!.promptTokens).toBeGreaterThan(300);
    expect(rec.turns[0]!.cachedTokens).toBeLessThan(10);
    expect(rec.followUpCachedTokens).toBeGreaterThan(0);
    expect(rec.turns[1]!.cachedTokens).toBeGreaterThan(rec.turns[1]!.promptTokens / 2);
    expect(rec.turns[2]!.cachedTokens).toBeGreaterThan(rec.turns[1]!.cachedTokens);
    expect(rec.prefillTokPerSec).toBeGreaterThan(0);
    // Kept for status, models and the timeouts.
    const kept = JSON.parse(fs.readFileSync(path.join(home, '.local/share/aider-mlx/bench.json'), 'utf8'));
    expect(kept.records[0].followUpCachedTokens).toBe(rec.followUpCachedTokens);
  }, 90_000);
});
