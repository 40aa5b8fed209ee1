/** The stand-in's prompt cache answers as mlx_lm.server 0.32 does, and the line status/doctor print from it. */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeMlxServer, type FakeMlxServer } from '../servers/fake-mlx-server.js';
import { cacheTurnOf, promptCacheLine, type CacheTurn } from './metrics.js';

let s: FakeMlxServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function turn(port: number, messages: Array<{ role: string; content: string }>) {
  const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'default_model', messages, max_tokens: 4 }) });
  const j = (await r.json()) as { usage: unknown; choices: Array<{ message: { content: string } }> };
  return { turn: cacheTurnOf(j.usage)!, reply: j.choices[0]!.message.content };
}

describe('prompt cache figures', () => {
  it('the stand-in reuses the longest cached prefix and says so in usage and its log, as the real server does', async () => {
    const log: string[] = [];
    s = await startFakeMlxServer({ model: 'a/b', port: 0, log: (l) => log.push(l) });
    const sys = { role: 'system', content: 'You are Aider. '.repeat(50) };
    const t1 = await turn(s.port, [sys, { role: 'user', content: 'first question' }]);
    expect(t1.turn.cachedTokens).toBe(0);
    // Turn 2 resends turn 1 and its answer: everything up to the new question is cached.
    const t2 = await turn(s.port, [sys, { role: 'user', content: 'first question' }, { role: 'assistant', content: t1.reply }, { role: 'user', content: 'second' }]);
    expect(t2.turn.cachedTokens).toBeGreaterThan(t1.turn.promptTokens);
    expect(t2.turn.cachedTokens).toBeLessThan(t2.turn.promptTokens);
    // Another conversation shares only the system prompt.
    const t3 = await turn(s.port, [{ role: 'system', content: 'other' }, { role: 'user', content: 'x' }]);
    expect(t3.turn.cachedTokens).toBeLessThan(5);
    expect(log.filter((l) => /- INFO - Prompt Cache: \d+ sequences, [\d.]+ GB$/.test(l))).toHaveLength(3);
    expect(log.some((l) => l.endsWith(`Prompt processing progress: ${t2.turn.promptTokens - t2.turn.cachedTokens}/${t2.turn.promptTokens - t2.turn.cachedTokens}`))).toBe(true);

    expect(promptCacheLine([t1.turn, t2.turn])).toMatch(/^prompt cache: 1 of 2 recent turns hit \(\d+% of prompt tokens cached\)$/);
  });

  it('the line: hits and the share of prompt tokens; nothing without turns; usage without the figure is no turn', () => {
    const turns: CacheTurn[] = [{ promptTokens: 6200, cachedTokens: 0 }, { promptTokens: 6300, cachedTokens: 6170 }, { promptTokens: 500, cachedTokens: 0 }];
    expect(promptCacheLine(turns)).toBe('prompt cache: 1 of 3 recent turns hit (47% of prompt tokens cached)');
    expect(promptCacheLine([])).toBeUndefined();
    expect(cacheTurnOf({ prompt_tokens: 10, completion_tokens: 1 })).toBeUndefined();
    expect(cacheTurnOf({ prompt_tokens: 10, prompt_tokens_details: { cached_tokens: 9 } })).toEqual({ promptTokens: 10, cachedTokens: 9 });
  });
});
