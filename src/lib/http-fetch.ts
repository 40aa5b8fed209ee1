/**
 * The probes' default fetch: plain node:http, one connection per request. Node's global fetch loads
 * undici (and its WASM parser) on first use: ~9 MB more peak memory and more startup than every
 * probe of a healthy local setup together, and its 300 s header timeout would cut a first model
 * load short whatever the AbortSignal says.
 * Only what probe.ts reads is implemented: status, ok, headers.get, text(); errors keep their errno
 * `code` and an abort rejects with the signal's reason, so classifyError sees what it expects.
 */
import http from 'node:http';

interface MiniResponse {
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** Bodies beyond this are cut: probes read only the head of a body. */
const MAX_BODY = 4 * 1024 * 1024;

export const httpFetch = (async (input: string | URL, init: RequestInit = {}): Promise<MiniResponse> => {
  // https loads tls and crypto: only for a remote base, never for the local servers.
  const mod: typeof http = String(input).startsWith('https:') ? ((await import('node:https')).default as unknown as typeof http) : http;
  return new Promise((resolve, reject) => {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return reject(signal.reason);
    let url: URL;
    try {
      url = new URL(String(input));
    } catch (e) {
      return reject(e);
    }
    const headers: Record<string, string> = { Connection: 'close' };
    for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>)) headers[k] = v;
    const body = typeof init.body === 'string' ? init.body : undefined;
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    // Resolves once the status line and headers are in; text() waits for the body, so a body
    // that never ends is told apart from a server that never answers (both bounded by the signal).
    let failBody: (e: unknown) => void = () => undefined;
    const req = mod.request(url, { method: init.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const text = new Promise<string>((resolveBody, rejectBody) => {
        failBody = (e) => {
          cleanup();
          rejectBody(e);
        };
        res.on('data', (c: Buffer) => {
          if (size < MAX_BODY) chunks.push(c);
          size += c.length;
        });
        res.on('error', failBody);
        res.on('end', () => {
          cleanup();
          resolveBody(Buffer.concat(chunks).toString('utf8'));
        });
      });
      text.catch(() => undefined); // a caller that never reads the body
      const status = res.statusCode ?? 0;
      resolve({
        ok: status >= 200 && status < 300,
        status,
        headers: {
          get: (name: string) => {
            const v = res.headers[name.toLowerCase()];
            return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
          },
        },
        text: () => text,
      });
    });
    const onAbort = () => {
      req.destroy();
      reject(signal!.reason);
      failBody(signal!.reason);
    };
    const cleanup = () => signal?.removeEventListener('abort', onAbort);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e) => {
      cleanup();
      reject(e);
      failBody(e);
    });
    if (body !== undefined) req.write(body);
    req.end();
  });
}) as unknown as typeof fetch;
