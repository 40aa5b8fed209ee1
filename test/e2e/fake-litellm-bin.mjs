// A stand-in `litellm` executable for the e2e tests (installed on PATH by fakeLitellmOnPath).
// `--version` prints a version; otherwise it listens on --host/--port and answers the liveliness
// route. FAKE_LITELLM_PIDS=<file>: it appends its pid and that of a child it starts (a worker, as
// uvicorn may have), so a test can check that both die. FAKE_LITELLM_MODE=hang: completions never
// answer, so the caller waits until its own timeout.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import http from 'node:http';

const args = process.argv.slice(2);
if (args.includes('--version')) {
  process.stdout.write('LiteLLM: Current Version = 1.74.3\n');
  process.exit(0);
}
const arg = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const port = Number(arg('--port') ?? 4000);
const host = arg('--host') ?? '0.0.0.0';
const worker = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
if (process.env.FAKE_LITELLM_PIDS) appendFileSync(process.env.FAKE_LITELLM_PIDS, `${process.pid}\n${worker.pid}\n`);
const server = http.createServer((req, res) => {
  if (req.url === '/health/liveliness') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('"I\'m alive!"');
    return;
  }
  if (process.env.FAKE_LITELLM_MODE === 'hang') return; // never answers
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end('{"detail":"Not Found"}');
});
server.listen(port, host, () => process.stdout.write(`INFO:     Uvicorn running on http://${host}:${port}\n`));
