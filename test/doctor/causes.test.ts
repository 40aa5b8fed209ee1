/**
 * Every SPEC §4 cause that can be produced with the stand-ins: seed it into a healthy setup and
 * check that the doctor names it with the right failing check, cause and fix.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDoctor, type DoctorReport } from '../../src/doctor/run.js';
import { ownedLocations } from '../../src/service/locations.js';
import { reportToJson } from '../../src/doctor/report.js';
import { ARCHITECT, EDITOR, type World, worldsClosedAfterEach } from './world.js';
import { CAUSES, globMatch } from '../../src/doctor/causes.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'peer-errors');
const world = worldsClosedAfterEach();

function doctor(w: World, o: { deep?: boolean; errorText?: string; timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {}) {
  return runDoctor(
    { timeoutMs: o.timeoutMs ?? 2000, deep: o.deep ?? false, ...(o.errorText !== undefined ? { errorText: o.errorText } : {}) },
    { env: { ...w.env, ...o.env }, cwd: o.cwd ?? w.project },
  );
}

function check(r: DoctorReport, id: string) {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id}; have ${r.checks.map((x) => x.id).join(', ')}`);
  return c;
}

function failing(r: DoctorReport) {
  return r.checks.filter((c) => c.status === 'fail').map((c) => c.id);
}

/** The model_name setup gives the editor (mlx-<basename>). */
const EDITOR_NAME = 'mlx-qwen2.5-coder-7b-instruct-4bit';
const ARCHITECT_NAME = 'mlx-qwq-32b-4bit';

type LitellmDoc = { model_list: Array<{ model_name: string; litellm_params: Record<string, unknown> }>; general_settings?: Record<string, unknown> };
type Settings = Array<{ name: string; extra_params?: Record<string, unknown> } & Record<string, unknown>>;

describe('a healthy setup', () => {
  it('passes every hop (two stand-in servers + proxy): exit 0, nothing fails, nothing is fixable', async () => {
    const w = await world();
    const r = await doctor(w);
    expect(failing(r)).toEqual([]);
    expect(r.exitCode).toBe(0);
    for (const id of ['server.editor+weak.chat', 'server.architect.chat', 'proxy.alive', 'proxy.auth', 'proxy.names', `proxy.model.${EDITOR_NAME}`, `proxy.model.${ARCHITECT_NAME}`, 'aider.model', 'aider.names', 'aider.api_base']) {
      expect(check(r, id).status, id).toBe('pass');
    }
    expect(r.checks.some((c) => c.fixable && c.status !== 'pass')).toBe(false);
  });

  it('direct mode passes too', async () => {
    const w = await world({ mode: 'direct' });
    const r = await doctor(w);
    expect(failing(r)).toEqual([]);
    expect(r.checks.some((c) => c.group === 'proxy')).toBe(false);
    expect(check(r, 'server.editor+weak.model').status).toBe('pass');
  });
});

describe('SPEC §4 causes, seeded one at a time', () => {
  it('C1: an alias sent upstream (litellm_params.model: openai/qwen-coder)', async () => {
    const w = await world();
    w.editYaml<LitellmDoc>(w.paths.litellm, (d) => {
      d.model_list[0]!.litellm_params.model = 'openai/qwen-coder';
    });
    await w.restartProxy();
    const r = await doctor(w, { errorText: readFileSync(join(FIXTURES, 'aider-via-litellm-proxy-bad-upstream-model.txt'), 'utf8') });
    expect(check(r, 'config.litellm.upstream')).toMatchObject({ status: 'fail', causes: ['C1'], fixable: 'rewrite' });
    expect(check(r, 'server.editor+weak.model')).toMatchObject({ status: 'fail', causes: ['C1'] });
    expect(check(r, `proxy.model.${EDITOR_NAME}`).status).toBe('skip');
    expect(r.likely[0]).toMatchObject({ cause: 'C1', verdict: 'confirmed' });
    expect(r.lead[0]).toMatch(/^(config\.litellm\.upstream|server\.editor\+weak\.model)$/);
    // the stand-in was never asked to load the alias, not even through the proxy: the doctor does not send names that load things
    expect(w.editor!.requests.some((q) => (q.body as { model?: string } | undefined)?.model === 'qwen-coder')).toBe(false);
  });

  it('C1 (direct mode, aider#3551): a URL as the model name', async () => {
    const w = await world({ mode: 'direct', two: false });
    w.editYaml(w.paths.conf, (d) => {
      d.model = 'openai/http://localhost:8081/v1';
      d['weak-model'] = 'openai/http://localhost:8081/v1';
    });
    const r = await doctor(w, { errorText: "litellm.NotFoundError: NotFoundError: OpenAIException - Error code: 404 - {'error': \"Repo id must be in the form 'repo_name' or 'namespace/repo_name': 'http://localhost:8081/v1'.\"}" });
    expect(check(r, 'aider.names')).toMatchObject({ status: 'fail', causes: ['C1'] });
    expect(r.error?.signals).toContain('url-as-model');
    expect(r.likely[0]).toMatchObject({ cause: 'C1', verdict: 'confirmed' });
  });

  it('C2: a doubled /v1 in api_base; the pasted bare Not Found leads to it', async () => {
    const w = await world();
    w.editYaml<LitellmDoc>(w.paths.litellm, (d) => {
      d.model_list[0]!.litellm_params.api_base = `${w.editor!.baseUrl}/v1`;
    });
    const r = await doctor(w, { errorText: readFileSync(join(FIXTURES, 'aider-doubled-v1-base.txt'), 'utf8') });
    expect(check(r, 'config.litellm.api_base')).toMatchObject({ status: 'fail', fixable: 'rewrite' });
    expect(check(r, 'config.litellm.api_base').causes).toContain('C2');
    expect(check(r, 'server.editor+weak.path')).toMatchObject({ status: 'fail', causes: ['C2'] });
    expect(r.likely[0]).toMatchObject({ cause: 'C2', verdict: 'confirmed' });
    expect(['config.litellm.api_base', 'server.editor+weak.path']).toContain(r.lead[0]);
    expect(r.exitCode).toBe(1);
  });

  it('C2: the full endpoint pasted as the Aider base (direct mode)', async () => {
    const w = await world({ mode: 'direct', two: false });
    w.editYaml<Settings>(w.paths.settings, (d) => {
      d[0]!.extra_params!.api_base = `${w.editor!.baseUrl}/chat/completions`;
    });
    const r = await doctor(w);
    expect(check(r, 'aider.api_base')).toMatchObject({ status: 'fail', fixable: 'rewrite' });
    expect(check(r, 'aider.api_base').causes).toContain('C2');
    expect(check(r, 'server.editor+weak.path').status).toBe('fail');
  });

  it('C3: a base without /v1 is a warning (chat works, /models does not)', async () => {
    const w = await world();
    w.editYaml<LitellmDoc>(w.paths.litellm, (d) => {
      d.model_list[0]!.litellm_params.api_base = w.editor!.rootUrl;
    });
    const r = await doctor(w);
    expect(check(r, 'config.litellm.api_base')).toMatchObject({ status: 'warn', causes: ['C3'] });
    expect(check(r, 'server.editor+weak.path')).toMatchObject({ status: 'warn', causes: ['C3'] });
    expect(r.exitCode).toBe(0);
  });

  it('C4: no provider prefix, in Aider and in LiteLLM', async () => {
    const w = await world();
    w.editYaml(w.paths.conf, (d) => {
      d.model = ARCHITECT;
    });
    w.editYaml<LitellmDoc>(w.paths.litellm, (d) => {
      d.model_list[1]!.litellm_params.model = 'default_model';
    });
    const r = await doctor(w, { errorText: 'litellm.BadRequestError: LLM Provider NOT provided. Pass in the LLM provider you are trying to call. You passed model=mlx-community/QwQ-32B-4bit' });
    expect(check(r, 'aider.prefix')).toMatchObject({ status: 'fail', causes: ['C4'], fixable: 'rewrite' });
    expect(check(r, 'config.litellm.prefix')).toMatchObject({ status: 'fail', causes: ['C4'] });
    expect(r.likely[0]).toMatchObject({ cause: 'C4', verdict: 'confirmed' });
  });

  it("C5: direct mode, two models sharing Aider's one OPENAI_API_BASE", async () => {
    const w = await world({ mode: 'direct' });
    w.editYaml<Settings>(w.paths.settings, (d) => {
      for (const e of d) delete e.extra_params!.api_base;
    });
    const r = await doctor(w);
    const c = check(r, 'aider.api_base');
    expect(c.status).toBe('fail');
    expect(c.causes).toContain('C5');
    expect(c.fixable).toBe('rewrite');
  });

  it('C6: a different valid repo id upstream is flagged and never sent (it would download)', async () => {
    const w = await world({ editor: { cachedModels: ['mlx-community/Qwen2.5-Coder-14B-Instruct-4bit'] } });
    w.editYaml<LitellmDoc>(w.paths.litellm, (d) => {
      d.model_list[0]!.litellm_params.model = 'openai/mlx-community/Qwen2.5-Coder-14B-Instruct-4bit';
    });
    const r = await doctor(w);
    expect(check(r, 'config.litellm.upstream')).toMatchObject({ status: 'fail', causes: ['C6'] });
    expect(check(r, 'server.editor+weak.model')).toMatchObject({ status: 'fail', causes: ['C6'] });
    expect(w.editor!.loadedModel).toBe(EDITOR);
  });

  it('C6: the server runs another model than the plan says', async () => {
    const w = await world({ planEditorModel: 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit' });
    const r = await doctor(w);
    expect(check(r, 'server.editor+weak.model')).toMatchObject({ status: 'warn', causes: ['C6'] });
    expect(check(r, 'server.editor+weak.model').fix).toContain('mlx_lm.server --model mlx-community/Qwen2.5-Coder-14B-Instruct-4bit');
  });

  it('C7: the editor server is down: its chain and its proxy check are skipped, not failed', async () => {
    const w = await world({ editorDown: true });
    const r = await doctor(w, { errorText: 'litellm.APIConnectionError: APIConnectionError: OpenAIException - Connection error.' });
    expect(check(r, 'server.editor+weak.reachable')).toMatchObject({ status: 'fail', causes: ['C7'] });
    expect(check(r, 'server.editor+weak.reachable').fix).toContain(`mlx_lm.server --model ${EDITOR}`);
    for (const k of ['identity', 'chat', 'path', 'model']) expect(check(r, `server.editor+weak.${k}`).status).toBe('skip');
    expect(check(r, `proxy.model.${EDITOR_NAME}`).status).toBe('skip');
    expect(check(r, `proxy.model.${ARCHITECT_NAME}`).status).toBe('pass');
    expect(r.likely[0]).toMatchObject({ cause: 'C7', verdict: 'confirmed' });
    expect(failing(r)).toEqual(['server.editor+weak.reachable']);
  });

  it('C7: localhost in a base, and a pasted ECONNREFUSED ::1', async () => {
    const w = await world({ two: false });
    w.editYaml<LitellmDoc>(w.paths.litellm, (d) => {
      d.model_list[0]!.litellm_params.api_base = `http://localhost:${w.editor!.port}/v1`;
    });
    const r = await doctor(w, { errorText: `Error: connect ECONNREFUSED ::1:${w.editor!.port}` });
    expect(check(r, 'config.litellm.api_base')).toMatchObject({ status: 'warn', causes: ['C7'] });
    expect(check(r, 'error.target').status).toBe('pass');
    expect(r.likely[0]?.cause).toBe('C7');
  });

  it('C8: another server holds the editor port; the proxy port is held by an mlx server', async () => {
    const w = await world({ editor: { faults: { identity: 'other' } }, proxy: false });
    w.editYaml(w.paths.plan, (d) => {
      (d.proxy as { port: number }).port = w.architect!.port;
    });
    const r = await doctor(w);
    expect(check(r, 'server.editor+weak.identity')).toMatchObject({ status: 'fail', causes: ['C8'] });
    expect(check(r, 'server.editor+weak.identity').title).toContain('Ollama');
    expect(check(r, 'proxy.alive')).toMatchObject({ status: 'fail', causes: ['C8'] });
    expect(check(r, 'proxy.alive').title).toContain('mlx_lm.server');
  });

  it('C9: no API key in Aider, none in LiteLLM', async () => {
    const w = await world({ mode: 'direct', two: false });
    w.editYaml(w.paths.conf, (d) => {
      delete d['openai-api-key'];
    });
    const r = await doctor(w, { errorText: 'litellm.AuthenticationError: AuthenticationError: OpenAIException - The api_key client option must be set either by passing api_key to the client or by setting the OPENAI_API_KEY environment variable' });
    expect(check(r, 'aider.key')).toMatchObject({ status: 'fail', causes: ['C9'], fixable: 'rewrite' });
    expect(r.likely[0]).toMatchObject({ cause: 'C9', verdict: 'confirmed' });

    const p = await world();
    p.editYaml<LitellmDoc>(p.paths.litellm, (d) => {
      delete d.model_list[0]!.litellm_params.api_key;
    });
    expect(check(await doctor(p), 'config.litellm.key')).toMatchObject({ status: 'fail', causes: ['C9'] });
  });

  it("C10: Aider's key is not the proxy's master_key", async () => {
    const w = await world();
    // Project scope: Aider's key comes from the env file that .aider.conf.yml names (env-file).
    w.writeText(w.paths.aiderEnv, 'AIDER_OPENAI_API_KEY=sk-some-other-key-0123456789\n');
    const r = await doctor(w, { errorText: "litellm.AuthenticationError: AuthenticationError: OpenAIException - Error code: 401 - {'error': {'message': 'Authentication Error, Invalid proxy server token passed.'}}" });
    expect(check(r, 'aider.key')).toMatchObject({ status: 'fail', causes: ['C10'] });
    expect(check(r, 'proxy.auth')).toMatchObject({ status: 'fail', causes: ['C10'] });
    // the next hops are still diagnosed with the config's own key
    expect(check(r, 'proxy.names').status).toBe('pass');
    expect(r.likely[0]).toMatchObject({ cause: 'C10', verdict: 'confirmed' });
    const json = JSON.stringify(reportToJson(r));
    expect(json).not.toContain('sk-some-other-key-0123456789');
    expect(json).not.toContain(r.state.litellm.masterKey!);
  });

  it("C11: Aider's name is not a model_name of the proxy (400 Invalid model name)", async () => {
    const w = await world();
    w.editYaml(w.paths.conf, (d) => {
      d.model = 'openai/mlx-qwq';
    });
    const r = await doctor(w, { errorText: "litellm.BadRequestError: OpenAIException - Error code: 400 - {'error': {'message': '/chat/completions: Invalid model name passed in model=mlx-qwq. Call `/v1/models` to view available models for your key.'}}" });
    expect(check(r, 'aider.names')).toMatchObject({ status: 'fail', causes: ['C11'] });
    expect(check(r, 'aider.model').status).toBe('fail');
    expect(check(r, 'error.model').status).toBe('warn');
    expect(r.likely[0]).toMatchObject({ cause: 'C11', verdict: 'confirmed' });
  });

  it('C11: the running proxy was started from another config', async () => {
    const w = await world();
    w.editYaml<LitellmDoc>(w.paths.litellm, (d) => {
      d.model_list[0]!.model_name = 'editor';
    });
    await w.restartProxy();
    const r = await doctor(w);
    expect(check(r, 'config.litellm.names')).toMatchObject({ status: 'fail', causes: ['C11'] });
    expect(check(r, 'proxy.names')).toMatchObject({ status: 'fail', causes: ['C11'] });
    expect(check(r, `proxy.model.${EDITOR_NAME}`).status).toBe('skip');
  });

  it('C12: the proxy cooled the deployment down', async () => {
    const w = await world({ proxyFaults: { cooldown: true } });
    const r = await doctor(w, { errorText: "litellm.RateLimitError: RateLimitError: OpenAIException - Error code: 429 - {'error': {'message': 'No deployments available for selected model, Try again in 5 seconds. Passed model=mlx-qwq-32b-4bit.'}}" });
    const c = check(r, `proxy.model.${EDITOR_NAME}`);
    expect(c).toMatchObject({ status: 'fail', causes: ['C12'] });
    expect(c.fix).toMatch(/wait 5 s|restart/);
    expect(r.likely[0]).toMatchObject({ cause: 'C12', verdict: 'confirmed' });
  });

  it('C13: a model still loading costs one timeout, not a hang', async () => {
    const w = await world({ editor: { faults: { loading: true } } });
    const t0 = performance.now();
    const r = await doctor(w, { timeoutMs: 400 });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(check(r, 'server.editor+weak.chat')).toMatchObject({ status: 'fail', causes: ['C13'] });
    expect(check(r, 'server.editor+weak.chat').fix).toContain('--timeout');
    expect(check(r, `proxy.model.${EDITOR_NAME}`).status).toBe('skip');
  });

  it('C13: a hung server (accepts, never answers) costs one timeout', async () => {
    const w = await world({ editor: { faults: { hang: true } } });
    const t0 = performance.now();
    const r = await doctor(w, { timeoutMs: 400 });
    expect(performance.now() - t0).toBeLessThan(3000);
    const c = check(r, 'server.editor+weak.identity');
    expect(c.status).toBe('fail');
    expect(c.causes).toContain('C13');
  });

  it('L1: a proxy port that accepts connections and never answers costs one --timeout, not two', async () => {
    const w = await world({ two: false, proxy: false });
    const sockets: net.Socket[] = [];
    const hung = net.createServer((c) => void sockets.push(c));
    await new Promise<void>((r) => hung.listen(w.plan.proxy.port, '127.0.0.1', r));
    try {
      const timeoutMs = 1500;
      const t0 = performance.now();
      const r = await doctor(w, { timeoutMs });
      expect((performance.now() - t0) / timeoutMs).toBeLessThan(1.5);
      const c = check(r, 'proxy.alive');
      expect(c.status).toBe('fail');
      expect(c.title).toBe(`LiteLLM proxy: 127.0.0.1:${w.plan.proxy.port} accepted the connection, no HTTP answer within 1.5 s`);
    } finally {
      for (const c of sockets) c.destroy();
      await new Promise((res) => hung.close(res));
    }
  });

  it('L1: an endless HTTP 200 body on the proxy port is named as such (not "never answers"), within one --timeout', async () => {
    const w = await world({ two: false, proxy: false });
    const timers: NodeJS.Timeout[] = [];
    const endless = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      timers.push(setInterval(() => res.write('.'), 50));
    });
    await new Promise<void>((r) => endless.listen(w.plan.proxy.port, '127.0.0.1', r));
    try {
      const timeoutMs = 1500;
      const t0 = performance.now();
      const r = await doctor(w, { timeoutMs });
      expect((performance.now() - t0) / timeoutMs).toBeLessThan(1.5);
      const c = check(r, 'proxy.alive');
      expect(c.status).toBe('fail');
      expect(c.title).toMatch(/answers HTTP 200 with a body that never ends/);
      expect(c.observed).toMatch(/HTTP 200 came, but its body did not end within 1\.5 s/);
      expect(`${c.title} ${c.observed}`).not.toMatch(/never answers|no HTTP answer/);
    } finally {
      for (const t of timers) clearInterval(t);
      endless.closeAllConnections();
      await new Promise((res) => endless.close(res));
    }
  });

  it('C13: a short Aider timeout is a warning', async () => {
    const w = await world();
    w.editYaml(w.paths.conf, (d) => {
      d.timeout = 30;
    });
    expect(check(await doctor(w), 'aider.timeout')).toMatchObject({ status: 'warn', causes: ['C13'] });
  });

  it('C14: no max_tokens anywhere: a lint by default, proven by --deep', async () => {
    const w = await world({ two: false });
    w.editYaml<LitellmDoc>(w.paths.litellm, (d) => {
      for (const e of d.model_list) delete e.litellm_params.max_tokens;
    });
    w.editYaml<Settings>(w.paths.settings, (d) => {
      for (const e of d) delete e.extra_params!.max_tokens;
    });
    await w.restartProxy();
    const lint = await doctor(w);
    expect(check(lint, 'config.litellm.max_tokens')).toMatchObject({ status: 'warn', causes: ['C14'] });
    expect(check(lint, 'aider.max_tokens')).toMatchObject({ status: 'warn', causes: ['C14'] });
    expect(lint.checks.some((c) => c.id.endsWith('.max_tokens') && c.group === 'server')).toBe(false);
    const deep = await doctor(w, { deep: true, errorText: 'Model openai/mlx-qwen2.5-coder-7b-instruct-4bit has hit a token limit!' });
    expect(check(deep, 'server.editor+weak.max_tokens')).toMatchObject({ status: 'fail', causes: ['C14'] });
    expect(check(deep, 'server.editor+weak.max_tokens').observed).toContain('512');
    expect(deep.likely[0]).toMatchObject({ cause: 'C14', verdict: 'confirmed' });
  });

  it('C14: --deep passes when the server itself runs with --max-tokens', async () => {
    const w = await world({ two: false, editor: { maxTokens: 16384 } });
    const r = await doctor(w, { deep: true });
    expect(check(r, 'server.editor+weak.max_tokens').status).toBe('pass');
  });

  it('C15: no chat template, seen in the answer (--deep) and in the HF cache', async () => {
    const w = await world({ two: false, editor: { faults: { noChatTemplate: true } } });
    const r = await doctor(w, { deep: true });
    expect(check(r, 'server.editor+weak.template')).toMatchObject({ status: 'fail', causes: ['C15'] });

    const c = await world({ two: false });
    const snap = join(c.env.HF_HUB_CACHE!, `models--${EDITOR.replace('/', '--')}`, 'snapshots', 'abc123');
    mkdirSync(snap, { recursive: true });
    mkdirSync(join(c.env.HF_HUB_CACHE!, `models--${EDITOR.replace('/', '--')}`, 'refs'), { recursive: true });
    writeFileSync(join(c.env.HF_HUB_CACHE!, `models--${EDITOR.replace('/', '--')}`, 'refs', 'main'), 'abc123');
    writeFileSync(join(snap, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'Qwen2Tokenizer' }));
    expect(check(await doctor(c), 'server.editor+weak.template')).toMatchObject({ status: 'fail', causes: ['C15'] });
    writeFileSync(join(snap, 'chat_template.jinja'), '{% for m in messages %}{{ m.content }}{% endfor %}');
    expect(check(await doctor(c), 'server.editor+weak.template').status).toBe('pass');
  });

  it('C16: the server drops the connection; a model setting out of range', async () => {
    const w = await world({ two: false, editor: { faults: { closeWithoutResponse: true } } });
    const r = await doctor(w, { errorText: 'litellm.APIConnectionError: APIConnectionError: OpenAIException - Remote end closed connection without response' });
    expect(check(r, 'server.editor+weak.chat').status).toBe('fail');
    expect(check(r, 'server.editor+weak.chat').causes).toContain('C16');
    expect(r.likely[0]).toMatchObject({ cause: 'C16', verdict: 'confirmed' });

    const p = await world({ two: false });
    p.editYaml<Settings>(p.paths.settings, (d) => {
      d[0]!.extra_params!.top_p = 1.5;
    });
    expect(check(await doctor(p), 'aider.params')).toMatchObject({ status: 'fail', causes: ['C16'], fixable: 'rewrite' });
  });

  it('C17: an old server and an absolute local --model in direct mode', async () => {
    const dir = join(process.env.TMPDIR ?? '/tmp', `aider-mlx-local-model-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      const w = await world({ mode: 'direct', two: false, editor: { model: dir, version: '0.26.4' } });
      const r = await doctor(w, { errorText: 'litellm.NotFoundError: NotFoundError: OpenAIException - Local models must be relative to the current working dir.' });
      expect(check(r, 'server.editor+weak.model')).toMatchObject({ status: 'fail', causes: ['C17'] });
      expect(check(r, 'server.editor+weak.version').status).toBe('warn');
      expect(r.likely[0]).toMatchObject({ cause: 'C17', verdict: 'confirmed' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('C18: OPENAI_BASE_URL in the shell or a .env file overrides openai-api-base', async () => {
    const w = await world({ mode: 'direct', two: false });
    w.editYaml<Settings>(w.paths.settings, (d) => {
      delete d[0]!.extra_params!.api_base;
    });
    const r = await doctor(w, { env: { OPENAI_BASE_URL: 'http://127.0.0.1:9999/v1' } });
    expect(check(r, 'config.env.base_url')).toMatchObject({ status: 'fail', causes: ['C18'] });
    expect(check(r, 'aider.api_base').causes).toContain('C18');

    writeFileSync(join(w.project, '.env'), 'OPENAI_BASE_URL=http://127.0.0.1:9998/v1\n');
    const d = await doctor(w);
    expect(check(d, 'config.env.base_url')).toMatchObject({ status: 'fail' });
    expect(check(d, 'config.env.base_url').fix).toContain('.env');
  });

  it('C18: with per-model api_base (what setup writes), OPENAI_BASE_URL cannot redirect', async () => {
    const w = await world();
    const r = await doctor(w, { env: { OPENAI_BASE_URL: 'http://127.0.0.1:9999/v1' } });
    expect(check(r, 'config.env.base_url').status).toBe('pass');
  });

  it('master key: a LiteLLM config without one is a warning', async () => {
    const w = await world({ proxy: false });
    w.editYaml<LitellmDoc>(w.paths.litellm, (d) => {
      delete d.general_settings;
    });
    const r = await doctor(w, { errorText: readFileSync(join(FIXTURES, 'litellm-proxy-no-master-key.txt'), 'utf8') });
    expect(check(r, 'config.litellm.master_key')).toMatchObject({ status: 'warn', causes: ['master-key'] });
    expect(r.likely[0]?.cause).toBe('master-key');
  });

  it('metadata: a missing entry is a warning (Unknown context window size)', async () => {
    const w = await world();
    w.writeText(w.paths.metadata, '{}\n');
    const r = await doctor(w, { errorText: 'Warning for openai/mlx-qwq-32b-4bit: Unknown context window size and costs, using sane defaults.' });
    expect(check(r, 'aider.metadata')).toMatchObject({ status: 'warn', causes: ['metadata'], fixable: 'rewrite' });
    expect(r.likely[0]).toMatchObject({ cause: 'metadata', verdict: 'suspected' });
  });
});

describe('what Aider actually reads', () => {
  it('a .aider.conf.yml in the cwd overrides the git root one (fixable in that file)', async () => {
    const w = await world();
    const sub = join(w.project, 'sub');
    mkdirSync(sub);
    writeFileSync(join(sub, '.aider.conf.yml'), '# mine\nmodel: openai/gpt-4o\n');
    const r = await doctor(w, { cwd: sub });
    const c = check(r, 'aider.model');
    expect(c).toMatchObject({ status: 'fail', fixable: 'align-override' });
    expect(c.fixTargets?.[0]).toEqual({ path: join(sub, '.aider.conf.yml'), keys: { model: 'openai/mlx-qwq-32b-4bit' } });
  });

  it('AIDER_MODEL in the environment beats every file', async () => {
    const w = await world();
    const r = await doctor(w, { env: { AIDER_MODEL: 'openai/other' } });
    expect(check(r, 'aider.model').status).toBe('fail');
    expect(check(r, 'aider.model').fix).toContain('AIDER_MODEL');
    expect(check(r, 'aider.model').fixable).toBeUndefined();
    expect(check(r, 'config.env.overrides').status).toBe('warn');
  });

  it('a broken Aider file is named with its line', async () => {
    const w = await world();
    writeFileSync(w.paths.conf, 'model: [unclosed\n');
    const c = check(await doctor(w), 'config.aider.files');
    expect(c.status).toBe('fail');
    expect(c.observed).toMatch(/line \d+, column \d+/);
  });

  it('run from outside the project, it says so and checks the project as Aider would see it there', async () => {
    const w = await world();
    const r = await doctor(w, { cwd: w.home });
    expect(check(r, 'aider.location').status).toBe('warn');
    expect(check(r, 'aider.model').status).toBe('pass');
  });

  it('profile scope: only the profile config counts', async () => {
    const w = await world({ scope: 'profile' });
    writeFileSync(join(w.project, '.aider.conf.yml'), 'model: openai/gpt-4o\n');
    const r = await doctor(w);
    expect(check(r, 'aider.model').status).toBe('pass');
    expect(check(r, 'config.aider.files').title).toContain('--config');
  });

  it('without a plan it still lints what is on disk', async () => {
    const w = await world({ two: false });
    rmSync(w.paths.plan);
    writeFileSync(join(w.project, '.aider.conf.yml'), 'model: mlx-community/Qwen2.5-Coder-7B-Instruct-4bit\n');
    const r = await doctor(w);
    expect(check(r, 'config.plan').status).toBe('warn');
    expect(check(r, 'aider.prefix').status).toBe('fail');
    expect(r.hasPlan).toBe(false);
  });
});

describe('environment', () => {
  function fakeTool(w: World, bin: string, pkg: string, version: string) {
    const venv = join(w.home, 'venvs', bin);
    mkdirSync(join(venv, 'bin'), { recursive: true });
    mkdirSync(join(venv, 'lib', 'python3.12', 'site-packages', `${pkg}-${version}.dist-info`), { recursive: true });
    writeFileSync(join(venv, 'bin', 'python'), '');
    writeFileSync(join(w.home, 'bin', bin), `#!${join(venv, 'bin', 'python')}\nimport sys\n`, { mode: 0o755 });
  }

  it('reads tool versions without running them, and fails a known-compromised litellm', async () => {
    const w = await world();
    fakeTool(w, 'litellm', 'litellm', '1.82.7');
    fakeTool(w, 'mlx_lm.server', 'mlx_lm', '0.32.2');
    fakeTool(w, 'aider', 'aider_chat', '0.86.2');
    const r = await doctor(w);
    expect(check(r, 'env.litellm_release')).toMatchObject({ status: 'fail' });
    expect(check(r, 'env.litellm_release').fix).toContain("!=1.82.7");
    expect(check(r, 'env.mlx_lm').title).toContain('0.32.2');
    expect(check(r, 'env.aider').title).toContain('0.86.2');
  });

  it('a litellm of unknown version is a warning, and is never run to ask (a compromised one would run its payload)', async () => {
    const w = await world();
    const marker = join(w.home, 'litellm-was-run');
    writeFileSync(join(w.home, 'bin', 'litellm'), `#!/bin/sh\necho ran > ${marker}\necho "LiteLLM: Current Version = 1.82.7"\n`, { mode: 0o755 });
    for (const deep of [false, true]) {
      const r = await doctor(w, { deep });
      expect(check(r, 'env.litellm_release').status).toBe('warn');
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('a tool aider-mlx installed in its own venv, not on PATH: found there, with the folder to add to PATH (not "install it")', async () => {
    const w = await world();
    const venv = join(w.home, '.local', 'share', 'aider-mlx', 'venvs', 'aider-chat');
    mkdirSync(join(venv, 'bin'), { recursive: true });
    mkdirSync(join(venv, 'lib', 'python3.12', 'site-packages', 'aider_chat-0.86.2.dist-info'), { recursive: true });
    writeFileSync(join(venv, 'bin', 'python'), '');
    writeFileSync(join(venv, 'bin', 'aider'), `#!${join(venv, 'bin', 'python')}\nimport sys\n`, { mode: 0o755 });
    const c = check(await doctor(w), 'env.aider');
    expect(c.status).toBe('warn');
    expect(c.title).toBe('aider 0.86.2 is installed at ~/.local/share/aider-mlx/venvs/aider-chat/bin/aider, which is not on PATH');
    expect(c.fix).toContain('Add ~/.local/share/aider-mlx/venvs/aider-chat/bin to PATH');
    expect(c.fix).not.toContain('Install it');
  });

  it('a safe litellm passes', async () => {
    const w = await world();
    fakeTool(w, 'litellm', 'litellm', '1.108.7');
    expect(check(await doctor(w), 'env.litellm_release').status).toBe('pass');
  });

  it('OS checks: Apple Silicon passes, Rosetta warns, Intel fails', async () => {
    const { envChecks } = await import('../../src/doctor/checks/env.js');
    const base = { env: { PATH: '' }, cwd: '/' };
    const os = async (o: object) => envChecks(undefined, { ...base, ...o })[0]!;
    expect(await os({ platform: 'darwin', arch: 'arm64', osRelease: '24.1.0', cpuModel: 'Apple M2 Pro' })).toMatchObject({ status: 'pass', title: 'macOS 15 on Apple Silicon (arm64)' });
    expect(await os({ platform: 'darwin', arch: 'arm64', osRelease: '25.0.0', cpuModel: 'Apple M4' })).toMatchObject({ status: 'pass', title: 'macOS 26 on Apple Silicon (arm64)' });
    expect((await os({ platform: 'darwin', arch: 'x64', osRelease: '24.1.0', cpuModel: 'Apple M1' })).status).toBe('warn');
    expect((await os({ platform: 'darwin', arch: 'x64', osRelease: '22.1.0', cpuModel: 'Intel(R) Core(TM) i7' })).status).toBe('fail');
    expect((await os({ platform: 'darwin', arch: 'arm64', osRelease: '22.6.0', cpuModel: 'Apple M1' })).status).toBe('warn');
  });
});

describe('server logs (serve/service write them)', () => {
  const logDir = (w: World) => ownedLocations(w.env).logs;

  it('C19 and C2 from the log since the last start; older lines are ignored', async () => {
    const w = await world({ two: false });
    mkdirSync(logDir(w), { recursive: true });
    writeFileSync(
      join(logDir(w), 'mlx-editor.log'),
      [
        '127.0.0.1 - - [25/Nov/2026 09:00:00] "POST /v1/v1/chat/completions HTTP/1.1" 404 -',
        '2026-11-25 10:00:00,000 - INFO - Starting httpd at 127.0.0.1 on port 8080...',
        '127.0.0.1 - - [25/Nov/2026 10:00:01] "GET /api/models/qwen-coder/revision/main HTTP/1.1" 404 -',
        '127.0.0.1 - - [25/Nov/2026 10:00:01] "POST /v1/chat/completions HTTP/1.1" 404 -',
      ].join('\n'),
    );
    const r = await doctor(w);
    const c = check(r, 'server.logs');
    expect(c.status).toBe('warn');
    expect(c.causes).toEqual(expect.arrayContaining(['C1', 'C19']));
    expect(c.observed).not.toContain('/v1/v1/');
    writeFileSync(join(logDir(w), 'mlx-editor.log'), '2026-11-25 10:00:00,000 - INFO - Starting httpd at 127.0.0.1 on port 8080...\n127.0.0.1 - - [25/Nov/2026 10:00:01] "POST /v1/chat/completions HTTP/1.1" 200 -\n');
    expect(check(await doctor(w), 'server.logs').status).toBe('pass');
  });

  it("the doctor's own identification probes (their 404s are the answer they expect) are not failures on the next run", async () => {
    let logFile = '';
    const start = '2026-12-01 15:45:55,991 - INFO - Starting httpd at 127.0.0.1 on port 8080...\n';
    for (const mode of ['direct', 'proxy'] as const) {
      const w = await world({ two: false, mode, editor: { log: (line) => appendFileSync(logFile, `${line}\n`) } });
      logFile = join(logDir(w), 'editor_127.0.0.1.log');
      mkdirSync(logDir(w), { recursive: true });
      writeFileSync(logFile, start);
      await doctor(w);
      // The first run did probe the server, which logged its 404s.
      expect(readFileSync(logFile, 'utf8'), mode).toMatch(/"POST \/v1\/responses\S* HTTP\/1\.\d" 404/);
      const again = await doctor(w);
      expect(check(again, 'server.logs'), mode).toMatchObject({ status: 'pass' });
      // An mlx-lm older than 0.24 (no /health) and a LiteLLM liveliness probe at a server: 404s of ours too.
      appendFileSync(logFile, '127.0.0.1 - - [01/Dec/2026 15:46:00] "GET /health HTTP/1.1" 404 -\n127.0.0.1 - - [01/Dec/2026 15:46:00] "GET /health/liveliness HTTP/1.1" 404 -\n');
      expect(check(await doctor(w), 'server.logs'), mode).toMatchObject({ status: 'pass' });
      // A request that is not one of the probes still warns: a doubled /v1, or a client's own /v1/responses.
      for (const path of ['/v1/v1/chat/completions', '/v1/responses']) {
        writeFileSync(logFile, `${start}127.0.0.1 - - [01/Dec/2026 15:46:00] "POST ${path} HTTP/1.1" 404 -\n`);
        const c = check(await doctor(w), 'server.logs');
        expect(c.status, `${mode} ${path}`).toBe('warn');
        expect(c.observed).toContain(`(${path})`);
      }
    }
  });

  it('no logs: skipped', async () => {
    const w = await world({ two: false });
    expect(check(await doctor(w), 'server.logs').status).toBe('skip');
  });
});

describe('a server on another machine', () => {
  it('is a warning that names the exposure and the SSH tunnel that avoids it', async () => {
    const w = await world();
    // TEST-NET-1 (RFC 5737): never routed, so the probes to it time out.
    w.editYaml<{ roles: { architect: { deployments: Array<{ host: string; port: number }> } } }>(w.paths.plan, (d) => {
      d.roles.architect.deployments[0]!.host = '192.0.2.10';
    });
    const r = await doctor(w, { timeoutMs: 300 });
    const port = w.plan.roles.architect!.deployments[0]!.port;
    const c = check(r, `config.remote.192.0.2.10:${port}`);
    expect(c.status).toBe('warn');
    expect(c.fix).toContain(`ssh -N -L ${10000 + (port % 10000)}:127.0.0.1:${port} <you>@192.0.2.10`);
    expect(r.checks.some((x) => x.id.startsWith('config.remote.127.'))).toBe(false);
  });
});

describe('a cause pattern against a check id', () => {
  // What the patterns meant as regular expressions (`*` as `.+`), which globMatch replaces.
  const asRegExp = (glob: string) => new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`);
  const globs = [...new Set(CAUSES.flatMap((c) => c.checks)), 'a*b*c', '*', '*.x', 'x.*', 'a**b'];
  const ids = ['server.editor.model', 'server..model', 'server.model', 'server.a.b.model', 'proxy.model.editor', 'proxy.model.', 'proxy.alive', 'aider.names',
    'config.litellm.upstream', 'abc', 'aXbYc', 'abbc', 'ab', 'a.x', '.x', 'x.', 'x.y', 'aXYb', 'aXb', ''];
  it('matches exactly where the regular expression does', () => {
    for (const g of globs) for (const id of ids) expect(globMatch(g, id), `${g} ~ ${id}`).toBe(asRegExp(g).test(id));
  });
});
