/** The HTTP server: records each request, passes the fault gate, then routes it like mlx_lm.server's APIHandler. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleCompletion, completionKind } from './completions.js';
import { admit, clearFaultTimers, setFaults } from './faults.js';
import { isHealthPath, sendHealth } from './health.js';
import { isModelsPath, sendModels } from './models.js';
import { notFound } from './not-found.js';
import { handleOther } from './other.js';
import { logDate } from './python.js';
import { drop, head, RequestError, unsupported } from './reply.js';
import { createState, type FakeMlxServer, type FakeMlxServerOptions, type FakeState, type RecordedRequest } from './state.js';

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** do_OPTIONS, do_GET, do_POST; any other method has no do_<METHOD>: the stdlib 501. */
async function handleMlx(st: FakeState, req: http.IncomingMessage, res: http.ServerResponse, raw: string): Promise<void> {
  const method = req.method ?? '';
  const path = req.url ?? '';
  if (method === 'OPTIONS') {
    head(res, 204);
    return void res.end();
  }
  if (method === 'GET') {
    if (!st.feat.getRoutes) return unsupported(res, method);
    if (isModelsPath(st, path)) return sendModels(st, res, path);
    if (isHealthPath(st, path)) return sendHealth(res);
    return notFound(res);
  }
  if (method !== 'POST') return unsupported(res, method);
  const kind = completionKind(path);
  if (!kind) return notFound(res);
  return handleCompletion(st, req, res, kind, raw);
}

/** The request as recorded (body parsed when it is JSON); its status and access-log line come when it finishes. */
function record(st: FakeState, req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
  const rec: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, at: Date.now() };
  if (raw) {
    try {
      rec.body = JSON.parse(raw);
    } catch {
      rec.body = raw;
    }
  }
  st.requests.push(rec);
  res.on('finish', () => {
    rec.status = res.statusCode;
    st.log(`${req.socket.remoteAddress ?? '127.0.0.1'} - - [${logDate()}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} -`);
  });
}

export async function startFakeMlxServer(opts: FakeMlxServerOptions): Promise<FakeMlxServer> {
  const host = opts.host ?? '127.0.0.1';
  const st = createState(opts);
  setFaults(st, opts.faults ?? {});

  const server = http.createServer();
  server.on('connection', (s) => {
    st.sockets.add(s);
    s.on('close', () => st.sockets.delete(s));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      record(st, req, res, raw);
      if (!admit(st, server, req)) return;
      const work = st.faults.identity === 'other' ? handleOther(st, req, res, raw) : handleMlx(st, req, res, raw);
      work.catch((err: unknown) => {
        if (err instanceof RequestError) return drop(st, req, err.message);
        drop(st, req, `RuntimeError: ${(err as Error).message}`);
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: opts.port ?? 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const rootUrl = `http://${hostForUrl(host)}:${port}`;

  return {
    host,
    port,
    rootUrl,
    baseUrl: `${rootUrl}/v1`,
    model: opts.model,
    version: st.versionText,
    requests: st.requests,
    get faults() {
      return st.faults;
    },
    get loadedModel() {
      return st.loadedModel;
    },
    get crashed() {
      return st.crashed;
    },
    setFaults: (f) => setFaults(st, f),
    close: () =>
      new Promise<void>((resolve) => {
        clearFaultTimers(st);
        for (const s of st.sockets) s.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
