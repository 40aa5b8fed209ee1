/**
 * The doctor on setups written by hand, with the REAL peers (test/peers): real mlx_lm.servers on
 * the tiny models, the real LiteLLM proxy started the way people start it (from their home, on
 * their own ~/litellm.yaml), real aider. No aider-mlx plan anywhere. For each world (a)–(g) of
 * issue 13: real aider shows the failure, the built CLI `aider-mlx doctor --error "<that text>"`
 * exits 1 naming the cause and the exact fix, the fix is applied (`--fix --yes`, or the printed
 * command run exactly as printed), and real aider then answers with the tiny model's reply.
 *
 * Two servers are shared by every world; each model sits in its own HF home, so a server asked
 * for the other model cannot load it (offline) and answers 404, as a real wrong server would.
 * Skipped (with the reason) when the peers are not installed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import type { Peers } from '../peers/bootstrap.js';
import { ensurePeers } from '../peers/bootstrap.js';
import {
  childEnv, cleanupTemp, freePort, httpRequest, makeTinyModel, missingPeers, runAider, runChild, startChild, startMlxServer, tempDir,
  TINY_ARCHITECT, TINY_EDITOR, type MlxServer, type RunResult, type Spawned,
} from '../peers/harness.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const CLI = process.env.AIDER_MLX_CLI ?? path.join(ROOT, 'bin', 'aider-mlx.js');
const SLOW = 600_000;
const EDITOR = TINY_EDITOR.repoId;
const ARCHITECT = TINY_ARCHITECT.repoId;

let peers: Peers;
let skip: string | null = null;
let editor: MlxServer;
let architect: MlxServer;
let binPath: string;
/** The doctor's first lines per world, for the closing note (printed at the end). */
const heads: string[] = [];

beforeAll(async () => {
  peers = await ensurePeers();
  skip = missingPeers(peers, ['mlx', 'litellm', 'aider']);
  if (skip) return;
  if (!fs.existsSync(path.join(ROOT, 'dist'))) throw new Error('build first: npx tsup');
  binPath = [path.dirname(peers.litellm!.bin), path.dirname(peers.aider!.bin), path.dirname(peers.mlx!.bin), process.env.PATH].join(':');
  const hfE = tempDir('hf-editor');
  const hfA = tempDir('hf-architect');
  await Promise.all([makeTinyModel(hfE, TINY_EDITOR), makeTinyModel(hfA, TINY_ARCHITECT)]);
  [editor, architect] = await Promise.all([startMlxServer({ model: EDITOR, hfHome: hfE }), startMlxServer({ model: ARCHITECT, hfHome: hfA })]);
}, SLOW);

afterAll(async () => {
  await Promise.all([editor?.stop(), architect?.stop()]);
  if (heads.length) process.stdout.write(`\n${heads.join('\n\n')}\n`);
  cleanupTemp();
}, 60_000);

const need = (ctx: TestContext) => {
  if (skip) ctx.skip(skip);
};

interface World {
  home: string;
  project: string;
  /** the user's shell environment (what `export` lines in ~/.zshrc gave them) */
  shell: Record<string, string | undefined>;
  write(rel: string, text: string): string;
  read(rel: string): string;
  aider(args?: string[], timeoutMs?: number): Promise<RunResult>;
  doctor(args: string[]): Promise<RunResult & { flat: string }>;
  /** `litellm --config <config> --port <port>` as the user types it, from `cwd` */
  litellm(config: string, port: number, cwd?: string): Spawned;
}

function world(name: string, shell: Record<string, string | undefined> = {}): World {
  const home = tempDir(`hand-${name}`);
  const project = path.join(home, 'proj');
  fs.mkdirSync(project);
  execFileSync('git', ['init', '-q', project]);
  const env = (extra: Record<string, string | undefined> = {}) => childEnv({ PATH: binPath, CI: '1', ...shell, ...extra }, home);
  const abs = (rel: string) => (path.isAbsolute(rel) ? rel : path.join(home, rel));
  const w: World = {
    home,
    project,
    shell,
    write(rel, text) {
      fs.mkdirSync(path.dirname(abs(rel)), { recursive: true });
      fs.writeFileSync(abs(rel), text);
      return abs(rel);
    },
    read: (rel) => fs.readFileSync(abs(rel), 'utf8'),
    aider: (args = [], timeoutMs = 180_000) =>
      runAider(['--no-git', '--message', 'Reply with the single word: pong', ...args], {
        cwd: project,
        home,
        // nothing but the user's own shell: no dummy key
        env: { OPENAI_API_KEY: undefined, PATH: binPath, ...shell },
        timeoutMs,
      }),
    doctor: async (args) => {
      const r = await runChild(process.execPath, [CLI, 'doctor', ...args], { env: env(), cwd: project, timeoutMs: 120_000 });
      if (process.env.AIDER_MLX_DOCTOR_OUT) fs.appendFileSync(process.env.AIDER_MLX_DOCTOR_OUT, `\n===== (${name}) doctor ${JSON.stringify(args).slice(0, 200)} → ${r.code}\n${r.output}`);
      // The report wraps at 80 columns: compare with runs of blanks as one.
      return { ...r, flat: r.stdout.replace(/\s+/g, ' ') };
    },
    litellm: (config, port, cwd = home) =>
      startChild(peers.litellm!.bin, ['--config', config, '--host', '127.0.0.1', '--port', String(port)], {
        env: env({ DISABLE_ADMIN_UI: 'True' }),
        cwd,
        logPath: path.join(tempDir(`litellm-${name}`), 'litellm.log'),
      }),
  };
  return w;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ready(p: Spawned, port: number): Promise<void> {
  const t0 = Date.now();
  let code: number | null | undefined;
  void p.exited.then((c) => (code = c));
  while (Date.now() - t0 < 120_000) {
    if (code !== undefined) throw new Error(`litellm exited ${code}:\n${p.log().slice(-3000)}`);
    const r = await httpRequest(`http://127.0.0.1:${port}/health/liveliness`, { timeoutMs: 3000 }).catch(() => undefined);
    if (r?.status === 200) return;
    await sleep(300);
  }
  throw new Error(`litellm not ready on :${port}:\n${p.log().slice(-3000)}`);
}

/** The litellm.…Error paragraph of aider's output: what a user copies. */
function errorOf(r: RunResult): string {
  const m = /^litellm\.\w+(?:Error|Timeout)\b[\s\S]*?(?=\n[ \t]*\n|$(?![\s\S]))/m.exec(r.output);
  if (!m) throw new Error(`aider printed no litellm error:\n${r.output}`);
  return m[0];
}

function answered(r: RunResult, reply: string): void {
  expect(r.output, r.output).not.toMatch(/litellm\.\w+Error/);
  expect(r.output, r.output).toContain(reply);
}

function head(world: string, r: RunResult, n = 6): void {
  const lines = r.stdout.split('\n').filter((l) => l.trim()).slice(0, n);
  heads.push(`(${world}) exit ${r.code}\n${lines.join('\n')}`);
}

/**
 * The command the doctor printed after `lead` (the report wraps prose at 80 columns but prints a
 * command whole on its line), as argv: what a shell would run (~ expanded).
 */
function printedCommand(out: string, lead: string, home: string): string[] {
  const flat = out.replace(/\s+/g, ' ');
  const at = flat.indexOf(lead);
  if (at < 0) throw new Error(`no "${lead}" in:\n${out}`);
  const first = flat.slice(at + lead.length).trim().split(' ')[0]!;
  // the first line holding that word, from the line where the lead ends
  const lines = out.split('\n');
  let seen = 0;
  for (const l of lines) {
    const next = seen + l.replace(/\s+/g, ' ').length + 1;
    if (next > at + lead.length - 1 && l.includes(first)) {
      const cmd = l.slice(l.indexOf(first)).trim().replace(/[.\s]+$/, '');
      return cmd.split(/\s+/).map((x) => (x.startsWith('~/') ? path.join(home, x.slice(2)) : x));
    }
    seen = next;
  }
  throw new Error(`no command after "${lead}" in:\n${out}`);
}

describe('hand-written setups with the real peers: from the real failure to a real answer through the doctor', () => {
  it('(a) role aliases as the upstream model names behind a proxy, architect + editor', async (ctx) => {
    need(ctx);
    const w = world('a');
    const port = await freePort();
    w.write(
      'litellm.yaml',
      `# my local models, from the tutorial
model_list:
  - model_name: editor
    litellm_params:
      model: openai/editor        # the role
      api_base: http://127.0.0.1:${editor.port}/v1
      api_key: none
  - model_name: architect
    litellm_params:
      model: openai/architect
      api_base: http://127.0.0.1:${architect.port}/v1
      api_key: none
general_settings:
  master_key: sk-my-local-proxy-key
`,
    );
    w.write(
      'proj/.aider.conf.yml',
      `# architect + editor through my proxy
architect: true
model: openai/architect
editor-model: openai/editor
openai-api-base: http://127.0.0.1:${port}/v1
`,
    );
    w.write('proj/.env', 'OPENAI_API_KEY=sk-my-local-proxy-key\n');
    let proxy = w.litellm('litellm.yaml', port);
    try {
      await ready(proxy, port);
      const seen = await w.aider();
      const text = errorOf(seen);
      expect(text).toMatch(/NotFoundError/);

      const d = await w.doctor(['--error', text]);
      head('a', d);
      expect(d.code, d.output).toBe(1);
      expect(d.flat).toContain(`its model group "architect" sends openai/architect upstream to 127.0.0.1:${architect.port}; that mlx_lm.server serves ${ARCHITECT}`);
      expect(d.flat).toContain(`In ~/litellm.yaml set model_list[1].litellm_params.model: openai/architect → openai/default_model`);
      expect(d.flat).toContain(`In ~/litellm.yaml set model_list[0].litellm_params.model: openai/editor → openai/default_model`);
      expect(d.stdout).not.toMatch(/it works/);

      const f = await w.doctor(['--fix', '--yes']);
      expect(w.read('litellm.yaml')).toContain('# the role');
      expect(w.read('litellm.yaml').match(/model: openai\/default_model/g)).toHaveLength(2);
      // aider-mlx did not start this proxy: it says how to restart it, and the test does exactly that.
      const cmd = printedCommand(f.stdout, 'Restart the proxy so it reads the new config:', w.home);
      await proxy.stop();
      proxy = startChild(cmd[0]!, cmd.slice(1), { env: childEnv({ PATH: binPath, DISABLE_ADMIN_UI: 'True' }, w.home), logPath: path.join(tempDir('litellm-a2'), 'log') });
      await ready(proxy, port);
      answered(await w.aider(), 'architect plan ready');
      const again = await w.doctor([]);
      expect(again.code, again.stdout).toBe(0);
    } finally {
      await proxy.stop();
    }
  }, SLOW);
  it('(b) an alias model straight at a server: the flag to use, run as printed', async (ctx) => {
    need(ctx);
    const w = world('b', { OPENAI_API_KEY: 'sk-local' });
    const flags = ['--model', 'openai/editor', '--openai-api-base', editor.baseUrl];
    const text = errorOf(await w.aider(flags));
    expect(text).toMatch(/NotFoundError/);
    const d = await w.doctor(['--error', text, '--', 'aider', ...flags]);
    head('b', d);
    expect(d.code, d.output).toBe(1);
    expect(d.flat).toContain(`straight to the mlx_lm.server on :${editor.port}; that server serves ${EDITOR}`);
    const fix = /Run aider with --model (\S+) instead of --model openai\/editor\./.exec(d.flat);
    expect(fix?.[1]).toBe(`openai/${EDITOR}`);
    const now = ['--model', fix![1]!, '--openai-api-base', editor.baseUrl];
    answered(await w.aider(now), TINY_EDITOR.answer);
    expect((await w.doctor(['--', ...now])).code).toBe(0);
  }, SLOW);

  it('(c) a doubled /v1 in .aider.conf.yml: --fix --yes edits it', async (ctx) => {
    need(ctx);
    const w = world('c');
    w.write('proj/.aider.conf.yml', `# straight at my mlx server\nmodel: openai/${EDITOR}\nopenai-api-base: ${editor.baseUrl}/v1   # copied from the server log\nopenai-api-key: sk-local\n`);
    const text = errorOf(await w.aider());
    const d = await w.doctor(['--error', text]);
    head('c', d);
    expect(d.code, d.output).toBe(1);
    expect(d.flat).toContain('has a doubled /v1');
    expect(d.flat).toContain(`In ~/proj/.aider.conf.yml set openai-api-base: ${editor.baseUrl}/v1 → ${editor.baseUrl}.`);
    expect(d.flat).not.toMatch(/mlx-lm ≤0\.27/);
    const f = await w.doctor(['--fix', '--yes']);
    expect(f.code, f.output).toBe(0);
    // Only the value changed: the user's comment stays at its column.
    expect(w.read('proj/.aider.conf.yml')).toBe(`# straight at my mlx server\nmodel: openai/${EDITOR}\nopenai-api-base: ${editor.baseUrl}      # copied from the server log\nopenai-api-key: sk-local\n`);
    answered(await w.aider(), TINY_EDITOR.answer);
  }, SLOW);

  it('(d) a pasted /chat/completions endpoint as OPENAI_API_BASE in the project .env: --fix --yes edits that line', async (ctx) => {
    need(ctx);
    const w = world('d');
    w.write('proj/.aider.conf.yml', `model: openai/${EDITOR}\n`);
    w.write('proj/.env', `# local llm\nOPENAI_API_KEY=sk-local\nOPENAI_API_BASE=${editor.baseUrl}/chat/completions\n`);
    const text = errorOf(await w.aider());
    const d = await w.doctor(['--error', text]);
    head('d', d);
    expect(d.code, d.output).toBe(1);
    expect(d.flat).toContain('has a pasted endpoint');
    expect(d.flat).toContain(`In ~/proj/.env set OPENAI_API_BASE: ${editor.baseUrl}/chat/completions → ${editor.baseUrl}.`);
    const f = await w.doctor(['--fix', '--yes']);
    expect(f.code, f.output).toBe(0);
    expect(w.read('proj/.env')).toBe(`# local llm\nOPENAI_API_KEY=sk-local\nOPENAI_API_BASE=${editor.baseUrl}\n`);
    answered(await w.aider(), TINY_EDITOR.answer);
  }, SLOW);

  it('(e) a LiteLLM config with no master key: the proxy refuses to start; the doctor says why and adds one', async (ctx) => {
    need(ctx);
    const w = world('e');
    const port = await freePort();
    w.write('litellm.yaml', `model_list:\n  - model_name: coder\n    litellm_params:\n      model: openai/default_model\n      api_base: http://127.0.0.1:${editor.port}/v1\n      api_key: none\n`);
    // The key from the LiteLLM docs, which 1.108 also refuses as a master key (publicly known).
    w.write('proj/.aider.conf.yml', `model: openai/coder\nopenai-api-base: http://127.0.0.1:${port}/v1\nopenai-api-key: sk-1234\n`);
    const refused = w.litellm('litellm.yaml', port);
    expect(await refused.exited).not.toBe(0);
    const log = refused.log();
    const text = /LiteLLM proxy refused to start[\s\S]*?to start anyway\./.exec(log)?.[0];
    expect(text, log).toBeDefined();
    // Aider retries a refused connection for ~100 s: the first attempt's error is what the user sees.
    expect((await w.aider([], 25_000)).output).toMatch(/litellm\.\w+Error: \w+Error: OpenAIException - Connection\s+error/);

    const d = await w.doctor(['--error', text!, '--litellm-config', path.join(w.home, 'litellm.yaml')]);
    head('e', d);
    expect(d.code, d.output).toBe(1);
    expect(d.flat).toContain(`nothing listens on 127.0.0.1:${port}, where Aider sends openai/coder: the LiteLLM proxy cannot start with ~/litellm.yaml, which has no general_settings.master_key`);
    expect(d.flat).toContain('Most likely: LiteLLM 1.108+ refuses to start without general_settings.master_key.');
    expect(d.flat).toContain('In ~/litellm.yaml set general_settings.master_key: (not set) → a new random key (--fix writes it) and give Aider the same key (openai-api-key in ~/proj/.aider.conf.yml');
    expect(d.flat).not.toContain('sk-1234');
    const f = await w.doctor(['--fix', '--yes', '--litellm-config', path.join(w.home, 'litellm.yaml')]);
    const master = /master_key: (\S+)/.exec(w.read('litellm.yaml'))?.[1];
    expect(master).toMatch(/^sk-[0-9a-f]{32,}$/);
    expect(w.read('proj/.aider.conf.yml')).toContain(`openai-api-key: ${master}`);
    expect(f.output).not.toContain(master!);
    const cmd = printedCommand(f.stdout, 'Start the proxy:', w.home);
    const proxy = startChild(cmd[0]!, cmd.slice(1), { env: childEnv({ PATH: binPath, DISABLE_ADMIN_UI: 'True' }, w.home), cwd: w.project, logPath: path.join(tempDir('litellm-e2'), 'log') });
    try {
      await ready(proxy, port);
      answered(await w.aider(), TINY_EDITOR.answer);
    } finally {
      await proxy.stop();
    }
  }, SLOW);

  it('(f) an old proxy still holds the port, started with another config', async (ctx) => {
    need(ctx);
    const w = world('f');
    const port = await freePort();
    w.write('experiments/config.yaml', `model_list:\n  - model_name: qwen\n    litellm_params:\n      model: openai/default_model\n      api_base: http://127.0.0.1:${architect.port}/v1\ngeneral_settings:\n  master_key: sk-proxy-at-home\n`);
    let old = w.litellm('config.yaml', port, path.join(w.home, 'experiments'));
    try {
      await ready(old, port);
      w.write('litellm.yaml', `# the real one\nmodel_list:\n  - model_name: editor\n    litellm_params:\n      model: openai/default_model\n      api_base: http://127.0.0.1:${editor.port}/v1\n      api_key: none\ngeneral_settings:\n  master_key: sk-proxy-at-home\n`);
      w.write('proj/.aider.conf.yml', `model: openai/editor\nopenai-api-base: http://127.0.0.1:${port}/v1\nopenai-api-key: sk-proxy-at-home\n`);
      // The new one cannot bind: the old one holds the port.
      const second = w.litellm('litellm.yaml', port);
      await Promise.race([second.exited, sleep(90_000)]);
      await second.stop();
      const text = errorOf(await w.aider());
      const d = await w.doctor(['--error', text, '--litellm-config', path.join(w.home, 'litellm.yaml')]);
      head('f', d);
      expect(d.code, d.output).toBe(1);
      expect(d.flat).toContain(`the proxy on :${port} runs another config than ~/litellm.yaml`);
      const cmd = printedCommand(d.stdout, 'and start it with ~/litellm.yaml:', w.home);
      expect(cmd).toContain(path.join(w.home, 'litellm.yaml'));
      await old.stop();
      old = startChild(cmd[0]!, cmd.slice(1), { env: childEnv({ PATH: binPath, DISABLE_ADMIN_UI: 'True' }, w.home), logPath: path.join(tempDir('litellm-f2'), 'log') });
      await ready(old, port);
      answered(await w.aider(), TINY_EDITOR.answer);
    } finally {
      await old.stop();
    }
  }, SLOW);

  it('(g) OPENAI_API_BASE in the shell points at the wrong server while the files set none', async (ctx) => {
    need(ctx);
    const w = world('g', { OPENAI_API_BASE: architect.baseUrl, OPENAI_API_KEY: 'sk-local' });
    w.write('proj/.aider.conf.yml', `# this project uses the small coder\nmodel: openai/${EDITOR}\n`);
    const text = errorOf(await w.aider());
    const d = await w.doctor(['--error', text]);
    head('g', d);
    expect(d.code, d.output).toBe(1);
    expect(d.flat).toContain(`OPENAI_API_BASE=${architect.baseUrl} comes from your shell environment`);
    expect(d.flat).toContain(`in ~/proj/.aider.conf.yml set openai-api-base: (not set) → ${editor.baseUrl}`);
    const f = await w.doctor(['--fix', '--yes']);
    expect(f.code, f.output).toBe(0);
    answered(await w.aider(), TINY_EDITOR.answer);
  }, SLOW);
});
