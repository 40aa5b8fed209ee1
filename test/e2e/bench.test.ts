import { selfCommand } from '../../src/lib/paths.js';
/**
 * `aider-mlx bench` as a user runs it (the built CLI, no terminal) against stand-in mlx_lm.servers
 * run as their own processes: --json, the results kept, `status` showing the last bench under the
 * server, and `reconfigure --yes` writing the timeout derived from the measured prefill speed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cli, sandbox, standInProcess, type StandInProcess } from './helpers.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
let procs: StandInProcess[] = [];
afterEach(async () => {
  await Promise.all(procs.map((p) => p.close()));
  procs = [];
});

describe('aider-mlx bench (built CLI)', () => {
  it('measures the plan\'s server, keeps the result, status shows it, the written timeout derives from it', async () => {
    const s = sandbox();
    // setup against an in-process stand-in on the port, then the port is the stand-in process's.
    const server = await standInProcess(EDITOR, ['--prefill-tok-per-sec', '20']);
    procs.push(server);
    const r = await cli(['setup', '--yes', '--editor', EDITOR, '--editor-port', String(server.port), '--mode', 'direct', '--context', '16384', '--timeout', '20'], { cwd: s.repo, env: s.env });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(parse(readFileSync(join(s.repo, '.aider.conf.yml'), 'utf8')).timeout).toBe(600);

    const b = await cli(['bench', '--json', '--tokens', '100'], { cwd: s.repo, env: s.env, timeoutMs: 90_000 });
    expect(b.code, b.stderr).toBe(0);
    const j = JSON.parse(b.stdout);
    const rec = j.results[0].record;
    expect(rec).toMatchObject({ model: EDITOR, via: 'direct', port: server.port, context: 16384 });
    // Cold: setup's checks left only the chat template's opening in the cache.
    expect(rec.turns[0].cachedTokens).toBeLessThan(5);
    expect(rec.followUpCachedTokens).toBeGreaterThan(0);
    // ~300 uncached tokens at 20 tok/s: the stand-in's prefill speed, as measured.
    expect(rec.prefillTokPerSec).toBeGreaterThan(12);
    expect(rec.prefillTokPerSec).toBeLessThan(21);
    expect(rec.followUpTtftMs).toBeLessThan(rec.coldTtftMs);
    expect(b.stderr).toMatch(/turn 2\/2: first token [\d.]+ s, \d+ prompt tokens, \d+ cached/);
    // 2 × 16384 / ~20 tok/s ≈ 1640 s: above the 600 s floor.
    expect(j.timeouts[EDITOR]).toBe(Math.ceil((2 * 16384) / rec.prefillTokPerSec));
    expect(JSON.parse(readFileSync(join(s.home, '.local/share/aider-mlx/bench.json'), 'utf8')).records).toHaveLength(1);

    const st = await cli(['status'], { cwd: s.repo, env: s.env });
    // Read as one text: status wraps its lines at the terminal's width (80 here).
    expect(st.stdout.replace(/\s+/g, ' ')).toMatch(new RegExp(`127\\.0\\.0\\.1:${server.port}: running, answered in \\d+ ms last bench \\([^)]+\\): prefill [\\d.]+ tok/s, decode [\\d.]+ tok/s, first token [\\d.]+ s cold, [\\d.]+ s on follow-up \\(\\d+ of \\d+ tokens cached\\)`));
    const sj = JSON.parse((await cli(['status', '--json'], { cwd: s.repo, env: s.env })).stdout);
    expect(sj.hops[0].lastBench[0].prefillTokPerSec).toBe(rec.prefillTokPerSec);

    const re = await cli(['reconfigure', '--yes', '--timeout', '20'], { cwd: s.repo, env: s.env });
    expect(re.code, re.stderr + re.stdout).toBe(0);
    expect(parse(readFileSync(join(s.repo, '.aider.conf.yml'), 'utf8')).timeout).toBe(j.timeouts[EDITOR]);
  }, 150_000);

  it('no plan: one message, exit 2', async () => {
    const s = sandbox();
    const r = await cli(['bench'], { cwd: s.repo, env: s.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`✗ No plan yet at ~/.config/aider-mlx/plan.yaml.\n  → Run \`${selfCommand()} setup\` first.\n`);
  });
});
