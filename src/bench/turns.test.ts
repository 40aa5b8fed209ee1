/**
 * The measuring library against the stand-in mlx_lm.server, whose prompt cache works like the real
 * one's (a common prefix with an earlier turn is reused and reported as cached_tokens).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeMlxServer, type FakeMlxServer } from '../servers/fake-mlx-server.js';
import { aiderConversation, conversationMessages, followUp, runAiderTurns, streamChat, turnRates } from './turns.js';

const MODEL = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
let servers: FakeMlxServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function server(opts: Partial<Parameters<typeof startFakeMlxServer>[0]> = {}) {
  const s = await startFakeMlxServer({ model: MODEL, ...opts });
  servers.push(s);
  return s;
}

/** What the stand-in counts for a chat: a token per word, four per message, three for the reply's start. */
function standInTokens(messages: Array<{ content: string }>): number {
  return messages.reduce((n, m) => n + m.content.split(/\s+/).filter(Boolean).length + 4, 3);
}

describe('the stand-in prompt cache', () => {
  it('reports the common prefix with the earlier turn as cached_tokens, 0 for a new conversation, all but the last token for a repeat', async () => {
    const s = await server();
    const conv = aiderConversation(400, 'aaa');
    const first = await streamChat({ baseUrl: s.baseUrl, model: 'default_model' }, conversationMessages(conv));
    expect(first.usage?.prompt_tokens).toBe(standInTokens(conversationMessages(conv)));
    expect(first.usage?.prompt_tokens_details?.cached_tokens).toBe(0);

    const next = followUp(conv, first.reply, 2);
    const second = await streamChat({ baseUrl: s.baseUrl, model: 'default_model' }, conversationMessages(next));
    // Reused: system + repo map + the old history, and the next message's opening (`<|im_start|> user \n`:
    // the files then, the old request now), where the two prompts part.
    const kept = [{ content: next.system }, ...next.repo, ...conv.done];
    expect(second.usage?.prompt_tokens_details?.cached_tokens).toBe(standInTokens(kept));

    const again = await streamChat({ baseUrl: s.baseUrl, model: 'default_model' }, conversationMessages(next));
    // The same prompt again: the stored turn (prompt + reply) is trimmed to all but the last prompt token, as mlx_lm does.
    expect(again.usage?.prompt_tokens_details?.cached_tokens).toBe(again.usage!.prompt_tokens! - 1);

    const other = await streamChat({ baseUrl: s.baseUrl, model: 'default_model' }, conversationMessages(aiderConversation(400, 'bbb')));
    // Another session differs from the first token of its system prompt on: only the chat template's opening matches.
    expect(other.usage?.prompt_tokens_details?.cached_tokens).toBeLessThan(5);
  });

  it('keeps at most --prompt-cache-size conversations', async () => {
    const s = await server({ promptCacheSize: 1 });
    const a = conversationMessages(aiderConversation(100, 'a'));
    const b = conversationMessages(aiderConversation(100, 'b'));
    await streamChat({ baseUrl: s.baseUrl, model: 'default_model' }, a);
    await streamChat({ baseUrl: s.baseUrl, model: 'default_model' }, b);
    const r = await streamChat({ baseUrl: s.baseUrl, model: 'default_model' }, a);
    expect(r.usage?.prompt_tokens_details?.cached_tokens).toBeLessThan(5);
    // With the default size (10) the first conversation is still there after the second.
    const big = await server();
    for (const m of [a, b]) await streamChat({ baseUrl: big.baseUrl, model: 'default_model' }, m);
    const hit = await streamChat({ baseUrl: big.baseUrl, model: 'default_model' }, a);
    expect(hit.usage?.prompt_tokens_details?.cached_tokens).toBe(hit.usage!.prompt_tokens! - 1);
  });
});

describe('runAiderTurns', () => {
  it('a cold turn and follow-ups: ttft, the server\'s own token counts, prefill speed from the uncached tokens', async () => {
    const s = await server({ faults: { prefillTokPerSec: 2000 } });
    const seen: string[] = [];
    const turns = await runAiderTurns({ baseUrl: s.baseUrl, model: 'default_model', promptWords: 1000, turns: 3, onProgress: (p) => seen.push(`${p.phase}${p.turn}`) });
    expect(turns).toHaveLength(3);
    expect(seen).toEqual(['sent1', 'first-token1', 'done1', 'sent2', 'first-token2', 'done2', 'sent3', 'first-token3', 'done3']);
    const [cold, second, third] = turns;
    // The numbers are the server's own usage.
    const usages = s.requests.map((r) => r.body as { messages: Array<{ content: string }> }).map((b) => standInTokens(b.messages));
    expect(turns.map((t) => t.promptTokens)).toEqual(usages);
    expect(cold!.cachedTokens).toBe(0);
    expect(second!.cachedTokens).toBeGreaterThan(0);
    expect(third!.cachedTokens!).toBeGreaterThan(second!.cachedTokens!);
    // ~1000 tokens at 2000 tok/s ≈ 0.5 s cold; the follow-up only prefills what changed.
    expect(cold!.ttftMs).toBeGreaterThan(400);
    expect(second!.ttftMs).toBeLessThan(cold!.ttftMs);
    expect(cold!.prefillTokPerSec!).toBeGreaterThan(1000);
    expect(cold!.prefillTokPerSec!).toBeLessThan(2100);
    // Aider's request shape: streamed, usage asked for.
    const body = s.requests[0]!.body as Record<string, unknown>;
    expect(body).toMatchObject({ stream: true, stream_options: { include_usage: true }, model: 'default_model' });
    const roles = (body.messages as Array<{ role: string }>).map((m) => m.role);
    expect(roles).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user', 'assistant', 'user']);
    // The follow-up carries the first turn's reply in its history.
    const msgs2 = (s.requests[1]!.body as { messages: Array<{ role: string; content: string }> }).messages;
    expect(msgs2.some((m) => m.role === 'assistant' && m.content === cold!.reply.trim())).toBe(true);
  });

  it('sends the key and headers it is given, and a failure names what happened', async () => {
    const s = await server();
    await runAiderTurns({ baseUrl: s.baseUrl, model: 'default_model', apiKey: 'sk-test', headers: { 'x-litellm-session-id': 'abc' }, promptWords: 64, turns: 1 });
    expect(s.requests[0]!.headers.authorization).toBe('Bearer sk-test');
    expect(s.requests[0]!.headers['x-litellm-session-id']).toBe('abc');
    const port = s.port;
    await s.close();
    await expect(runAiderTurns({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'default_model', promptWords: 64 })).rejects.toThrow(/nothing listens on 127\.0\.0\.1/);
  });
});

describe('turnRates', () => {
  it('prefill = uncached prompt tokens per second to the first token; decode = tokens after the first per second after it', () => {
    const r = turnRates({ ttftMs: 2000, lastTokenMs: 3000, usage: { prompt_tokens: 5000, completion_tokens: 41, prompt_tokens_details: { cached_tokens: 1000 } } });
    expect(r).toEqual({ promptTokens: 5000, cachedTokens: 1000, completionTokens: 41, prefillTokPerSec: 2000, decodeTokPerSec: 40 });
    expect(turnRates({ ttftMs: 100, lastTokenMs: 100, usage: { prompt_tokens: 10, completion_tokens: 1 } })).toEqual({ promptTokens: 10, completionTokens: 1, prefillTokPerSec: 100 });
    expect(turnRates({ ttftMs: 100, lastTokenMs: 200 })).toEqual({});
  });
});
