/** The turns log the proxy's callback writes, the servers' `Prompt Cache` lines, and why a turn missed. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { servedModels } from '../config/names.js';
import { atBound, judgeTurns, logFileName, serverUnitId, parseCacheSamples, parseTurnLine, planPromptCache, readTurns, type TurnRecord } from './metrics.js';
import { mergeLitellmConfig } from '../config/merge.js';
import { PLAN_VERSION, type Plan } from '../config/plan.js';

const A = 'http://127.0.0.1:8080/v1';
const B = 'http://127.0.0.1:8081/v1';
const turn = (time: number, apiBase: string, promptTokens: number, cachedTokens: number, session?: string): TurnRecord => ({ time, apiBase, promptTokens, cachedTokens, ...(session ? { session } : {}) });

describe('the turns log', () => {
  it('reads the callback lines; a torn line or one without the cache figure is skipped; the rotated file comes first', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turns-'));
    const log = path.join(dir, 'turns.jsonl');
    const line = (t: number, c: number | null) => JSON.stringify({ time: t, model_group: 'm', api_base: A, deployment: 'x', prompt_tokens: 100, cached_tokens: c, session: 's', stream: true });
    fs.writeFileSync(`${log}.1`, line(1, 0) + '\n');
    fs.writeFileSync(log, [line(2, 90), line(3, null), '{"time": 4, "prompt_tok'].join('\n'));
    expect(readTurns(log)).toEqual([
      { time: 1000, promptTokens: 100, cachedTokens: 0, modelGroup: 'm', apiBase: A, session: 's' },
      { time: 2000, promptTokens: 100, cachedTokens: 90, modelGroup: 'm', apiBase: A, session: 's' },
    ]);
    expect(parseTurnLine('not json')).toBeUndefined();
    expect(readTurns(path.join(dir, 'absent.jsonl'))).toEqual([]);
  });

  it("reads mlx_lm.server's own cache lines, not its per-type lines", () => {
    const s = parseCacheSamples(['2026-12-01 12:11:30,566 - INFO - Prompt Cache: 3 sequences, 1.20 GB', '2026-12-01 12:11:30,566 - INFO - - KVCache: 3 sequences, 1.20 GB', 'noise'].join('\n'));
    expect(s).toEqual([{ time: new Date(2026, 11, 1, 12, 11, 30, 566).getTime(), sequences: 3, bytes: 1.2e9 }]);
    expect(atBound(s[0]!, { entries: 3 })).toBe(true);
    expect(atBound(s[0]!, { entries: 4, bytes: 1.25e9 })).toBe(true);
    expect(atBound(s[0]!, { entries: 4, bytes: 2e9 })).toBe(false);
    expect(atBound(s[0]!, undefined)).toBe(false);
  });
});

describe('why a turn missed', () => {
  it('a follow-up that finds its previous turn cached is a hit; another server, a full cache, a changed prefix are told apart', () => {
    const none = () => ({ samples: [] });
    const [first, second] = judgeTurns([turn(1000, A, 6000, 0, 's'), turn(2000, A, 6300, 6100, 's')], none);
    expect(first).toMatchObject({ miss: true, kind: 'first-turn' });
    expect(second).toMatchObject({ miss: false });

    const moved = judgeTurns([turn(1000, A, 6000, 0, 's'), turn(2000, B, 6300, 0, 's')], none)[1]!;
    expect(moved).toMatchObject({ miss: true, kind: 'other-server' });
    expect(moved.reason).toBe("another server took it: the conversation's previous turn was answered by 127.0.0.1:8080");

    // Between the two turns the server's cache was at its bound of 2 entries: it evicted this one.
    const full = (base: string) => (base === A ? { samples: [{ time: 1500, sequences: 2, bytes: 1e9 }], bound: { entries: 2 } } : undefined);
    const evicted = judgeTurns([turn(1000, A, 6000, 0, 's'), turn(2000, A, 6300, 12, 's')], full)[1]!;
    expect(evicted).toMatchObject({ miss: true, kind: 'cache-full' });
    expect(evicted.reason).toBe('the cache was full (2 sequences, 1.00 GB; bound: 2 entries) and evicted it');
    // Not at the bound: the prompt itself changed after the tokens the server reused.
    const roomy = () => ({ samples: [{ time: 1500, sequences: 1, bytes: 1e9 }], bound: { entries: 2 } });
    const changed = judgeTurns([turn(1000, A, 6000, 0, 's'), turn(2000, A, 6300, 1200, 's')], roomy)[1]!;
    expect(changed).toMatchObject({ miss: true, kind: 'prefix-changed' });
    expect(changed.reason).toMatch(/^the prefix changed at token 1200:/);

    // No session id: only a full cache can be told.
    expect(judgeTurns([turn(2000, A, 6000, 0)], full)[0]).toMatchObject({ miss: true, kind: 'cache-full' });
    expect(judgeTurns([turn(2000, A, 6000, 0)], none)[0]).toMatchObject({ miss: true, kind: 'unknown' });
  });

  it('per server from the plan: the turns log and each serve log; direct mode has none', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cachevis-'));
    const plan: Plan = {
      version: PLAN_VERSION,
      mode: 'proxy',
      roles: { editor: { model: 'a/b', context: 4096, deployments: [{ host: '127.0.0.1', port: 8080 }, { host: '127.0.0.1', port: 8081 }] } },
      proxy: { host: '127.0.0.1', port: 4000 },
      requestTimeout: 30,
      aider: { scope: 'profile', dir: path.join(dir, 'aider') },
    };
    const t0 = Date.UTC(2026, 11, 1, 12) / 1000;
    const line = (dt: number, base: string, p: number, c: number) => JSON.stringify({ time: t0 + dt, api_base: base, prompt_tokens: p, cached_tokens: c, session: 's1' });
    fs.writeFileSync(path.join(dir, 'turns.jsonl'), [line(0, A, 6000, 0), line(10, A, 6300, 6100), line(20, B, 6600, 0)].join('\n') + '\n');
    fs.writeFileSync(path.join(dir, logFileName(serverUnitId(servedModels(plan)[0]!.roles, { host: '127.0.0.1', port: 8080 }))), '2026-12-01 12:00:09,000 - INFO - Prompt Cache: 1 sequences, 0.50 GB\n');
    const rows = planPromptCache(plan, { turnsLog: path.join(dir, 'turns.jsonl'), logDir: dir, bound: () => ({ entries: 4, bytes: 2e9 }) })!;
    expect(rows.map((r) => r.port)).toEqual([8080, 8081]);
    expect(rows[0]!.report).toMatchObject({ turns: 2, hits: 1, line: 'prompt cache: 1 of 2 recent turns hit (50% of prompt tokens cached)', cacheNow: 'cache on the server: 1 sequence, 0.50 GB; bound: 4 entries, 2.00 GB' });
    expect(rows[1]!.report).toMatchObject({ turns: 1, hits: 0, lastMiss: { kind: 'other-server' } });
    expect(planPromptCache({ ...plan, mode: 'direct' }, { turnsLog: path.join(dir, 'turns.jsonl'), logDir: dir, bound: () => undefined })).toBeUndefined();
  });
});

describe('the callback in the LiteLLM config', () => {
  it("joins the user's own callbacks instead of replacing them", () => {
    const rendered = 'litellm_settings:\n  callbacks: ["aider_mlx_usage.handler"]\n';
    const mine = 'litellm_settings:\n  # my logger\n  callbacks: my_logger.handler\n';
    expect(mergeLitellmConfig(mine, rendered, 'x.yaml').text).toMatch(/# my logger\n {2}callbacks:\n {4}- my_logger.handler\n {4}- aider_mlx_usage.handler\n/);
    const list = 'litellm_settings:\n  callbacks:\n    - a.b\n    - aider_mlx_usage.handler\n';
    expect(mergeLitellmConfig(list, rendered, 'x.yaml').changed).toBe(false);
  });
});
