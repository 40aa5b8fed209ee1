/**
 * The doctor on setups aider-mlx did not write: no plan, files written by hand (comments, aliases,
 * a .env in the git root, a pasted Aider command line), stand-in servers and a stand-in proxy.
 * The doctor must find what Aider really uses, probe every hop without making a server load a
 * model, state the cause with its evidence and the exact edit, and --fix it in the user's files.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyFixes, planFixes } from '../../src/doctor/fix.js';
import { reportToText } from '../../src/doctor/report.js';
import { runDoctor, type DoctorReport } from '../../src/doctor/run.js';
import type { DoctorCaps } from '../../src/doctor/types.js';
import { selfCommand, type Env } from '../../src/lib/paths.js';
import { startFakeMlxServer, type FakeMlxServer } from '../../src/servers/fake-mlx-server.js';
import { findFreePort } from '../../src/servers/ports.js';
import { startFakeLitellm, type FakeLitellm } from './fake-litellm.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const ARCHITECT = 'mlx-community/QwQ-32B-Preview-4bit';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Hand {
  home: string;
  project: string;
  env: Env;
  procs: Map<number, { pid: number; argv: string[]; cwd?: string }>;
  caps: (extra?: Partial<DoctorCaps>) => DoctorCaps;
  write(path: string, text: string): void;
}

/** A throwaway HOME with ~/proj (a git repo) and nothing aider-mlx wrote. */
function hand(extraEnv: Env = {}): Hand {
  const home = mkdtempSync(join(tmpdir(), 'aider-mlx-hand-'));
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  const project = join(home, 'proj');
  mkdirSync(join(project, '.git'), { recursive: true });
  mkdirSync(join(home, 'bin'), { recursive: true });
  const env: Env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), PATH: join(home, 'bin'), HF_HUB_CACHE: join(home, 'hf', 'hub'), ...extraEnv };
  // The command lines of the local processes holding the ports (what /proc/<pid>/cmdline says).
  const procs = new Map<number, { pid: number; argv: string[]; cwd?: string }>();
  return {
    home,
    project,
    env,
    procs,
    // The machine's processes are these only: a server another program runs here is never seen.
    caps: (extra = {}) => ({ env, cwd: project, portProcess: async (port) => procs.get(port), processes: async () => [...procs.values()], ...extra }),
    write: (p, t) => {
      mkdirSync(join(p, '..'), { recursive: true });
      writeFileSync(p, t);
    },
  };
}

async function mlx(h: Hand, model: string, o: { identity?: 'other' } = {}): Promise<FakeMlxServer> {
  const s = await startFakeMlxServer({ model, port: 0, ...(o.identity ? { faults: { identity: o.identity } } : {}) });
  cleanups.push(() => s.close());
  if (!o.identity) h.procs.set(s.port, { pid: 40000 + s.port, argv: ['/opt/homebrew/bin/python3', '/Users/me/.local/bin/mlx_lm.server', '--model', model, '--port', String(s.port)] });
  return s;
}

async function proxy(h: Hand, configPath: string, port = 0): Promise<FakeLitellm> {
  const p = await startFakeLitellm({ configPath, port });
  cleanups.push(() => p.close());
  h.procs.set(p.port, { pid: 50000, argv: ['/Users/me/.local/bin/litellm', '--config', 'litellm.yaml', '--port', String(p.port)], cwd: h.home });
  return p;
}

/** A HOME with the editor's and the architect's stand-in servers, and where its LiteLLM config goes. */
async function twoServers() {
  const h = hand();
  const ed = await mlx(h, EDITOR);
  const ar = await mlx(h, ARCHITECT);
  return { h, ed, ar, cfg: join(h.home, 'litellm.yaml') };
}

/** Every model name a stand-in server was sent: only default_model or its exact --model are allowed. */
function sentNames(s: FakeMlxServer): string[] {
  return s.requests.filter((r) => r.method === 'POST').map((r) => String((r.body as { model?: unknown } | undefined)?.model ?? 'default_model'));
}

const byId = (r: DoctorReport, id: string) => r.checks.find((c) => c.id === id);
const run = (h: Hand, o: { aiderArgs?: string[]; errorText?: string; litellmConfig?: string } = {}, caps?: Partial<DoctorCaps>) =>
  runDoctor({ timeoutMs: 4000, deep: false, ...o }, h.caps(caps));

async function fix(h: Hand, r: DoctorReport) {
  const fp = await planFixes(r, h.env);
  expect(fp.writes.length).toBeGreaterThan(0);
  await applyFixes(fp, h.env);
  return fp;
}

const ARCHITECT_ERROR = `litellm.BadRequestError: OpenAIException - litellm.NotFoundError: NotFoundError: OpenAIException - Error code: 404 - {'error': "404 Client Error. (Request ID: Root=1-abc)\\n\\nRepository Not Found for url: https://huggingface.co/api/models/architect/revision/main."}. Received Model Group=architect
Available Model Group Fallbacks=None LiteLLM Retried: 2 times, LiteLLM Max Retries: 3 model group 'architect' failed`;

describe('(a) role aliases as the upstream names behind a hand-written LiteLLM proxy', () => {
  async function worldA() {
    const { h, ed, ar, cfg } = await twoServers();
    h.write(
      cfg,
      `# my proxy, written by hand
model_list:
  - model_name: editor
    litellm_params:
      model: openai/editor   # the role name, as in the tutorials
      api_base: http://127.0.0.1:${ed.port}/v1
      api_key: sk-local
  - model_name: architect
    litellm_params:
      model: openai/architect
      api_base: http://127.0.0.1:${ar.port}/v1
      api_key: sk-local
general_settings:
  master_key: sk-my-own-master-key
`,
    );
    const px = await proxy(h, cfg);
    h.write(
      join(h.project, '.aider.conf.yml'),
      `# architect + editor on my two servers
architect: true
model: openai/architect
editor-model: openai/editor
openai-api-base: http://127.0.0.1:${px.port}/v1
openai-api-key: sk-my-own-master-key
`,
    );
    return { h, ed, ar, cfg, px };
  }

  it('exits 1 naming the cause as a fact with its evidence and the exact edit; never sends an alias to a server', async () => {
    const { h, ed, ar, px } = await worldA();
    const r = await run(h, { errorText: ARCHITECT_ERROR });
    expect(r.exitCode).toBe(1);
    const c = byId(r, 'chain.upstream.architect.1')!;
    expect(c.status).toBe('fail');
    expect(c.title).toContain(`Aider sends openai/architect to the proxy on :${px.port}`);
    expect(c.title).toContain(`sends openai/architect upstream to 127.0.0.1:${ar.port}`);
    expect(c.title).toContain(`serves ${ARCHITECT}`);
    expect(c.observed).toContain('its command line');
    expect(c.fix).toContain('In ~/litellm.yaml set model_list[1].litellm_params.model: openai/architect → openai/default_model');
    expect(c.fix).toContain(`/Users/me/.local/bin/litellm --config ~/litellm.yaml --port ${px.port}`);
    expect(byId(r, 'chain.upstream.editor.0')?.status).toBe('fail');
    // The cause is confirmed by a failing check, and no proxy key cause is invented.
    expect(r.likely[0]).toMatchObject({ cause: 'C1', verdict: 'confirmed' });
    expect(r.checks.find((x) => x.id === 'aider.key')).toBeUndefined();
    // What Aider uses comes first, with where each value came from.
    expect(r.checks[0]!.group).toBe('uses');
    expect(byId(r, 'uses.model')?.title).toContain('.aider.conf.yml');
    expect(byId(r, 'uses.litellm')?.title).toContain("the running proxy's own --config");
    // The aliases were judged by comparing strings, never sent to a server.
    for (const s of [ed, ar]) for (const n of sentNames(s)) expect(['default_model', s.model]).toContain(n);
    expect(px.requests.filter((q) => q.path.endsWith('/chat/completions'))).toEqual([]);
    expect(reportToText(r, { env: h.env })).not.toMatch(/it works|every hop works/);
  });

  it('the reason given fits what was seen: the pasted text, whole or cut where Aider printed a blank line, and the checks', async () => {
    const { h, ar, px } = await worldA();
    // Whole: the proxy's BadRequestError wraps the server's 404 "Repository Not Found" for "architect".
    const whole = await run(h, { errorText: ARCHITECT_ERROR });
    const text = reportToText(whole, { env: h.env, width: 400 });
    expect(text).toContain('Most likely: The model name that reaches mlx_lm.server is not `default_model`');
    expect(text).toContain('because the server answered "Repository Not Found" for "architect" on the Hub, passed on by the proxy as litellm.BadRequestError wrapping NotFoundError');
    expect(text).not.toContain('load error');
    expect(text).toContain(`Seen: Aider sends openai/architect to the proxy on :${px.port}; its model group "architect" sends openai/architect upstream to 127.0.0.1:${ar.port}`);
    // Cut (what real Aider prints before the server's message): a 404 and nothing more is not "a load error".
    const cut = await run(h, { errorText: 'litellm.BadRequestError: OpenAIException - litellm.NotFoundError: NotFoundError:\nOpenAIException - Error code: 404 - \n' });
    const t2 = reportToText(cut, { env: h.env, width: 400 });
    expect(cut.likely[0]).toMatchObject({ cause: 'C1', verdict: 'confirmed' });
    expect(t2).toContain("because the text shows only an HTTP 404 from the server, passed on by the proxy as litellm.BadRequestError wrapping NotFoundError, without the server's message");
    expect(t2).not.toMatch(/load error|mlx-lm ≤/);
    expect(t2).toContain('Your error: litellm.BadRequestError wrapping NotFoundError (OpenAIException, HTTP 404): Error code: 404\n');
  });

  it('--fix edits ~/litellm.yaml (comments kept), prints the restart instead of doing it; after the restart the doctor passes', async () => {
    const { h, ed, ar, cfg, px } = await worldA();
    const fp = await fix(h, await run(h));
    const text = readFileSync(cfg, 'utf8');
    expect(text).toContain('# my proxy, written by hand');
    expect(text).toContain('# the role name, as in the tutorials');
    expect(text.match(/model: openai\/default_model/g)).toHaveLength(2);
    expect(fp.after.join('\n')).toContain(`Restart the proxy so it reads the new config: /Users/me/.local/bin/litellm --config ~/litellm.yaml --port ${px.port}`);

    // Not restarted yet: the running proxy still sends the aliases; the doctor says so and sends nothing through it.
    const stale = await run(h);
    expect(stale.exitCode).toBe(1);
    expect(byId(stale, 'chain.proxy.stale')?.status).toBe('fail');
    expect(byId(stale, 'chain.upstream.architect.1')?.fix).toContain('already says openai/default_model');
    for (const s of [ed, ar]) for (const n of sentNames(s)) expect(['default_model', s.model]).toContain(n);

    // The user restarts it as printed.
    const port = px.port;
    await px.close();
    await proxy(h, cfg, port);
    const after = await run(h);
    expect(after.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual([]);
    expect(byId(after, 'chain.through.openai/architect')?.status).toBe('pass');
    expect(byId(after, 'chain.through.openai/editor')?.status).toBe('pass');
    expect(after.exitCode).toBe(0);
  });

  it('with the proxy process unreadable, asks the proxy itself (GET /model/info with Aider\'s key) and still names the cause', async () => {
    const { h, ar, px } = await worldA();
    h.procs.delete(px.port);
    const r = await run(h);
    expect(r.exitCode).toBe(1);
    expect(byId(r, 'uses.litellm')?.title).toContain('GET /model/info');
    const c = byId(r, 'chain.upstream.architect.1')!;
    expect(c.status).toBe('fail');
    expect(c.title).toContain(`upstream to 127.0.0.1:${ar.port}`);
    expect(c.fixable).toBeUndefined();
    expect(c.fix).toContain('pass --litellm-config FILE');
    // --litellm-config makes it an edit of that file.
    const r2 = await run(h, { litellmConfig: join(h.home, 'litellm.yaml') });
    expect(byId(r2, 'chain.upstream.architect.1')?.edits?.[0]).toMatchObject({ keyPath: ['model_list', 1, 'litellm_params', 'model'], old: 'openai/architect', new: 'openai/default_model' });
  });
});

describe('one alias for two roles (model and weak-model both openai/coder) behind a hand-written proxy', () => {
  it('each problem is said once, and --fix writes the one edit once: the file stays valid YAML, the value exact; a second --fix changes nothing', async () => {
    const { h, ed, cfg } = await twoServers();
    const cfgText = `# one box
model_list:
  - model_name: coder
    litellm_params:
      model: openai/coder   # alias
      api_base: http://127.0.0.1:${ed.port}/v1
      api_key: sk-local
general_settings:
  master_key: sk-my-own-master-key
`;
    h.write(cfg, cfgText);
    const px = await proxy(h, cfg);
    h.write(join(h.project, '.aider.conf.yml'), `model: openai/coder\nweak-model: openai/coder\nopenai-api-base: http://127.0.0.1:${px.port}/v1\nopenai-api-key: sk-my-own-master-key\n`);
    const r = await run(h);
    expect(r.exitCode).toBe(1);
    const ids = r.checks.map((c) => c.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    const c = byId(r, 'chain.upstream.coder.0')!;
    expect(c.status).toBe('fail');
    expect(c.edits).toHaveLength(1);
    const text = reportToText(r, { env: h.env, width: 400 });
    expect(text).toMatch(/^✗ 1 problem and /m);
    expect(text.match(/^ {4}✗ /gm)).toHaveLength(1);
    await fix(h, r);
    // The comment keeps its column as far as the longer value lets it (one blank at least).
    expect(readFileSync(cfg, 'utf8')).toBe(cfgText.replace('model: openai/coder   # alias', 'model: openai/default_model # alias'));
    // Fixed in the file, the proxy not restarted yet: nothing more to write.
    const again = await planFixes(await run(h), h.env);
    expect(again.writes).toEqual([]);
  });
});

describe('Aider\'s key from the shell (OPENAI_API_KEY exported), the proxy\'s base in .aider.conf.yml', () => {
  it('a wrong exported key: the refusal is named with where the key comes from, and the fix says the file setting beats it (no crash, no key printed)', async () => {
    const { ed, cfg, h: h0 } = await twoServers();
    const h = { ...h0, env: { ...h0.env, OPENAI_API_KEY: 'sk-wrong-exported' } };
    h.caps = (extra = {}) => ({ ...h0.caps(extra), env: h.env });
    h.write(cfg, `model_list:\n  - model_name: coder\n    litellm_params:\n      model: openai/default_model\n      api_base: http://127.0.0.1:${ed.port}/v1\n      api_key: sk-local\ngeneral_settings:\n  master_key: sk-the-proxy-master-key\n`);
    const px = await proxy(h, cfg);
    h.write(join(h.project, '.aider.conf.yml'), `model: openai/coder\nopenai-api-base: http://127.0.0.1:${px.port}/v1\n`);
    const r = await run(h);
    expect(r.exitCode).toBe(1);
    const c = byId(r, 'chain.proxy.auth')!;
    expect(c.status).toBe('fail');
    expect(c.fix).toContain('OPENAI_API_KEY comes from your shell environment');
    expect(c.fix).toContain('in .aider.conf.yml (it beats OPENAI_API_KEY)');
    const text = reportToText(r, { env: h.env, width: 400 });
    expect(text).not.toContain('sk-wrong-exported');
    expect(text).not.toContain('sk-the-proxy-master-key');
    await planFixes(r, h.env);
  });

  it('no key anywhere: said first, as the cause of Aider\'s "api_key client option must be set"', async () => {
    const { ed, cfg, h } = await twoServers();
    h.write(cfg, `model_list:\n  - model_name: coder\n    litellm_params:\n      model: openai/default_model\n      api_base: http://127.0.0.1:${ed.port}/v1\n      api_key: sk-local\ngeneral_settings:\n  master_key: sk-the-proxy-master-key\n`);
    const px = await proxy(h, cfg);
    h.write(join(h.project, '.aider.conf.yml'), `model: openai/coder\nopenai-api-base: http://127.0.0.1:${px.port}/v1\n`);
    const r = await run(h, { errorText: 'litellm.AuthenticationError: AuthenticationError: OpenAIException - The api_key client option must be set either by passing api_key to the client or by setting the OPENAI_API_KEY environment variable' });
    expect(r.exitCode).toBe(1);
    expect(byId(r, 'chain.key')?.status).toBe('fail');
    expect(r.likely[0]).toMatchObject({ cause: 'C9', verdict: 'confirmed' });
    // The one problem: no keyless request is judged through the proxy (real LiteLLM may answer it 500), no refusal said twice.
    expect(r.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['chain.key']);
    expect(px.requests.filter((q) => q.path.endsWith('/chat/completions'))).toEqual([]);
    expect(reportToText(r, { env: h.env, width: 400 })).toContain('Aider has no API key');
  });
});

describe('a healthy hand-written chain: each hop is asked each question once', () => {
  it('the proxy: its liveliness, its model list with the key Aider sends, /model/info; each server: who it is, and default_model', async () => {
    const { h, ed, ar, cfg } = await twoServers();
    h.write(
      cfg,
      `model_list:
  - model_name: coder   # my alias
    litellm_params:
      model: openai/${EDITOR}
      api_base: http://127.0.0.1:${ed.port}/v1
      api_key: sk-local
  - model_name: thinker
    litellm_params:
      model: openai/${ARCHITECT}
      api_base: http://127.0.0.1:${ar.port}/v1
      api_key: sk-local
general_settings:
  master_key: sk-mine-1234
`,
    );
    const px = await proxy(h, cfg);
    h.write(join(h.project, '.aider.conf.yml'), `architect: true\nmodel: openai/thinker\neditor-model: openai/coder\nopenai-api-base: http://127.0.0.1:${px.port}/v1\nopenai-api-key: sk-mine-1234\n`);
    const r = await run(h, { litellmConfig: cfg });
    expect(r.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual([]);
    expect(byId(r, 'chain.through.openai/thinker')?.status).toBe('pass');
    const asked = (q: Array<{ method: string; path: string }>) => q.map((x) => `${x.method} ${x.path.split('?')[0]}`).sort();
    // The identification (/health, the empty POST) and what only a LiteLLM proxy answers, once each.
    expect(asked(px.requests)).toEqual(['GET /health', 'GET /health/liveliness', 'GET /model/info', 'GET /v1/models', 'POST /v1/chat/completions', 'POST /v1/chat/completions', 'POST /v1/responses']);
    for (const s of [ed, ar]) {
      // Who it is, its default_model, and the completion the proxy sent on.
      expect(asked(s.requests)).toEqual(['GET /health', 'GET /v1/models', 'POST /v1/chat/completions', 'POST /v1/chat/completions', 'POST /v1/responses']);
    }
  });
});

describe('(b) Aider straight at a server with an alias model name', () => {
  it('doctor -- --model openai/editor --openai-api-base …: the cause, from the command line, and the corrected command passes', async () => {
    const h = hand({ OPENAI_API_KEY: 'sk-local' });
    const s = await mlx(h, EDITOR);
    const r = await run(h, { aiderArgs: ['--model', 'openai/editor', '--openai-api-base', s.baseUrl] });
    expect(r.exitCode).toBe(1);
    expect(byId(r, 'uses.model')?.title).toBe('model: openai/editor (the command line)');
    expect(byId(r, 'uses.base')?.title).toContain('the command line');
    const c = byId(r, 'chain.model.openai/editor')!;
    expect(c.status).toBe('fail');
    expect(c.title).toContain(`straight to the mlx_lm.server on :${s.port}; that server serves ${EDITOR}`);
    expect(c.fix).toBe(`Run aider with --model openai/${EDITOR} instead of --model openai/editor.`);
    expect(sentNames(s).every((n) => n === 'default_model' || n === EDITOR)).toBe(true);
    const ok = await run(h, { aiderArgs: ['--model', `openai/${EDITOR}`, '--openai-api-base', s.baseUrl] });
    expect(byId(ok, 'chain.model.openai/' + EDITOR)?.status).toBe('pass');
    expect(ok.exitCode).toBe(0);
  });

  it('the same in a hand-written .aider.conf.yml: --fix edits the model there', async () => {
    const h = hand({ OPENAI_API_KEY: 'sk-local' });
    const s = await mlx(h, EDITOR);
    const conf = join(h.project, '.aider.conf.yml');
    h.write(conf, `# mine\nmodel: openai/editor\nopenai-api-base: ${s.baseUrl}\n`);
    const r = await run(h);
    expect(byId(r, 'chain.model.openai/editor')?.fix).toBe(`In ~/proj/.aider.conf.yml set model: openai/editor → openai/${EDITOR}.`);
    await fix(h, r);
    expect(readFileSync(conf, 'utf8')).toBe(`# mine\nmodel: openai/${EDITOR}\nopenai-api-base: ${s.baseUrl}\n`);
    expect((await run(h)).exitCode).toBe(0);
  });
});

describe('(c) a doubled /v1 and (d) a pasted /chat/completions', () => {
  it('(c) in .aider.conf.yml: the fix is the exact base, applied in that file', async () => {
    const h = hand({ OPENAI_API_KEY: 'sk-local' });
    const s = await mlx(h, EDITOR);
    const conf = join(h.project, '.aider.conf.yml');
    h.write(conf, `model: openai/default_model\nopenai-api-base: ${s.baseUrl}/v1\n`);
    const r = await run(h);
    expect(r.exitCode).toBe(1);
    const c = byId(r, 'chain.base')!;
    expect(c.title).toContain('doubled /v1');
    expect(c.fix).toBe(`In ~/proj/.aider.conf.yml set openai-api-base: ${s.baseUrl}/v1 → ${s.baseUrl}.`);
    expect(r.likely.find((l) => l.cause === 'C2')?.verdict).toBe('confirmed');
    const fp = await fix(h, r);
    // Aider reads its files only at its start: the fix says so.
    expect(fp.after).toContain('Restart Aider if it is running (it reads .aider.conf.yml only when it starts).');
    expect(readFileSync(conf, 'utf8')).toContain(`openai-api-base: ${s.baseUrl}\n`);
    expect((await run(h)).exitCode).toBe(0);
  });

  it('(c) with the error pasted as real Aider prints it (a bare Not Found, the proxy\'s {\'detail\': \'Not Found\'}, a 404 and nothing more): the doubled /v1 leads as the confirmed cause', async () => {
    const h = hand({ OPENAI_API_KEY: 'sk-local' });
    const s = await mlx(h, EDITOR);
    h.write(join(h.project, '.aider.conf.yml'), `model: openai/default_model\nopenai-api-base: ${s.baseUrl}/v1\n`);
    for (const errorText of [
      'litellm.NotFoundError: NotFoundError: OpenAIException - Not Found',
      "litellm.NotFoundError: NotFoundError: OpenAIException - Error code: 404 - {'detail': 'Not Found'}",
      'litellm.NotFoundError: OpenAIException - Error code: 404',
    ]) {
      const r = await run(h, { errorText });
      expect(r.likely[0], errorText).toMatchObject({ cause: 'C2', verdict: 'confirmed' });
      const text = reportToText(r, { env: h.env, width: 400 });
      expect(text).toContain('Most likely: The API base has a doubled /v1');
      expect(text).not.toContain('Nothing matching is wrong now');
    }
  });

  it('(d) OPENAI_API_BASE in the git root\'s .env (which Aider loads last): the fix edits that line', async () => {
    const h = hand();
    const s = await mlx(h, EDITOR);
    const sub = join(h.project, 'src');
    mkdirSync(sub);
    h.write(join(h.project, '.aider.conf.yml'), 'model: openai/default_model\n');
    // The cwd's .env is loaded before the git root's one (--env-file defaults to <git root>/.env).
    h.write(join(sub, '.env'), `OPENAI_API_BASE=http://127.0.0.1:1/v1\n`);
    h.write(join(h.project, '.env'), `# keys\nOPENAI_API_KEY=sk-local\nOPENAI_API_BASE=${s.baseUrl}/chat/completions\n`);
    const r = await runDoctor({ timeoutMs: 4000, deep: false }, h.caps({ cwd: sub }));
    expect(r.exitCode).toBe(1);
    const c = byId(r, 'chain.base')!;
    expect(c.title).toContain('pasted endpoint');
    expect(c.fix).toBe(`In ~/proj/.env set OPENAI_API_BASE: ${s.baseUrl}/chat/completions → ${s.baseUrl}.`);
    await fix(h, r);
    expect(readFileSync(join(h.project, '.env'), 'utf8')).toBe(`# keys\nOPENAI_API_KEY=sk-local\nOPENAI_API_BASE=${s.baseUrl}\n`);
    expect((await runDoctor({ timeoutMs: 4000, deep: false }, h.caps({ cwd: sub }))).exitCode).toBe(0);
  });
});

describe('a hand-written proxy that is not running, with a doubled /v1 upstream in its config', () => {
  it('the upstream base is found from the file before the proxy is started: the cause is confirmed, the exact edit fixes it, and starting the proxy is the next step', async () => {
    const h = hand();
    const s = await mlx(h, EDITOR);
    const down = await findFreePort('127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
    const cfg = join(h.home, 'my-litellm.yaml');
    const text = `# my proxy
model_list:
  - model_name: coder   # my alias
    litellm_params:
      model: openai/${EDITOR}
      api_base: ${s.baseUrl}/v1   # copied from a tutorial
      api_key: sk-local
general_settings:
  master_key: sk-mine-12345678
`;
    h.write(cfg, text);
    h.write(join(h.project, '.aider.conf.yml'), `model: openai/coder\nopenai-api-base: http://127.0.0.1:${down}/v1\nopenai-api-key: sk-mine-12345678\n`);
    const r = await run(h, { litellmConfig: cfg, errorText: 'litellm.NotFoundError: OpenAIException - Not Found' });
    expect(r.exitCode).toBe(1);
    // Reported with the proxy, not with the MLX servers.
    expect(byId(r, `chain.reach.127.0.0.1:${down}`)).toMatchObject({ status: 'fail', group: 'proxy' });
    const c = byId(r, 'chain.upstream.coder.0.base')!;
    expect(c.status).toBe('fail');
    expect(c.title).toBe(`model group "coder" sends to ${s.baseUrl}/v1: collapsed a doubled /v1`);
    expect(c.fix).toBe(`In ~/my-litellm.yaml set model_list[0].litellm_params.api_base: ${s.baseUrl}/v1 → ${s.baseUrl}, then start the proxy: litellm --config ~/my-litellm.yaml --host 127.0.0.1 --port ${down}`);
    // The upstream server was checked too, with default_model only.
    expect(byId(r, `chain.server.127.0.0.1:${s.port}`)?.status).toBe('pass');
    expect(sentNames(s).every((n) => n === 'default_model')).toBe(true);
    // The pasted error is explained by what the file says, not only suspected.
    const lead = r.likely[0]!;
    expect(['C2', 'C3']).toContain(lead.cause);
    expect(lead.verdict).toBe('confirmed');
    const fp = await fix(h, r);
    expect(fp.after).toContain(`Start the proxy: litellm --config ~/my-litellm.yaml --host 127.0.0.1 --port ${down}`);
    // Only the value changed; the user's comments stay, each at its column.
    expect(readFileSync(cfg, 'utf8')).toBe(text.replace(`${s.baseUrl}/v1   #`, `${s.baseUrl}      #`));
    const again = await run(h, { litellmConfig: cfg });
    expect(byId(again, 'chain.upstream.coder.0.base')).toBeUndefined();
    expect(byId(again, `chain.reach.127.0.0.1:${down}`)?.status).toBe('fail');
  });
});

const REFUSAL = `LiteLLM proxy refused to start: no master key is set, so every request would be accepted without authentication. The fix is printed once the server exits.

ERROR:    Application startup failed. Exiting.

LiteLLM proxy refused to start: no master key is set, so every request would be accepted without authentication.

Local development only: set LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY=true, or
general_settings.dangerously_permit_weak_or_unset_master_key: true, to start anyway.`;

describe('(e) a LiteLLM config with no master key (LiteLLM 1.108 refuses to start); Aider sends sk-1234', () => {
  it('names the refusal as the cause, with the exact fix: a new key in both files (never printed), then the start command', async () => {
    const h = hand();
    const ed = await mlx(h, EDITOR);
    const port = await findFreePort('127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
    const cfg = join(h.home, 'litellm.yaml');
    h.write(cfg, `model_list:\n  - model_name: coder\n    litellm_params:\n      model: openai/default_model\n      api_base: http://127.0.0.1:${ed.port}/v1\n      api_key: none\n`);
    const conf = join(h.project, '.aider.conf.yml');
    h.write(conf, `# the key from the LiteLLM docs\nmodel: openai/coder\nopenai-api-base: http://127.0.0.1:${port}/v1\nopenai-api-key: sk-1234\n`);
    const r = await run(h, { errorText: REFUSAL, litellmConfig: cfg });
    expect(r.exitCode).toBe(1);
    const c = byId(r, 'chain.proxy.master_key')!;
    expect(c.status).toBe('fail');
    expect(c.title).toContain(`nothing listens on 127.0.0.1:${port}, where Aider sends openai/coder: the LiteLLM proxy cannot start with ~/litellm.yaml, which has no general_settings.master_key`);
    expect(c.fix).toContain('In ~/litellm.yaml set general_settings.master_key: (not set) → a new random key (--fix writes it) and give Aider the same key (openai-api-key in ~/proj/.aider.conf.yml, now the publicly known key');
    expect(c.fix).toContain(`then start the proxy: litellm --config ~/litellm.yaml --host 127.0.0.1 --port ${port}`);
    expect(r.likely[0]).toMatchObject({ cause: 'master-key', verdict: 'confirmed' });
    const text = reportToText(r, { env: h.env, width: 400 });
    expect(text).toContain('Most likely: LiteLLM 1.108+ refuses to start without general_settings.master_key.');
    expect(text).toContain('Your error: LiteLLM proxy refused to start');
    expect(text).not.toContain('error text:');
    expect(text).not.toContain('sk-1234');

    const fp = await fix(h, r);
    const master = /master_key: (\S+)/.exec(readFileSync(cfg, 'utf8'))?.[1];
    expect(master).toMatch(/^sk-[0-9a-f]{32,}$/);
    expect(readFileSync(conf, 'utf8')).toContain(`openai-api-key: ${master}`);
    expect(readFileSync(conf, 'utf8')).toContain('# the key from the LiteLLM docs');
    expect(fp.after.join('\n')).toContain(`Start the proxy: litellm --config ~/litellm.yaml --host 127.0.0.1 --port ${port}`);
    // The user starts it as printed: the chain answers.
    await proxy(h, cfg, port);
    const after = await run(h, { litellmConfig: cfg });
    expect(after.checks.filter((x) => x.status === 'fail').map((x) => x.id)).toEqual([]);
    expect(byId(after, 'chain.through.openai/coder')?.status).toBe('pass');
    expect(after.exitCode).toBe(0);
  });
});

describe('(f) an old proxy still holds the port, started with another config than --litellm-config', () => {
  it('says the proxy runs another config (pid, its --config), sends nothing through it, and prints the restart with the named file', async () => {
    const h = hand();
    const ed = await mlx(h, EDITOR);
    const ar = await mlx(h, ARCHITECT);
    const old = join(h.home, 'experiments', 'config.yaml');
    h.write(old, `model_list:\n  - model_name: qwen\n    litellm_params:\n      model: openai/default_model\n      api_base: http://127.0.0.1:${ar.port}/v1\ngeneral_settings:\n  master_key: sk-proxy-at-home\n`);
    const px = await startFakeLitellm({ configPath: old, port: 0 });
    cleanups.push(() => px.close());
    h.procs.set(px.port, { pid: 50001, argv: ['/Users/me/.local/bin/litellm', '--config', 'config.yaml', '--port', String(px.port)], cwd: join(h.home, 'experiments') });
    const cfg = join(h.home, 'litellm.yaml');
    h.write(cfg, `# the real one\nmodel_list:\n  - model_name: editor\n    litellm_params:\n      model: openai/default_model\n      api_base: http://127.0.0.1:${ed.port}/v1\n      api_key: none\ngeneral_settings:\n  master_key: sk-proxy-at-home\n`);
    h.write(join(h.project, '.aider.conf.yml'), `model: openai/editor\nopenai-api-base: http://127.0.0.1:${px.port}/v1\nopenai-api-key: sk-proxy-at-home\n`);
    const r = await run(h, { errorText: 'litellm.BadRequestError: OpenAIException - /chat/completions: Invalid model name\npassed in model=editor. Call `/v1/models` to view available models for your key.', litellmConfig: cfg });
    expect(r.exitCode).toBe(1);
    const c = byId(r, 'chain.proxy.stale')!;
    expect(c.status).toBe('fail');
    expect(c.title).toBe(`the proxy on :${px.port} runs another config than ~/litellm.yaml`);
    expect(c.observed).toContain(`the running proxy: qwen → openai/default_model @ http://127.0.0.1:${ar.port}/v1`);
    expect(c.fix).toBe(`Stop the proxy on :${px.port} (pid 50001, started with --config ~/experiments/config.yaml) and start it with ~/litellm.yaml: /Users/me/.local/bin/litellm --config ~/litellm.yaml --port ${px.port}`);
    expect(r.likely[0]).toMatchObject({ cause: 'C11', verdict: 'confirmed' });
    // Judged by the named file: the group exists there, so no "Invalid model name" edit of Aider's files.
    expect(byId(r, 'chain.through.openai/editor')?.status).toBe('skip');
    expect(px.requests.filter((q) => q.path.endsWith('/chat/completions'))).toEqual([]);
    // The user runs the printed command: the chain answers.
    const port = px.port;
    await px.close();
    await proxy(h, cfg, port);
    const after = await run(h, { litellmConfig: cfg });
    expect(after.checks.filter((x) => x.status === 'fail').map((x) => x.id)).toEqual([]);
    expect(after.exitCode).toBe(0);
  });
});

describe('(g) OPENAI_API_BASE in the environment points at the wrong server; the files set none', () => {
  it('names the variable and where it comes from, what answers there, and exits 1', async () => {
    const other = await startFakeMlxServer({ model: 'qwen2.5-coder:7b', port: 0, faults: { identity: 'other' } });
    cleanups.push(() => other.close());
    const h = hand({ OPENAI_API_BASE: `${other.rootUrl}/v1`, OPENAI_API_KEY: 'sk-local' });
    await mlx(h, EDITOR);
    h.write(join(h.project, '.aider.conf.yml'), `model: openai/${EDITOR}\n`);
    const r = await run(h);
    expect(r.exitCode).toBe(1);
    expect(byId(r, 'uses.base')?.title).toContain('your shell environment');
    const c = byId(r, `chain.model.openai/${EDITOR}`)!;
    expect(c.status).toBe('fail');
    expect(c.title).toContain('Ollama');
    expect(c.fix).toContain('OPENAI_API_BASE');
    expect(c.fix).toContain('comes from your shell environment and no config file sets openai-api-base');
    expect(c.fix).toContain('~/proj/.aider.conf.yml');
  });

  it('an mlx_lm.server serving another model there, none serving the one Aider asks: both ways are said, and --fix changes neither the model nor the base', async () => {
    const h = hand({ OPENAI_API_KEY: 'sk-local' });
    const wrong = await mlx(h, ARCHITECT);
    h.env.OPENAI_API_BASE = wrong.baseUrl;
    const conf = join(h.project, '.aider.conf.yml');
    h.write(conf, `# mine\nmodel: openai/${EDITOR}\n`);
    const r = await run(h, { errorText: 'litellm.NotFoundError: OpenAIException - Error code: 404' });
    expect(r.exitCode).toBe(1);
    const c = byId(r, `chain.model.openai/${EDITOR}`)!;
    expect(c.status).toBe('fail');
    expect(c.fix).toBe(
      `Either start an mlx_lm.server for ${EDITOR} (mlx_lm.server --model ${EDITOR} --port <a free port>) and point Aider's API base at it (OPENAI_API_BASE comes from your shell environment: unset it, or set openai-api-base in .aider.conf.yml, which beats it), or use the model this server serves: in ~/proj/.aider.conf.yml set model: openai/${EDITOR} → openai/${ARCHITECT}.`,
    );
    expect(c.fixable).toBeUndefined();
    // The pasted 404 is explained by this check: the name Aider sends is not one the server serves.
    expect(r.likely[0]).toMatchObject({ cause: 'C1', verdict: 'confirmed' });
    const fp = await planFixes(r, h.env);
    expect(fp.writes.filter((w) => w.path === conf)).toEqual([]);
    expect(sentNames(wrong).every((n) => n === 'default_model')).toBe(true);
  });

  it('an alias there (not a model): the server\'s own model is the fix, and --fix writes it', async () => {
    const h = hand({ OPENAI_API_KEY: 'sk-local' });
    const s = await mlx(h, EDITOR);
    h.env.OPENAI_API_BASE = s.baseUrl;
    const conf = join(h.project, '.aider.conf.yml');
    h.write(conf, 'model: openai/editor\n');
    const r = await run(h);
    expect(byId(r, 'chain.model.openai/editor')).toMatchObject({ status: 'fail', fixable: 'edit', fix: `In ~/proj/.aider.conf.yml set model: openai/editor → openai/${EDITOR}.` });
  });

  it('nothing listening there: the reach check fails, the cause is C7', async () => {
    const h = hand({ OPENAI_API_BASE: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: 'sk-local' });
    h.write(join(h.project, '.aider.conf.yml'), 'model: openai/default_model\n');
    const r = await run(h);
    expect(r.exitCode).toBe(1);
    expect(byId(r, 'chain.reach.127.0.0.1:9')?.status).toBe('fail');
    expect(reportToText(r, { env: h.env })).not.toMatch(/it works/);
  });
});

describe('a .aider.conf.yml that is a link to nothing (a dotfiles checkout moved)', () => {
  it('is named with its target, where the report says what Aider will use; Aider reads nothing from it', async () => {
    const { symlinkSync } = await import('node:fs');
    const h = hand();
    symlinkSync('../dotfiles/aider.conf.yml', join(h.project, '.aider.conf.yml'));
    const r = await run(h);
    expect(r.exitCode).toBe(1);
    const c = byId(r, 'uses.link.~/proj/.aider.conf.yml')!;
    expect(c).toMatchObject({ status: 'warn', title: '~/proj/.aider.conf.yml is a symbolic link to ~/dotfiles/aider.conf.yml, which does not exist: Aider reads nothing from it' });
    expect(c.fix).toContain('Create ~/dotfiles/aider.conf.yml');
    // The first screen says it too, with the setup it does not find.
    const first = reportToText(r, { env: h.env }).split('\n\n')[1]!.replace(/\s+/g, ' ');
    expect(first).toContain('~/proj/.aider.conf.yml is a link to ~/dotfiles/aider.conf.yml, which does not exist');
  });
});

describe('no setup at all', () => {
  it('says so first and offers the wizard; nothing about a proxy or a key', async () => {
    const h = hand();
    const r = await run(h);
    expect(r.exitCode).toBe(1);
    expect(r.checks[0]).toMatchObject({ id: 'uses.none', status: 'fail' });
    // The wizard, as this copy runs (a clone's bin; `npx aider-mlx` once installed from npm).
    expect(r.checks[0]!.fix).toContain(`Run the wizard: \`${selfCommand()}\``);
    expect(r.checks.filter((c) => c.id.startsWith('aider.') || c.id.startsWith('proxy.') || c.id.startsWith('config.litellm.'))).toEqual([]);
    expect(r.likely.filter((l) => ['C9', 'C10'].includes(l.cause))).toEqual([]);
    const text = reportToText(r, { env: h.env });
    expect(text).not.toContain('API key');
    expect(text).not.toMatch(/it works/);
  });

  it('--litellm-config and Aider pointed nowhere: how Aider would use that proxy, and what its upstreams answer', async () => {
    const h = hand();
    const ed = await mlx(h, EDITOR);
    const closed = await findFreePort('127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
    const cfg = join(h.home, 'litellm.yaml');
    h.write(cfg, `model_list:\n  - model_name: my-coder\n    litellm_params:\n      model: openai/${EDITOR}\n      api_base: http://127.0.0.1:${ed.port}/v1\n      api_key: sk-my-real-key-123456789\n  - model_name: my-thinker\n    litellm_params:\n      model: openai/default_model\n      api_base: http://127.0.0.1:${closed}/v1\ngeneral_settings:\n  master_key: sk-mine-1234\n`);
    const r = await run(h, { litellmConfig: cfg });
    expect(r.exitCode).toBe(1);
    const m = byId(r, 'chain.model')!;
    expect(m).toMatchObject({ status: 'fail', title: 'Aider here has no model and no API base, so it does not use the proxy of ~/litellm.yaml' });
    expect(m.fix).toContain('model: openai/my-coder (the config\'s model_names: my-coder, my-thinker)');
    expect(m.fix).toContain('openai-api-base: http://127.0.0.1:4000/v1');
    expect(byId(r, `chain.upstream.127.0.0.1:${closed}`)).toMatchObject({ status: 'fail', title: `model group "my-thinker" (model_list[1]) of ~/litellm.yaml sends to 127.0.0.1:${closed}, where nothing listens` });
    expect(byId(r, `chain.upstream.127.0.0.1:${ed.port}`)?.status).toBe('pass');
    const text = reportToText(r, { env: h.env });
    expect(text).not.toContain('has an API base but no model');
    expect(text).not.toContain('sk-my-real-key-123456789');
    // Asked who it is, and nothing more: no completion without Aider's names.
    expect(ed.requests.filter((q) => q.path.startsWith('/v1/chat'))).toEqual([]);
  });

  it('a ~/.aider.conf.yml that does not parse: that file leads (Aider stops on it), not "No setup found"', async () => {
    const h = hand();
    h.write(join(h.home, '.aider.conf.yml'), '# mine\nmodel: openai/foo\n  bad-indent: [1, 2\n');
    const r = await run(h);
    expect(r.exitCode).toBe(1);
    expect(r.checks[0]).toMatchObject({ id: 'uses.none', status: 'fail', title: expect.stringContaining('Aider cannot read ~/.aider.conf.yml') });
    expect(r.checks[0]!.observed).toMatch(/~\/\.aider\.conf\.yml line \d+/);
    const text = reportToText(r, { env: h.env });
    expect(text).toMatch(/First problem: Aider cannot read ~\/\.aider\.conf\.yml/);
    expect(text).not.toContain('No setup found');
  });
});

describe('(h) Aider straight at a server (no proxy), and a pasted OpenAI key error', () => {
  const KEY_ERROR = 'litellm.AuthenticationError: Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwx. You can find your API key at https://platform.openai.com/account/api-keys.';
  for (const model of [`openai/${EDITOR}`, 'openai/editor']) {
    it(`${model}: no proxy cause; the cause shown is that the error did not come from this server, with its own evidence; exit 1`, async () => {
      const h = hand();
      const ed = await mlx(h, EDITOR);
      h.write(join(h.project, '.aider.conf.yml'), `# my own\nmodel: ${model}\nopenai-api-base: http://127.0.0.1:${ed.port}/v1\n`);
      const r = await run(h, { errorText: KEY_ERROR }, { platform: 'linux', arch: 'x64' });
      expect(r.likely.map((l) => l.cause)).not.toEqual(expect.arrayContaining(['C10']));
      expect(r.likely.filter((l) => ['C10', 'C11', 'C12', 'master-key'].includes(l.cause))).toEqual([]);
      expect(r.likely[0]).toMatchObject({ cause: 'C18', verdict: 'confirmed' });
      expect(byId(r, 'error.source')).toMatchObject({ status: 'fail' });
      expect(byId(r, 'error.source')!.title).toContain(`127.0.0.1:${ed.port}`);
      expect(r.exitCode).toBe(1);
      const text = reportToText(r, { env: h.env });
      const answer = text.slice(0, text.indexOf('\n\n', text.indexOf('Most likely')));
      expect(answer).not.toMatch(/master_key|proxy/i);
      expect(answer).toMatch(/Seen: the error came from OpenAI's own API/);
      expect(answer).not.toContain('not macOS');
      expect(answer).toContain('OPENAI_API_BASE');
      expect(text).not.toContain('abcdefghijklmnop');
    });
  }
});

describe('(i) a hand-written direct setup and no plan: what the report offers', () => {
  it('healthy: the plan line offers setup --adopt; litellm is not needed; a docs link is printed where one is named', async () => {
    const h = hand({ OPENAI_API_KEY: 'sk-local' });
    const ed = await mlx(h, EDITOR);
    h.write(join(h.project, '.aider.conf.yml'), `model: openai/${EDITOR}\nopenai-api-base: http://127.0.0.1:${ed.port}/v1\n`);
    const r = await run(h);
    expect(r.exitCode).toBe(0);
    expect(byId(r, 'config.plan')!.fix).toContain('setup --adopt');
    expect(byId(r, 'env.litellm')).toMatchObject({ status: 'skip' });
    expect(byId(r, 'env.litellm')!.title).toContain('not needed for a direct setup');
    const text = reportToText(r, { env: h.env, verbose: true });
    expect(text).not.toContain('see the docs link');
    expect(byId(r, 'aider.settings')!.fix).toMatch(/https:\/\//);
  });

  it('an alias name: the 404 clause is said once, and why the name was not sent is said in words; the plan line says adopt once fixed', async () => {
    const h = hand();
    const ed = await mlx(h, EDITOR);
    h.write(join(h.project, '.aider.conf.yml'), `model: openai/editor\nopenai-api-base: http://127.0.0.1:${ed.port}/v1\n`);
    const r = await run(h);
    expect(r.exitCode).toBe(1);
    const c = byId(r, 'chain.model.openai/editor')!;
    expect(`${c.title} ${c.observed}`.match(/with 404/g)).toHaveLength(1);
    expect(c.observed).not.toContain('(not sent)');
    expect(c.observed).toContain('the doctor did not send "editor" to it, because');
    expect(byId(r, 'config.plan')!.fix).toMatch(/once the doctor passes, run `.*setup --adopt`/);
    expect(sentNames(ed)).not.toContain('editor');
  });
});

describe('(j) OPENAI_API_BASE from the shell sends Aider past its running proxy, straight to the server', () => {
  async function worldJ() {
    const h = hand({ OPENAI_API_KEY: 'sk-my-master-key' });
    const s = await mlx(h, EDITOR);
    h.env.OPENAI_API_BASE = s.baseUrl;
    const cfg = join(h.home, 'litellm.yaml');
    h.write(cfg, `model_list:\n  - model_name: coder\n    litellm_params:\n      model: openai/default_model\n      api_base: ${s.baseUrl}\n      api_key: none\ngeneral_settings:\n  master_key: sk-my-master-key\n`);
    const px = await proxy(h, cfg);
    const conf = join(h.project, '.aider.conf.yml');
    h.write(conf, '# mine\nmodel: openai/coder\n');
    return { h, s, px, conf };
  }

  it('the cause is the variable, the fix the proxy\'s base in .aider.conf.yml (not a new model name); --fix writes it and the doctor passes', async () => {
    const { h, s, px, conf } = await worldJ();
    const r = await run(h, { errorText: "litellm.NotFoundError: NotFoundError: OpenAIException - Error code: 404 - {'error': 'Repository Not Found for url: https://huggingface.co/api/models/coder/revision/main.'}" });
    expect(r.exitCode).toBe(1);
    const c = byId(r, 'chain.model.openai/coder')!;
    expect(c.status).toBe('fail');
    expect(c.title).toContain(`the LiteLLM proxy with model group "coder" listens on :${px.port}`);
    expect(c.observed).toContain('pid 50000');
    expect(c.fix).toContain(`in ~/proj/.aider.conf.yml set openai-api-base: (not set) → http://127.0.0.1:${px.port}/v1 (it beats OPENAI_API_BASE), or unset OPENAI_API_BASE`);
    expect(c.fix).not.toContain('model: openai/coder →');
    expect(c.edits).toEqual([expect.objectContaining({ path: conf, keyPath: ['openai-api-base'], new: `http://127.0.0.1:${px.port}/v1` })]);
    expect(r.likely[0]).toMatchObject({ cause: 'C18', verdict: 'confirmed' });
    const text = reportToText(r, { env: h.env, width: 400 });
    expect(text).not.toContain('Most likely: The model name that reaches mlx_lm.server');
    // The fix is to go through the proxy: litellm is not "not needed".
    expect(byId(r, 'env.litellm')?.title).not.toContain('not needed for a direct setup');
    expect(sentNames(s).every((n) => n === 'default_model' || n === EDITOR)).toBe(true);
    await fix(h, r);
    expect(readFileSync(conf, 'utf8')).toBe(`# mine\nmodel: openai/coder\nopenai-api-base: http://127.0.0.1:${px.port}/v1\n`);
    const after = await run(h);
    expect(after.checks.filter((x) => x.status === 'fail').map((x) => x.id)).toEqual([]);
    expect(after.exitCode).toBe(0);
  });

  it('Aider sends another key than the proxy\'s master_key: the fix says so, without printing either key', async () => {
    const { h, px } = await worldJ();
    h.env.OPENAI_API_KEY = 'sk-something-else-entirely';
    const r = await run(h);
    const c = byId(r, 'chain.model.openai/coder')!;
    expect(c.fix).toContain(`http://127.0.0.1:${px.port}/v1`);
    expect(c.fix).toContain("Aider must send that proxy's key too: openai-api-key (or OPENAI_API_KEY) equal to general_settings.master_key of ~/litellm.yaml");
    const text = reportToText(r, { env: h.env, width: 400 });
    expect(text).not.toContain('sk-my-master-key');
    expect(text).not.toContain('something-else-entirely');
  });

  it('a proxy process whose port answers as something else, or whose config lacks the group, is not taken for it', async () => {
    const { h, px } = await worldJ();
    h.procs.set(px.port, { pid: 50000, argv: ['/Users/me/.local/bin/litellm', '--config', 'litellm.yaml', '--port', '1'], cwd: h.home });
    expect(byId(await run(h), 'chain.model.openai/coder')?.fix).toBe(`In ~/proj/.aider.conf.yml set model: openai/coder → openai/${EDITOR}.`);
    h.procs.set(px.port, { pid: 50000, argv: ['/Users/me/.local/bin/litellm', '--config', 'other.yaml', '--port', String(px.port)], cwd: h.home });
    h.write(join(h.home, 'other.yaml'), 'model_list:\n  - model_name: thinker\n    litellm_params:\n      model: openai/default_model\n');
    expect(byId(await run(h), 'chain.model.openai/coder')?.fix).toBe(`In ~/proj/.aider.conf.yml set model: openai/coder → openai/${EDITOR}.`);
  });

  it('no running proxy has that group: today\'s fix (the server\'s own model) stays', async () => {
    const { h, s, px } = await worldJ();
    h.procs.delete(px.port);
    const r = await run(h);
    expect(byId(r, 'chain.model.openai/coder')?.fix).toBe(`In ~/proj/.aider.conf.yml set model: openai/coder → openai/${EDITOR}.`);
    void s;
  });
});

describe('(k) the port in the proxy config\'s api_base is held by another HTTP server, not mlx_lm.server', () => {
  it('that upstream leads (fail, C8) naming the process on the port and the fix; the failure through the proxy is explained by it; said once', async () => {
    const h = hand();
    const ed = await mlx(h, EDITOR);
    const other = await mlx(h, 'whatever', { identity: 'other' });
    h.procs.set(other.port, { pid: 41234, argv: ['/usr/bin/python3', '-m', 'http.server', String(other.port)] });
    const cfg = join(h.home, 'litellm.yaml');
    h.write(cfg, `model_list:\n  - model_name: coder\n    litellm_params:\n      model: openai/default_model\n      api_base: http://127.0.0.1:${other.port}/v1\n      api_key: none\ngeneral_settings:\n  master_key: sk-mine-1234\n`);
    const px = await proxy(h, cfg);
    h.write(join(h.project, '.aider.conf.yml'), `model: openai/coder\nopenai-api-base: http://127.0.0.1:${px.port}/v1\nopenai-api-key: sk-mine-1234\n`);
    const r = await run(h, { errorText: "litellm.NotFoundError: NotFoundError: OpenAIException - Error code: 404 - {'error': {'message': 'model \"default_model\" not found, try pulling it first'}}" });
    expect(r.exitCode).toBe(1);
    const c = byId(r, 'chain.upstream.coder.0')!;
    expect(c).toMatchObject({ status: 'fail', causes: ['C8'] });
    expect(c.title).toContain(`model group "coder" sends to 127.0.0.1:${other.port}, which is`);
    expect(c.observed).toContain(`pid 41234: /usr/bin/python3 -m http.server ${other.port}`);
    expect(c.fix).toContain(`In ~/litellm.yaml set model_list[0].litellm_params.api_base: http://127.0.0.1:${other.port}/v1 → the base of your mlx_lm.server`);
    expect(c.fix).toContain(`http://127.0.0.1:${ed.port}/v1 (the mlx_lm.server serving ${EDITOR}`);
    expect(c.fix).toContain(`or stop what holds port ${other.port} (pid 41234)`);
    const t = byId(r, 'chain.through.openai/coder')!;
    expect(t.observed).toContain('explained by');
    expect(t.fix ?? '').not.toContain("Check the proxy's log");
    expect(r.likely[0]).toMatchObject({ cause: 'C8', verdict: 'confirmed' });
    const text = reportToText(r, { env: h.env, width: 400 });
    // Said once: one check in the list, once under "Seen".
    expect(text.match(/^ {4}[✗!] model group "coder" sends to 127\.0\.0\.1:\d+, which is/gm)).toHaveLength(1);
    expect(text.match(/^ {4}✗ model group "coder" sends to/gm)).toHaveLength(1);
    expect(text.match(/Seen: model group "coder" sends to/g)).toHaveLength(1);
    expect(text).toMatch(/Fix: In ~\/litellm\.yaml set model_list\[0\]\.litellm_params\.api_base/);
    // The same with the config named, and with no error pasted.
    const named = await run(h, { litellmConfig: cfg });
    expect(named.likely[0]).toMatchObject({ cause: 'C8', verdict: 'confirmed' });
    const t2 = reportToText(named, { env: h.env, width: 400 });
    expect(t2.match(/^ {4}[✗!] model group "coder" sends to 127\.0\.0\.1:\d+, which is/gm)).toHaveLength(1);
    expect(t2.match(/Seen: model group "coder" sends to/g)).toHaveLength(1);
  });
});

describe('(l) the proxy is stopped, no --litellm-config, and Aider\'s names are aliases (model groups, not repo ids)', () => {
  it('the fix leads with starting the proxy, and says --litellm-config lets the doctor check its config first', async () => {
    const h = hand({ OPENAI_API_KEY: 'sk-mine' });
    const down = await findFreePort('127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
    h.write(join(h.project, '.aider.conf.yml'), `model: openai/coder\nweak-model: openai/small\nopenai-api-base: http://127.0.0.1:${down}/v1\n`);
    const r = await run(h);
    const c = byId(r, `chain.reach.127.0.0.1:${down}`)!;
    expect(c.status).toBe('fail');
    expect(c.fix).toMatch(new RegExp(`^Start the LiteLLM proxy .*: litellm --config <your config> --port ${down}`));
    expect(c.fix).toContain('--litellm-config FILE');
    expect(c.fix).not.toContain('mlx_lm.server --model <repo>');
  });

  it('a LiteLLM config with those groups in the project (./litellm.yaml): the command names it; each name said once', async () => {
    const h = hand({ OPENAI_API_KEY: 'sk-mine' });
    const down = await findFreePort('127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
    h.write(join(h.project, 'litellm.yaml'), `model_list:\n  - model_name: coder\n    litellm_params:\n      model: openai/default_model\n      api_base: http://127.0.0.1:9/v1\n`);
    h.write(join(h.project, '.aider.conf.yml'), `model: openai/coder\nweak-model: openai/coder\nopenai-api-base: http://127.0.0.1:${down}/v1\n`);
    const c = byId(await run(h), `chain.reach.127.0.0.1:${down}`)!;
    expect(c.fix).toContain(`litellm --config ~/proj/litellm.yaml --port ${down} (~/proj/litellm.yaml has that group; `);
    expect(c.title).not.toContain('openai/coder, openai/coder');
  });

  it('repo ids or default_model: starting the mlx_lm.server stays the fix', async () => {
    const h = hand({ OPENAI_API_KEY: 'sk-mine' });
    const down = await findFreePort('127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
    h.write(join(h.project, '.aider.conf.yml'), `model: openai/default_model\nopenai-api-base: http://127.0.0.1:${down}/v1\n`);
    expect(byId(await run(h), `chain.reach.127.0.0.1:${down}`)?.fix).toContain(`mlx_lm.server --model <repo> --port ${down}`);
  });
});
