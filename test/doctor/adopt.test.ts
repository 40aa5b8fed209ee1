/**
 * `setup --adopt`: a chain written by hand (comments, YAML aliases, the user's own master key) and
 * stand-in servers becomes a plan; only the plan is written; status, the doctor and serve's units
 * read it. Nothing coherent to adopt is a refusal (exit 2) that says why.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { readPlan } from '../../src/config/plan-file.js';
import { servedModels } from '../../src/config/names.js';
import { runDoctor } from '../../src/doctor/run.js';
import { reportToText } from '../../src/doctor/report.js';
import { collectStatus } from '../../src/servers/status.js';
import { findAdoption, writeAdoption, type AdoptCaps } from '../../src/setup/adopt.js';
import { selfCommand, type Env } from '../../src/lib/paths.js';
import { startFakeMlxServer, type FakeMlxServer } from '../../src/servers/fake-mlx-server.js';
import { startFakeLitellm } from './fake-litellm.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const ARCHITECT = 'mlx-community/QwQ-32B-Preview-4bit';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Proc = { pid: number; argv: string[]; cwd?: string };

function world() {
  const home = mkdtempSync(join(tmpdir(), 'aider-mlx-adopt-'));
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  const project = join(home, 'proj');
  mkdirSync(join(project, '.git'), { recursive: true });
  const env: Env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), PATH: '/usr/bin:/bin', HF_HUB_CACHE: join(home, 'hf') };
  const procs = new Map<number, Proc>();
  const caps = (extra: Partial<AdoptCaps> = {}): AdoptCaps => ({ env, cwd: project, timeoutMs: 4000, portProcess: async (p) => procs.get(p), ...extra });
  const write = (p: string, t: string) => {
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, t);
  };
  return { home, project, env, procs, caps, write };
}

async function mlx(w: ReturnType<typeof world>, model: string, o: { identity?: 'other' } = {}): Promise<FakeMlxServer> {
  const s = await startFakeMlxServer({ model, port: 0, ...(o.identity ? { faults: { identity: o.identity } } : {}) });
  cleanups.push(() => s.close());
  w.procs.set(s.port, { pid: 40000 + s.port, argv: ['/opt/homebrew/bin/python3', '/Users/me/.local/bin/mlx_lm.server', '--model', model, '--port', String(s.port)] });
  return s;
}

/** Architect + editor behind a hand-written proxy at ~/litellm.yaml, Aider's files in the project. */
async function proxyWorld() {
  const w = world();
  const ed = await mlx(w, EDITOR);
  const ar = await mlx(w, ARCHITECT);
  const cfg = join(w.home, 'litellm.yaml');
  const litellm = `# my proxy, by hand
x-local: &local
  api_key: sk-local   # mlx_lm.server takes any key
model_list:
  - model_name: editor
    litellm_params:
      <<: *local
      model: openai/default_model
      api_base: http://127.0.0.1:${ed.port}/v1
  - model_name: architect
    litellm_params:
      <<: *local
      model: openai/default_model
      api_base: http://127.0.0.1:${ar.port}/v1
general_settings:
  master_key: sk-mine   # my own, short
`;
  w.write(cfg, litellm);
  chmodSync(cfg, 0o600); // it holds a key: only its owner may read it (else status refuses it)
  const px = await startFakeLitellm({ configPath: cfg });
  cleanups.push(() => px.close());
  w.procs.set(px.port, { pid: 50000, argv: ['/Users/me/.local/bin/litellm', '--config', 'litellm.yaml', '--port', String(px.port)], cwd: w.home });
  const conf = `# architect + editor on my two servers
architect: true
model: openai/architect
editor-model: openai/editor
openai-api-base: http://127.0.0.1:${px.port}/v1
openai-api-key: sk-mine
timeout: 900
`;
  w.write(join(w.project, '.aider.conf.yml'), conf);
  return { ...w, ed, ar, px, cfg, litellm, conf };
}

describe('setup --adopt', () => {
  it('a hand-written proxy chain becomes a plan: only the plan is written; status and the doctor read it', async () => {
    const w = await proxyWorld();
    const a = await findAdoption(w.caps());
    expect(a.plan.mode).toBe('proxy');
    expect(a.plan.roles.editor).toMatchObject({ model: EDITOR, deployments: [{ host: '127.0.0.1', port: w.ed.port }] });
    expect(a.plan.roles.architect).toMatchObject({ model: ARCHITECT, deployments: [{ host: '127.0.0.1', port: w.ar.port }] });
    expect(a.plan.proxy).toEqual({ host: '127.0.0.1', port: w.px.port });
    expect(a.plan.requestTimeout).toBe(900);
    expect(a.plan.aider).toEqual({ scope: 'project', dir: w.project });
    // The running proxy's own --config, resolved against its folder; the user's group names kept.
    expect(a.plan.adopted).toEqual({ litellmConfig: w.cfg, aiderFiles: [join(w.project, '.aider.conf.yml')], names: { editor: 'editor', architect: 'architect' } });
    expect(servedModels(a.plan).map((m) => m.modelName)).toEqual(['editor', 'architect']);

    const wr = await writeAdoption(a.plan, w.env);
    expect(wr.written).toBe(true);
    const plan = (await readPlan(w.env))!;
    expect(plan).toEqual(a.plan);
    // The user's files are untouched, byte for byte.
    expect(readFileSync(w.cfg, 'utf8')).toBe(w.litellm);
    expect(readFileSync(join(w.project, '.aider.conf.yml'), 'utf8')).toBe(w.conf);

    // status: both servers and the proxy (with the user's own master key, from their file) are up.
    const hops = await collectStatus(plan, { timeoutMs: 4000, env: w.env });
    expect(hops.map((h) => [h.kind, h.port, h.up])).toEqual([
      ['deployment', w.ed.port, true],
      ['deployment', w.ar.port, true],
      ['proxy', w.px.port, true],
    ]);

    // The doctor checks the adopted chain as the user wrote it: no failure, no "adopt" offer any more.
    const r = await runDoctor({ timeoutMs: 4000, deep: false }, { env: w.env, cwd: w.home, portProcess: async (p) => w.procs.get(p) });
    expect(r.hasPlan).toBe(true);
    expect(r.adopted).toBe(true);
    expect(r.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(r.checks.find((c) => c.id === 'chain.through.openai/architect')?.status).toBe('pass');
    expect(r.adoptable).toBe(false);
  });

  it('a LiteLLM config others can read (0644, as files are made by hand): adopt says so, status reads it with a warning, serve\'s key still refuses it, the doctor warns', async () => {
    const w = await proxyWorld();
    chmodSync(w.cfg, 0o644);
    const a = await findAdoption(w.caps());
    expect(a.warnings).toEqual([`${w.cfg} holds the proxy's master key and other users can read it (mode 0644): \`serve\` will not start the proxy with it until you run chmod 600 ${w.cfg}`]);
    await writeAdoption(a.plan, w.env);
    const plan = (await readPlan(w.env))!;
    const said: string[] = [];
    const hops = await collectStatus(plan, { timeoutMs: 4000, env: w.env, readable: (p) => said.push(p.problem) });
    expect(hops.every((h) => h.up)).toBe(true);
    expect(said).toEqual([`${w.cfg} holds the proxy's master key and other users can read it (mode 0644)`]);
    // Without the read-only allowance (serve, which starts the proxy with that key): refused, exit 2.
    await expect(collectStatus(plan, { timeoutMs: 4000, env: w.env })).rejects.toThrow(/other users can read it/);
    const r = await runDoctor({ timeoutMs: 4000, deep: false }, { env: w.env, cwd: w.home, portProcess: async (p) => w.procs.get(p) });
    const t = r.checks.find((c) => c.id === 'config.permissions');
    expect(t?.status).toBe('warn');
    expect(t?.fix).toBe(`Run: chmod 600 ${w.cfg}`);
    // The plan is there (adopted): no "none yet", no offer to adopt again.
    expect(r.checks.find((c) => c.id === 'config.plan')).toMatchObject({ status: 'pass' });
    expect(reportToText(r, { env: w.env, color: false, verbose: true, width: 200 })).not.toContain('setup --adopt');
  });

  it('the doctor run from another folder than the adopted project says Aider there reads other files (it checks the plan\'s folder)', async () => {
    const w = await proxyWorld();
    await writeAdoption((await findAdoption(w.caps())).plan, w.env);
    const other = join(w.home, 'p10');
    mkdirSync(join(other, '.git'), { recursive: true });
    writeFileSync(join(other, '.aider.conf.yml'), 'model: openai/something-else\n');
    const r = await runDoctor({ timeoutMs: 4000, deep: false }, { env: w.env, cwd: other, portProcess: async (p) => w.procs.get(p) });
    const c = r.checks.find((x) => x.id === 'aider.location');
    expect(c?.status).toBe('warn');
    expect(c?.title).toContain(`would not read the plan's files`);
    expect(c?.expected).toBe('run aider inside ~/proj');
    // From the project itself: no such warning.
    const here = await runDoctor({ timeoutMs: 4000, deep: false }, { env: w.env, cwd: w.project, portProcess: async (p) => w.procs.get(p) });
    expect(here.checks.find((x) => x.id === 'aider.location')).toBeUndefined();
  });

  it('the doctor offers it when the hand-written chain is healthy and there is no plan', async () => {
    const w = await proxyWorld();
    const r = await runDoctor({ timeoutMs: 4000, deep: false }, { env: w.env, cwd: w.project, portProcess: async (p) => w.procs.get(p) });
    expect(r.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.adoptable).toBe(true);
    const text = reportToText(r, { env: w.env, color: false, verbose: false, width: 200 });
    expect(text).toContain('To make this a plan');
    expect(text.split('\n')).toContain(`  ${selfCommand()} setup --adopt`);
  });

  it('straight at a server (direct): the model from its command line; a broken chain is not offered', async () => {
    const w = world();
    const ed = await mlx(w, EDITOR);
    w.write(join(w.home, '.aider.conf.yml'), `model: openai/default_model  # whatever it serves\nopenai-api-base: http://127.0.0.1:${ed.port}/v1\nopenai-api-key: x\n`);
    const a = await findAdoption(w.caps({ cwd: w.home }));
    expect(a.plan).toMatchObject({ mode: 'direct', roles: { editor: { model: EDITOR, deployments: [{ port: ed.port }] } }, aider: { scope: 'global', dir: w.home } });
    expect(a.plan.adopted?.litellmConfig).toBeUndefined();

    const broken = world();
    await mlx(broken, EDITOR);
    broken.write(join(broken.project, '.aider.conf.yml'), 'model: openai/editor\nopenai-api-base: http://127.0.0.1:1/v1\n');
    const r = await runDoctor({ timeoutMs: 2000, deep: false }, { env: broken.env, cwd: broken.project, portProcess: async () => undefined });
    expect(r.exitCode).toBe(1);
    expect(r.adoptable).toBe(false);
  });

  const refusal = async (p: Promise<unknown>) => {
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).exitCode).toBe(2);
    return (e as AppError).message;
  };

  it('refuses with exit 2 and the reason when there is nothing coherent to adopt; writes nothing', async () => {
    const w = world();
    expect(await refusal(findAdoption(w.caps()))).toMatch(/Nothing coherent to adopt: Aider here .* has no model/);

    const other = await mlx(w, EDITOR, { identity: 'other' });
    w.write(join(w.project, '.aider.conf.yml'), `model: openai/x\nopenai-api-base: http://127.0.0.1:${other.port}/v1\n`);
    expect(await refusal(findAdoption(w.caps()))).toMatch(/goes to 127\.0\.0\.1:\d+, where .* answers/);

    // A server whose command line cannot be read: which model it serves is not known.
    const ed = await mlx(w, EDITOR);
    w.procs.delete(ed.port);
    w.write(join(w.project, '.aider.conf.yml'), `model: openai/default_model\nopenai-api-base: http://127.0.0.1:${ed.port}/v1\n`);
    expect(await refusal(findAdoption(w.caps()))).toMatch(/which model the mlx_lm\.server on 127\.0\.0\.1:\d+ serves cannot be read/);

    // A proxy that does not say its config, and none given.
    const pw = await proxyWorld();
    pw.procs.delete(pw.px.port);
    expect(await refusal(findAdoption(pw.caps()))).toMatch(/does not say which config file it runs/);
    // … given with --litellm-config, it adopts.
    expect((await findAdoption(pw.caps({ litellmConfig: pw.cfg }))).plan.adopted?.litellmConfig).toBe(pw.cfg);
    expect(await readPlan(w.env)).toBeUndefined();
  });
});

describe('an adopted plan, and OPENAI_API_BASE from the shell sending Aider past the proxy', () => {
  it('the cause is the variable; no fix renames the model', async () => {
    const w = await proxyWorld();
    const a = await findAdoption(w.caps());
    await writeAdoption(a.plan, w.env);
    const conf = join(w.project, '.aider.conf.yml');
    w.write(conf, '# mine\narchitect: true\nmodel: openai/architect\neditor-model: openai/editor\nopenai-api-key: sk-mine\n');
    w.env.OPENAI_API_BASE = `http://127.0.0.1:${w.ar.port}/v1`;
    const r = await runDoctor({ timeoutMs: 4000, deep: false, errorText: 'litellm.NotFoundError: OpenAIException - Error code: 404' }, { env: w.env, cwd: w.project, portProcess: async (p) => w.procs.get(p), processes: async () => [...w.procs.values()] });
    const text = reportToText(r, { env: w.env, color: false, verbose: false, width: 300 });
    expect(r.exitCode).toBe(1);
    expect(text).not.toMatch(/model: openai\/architect → /);
    expect(text).not.toContain('Most likely: The model name that reaches mlx_lm.server');
    expect(r.likely[0]).toMatchObject({ cause: 'C18', verdict: 'confirmed' });
    expect(r.checks.find((c) => c.id === 'chain.model.openai/architect')?.fix).toContain(`set openai-api-base: (not set) → http://127.0.0.1:${w.px.port}/v1`);
    // The plan is there: the report does not say "none yet", nor offer to adopt it again.
    expect(r.checks.find((c) => c.id === 'config.plan')).toMatchObject({ status: 'pass', title: expect.stringContaining('adopted') });
    expect(text).not.toContain('setup --adopt');
  });
});
