// Reproduces the project's seed failure with hand-written naive configs and the REAL peers (no
// aider-mlx involved): aider -> mlx_lm.server directly, and aider -> LiteLLM proxy -> mlx_lm.server.
// The mlx server is NOT offline: it asks a stand-in Hub (HF_ENDPOINT) that knows no repo, so the
// error texts are the ones real users see. The texts are kept in test/fixtures/peer-errors/.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { describePeers, ensurePeers, type Peers } from './bootstrap.js';
import {
  chatBody,
  childEnv,
  cleanupTemp,
  freePort,
  httpRequest,
  makeTinyModels,
  missingPeers,
  runAider,
  runChild,
  startFakeHub,
  startLitellm,
  startMlxServer,
  tempDir,
  type FakeHub,
  type LitellmProxy,
  type MlxServer,
  type RunResult,
  type TinyModels,
} from './harness.js';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'peer-errors');
const UPDATE = process.env.AIDER_MLX_UPDATE_FIXTURES === '1';
const SLOW = 5 * 60_000;
const PROMPT = 'Reply with the single word: ping';
const MASTER_KEY = 'sk-aider-mlx-test-master-key';

/** Makes captured text stable: ports, request ids, temp dirs. */
function normalize(text: string, ports: Record<string, number>): string {
  let t = text;
  for (const [name, port] of Object.entries(ports)) t = t.split(`127.0.0.1:${port}`).join(`127.0.0.1:<${name}>`);
  return t
    .replace(/Root=1-aider-mlx-test-\d+/g, 'Root=1-aider-mlx-test-<n>')
    .replace(/\/tmp\/aider-mlx-[\w-]+/g, '<tmp>')
    .replace(/chatcmpl-[0-9a-f-]+/g, 'chatcmpl-<id>')
    .replace(/cooldown_list=\[[^\]]*\]/g, 'cooldown_list=[<deployment ids>]');
}

/** The litellm error paragraph aider printed (from "litellm." to the next blank line). */
function litellmError(output: string): string | null {
  const m = /^litellm\.\w+Error:[\s\S]*?(?=\n[ \t]*\n|(?![\s\S]))/m.exec(output);
  return m ? m[0].trim() : null;
}

/** Writes the fixture when missing or when AIDER_MLX_UPDATE_FIXTURES=1; returns its content. */
function fixture(name: string, content: string): string {
  const file = path.join(FIXTURES, name);
  if (UPDATE || !fs.existsSync(file)) {
    fs.mkdirSync(FIXTURES, { recursive: true });
    fs.writeFileSync(file, content);
  }
  return fs.readFileSync(file, 'utf8');
}

const flat = (s: string) => s.replace(/\s+/g, ' ');

describe('seed failure: naive configs against the real peers', () => {
  let peers: Peers;
  let skipAll: string | null = null;
  let models: TinyModels;
  let hub: FakeHub;
  let mlx: MlxServer;
  let mlxArchitect: MlxServer;
  let ports: Record<string, number> = {};

  beforeAll(async () => {
    peers = await ensurePeers();
    skipAll = missingPeers(peers, ['mlx']);
    if (skipAll) {
      console.warn(`[peers] skipping: ${skipAll}\n${describePeers(peers)}`);
      return;
    }
    models = await makeTinyModels();
    hub = await startFakeHub();
    [mlx, mlxArchitect] = await Promise.all([
      startMlxServer({ model: models.editor.repoId, hfHome: models.hfHome, offline: false, hfEndpoint: hub.url }),
      startMlxServer({ model: models.architect.repoId, hfHome: models.hfHome }),
    ]);
    ports = { MLX_PORT: mlx.port, MLX_ARCHITECT_PORT: mlxArchitect.port, HUB_PORT: Number(new URL(hub.url).port) };
  }, 45 * 60_000);

  afterAll(async () => {
    await Promise.all([mlx?.stop(), mlxArchitect?.stop(), hub?.close()]);
    cleanupTemp();
  }, 60_000);

  const need = (ctx: TestContext, names: ('mlx' | 'litellm' | 'aider')[]) => {
    if (skipAll) ctx.skip(skipAll);
    const why = missingPeers(peers, names);
    if (why) {
      console.warn(`[peers] skipping: ${why}`);
      ctx.skip(why);
    }
  };

  describe('raw HTTP answers of the real mlx_lm.server', () => {
    it('(i) unknown path: 404, plain "Not Found"', async (ctx) => {
      need(ctx, ['mlx']);
      const r = await httpRequest(`${mlx.root}/v1/v1/chat/completions`, { body: chatBody('default_model') });
      expect(r.status).toBe(404);
      expect(r.body).toBe('Not Found');
      const captured = {
        request: { method: 'POST', path: '/v1/v1/chat/completions' },
        status: r.status,
        contentType: r.headers['content-type'],
        body: r.body,
        mlxLm: peers.mlx!.version,
      };
      expect(JSON.parse(fixture('mlx-unknown-path.json', JSON.stringify(captured, null, 2) + '\n'))).toEqual(captured);
    }, SLOW);

    it('(ii) unknown model name: 404, JSON error with the Hub lookup failure', async (ctx) => {
      need(ctx, ['mlx']);
      const before = hub.requests.length;
      const r = await httpRequest(`${mlx.baseUrl}/chat/completions`, { body: chatBody('qwen-coder') });
      expect(r.status).toBe(404);
      const body = JSON.parse(r.body) as { error: string };
      expect(body.error).toContain('Repository Not Found for url:');
      expect(body.error).toContain('/api/models/qwen-coder/revision/main');
      expect(hub.requests.slice(before)).toContain('GET /api/models/qwen-coder/revision/main');
      const captured = {
        request: { method: 'POST', path: '/v1/chat/completions', model: 'qwen-coder' },
        status: r.status,
        contentType: r.headers['content-type'],
        body: JSON.parse(normalize(r.body, ports)),
        mlxLm: peers.mlx!.version,
        huggingfaceHub: peers.mlx!.versions['huggingface-hub'],
      };
      expect(JSON.parse(fixture('mlx-unknown-model.json', JSON.stringify(captured, null, 2) + '\n'))).toEqual(captured);
      // the server unloaded its model before trying the bad name; the right name still works after it
      const ok = await httpRequest(`${mlx.baseUrl}/chat/completions`, { body: chatBody('default_model') });
      expect(ok.status).toBe(200);
    }, SLOW);
  });

  describe('aider -> mlx_lm.server directly (OPENAI_API_BASE)', () => {
    async function aiderDirect(model: string, base: string, extra: string[] = []): Promise<RunResult> {
      return runAider(['--model', model, '--no-show-model-warnings', ...extra, '--message', PROMPT], {
        env: { OPENAI_API_BASE: base },
      });
    }

    function expectNotFound(r: RunResult, fixtureName: string) {
      expect(r.timedOut).toBe(false);
      expect(r.code).toBe(0); // aider exits 0 even when the LLM call failed
      expect(r.output).toContain('litellm.NotFoundError');
      const err = litellmError(r.output);
      expect(err, r.output).not.toBeNull();
      const saved = fixture(fixtureName, normalize(r.output, ports));
      // the error paragraph must still read as captured (a peer upgrade that changes it shows up here)
      expect(flat(litellmError(saved) ?? '')).toBe(flat(normalize(err!, ports)));
      return err!;
    }

    it('(a) alias sent upstream as the model name -> litellm.NotFoundError with the Hub 404', async (ctx) => {
      need(ctx, ['mlx', 'aider']);
      const r = await aiderDirect('openai/qwen-coder', mlx.baseUrl);
      const err = expectNotFound(r, 'aider-alias-as-upstream-model.txt');
      expect(flat(err)).toContain('NotFoundError: OpenAIException - Error code: 404');
      expect(flat(err)).toContain('Repository Not Found for url:');
      expect(flat(err)).toContain('/api/models/qwen-coder/revision/main');
    }, SLOW);

    it('(b) doubled /v1/v1 base -> litellm.NotFoundError "Not Found"', async (ctx) => {
      need(ctx, ['mlx', 'aider']);
      const r = await aiderDirect('openai/default_model', `${mlx.baseUrl}/v1`);
      const err = expectNotFound(r, 'aider-doubled-v1-base.txt');
      expect(flat(err)).toMatch(/OpenAIException - (Error code: 404 - )?Not Found/);
      expect(mlx.log()).toContain('"POST /v1/v1/chat/completions HTTP/1.1" 404');
    }, SLOW);

    it('(c) full /v1/chat/completions endpoint pasted as the base -> litellm.NotFoundError', async (ctx) => {
      need(ctx, ['mlx', 'aider']);
      const r = await aiderDirect('openai/default_model', `${mlx.baseUrl}/chat/completions`);
      const err = expectNotFound(r, 'aider-full-endpoint-as-base.txt');
      expect(flat(err)).toMatch(/OpenAIException - (Error code: 404 - )?Not Found/);
      expect(mlx.log()).toContain('"POST /v1/chat/completions/chat/completions HTTP/1.1" 404');
    }, SLOW);

    it('base without /v1 still chats, and with model metadata there is no model warning', async (ctx) => {
      need(ctx, ['mlx', 'aider']);
      const dir = tempDir('aider-meta');
      const meta = path.join(dir, 'model-metadata.json');
      fs.writeFileSync(
        meta,
        JSON.stringify({
          'openai/default_model': {
            max_input_tokens: 32768,
            max_output_tokens: 512,
            input_cost_per_token: 0,
            output_cost_per_token: 0,
            litellm_provider: 'openai',
            mode: 'chat',
          },
        }),
      );
      // positive run: no --no-show-model-warnings
      const r = await runAider(['--model', 'openai/default_model', '--model-metadata-file', meta, '--message', PROMPT], {
        env: { OPENAI_API_BASE: mlx.root },
        cwd: dir,
      });
      expect(r.timedOut).toBe(false);
      expect(r.output).not.toMatch(/litellm\.\w+Error/);
      expect(flat(r.output)).not.toContain('Unknown context window');
      expect(r.output).toContain('editor pong');
      expect(mlx.log()).toContain('"POST /chat/completions HTTP/1.1" 200');
    }, SLOW);

    it('the same positive run without metadata does warn (the check above can fail)', async (ctx) => {
      need(ctx, ['mlx', 'aider']);
      const r = await runAider(['--model', 'openai/default_model', '--message', PROMPT], { env: { OPENAI_API_BASE: mlx.baseUrl } });
      expect(flat(r.output)).toContain('Unknown context window');
      expect(r.output).toContain('editor pong');
    }, SLOW);
  });

  describe('aider -> LiteLLM proxy -> mlx_lm.server', () => {
    let proxy: LitellmProxy | undefined;
    let dir: string;

    beforeAll(async () => {
      if (skipAll || missingPeers(peers, ['litellm'])) return;
      dir = tempDir('litellm-cfg');
      const config = path.join(dir, 'litellm.yaml');
      // hand-written naive config: the proxy alias is also sent upstream (bad), plus two good routes
      fs.writeFileSync(
        config,
        [
          'model_list:',
          '  - model_name: qwen-coder',
          '    litellm_params:',
          '      model: openai/qwen-coder',
          `      api_base: ${mlx.baseUrl}`,
          '      api_key: none',
          '  - model_name: qwen-coder-raw',
          '    litellm_params:',
          '      model: openai/qwen-coder',
          `      api_base: ${mlx.baseUrl}`,
          '      api_key: none',
          '  - model_name: editor',
          '    litellm_params:',
          '      model: openai/default_model',
          `      api_base: ${mlx.baseUrl}`,
          '      api_key: none',
          '  - model_name: architect',
          '    litellm_params:',
          '      model: openai/default_model',
          `      api_base: ${mlxArchitect.baseUrl}`,
          '      api_key: none',
          'litellm_settings:',
          '  num_retries: 0',
          // LiteLLM >= 1.108 refuses to start without a master key (see the test below)
          'general_settings:',
          `  master_key: ${MASTER_KEY}`,
          '',
        ].join('\n'),
      );
      proxy = await startLitellm(config);
      ports.PROXY_PORT = proxy.port;
    }, 10 * 60_000);

    afterAll(async () => {
      await proxy?.stop();
    }, 60_000);

    it('bad upstream model name -> litellm.NotFoundError through the proxy', async (ctx) => {
      need(ctx, ['mlx', 'litellm', 'aider']);
      const r = await runAider(['--model', 'openai/qwen-coder', '--no-show-model-warnings', '--message', PROMPT], {
        env: { OPENAI_API_BASE: proxy!.baseUrl, OPENAI_API_KEY: MASTER_KEY },
      });
      expect(r.code).toBe(0);
      expect(r.output).toContain('litellm.NotFoundError');
      const err = litellmError(r.output)!;
      const saved = fixture('aider-via-litellm-proxy-bad-upstream-model.txt', normalize(r.output, ports));
      expect(flat(litellmError(saved) ?? '')).toBe(flat(normalize(err, ports)));
      // what aider shows: the proxy's NotFound re-wrapped (class depends on the proxy's status code)
      expect(flat(err)).toMatch(/^litellm\.\w+Error: .*litellm\.NotFoundError: NotFoundError: OpenAIException - Error code: 404/);
      expect(proxy!.log()).toMatch(/qwen-coder/);

      // the raw answers of the real proxy for the same mistake (a twin route: the one above is now
      // in cooldown): first the upstream 404 re-wrapped, then, right after, the cooldown 429
      const ask = () =>
        httpRequest(`${proxy!.baseUrl}/chat/completions`, { body: chatBody('qwen-coder-raw'), headers: { authorization: `Bearer ${MASTER_KEY}` } });
      const capture = (raw: Awaited<ReturnType<typeof ask>>) => ({
        request: { method: 'POST', path: '/v1/chat/completions', model: 'qwen-coder-raw', upstreamModel: 'qwen-coder' },
        status: raw.status,
        contentType: raw.headers['content-type'],
        body: JSON.parse(normalize(raw.body, ports)),
        litellm: peers.litellm!.version,
        mlxLm: peers.mlx!.version,
      });
      const first = await ask();
      expect(first.body).toContain('NotFoundError');
      const c1 = capture(first);
      expect(JSON.parse(fixture('litellm-proxy-bad-upstream-model.json', JSON.stringify(c1, null, 2) + '\n'))).toEqual(c1);
      const second = await ask();
      expect(second.status).toBe(429);
      expect(second.body).toContain('No deployments available for selected model');
      const c2 = capture(second);
      expect(JSON.parse(fixture('litellm-proxy-cooldown-after-failure.json', JSON.stringify(c2, null, 2) + '\n'))).toEqual(c2);
    }, SLOW);

    it('good routes: the proxy reaches each server (editor and architect answer differently)', async (ctx) => {
      need(ctx, ['mlx', 'litellm', 'aider']);
      for (const [name, want] of [['editor', 'editor pong'], ['architect', 'architect plan ready']] as const) {
        const raw = await httpRequest(`${proxy!.baseUrl}/chat/completions`, { body: chatBody(name), headers: { authorization: `Bearer ${MASTER_KEY}` } });
        expect(raw.status, raw.body).toBe(200);
        expect(JSON.parse(raw.body).choices[0].message.content).toBe(want);
      }
      const r = await runAider(['--model', 'openai/architect', '--no-show-model-warnings', '--message', PROMPT], {
        env: { OPENAI_API_BASE: proxy!.baseUrl, OPENAI_API_KEY: MASTER_KEY },
      });
      expect(r.output).not.toMatch(/litellm\.\w+Error/);
      expect(r.output).toContain('architect plan ready');
    }, SLOW);

    it('a proxy config without master_key: the real proxy refuses to start', async (ctx) => {
      need(ctx, ['litellm']);
      const config = path.join(dir, 'no-master-key.yaml');
      fs.writeFileSync(config, ['model_list:', '  - model_name: editor', '    litellm_params:', '      model: openai/default_model', `      api_base: ${mlx.baseUrl}`, ''].join('\n'));
      const port = await freePort();
      const r = await runChild(peers.litellm!.bin, ['--config', config, '--host', '127.0.0.1', '--port', String(port)], {
        env: childEnv(),
        timeoutMs: 120_000,
      });
      expect(r.timedOut).toBe(false);
      expect(r.code).not.toBe(0);
      expect(flat(r.output)).toContain('LiteLLM proxy refused to start: no master key is set');
      const saved = fixture('litellm-proxy-no-master-key.txt', normalize(r.output.slice(r.output.lastIndexOf('LiteLLM proxy refused to start')), { ...ports, PROXY_PORT: port }));
      expect(flat(saved)).toContain('LITELLM_MASTER_KEY');
    }, SLOW);
  });
});
