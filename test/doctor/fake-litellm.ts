/**
 * Just enough of a LiteLLM proxy for the doctor's tests (SPEC §2.3, §2.6): it reads a config file,
 * routes `model_name` → `litellm_params` (openai/ only) to the upstream server, and answers with
 * LiteLLM's own error shapes: 400 Invalid model name, 401 with a master_key, 429 cooldown, and
 * upstream failures wrapped as `litellm.<Class>: <Class>: OpenAIException - …`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface FakeLitellmFaults {
  /** Every request to /chat/completions answers 429 "No deployments available" (cooldown). */
  cooldown?: boolean;
}

export interface FakeLitellm {
  port: number;
  root: string;
  requests: Array<{ method: string; path: string; model?: string }>;
  setFaults(f: FakeLitellmFaults): void;
  close(): Promise<void>;
}

interface Entry {
  model_name: string;
  litellm_params: { model: string; api_base?: string; api_key?: string; max_tokens?: number };
}

function err(status: number, message: string, type = 'None') {
  return { status, body: { error: { message, type, param: 'None', code: String(status) } } };
}

export async function startFakeLitellm(opts: { configPath: string; port?: number; faults?: FakeLitellmFaults }): Promise<FakeLitellm> {
  const cfg = parse(readFileSync(opts.configPath, 'utf8')) as { model_list?: Entry[]; general_settings?: { master_key?: string } };
  const entries = cfg.model_list ?? [];
  const master = cfg.general_settings?.master_key;
  let faults: FakeLitellmFaults = { ...opts.faults };
  const requests: FakeLitellm['requests'] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const send = (status: number, body: unknown) => {
          const text = typeof body === 'string' ? body : JSON.stringify(body);
          res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
          res.end(text);
        };
        const path = (req.url ?? '').split('?')[0]!;
        let body: Record<string, unknown> = {};
        try {
          body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
        } catch {
          /* leave empty */
        }
        requests.push({ method: req.method ?? '', path, ...(typeof body.model === 'string' ? { model: body.model } : {}) });
        if (req.method === 'GET' && path === '/health/liveliness') return send(200, '"I\'m alive!"');
        const authed = !master || req.headers.authorization === `Bearer ${master}`;
        if (!authed) {
          const e = err(401, `Authentication Error, Invalid proxy server token passed. Received API Key = ${String(req.headers.authorization ?? '').slice(7, 10)}...`, 'auth_error');
          return send(e.status, e.body);
        }
        if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
          const names = [...new Set(entries.map((e) => e.model_name))];
          return send(200, { data: names.map((id) => ({ id, object: 'model', created: 1677610602, owned_by: 'openai' })), object: 'list' });
        }
        if (req.method === 'GET' && (path === '/model/info' || path === '/v1/model/info')) {
          // LiteLLM reports each deployment with its params, the key left out.
          return send(200, { data: entries.map((e) => ({ model_name: e.model_name, litellm_params: { model: e.litellm_params.model, ...(e.litellm_params.api_base ? { api_base: e.litellm_params.api_base } : {}) }, model_info: { id: e.model_name } })) });
        }
        if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions')) {
          const name = String(body.model ?? '');
          const entry = entries.find((e) => e.model_name === name);
          if (!entry) {
            const e = err(400, `/chat/completions: Invalid model name passed in model=${name}. Call \`/v1/models\` to view available models for your key.`, 'invalid_request_error');
            return send(e.status, e.body);
          }
          if (faults.cooldown) {
            const e = err(429, `No deployments available for selected model, Try again in 5 seconds. Passed model=${name}. pre-call-checks=False, cooldown_list=[('a1b2c3', {'exception_received': 'litellm.APIConnectionError: APIConnectionError: OpenAIException - Connection error.', 'status_code': '500', 'timestamp': 1764072000.0, 'cooldown_time': 5})]`);
            return send(e.status, e.body);
          }
          const p = entry.litellm_params;
          const upstreamModel = p.model.startsWith('openai/') ? p.model.slice(7) : p.model;
          if (!p.model.startsWith('openai/')) {
            const e = err(400, `litellm.BadRequestError: LLM Provider NOT provided. Pass in the LLM provider you are trying to call. You passed model=${p.model}\n Pass model as E.g. For 'Huggingface' inference endpoints pass in \`completion(model='huggingface/starcoder',..)\` Learn more: https://docs.litellm.ai/docs/providers. Received Model Group=${name}\nAvailable Model Group Fallbacks=None`);
            return send(e.status, e.body);
          }
          const up = { ...body, model: upstreamModel, ...(body.max_tokens === undefined && p.max_tokens !== undefined ? { max_tokens: p.max_tokens } : {}) };
          let r: Response;
          try {
            r = await fetch(`${(p.api_base ?? 'https://api.openai.com/v1').replace(/\/+$/, '')}/chat/completions`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${p.api_key ?? ''}` },
              body: JSON.stringify(up),
              signal: AbortSignal.timeout(10_000),
            });
          } catch {
            const e = err(500, `litellm.APIConnectionError: APIConnectionError: OpenAIException - Connection error.. Received Model Group=${name}\nAvailable Model Group Fallbacks=None`);
            return send(e.status, e.body);
          }
          const text = await r.text();
          if (r.ok) return send(200, text);
          let detail = text;
          try {
            const j = JSON.parse(text) as unknown;
            detail = `Error code: ${r.status} - ${JSON.stringify(j).replace(/"/g, "'")}`;
          } catch {
            /* plain text body: the SDK uses it as is */
          }
          const cls = r.status === 404 ? 'NotFoundError' : r.status === 400 ? 'BadRequestError' : 'APIError';
          const e = err(r.status, `litellm.${cls}: ${cls}: OpenAIException - ${detail}. Received Model Group=${name}\nAvailable Model Group Fallbacks=None`);
          return send(e.status, e.body);
        }
        send(404, { detail: 'Not Found' });
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    root: `http://127.0.0.1:${port}`,
    requests,
    setFaults: (f) => {
      faults = { ...faults, ...f };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
