// A stand-in `litellm` for the pty tests: `--version`, then `--config F --host H --port N` serves
// what aider-mlx and Aider use of the proxy: /health/liveliness, /v1/models with the config's
// model_name entries, and /v1/chat/completions forwarded to the entry's api_base, behind the
// config's master_key. STANDIN_STARTS=<file>: one line per start ("litellm <port>").
import { appendFileSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { parse } from 'yaml';

const args = process.argv.slice(2);
if (args.includes('--version')) {
  process.stdout.write('LiteLLM: Current Version = 1.74.3\n');
  process.exit(0);
}
const arg = (name) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
const port = Number(arg('--port') ?? 4000);
const host = arg('--host') ?? '0.0.0.0';
const cfg = parse(readFileSync(arg('--config'), 'utf8')) ?? {};
const entries = cfg.model_list ?? [];
const master = cfg.general_settings?.master_key;
if (process.env.STANDIN_STARTS) appendFileSync(process.env.STANDIN_STARTS, `litellm ${port}\n`);

const send = (res, status, body) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
};
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/health/liveliness') return send(res, 200, '"I\'m alive!"');
    if (master && req.headers.authorization !== `Bearer ${master}`) return send(res, 401, { error: { message: 'Authentication Error', code: '401' } });
    if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
      return send(res, 200, { object: 'list', data: [...new Set(entries.map((e) => e.model_name))].map((id) => ({ id, object: 'model' })) });
    }
    if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions')) {
      let body = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {}
      const entry = entries.find((e) => e.model_name === body.model);
      if (!entry) return send(res, 400, { error: { message: `Invalid model name passed in model=${body.model}`, code: '400' } });
      try {
        const p = entry.litellm_params;
        const r = await fetch(`${p.api_base}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${p.api_key ?? 'x'}` },
          body: JSON.stringify({ ...body, model: String(p.model).replace(/^openai\//, ''), stream: false }),
        });
        return send(res, r.status, await r.text());
      } catch (e) {
        return send(res, 500, { error: { message: `litellm.APIConnectionError: ${e}`, code: '500' } });
      }
    }
    send(res, 404, { detail: 'Not Found' });
  });
});
server.listen(port, host, () => process.stdout.write(`INFO:     Uvicorn running on http://${host}:${port}\n`));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => server.close(() => process.exit(0)));
