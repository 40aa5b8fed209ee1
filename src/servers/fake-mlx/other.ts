/** identity 'other': a different server (Ollama-like) holding the port, for the "who answers here" checks. */
import type http from 'node:http';
import { generate, textOf } from './model.js';
import type { FakeState } from './state.js';

/** An Ollama-like server holding the port: OpenAI routes with owned_by, Go-style 404s. */
export async function handleOther(st: FakeState, req: http.IncomingMessage, res: http.ServerResponse, raw: string) {
  const path = (req.url ?? '').split('?')[0];
  const plain = (status: number, body: string) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
    res.end(body);
  };
  const json = (status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) });
    res.end(text);
  };
  const created = Math.floor(Date.now() / 1000);
  if (req.method === 'OPTIONS') return void res.writeHead(204).end();
  if (req.method === 'GET' && (path === '/' || path === '')) return plain(200, 'Ollama is running');
  if (req.method === 'GET' && path === '/api/version') return json(200, { version: '0.5.7' });
  if (req.method === 'GET' && path === '/api/tags') return json(200, { models: [{ name: st.opts.model, model: st.opts.model }] });
  if (req.method === 'GET' && path === '/v1/models') {
    return json(200, { object: 'list', data: [{ id: st.opts.model, object: 'model', created, owned_by: 'library' }] });
  }
  if (req.method === 'POST' && path === '/v1/chat/completions') {
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return json(400, { error: { message: 'invalid character in request body', type: 'invalid_request_error', param: null, code: null } });
    }
    if (b.model !== st.opts.model) {
      return json(404, {
        error: { message: `model "${String(b.model)}" not found, try pulling it first`, type: 'api_error', param: null, code: null },
      });
    }
    const messages = Array.isArray(b.messages) ? (b.messages as Array<Record<string, unknown>>) : [];
    const gen = generate({
      prompt: textOf(messages.at(-1)?.content),
      model: st.opts.model,
      maxTokens: typeof b.max_tokens === 'number' ? b.max_tokens : 4096,
      stop: [],
      reasoning: undefined,
      noChatTemplate: false,
    });
    return json(200, {
      id: `chatcmpl-${Math.floor(Math.random() * 1000)}`,
      object: 'chat.completion',
      created,
      model: st.opts.model,
      system_fingerprint: 'fp_ollama',
      choices: [{ index: 0, message: { role: 'assistant', content: gen.tokens.map((t) => t.text).join('') }, finish_reason: gen.finishReason }],
      usage: { prompt_tokens: 10, completion_tokens: gen.tokens.length, total_tokens: 10 + gen.tokens.length },
    });
  }
  return plain(404, '404 page not found');
}
