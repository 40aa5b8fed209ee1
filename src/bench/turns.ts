/**
 * Aider-shaped turns against one OpenAI-compatible base URL (an mlx_lm.server, or the LiteLLM proxy
 * in front of it), streamed, timed. A library: `aider-mlx bench` uses it, and so can the benchmark
 * in bench/ (`runAiderTurns`).
 *
 * The messages follow Aider 0.86's ChatChunks order: system, repo map (a user/assistant pair), the
 * history so far, the chat files (a user/assistant pair), the current request. A follow-up turn
 * moves the previous request and its reply into the history, so the prefix up to the end of the
 * old history is what a server's prompt cache can reuse (the files after it shift, as with Aider).
 * The first turn starts with a fresh nonce: no server has it cached, so it measures a cold prefill.
 *
 * What is measured per turn: time to the first streamed token (ttft), the whole time, and the
 * server's own usage (`stream_options.include_usage`): prompt_tokens, completion_tokens and
 * `prompt_tokens_details.cached_tokens` (mlx_lm.server ≥0.29 reports the prompt-cache reuse there).
 * From those: prefill tok/s = uncached prompt tokens / ttft; decode tok/s = (completion tokens − 1)
 * / (last token − first token).
 */
import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface AiderTurnsOptions {
  /** Ends in /v1 (`http://127.0.0.1:8080/v1`). */
  baseUrl: string;
  /** The request's `model` (`default_model` for an mlx_lm.server, the model_name behind a proxy). */
  model: string;
  /** Sent as `Authorization: Bearer …` (the proxy's key); never printed. */
  apiKey?: string;
  headers?: Record<string, string>;
  /** Size of the first turn's prompt, in words (about a token each; a real tokenizer may count more). */
  promptWords: number;
  /** Turns in one conversation: the first is cold, the others follow up on it (default 2). */
  turns?: number;
  /** Reply cap per turn (default 48). */
  maxTokens?: number;
  /** Per request (default 600 s). */
  timeoutMs?: number;
  /** Makes the conversation unique (default: random), so its first turn is not in any cache. */
  nonce?: string;
  signal?: AbortSignal;
  onProgress?: (p: TurnProgress) => void;
}

export type TurnProgress =
  | { phase: 'sent'; turn: number; turns: number }
  | { phase: 'first-token'; turn: number; turns: number; ttftMs: number }
  | { phase: 'done'; turn: number; turns: number; result: TurnResult };

export interface TurnUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
  [k: string]: unknown;
}

export interface TurnResult {
  /** 1-based. */
  turn: number;
  ttftMs: number;
  totalMs: number;
  /** From the server's usage (absent when it sent none). */
  promptTokens?: number;
  cachedTokens?: number;
  completionTokens?: number;
  /** Uncached prompt tokens per second of ttft. */
  prefillTokPerSec?: number;
  /** Tokens after the first per second; absent with fewer than two tokens. */
  decodeTokPerSec?: number;
  /** The usage object exactly as the server sent it. */
  usage?: TurnUsage;
  /** What the model answered (goes into the next turn's history). */
  reply: string;
}

export class BenchRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------- messages

const CODE_WORDS = (
  'def class return self if else for in while import from async await const let function export ' +
  'interface type value result error request response config server model token cache prompt ' +
  'context stream chunk usage index items count total start end path file line name options ' +
  'parse render write read check assert None True False null undefined => == != <= >= + - * / ' +
  '( ) { } [ ] : ; , . = async_handler load_plan merge_files build_index fetch_json retry_after'
).split(' ');

/** Deterministic filler of `n` words, different per seed (a cheap LCG: no two sections alike). */
function filler(n: number, seed: number, lineEvery = 12): string {
  let x = (seed * 2654435761) >>> 0 || 1;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out.push(CODE_WORDS[x % CODE_WORDS.length]!);
    if ((i + 1) % lineEvery === 0) out.push('\n');
  }
  return out.join(' ').replace(/ \n /g, '\n');
}

const SYSTEM_HEAD =
  'Act as an expert software developer. Always use best practices when coding. Respect and use existing ' +
  'conventions, libraries, etc that are already present in the code base. Take requests for changes to the ' +
  'supplied code. If the request is ambiguous, ask questions. Describe each change with a *SEARCH/REPLACE block*.';
const REPO_PREFIX = 'Here are summaries of some files present in my git repository.\nDo not propose changes to these files, treat them as *read-only*.\n';
const REPO_REPLY = 'Ok, I won\'t try and edit those files without asking first.';
const FILES_PREFIX = 'I have *added these files to the chat* so you can go ahead and edit them.\n*Trust this message as the true contents of these files!*\n';
const FILES_REPLY = 'Ok, any changes I propose will be to those files.';

export interface Conversation {
  system: string;
  repo: ChatMessage[];
  done: ChatMessage[];
  files: ChatMessage[];
  cur: ChatMessage;
  /** Words of one follow-up request. */
  requestWords: number;
}

/**
 * The first turn of an Aider-shaped conversation of about `words` words: system 12%, repo map 38%,
 * chat files 40%, one earlier exchange 8%, the request the rest (at least a few words each).
 */
export function aiderConversation(words: number, nonce: string): Conversation {
  const part = (f: number, min: number) => Math.max(min, Math.round(words * f));
  const system = `[session ${nonce}] ${SYSTEM_HEAD}\n${filler(part(0.12, 8), 1)}`;
  const repo: ChatMessage[] = [
    { role: 'user', content: `${REPO_PREFIX}\nsrc/app.ts:\n${filler(part(0.38, 16), 2)}` },
    { role: 'assistant', content: REPO_REPLY },
  ];
  const half = part(0.04, 4);
  const done: ChatMessage[] = [
    { role: 'user', content: `Explain how the cache is filled.\n${filler(half, 3)}` },
    { role: 'assistant', content: `The cache is filled on each request.\n${filler(half, 4)}` },
  ];
  const files: ChatMessage[] = [
    { role: 'user', content: `${FILES_PREFIX}\nsrc/server.ts\n\`\`\`\n${filler(part(0.4, 16), 5)}\n\`\`\`` },
    { role: 'assistant', content: FILES_REPLY },
  ];
  const requestWords = part(0.02, 8);
  return { system, repo, done, files, cur: { role: 'user', content: `Add a retry to fetch_json.\n${filler(requestWords, 6)}` }, requestWords };
}

export function conversationMessages(c: Conversation): ChatMessage[] {
  return [{ role: 'system', content: c.system }, ...c.repo, ...c.done, ...c.files, c.cur];
}

/** The next turn: the request and its reply join the history, a new request comes. */
export function followUp(c: Conversation, reply: string, turn: number): Conversation {
  return {
    ...c,
    done: [...c.done, c.cur, { role: 'assistant', content: reply.trim() || 'Done.' }],
    cur: { role: 'user', content: `Now also handle the error case (${turn}).\n${filler(c.requestWords, 100 + turn)}` },
  };
}

// ---------------------------------------------------------------------------------------------- one request

interface Streamed {
  ttftMs: number;
  totalMs: number;
  lastTokenMs: number;
  reply: string;
  usage?: TurnUsage;
  chunks: number;
}

/** One streamed chat completion; resolves when the stream ends. */
export function streamChat(
  opts: Pick<AiderTurnsOptions, 'baseUrl' | 'model' | 'apiKey' | 'headers' | 'maxTokens' | 'timeoutMs' | 'signal'>,
  messages: ChatMessage[],
  onFirstToken?: (ms: number) => void,
): Promise<Streamed> {
  const url = new URL(`${opts.baseUrl.replace(/\/+$/, '')}/chat/completions`);
  const body = JSON.stringify({
    model: opts.model,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: opts.maxTokens ?? 48,
    temperature: 0,
  });
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...(opts.apiKey ? { Authorization: `Bearer ${opts.apiKey}` } : {}),
    ...opts.headers,
  };
  const mod = url.protocol === 'https:' ? https : http;
  const timeoutMs = opts.timeoutMs ?? 600_000;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ttft = -1;
    let last = -1;
    let reply = '';
    let usage: TurnUsage | undefined;
    let chunks = 0;
    let buf = '';
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) return reject(err);
      const end = performance.now() - t0;
      resolve({ ttftMs: ttft < 0 ? end : ttft, totalMs: end, lastTokenMs: last < 0 ? end : last, reply, usage, chunks });
    };
    const req = mod.request(url, { method: 'POST', headers, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text.length < 2000 ? (text += c) : undefined));
        res.on('end', () => finish(new BenchRequestError(`HTTP ${status}${text ? `: ${text.slice(0, 300).trim()}` : ''}`, status)));
        res.on('error', (e) => finish(e));
        return;
      }
      res.setEncoding('utf8');
      const onLine = (line: string) => {
        if (!line.startsWith('data:')) return; // `: keepalive …` comments, blank lines
        const data = line.slice(5).trim();
        if (data === '[DONE]' || !data) return;
        let j: { choices?: Array<{ delta?: { content?: string | null; reasoning?: string | null; reasoning_content?: string | null } }>; usage?: TurnUsage | null };
        try {
          j = JSON.parse(data);
        } catch {
          return;
        }
        chunks++;
        if (j.usage) usage = j.usage;
        const d = j.choices?.[0]?.delta;
        const text = (d?.content ?? '') + (d?.reasoning ?? d?.reasoning_content ?? '');
        if (text) {
          const now = performance.now() - t0;
          if (ttft < 0) {
            ttft = now;
            onFirstToken?.(now);
          }
          last = now;
          reply += d?.content ?? '';
        }
      };
      res.on('data', (c: string) => {
        buf += c;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i).replace(/\r$/, ''));
          buf = buf.slice(i + 1);
        }
      });
      res.on('end', () => {
        if (buf) onLine(buf);
        finish();
      });
      res.on('error', (e) => finish(e));
      res.on('aborted', () => finish(new BenchRequestError('the server closed the stream before it ended')));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(new BenchRequestError(`no complete answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const onAbort = () => {
      req.destroy();
      finish(opts.signal?.reason instanceof Error ? opts.signal.reason : new BenchRequestError('cancelled'));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e: NodeJS.ErrnoException) => {
      const what = e.code === 'ECONNREFUSED' ? `nothing listens on ${url.host}` : e.code === 'ECONNRESET' ? 'the server dropped the connection' : e.message;
      finish(new BenchRequestError(what));
    });
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------- turns

/** The rates of one streamed turn, from the server's usage. */
export function turnRates(s: { ttftMs: number; lastTokenMs: number; usage?: TurnUsage }): Pick<TurnResult, 'promptTokens' | 'cachedTokens' | 'completionTokens' | 'prefillTokPerSec' | 'decodeTokPerSec'> {
  const u = s.usage;
  const promptTokens = typeof u?.prompt_tokens === 'number' ? u.prompt_tokens : undefined;
  const cached = u?.prompt_tokens_details?.cached_tokens;
  const cachedTokens = typeof cached === 'number' ? cached : undefined;
  const completionTokens = typeof u?.completion_tokens === 'number' ? u.completion_tokens : undefined;
  const out: ReturnType<typeof turnRates> = {};
  if (promptTokens !== undefined) out.promptTokens = promptTokens;
  if (cachedTokens !== undefined) out.cachedTokens = cachedTokens;
  if (completionTokens !== undefined) out.completionTokens = completionTokens;
  if (promptTokens !== undefined && s.ttftMs > 0) {
    const processed = promptTokens - (cachedTokens ?? 0);
    if (processed > 0) out.prefillTokPerSec = processed / (s.ttftMs / 1000);
  }
  const decodeMs = s.lastTokenMs - s.ttftMs;
  if (completionTokens !== undefined && completionTokens > 1 && decodeMs > 0) out.decodeTokPerSec = (completionTokens - 1) / (decodeMs / 1000);
  return out;
}

/**
 * N Aider-shaped turns of one conversation against `baseUrl`, one after the other; per turn its
 * ttft, the server's token counts and cached tokens. A failed request rejects (BenchRequestError).
 */
export async function runAiderTurns(opts: AiderTurnsOptions): Promise<TurnResult[]> {
  const turns = Math.max(1, opts.turns ?? 2);
  let conv = aiderConversation(opts.promptWords, opts.nonce ?? randomBytes(6).toString('hex'));
  const results: TurnResult[] = [];
  for (let turn = 1; turn <= turns; turn++) {
    opts.onProgress?.({ phase: 'sent', turn, turns });
    const s = await streamChat(opts, conversationMessages(conv), (ms) => opts.onProgress?.({ phase: 'first-token', turn, turns, ttftMs: ms }));
    const result: TurnResult = { turn, ttftMs: s.ttftMs, totalMs: s.totalMs, ...turnRates(s), ...(s.usage ? { usage: s.usage } : {}), reply: s.reply };
    results.push(result);
    opts.onProgress?.({ phase: 'done', turn, turns, result });
    conv = followUp(conv, s.reply, turn + 1);
  }
  return results;
}
