/** How http.server answers: headers in its order, bodies ended by the socket closing, tracebacks in the log. */
import type http from 'node:http';
import type { FakeState } from './state.js';

export const SERVER_HEADER = 'BaseHTTP/0.6 Python/3.12.8';

/** An exception raised outside any handler: the request's socket is dropped with no answer. */
export class RequestError extends Error {}

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': '*',
  'Access-Control-Allow-Headers': '*',
};

/** Python's protocol is HTTP/1.0: one request per connection, so say so. */
export function head(
  res: http.ServerResponse,
  status: number,
  content: Record<string, string> = { 'Content-type': 'application/json' },
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { Server: SERVER_HEADER, Connection: 'close', ...content, ...CORS, ...extra });
}

export function send(res: http.ServerResponse, status: number, body: string): void {
  // Python ends these bodies by closing the socket; a length says the same without chunking.
  head(res, status, undefined, { 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** http.server's send_error page for a method with no do_<METHOD>. */
export function unsupported(res: http.ServerResponse, method: string): void {
  const body =
    '<!DOCTYPE HTML>\n<html lang="en">\n    <head>\n        <meta charset="utf-8">\n' +
    '        <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n' +
    `        <p>Error code: 501</p>\n        <p>Message: Unsupported method ('${method}').</p>\n` +
    '        <p>Error code explanation: 501 - Server does not support this operation.</p>\n    </body>\n</html>\n';
  res.writeHead(501, {
    Server: SERVER_HEADER,
    Connection: 'close',
    'Content-Type': 'text/html;charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

export function traceback(st: FakeState, req: http.IncomingMessage, exc: string): void {
  const sock = req.socket;
  st.log('-'.repeat(40));
  st.log(`Exception occurred during processing of request from ('${sock.remoteAddress}', ${sock.remotePort})`);
  st.log('Traceback (most recent call last):');
  st.log(exc);
  st.log('-'.repeat(40));
}

export function drop(st: FakeState, req: http.IncomingMessage, exc: string): void {
  traceback(st, req, exc);
  req.socket.destroy();
}
