/**
 * POST /v1/chat/completions (also /chat/completions) and /v1/completions, whole or streamed:
 * do_POST's request checks, validate_model_parameters, then handle_completion.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { sleep, untilReady } from './faults.js';
import { resolveModel } from './hub.js';
import { generate, textOf, words, type Generated } from './model.js';
import { cannotServe } from './not-found.js';
import { cachedPrefix, storeTurn } from './prompt-cache.js';
import { asctime, pyJson, pyTypeName, pythonJsonError } from './python.js';
import { head, RequestError, send, traceback } from './reply.js';
import type { FakeState } from './state.js';

export type CompletionKind = 'chat' | 'text';

/** request_factories: exact string matches on the path (a query string → 404). */
export function completionKind(path: string): CompletionKind | undefined {
  if (path === '/v1/chat/completions' || path === '/chat/completions') return 'chat';
  return path === '/v1/completions' ? 'text' : undefined;
}

/** `max_completion_tokens`, else `max_tokens` (an explicit null is kept: it fails validation). */
function requestedMaxTokens(b: Record<string, unknown>): unknown {
  if (b.max_completion_tokens != null) return b.max_completion_tokens;
  return 'max_tokens' in b ? b.max_tokens : undefined;
}

/** The body as a dict, or undefined once an error has been answered (411/400, or a drop before 0.31.2). */
function readBody(st: FakeState, req: http.IncomingMessage, res: http.ServerResponse, raw: string): Record<string, unknown> | undefined {
  const cl = req.headers['content-length'];
  if (cl === undefined) {
    if (!st.feat.requestErrors) throw new RequestError("TypeError: int() argument must be a string, a bytes-like object or a real number, not 'NoneType'");
    return void send(res, 411, pyJson({ error: 'Content-Length header is required' }));
  }
  if (!/^\s*[+-]?\d+\s*$/.test(cl)) {
    if (!st.feat.requestErrors) throw new RequestError(`ValueError: invalid literal for int() with base 10: '${cl}'`);
    return void send(res, 400, pyJson({ error: 'Invalid Content-Length header' }));
  }
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (e) {
    return void send(res, 400, pyJson({ error: `Invalid JSON in request body: ${pythonJsonError(raw, e as Error)}` }));
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    if (!st.feat.requestErrors) throw new RequestError(`AssertionError: Request should be dict, but got ${pyTypeName(body)}`);
    return void send(res, 400, pyJson({ error: 'Request should be a JSON dictionary' }));
  }
  return body as Record<string, unknown>;
}

/** validate_model_parameters: a bad value raises outside any handler, so the socket just closes (SPEC §1.8). */
function validate(b: Record<string, unknown>): void {
  const int = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
  const num = (v: unknown) => typeof v === 'number';
  const check = (name: string, value: unknown, ok: boolean, type: string, min?: number, max?: number) => {
    if (!ok) throw new RequestError(`ValueError: ${name} must be of type ${type}`);
    if (min !== undefined && (value as number) < min) throw new RequestError(`ValueError: ${name} must be at least ${min}`);
    if (max !== undefined && (value as number) > max) throw new RequestError(`ValueError: ${name} must be at most ${max}`);
  };
  const get = (k: string) => b[k];
  const has = (k: string) => b[k] !== undefined;
  if (has('stream')) check('stream', get('stream'), typeof get('stream') === 'boolean', 'bool');
  const mt = requestedMaxTokens(b);
  if (mt !== undefined) check('max_tokens', mt, int(mt), 'int', 0);
  if (has('temperature')) check('temperature', get('temperature'), num(get('temperature')), "('float', 'int')", 0);
  if (has('top_p')) check('top_p', get('top_p'), num(get('top_p')), "('float', 'int')", 0, 1);
  if (has('top_k')) check('top_k', get('top_k'), int(get('top_k')), 'int', 0);
  if (has('min_p')) check('min_p', get('min_p'), num(get('min_p')), "('float', 'int')", 0, 1);
  if (has('logprobs')) check('logprobs', get('logprobs'), typeof get('logprobs') === 'boolean', 'bool');
  if (has('model')) check('requested_model', get('model'), typeof get('model') === 'string', 'str');
  if (get('seed') != null) check('seed', get('seed'), int(get('seed')), 'int');
  if (get('logit_bias') != null) {
    const lb = get('logit_bias');
    check('logit_bias', lb, typeof lb === 'object' && !Array.isArray(lb), 'dict');
  }
}

/**
 * The prompt the model answers, its tokens (a word each, and a chat template's four per message
 * plus three for the reply's start), and the tokenizer's complaint about it, if any.
 */
function promptOf(kind: CompletionKind, b: Record<string, unknown>): { prompt: string; tokens: string[]; contentError?: string } {
  if (kind === 'text') {
    const prompt = textOf(b.prompt);
    return { prompt, tokens: ['<s>', ...words(prompt)] };
  }
  const messages = Array.isArray(b.messages) ? (b.messages as Array<Record<string, unknown>>) : [];
  const tokens: string[] = [];
  let contentError: string | undefined;
  for (const m of messages) {
    if (Array.isArray(m?.content) && m.content.some((p: { type?: unknown }) => p?.type !== 'text')) {
      contentError = "Only 'text' content type is supported.";
    }
    tokens.push('<|im_start|>', String(m?.role), '\n', ...words(textOf(m?.content)), '<|im_end|>');
  }
  tokens.push('<|im_start|>', 'assistant', '\n');
  const lastUser = [...messages].reverse().find((m) => m?.role === 'user');
  return { prompt: textOf(lastUser?.content ?? messages.at(-1)?.content), tokens, contentError };
}

/** What every frame of one answer shares. */
interface Answer {
  kind: CompletionKind;
  stream: boolean;
  id: string;
  created: number;
  object: string;
  requested: string;
  fingerprint: string;
  usage: Record<string, unknown>;
  gen: Generated;
}

/** generate_response: one choice, `message` or `delta` for chat, `text` for completions. */
function frame(a: Answer, finish: string | null, content: string, reasoningText: string) {
  const choice: Record<string, unknown> = { index: 0, finish_reason: finish };
  if (a.kind === 'chat') {
    const key = a.stream ? 'delta' : 'message';
    const msg: Record<string, unknown> = { role: 'assistant' };
    if (!a.stream) msg.content = content ? content : null;
    else if (content) msg.content = content;
    if (reasoningText) msg.reasoning = reasoningText;
    choice[key] = msg;
  } else choice.text = content;
  return { id: a.id, system_fingerprint: a.fingerprint, object: a.object, model: a.requested, created: a.created, choices: [choice] };
}

async function sendWhole(st: FakeState, res: http.ServerResponse, a: Answer, prefillMs: number): Promise<void> {
  const delayMs = (st.faults.delayMs ?? 0) + prefillMs;
  if (delayMs) await sleep(st, delayMs);
  const text = (channel: string) => a.gen.tokens.filter((t) => t.channel === channel).map((t) => t.text).join('');
  const out = pyJson({ ...frame(a, a.gen.finishReason, text('content'), text('reasoning')), usage: a.usage });
  head(res, 200, undefined, { 'Content-Length': String(Buffer.byteLength(out)) });
  res.end(out);
}

async function sendStream(
  st: FakeState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  a: Answer,
  streamOptions: Record<string, unknown> | undefined | null,
  prefillMs: number,
): Promise<void> {
  head(res, 200, { 'Content-type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  const delayMs = (st.faults.delayMs ?? 0) + prefillMs;
  if (delayMs) {
    // Prompt processing: keepalive comments stop clients timing out (≥0.26.4).
    const steps = Math.max(1, Math.ceil(delayMs / 1000));
    for (let i = 1; i <= steps; i++) {
      await sleep(st, delayMs / steps);
      if (st.feat.keepalive) res.write(`: keepalive ${i * 256}/${steps * 256}\n\n`);
    }
  }
  for (const t of a.gen.tokens) {
    if (t.channel === 'control') continue;
    const data = frame(a, null, t.channel === 'content' ? t.text : '', t.channel === 'reasoning' ? t.text : '');
    res.write(`data: ${pyJson(data)}\n\n`);
  }
  res.write(`data: ${pyJson(frame(a, a.gen.finishReason, '', ''))}\n\n`);
  if (streamOptions != null) {
    if (!streamOptions.include_usage && !('include_usage' in streamOptions)) {
      // HEAD indexes stream_options["include_usage"]: the stream just ends (SPEC §1.7).
      traceback(st, req, "KeyError: 'include_usage'");
      return void res.destroy();
    }
    if (streamOptions.include_usage) {
      const u = { id: a.id, system_fingerprint: a.fingerprint, object: 'chat.completion', model: a.requested, created: a.created, choices: [], usage: a.usage };
      res.write(`data: ${pyJson(u)}\n\n`);
    }
  }
  res.end('data: [DONE]\n\n');
}

export async function handleCompletion(
  st: FakeState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  kind: CompletionKind,
  raw: string,
): Promise<void> {
  const b = readBody(st, req, res, raw);
  if (!b) return;

  if (st.faults.closeWithoutResponse) throw new RequestError('ValueError: fault injected: closeWithoutResponse');
  validate(b);
  if (kind === 'chat' && !('messages' in b)) throw new RequestError('AssertionError: Request did not contain messages');
  if (kind === 'text' && !('prompt' in b)) throw new RequestError('AssertionError: Request did not contain a prompt');

  const requested = (b.model as string | undefined) ?? 'default_model';
  const stream = b.stream === true;
  const maxTokens = (requestedMaxTokens(b) ?? st.cliMaxTokens) as number;
  const stop = b.stop == null ? [] : typeof b.stop === 'string' ? [b.stop] : (b.stop as unknown[]).map(String);
  const streamOptions = b.stream_options as Record<string, unknown> | undefined | null;

  await untilReady(st);
  const loadError = resolveModel(st, requested);
  const { prompt, tokens: promptToks, contentError } = promptOf(kind, b);
  const promptTokens = promptToks.length;
  const failure = loadError ?? contentError;
  if (failure !== undefined) return cannotServe(st, res, failure);
  // What an earlier turn left is reused, the rest is processed (at the fault's speed). Before each
  // request the real server logs its cache, then the prefill's progress over the tokens not cached.
  const model = st.loadedModel;
  const cached = cachedPrefix(st, model, promptToks);
  const seqs = [...st.promptCache.values()].flat();
  st.log(`${asctime()} - INFO - Prompt Cache: ${seqs.length} sequences, ${((seqs.reduce((n, q) => n + q.length, 0) * 196_608) / 1e9).toFixed(2)} GB`);
  const rest = promptTokens - cached;
  st.log(`${asctime()} - INFO - Prompt processing progress: 0/${rest}`);
  st.log(`${asctime()} - INFO - Prompt processing progress: ${rest}/${rest}`);

  const faults = st.faults;
  const reasoning = faults.reasoning === true ? (st.feat.reasoningField ? 'field' : 'tags') : faults.reasoning || undefined;
  const gen = generate({
    prompt,
    model: st.loadedModel,
    maxTokens,
    stop,
    reasoning: kind === 'chat' ? reasoning : reasoning && 'tags',
    noChatTemplate: Boolean(faults.noChatTemplate) && kind === 'chat',
  });
  const answer: Answer = {
    kind,
    stream,
    id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    object: kind === 'chat' ? (stream ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion',
    requested,
    fingerprint: st.fingerprint,
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: gen.tokens.length,
      total_tokens: promptTokens + gen.tokens.length,
      prompt_tokens_details: { cached_tokens: cached },
    },
    gen,
  };
  const prefillMs = faults.prefillTokPerSec ? ((promptTokens - cached) / faults.prefillTokPerSec) * 1000 : 0;
  if (stream) await sendStream(st, req, res, answer, streamOptions, prefillMs);
  else await sendWhole(st, res, answer, prefillMs);
  storeTurn(st, model, [...promptToks, ...gen.tokens.filter((t) => t.channel !== 'control').flatMap((t) => words(t.text))]);
}
