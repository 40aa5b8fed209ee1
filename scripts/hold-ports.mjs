// Runs a command while something that is NOT mlx_lm.server (nor LiteLLM) holds 127.0.0.1:8080,
// 8081, 8082 and 4000, the default ports. Tests must pass on a machine where those are taken:
// `node scripts/hold-ports.mjs npx vitest run test/pty test/e2e`.
// Each port answers every request with 200 "hello", and 404 for /v1/models. A port that is
// already held (by anything) is left to its holder. Node built-ins only; no shell.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';

const PORTS = [8080, 8081, 8082, 4000];
const HOST = '127.0.0.1';

const [cmd, ...args] = process.argv.slice(2);
if (!cmd) {
  process.stderr.write('usage: node scripts/hold-ports.mjs COMMAND [ARGS…]\n');
  process.exit(2);
}

function hold(port) {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      if ((req.url ?? '').split('?')[0].replace(/\/+$/, '') === '/v1/models') {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hello\n');
    });
    server.once('error', (e) => {
      process.stderr.write(`hold-ports: ${HOST}:${port} is already held (${e.code}); leaving it to its holder\n`);
      resolve(undefined);
    });
    server.listen(port, HOST, () => resolve(server));
  });
}

const servers = (await Promise.all(PORTS.map(hold))).filter(Boolean);
process.stderr.write(`hold-ports: holding ${servers.map((s) => s.address().port).join(', ') || 'nothing'}; running ${[cmd, ...args].join(' ')}\n`);

const child = spawn(cmd, args, { stdio: 'inherit' });
const forward = (sig) => () => child.kill(sig);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, forward(sig));

const code = await new Promise((resolve) => {
  child.on('error', (e) => {
    process.stderr.write(`hold-ports: cannot run ${cmd}: ${e.message}\n`);
    resolve(127);
  });
  child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGKILL: 9 }[sig] ?? 1) : 1)));
});
for (const s of servers) s.closeAllConnections?.();
await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
process.exit(code);
