/**
 * The product's promise, proved with the real tools: real mlx_lm.server ×2 → `aider-mlx setup --yes`
 * (which itself starts the real LiteLLM to verify its render) → real `litellm --config` on the
 * written file → real aider reading only the files we wrote.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Peers } from './bootstrap.js';
import {
  AIDER_BASE_ARGS, childEnv, freePort, serveTinyPair, runAider, runChild, startLitellm, tempDir,
  type MlxServer, type TinyModels,
} from './harness.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/aider-mlx.js');
let peers: Peers;
let skip: string | null = null;
let models: TinyModels;
let editor: MlxServer;
let architect: MlxServer;

beforeAll(async () => {
  ({ peers, skip, models, editor, architect } = await serveTinyPair(['mlx', 'litellm', 'aider']));
}, 900_000);

afterAll(async () => {
  await Promise.all([editor?.stop(), architect?.stop()]);
});

/** A clean HOME with a git repo; PATH has litellm and aider (as after `uv tool install`). */
function user() {
  const home = tempDir('chain-home');
  const repo = path.join(home, 'project');
  fs.mkdirSync(repo);
  execFileSync('git', ['init', '-q', repo]);
  fs.writeFileSync(path.join(repo, 'hello.py'), 'print("hello")\n');
  const PATH = [path.dirname(peers.litellm!.bin), path.dirname(peers.aider!.bin), process.env.PATH].join(':');
  // A shell that points OpenAI clients elsewhere must not redirect what we wrote (port 9: discard).
  const env = childEnv({ PATH, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_BASE: 'http://127.0.0.1:9/v1' }, home);
  return { home, repo, env };
}

async function setup(u: ReturnType<typeof user>, extra: string[]) {
  const r = await runChild(process.execPath, [
    BIN, 'setup', '--yes',
    '--editor', models.editor.repoId, '--editor-port', String(editor.port),
    '--architect', models.architect.repoId, '--architect-port', String(architect.port),
    '--context', '2048', '--timeout', '240',
    ...extra,
  ], { env: u.env, cwd: u.repo, timeoutMs: 600_000 });
  expect(r.code, r.output).toBe(0);
  return r;
}

const posts = (s: MlxServer) => (s.log().match(/"POST \/v1\/chat\/completions HTTP\/1\.[01]" 200/g) ?? []).length;

function expectCleanAider(output: string) {
  expect(output).not.toMatch(/litellm\.\w+Error/);
  expect(output).not.toMatch(/Unknown context window/);
  expect(output).not.toMatch(/Unknown which environment variables/);
}

describe('real chain', () => {
  it('proxy mode: setup verifies through real LiteLLM; real aider in architect mode reaches both servers', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const u = user();
    const proxyPort = await freePort();
    const s = await setup(u, ['--proxy-port', String(proxyPort)]);
    // setup itself started the real LiteLLM from its render and got a completion through it.
    expect(s.stdout).toMatch(/✓ proxy \(litellm [\d.]+\): mlx-tiny-editor answered through it/);
    expect(s.stdout).toMatch(/✓ proxy \(litellm [\d.]+\): mlx-tiny-architect answered through it/);
    const config = path.join(u.home, '.config/aider-mlx/litellm.yaml');
    // The repository holds no key: Aider gets it through env-file (and the shell's OPENAI_API_KEY,
    // a wrong one set by runAider, must not win).
    const masterKey = parse(fs.readFileSync(config, 'utf8')).general_settings.master_key as string;
    const confText = fs.readFileSync(path.join(u.repo, '.aider.conf.yml'), 'utf8');
    expect(confText).not.toContain(masterKey);
    expect(parse(confText)['env-file']).toBe(path.join(u.home, '.config/aider-mlx/aider.env'));
    const proxy = await startLitellm(config, { PATH: u.env.PATH }, { port: proxyPort });
    try {
      const before = [posts(editor), posts(architect)];
      const a = await runAider(['--message', 'Add a docstring to hello.py', 'hello.py'], { cwd: u.repo, home: u.home, env: { OPENAI_BASE_URL: u.env.OPENAI_BASE_URL, OPENAI_API_BASE: u.env.OPENAI_API_BASE } });
      expectCleanAider(a.output);
      expect(a.output).toMatch(/Main model: openai\/mlx-tiny-architect with architect edit format/);
      expect(a.output).toMatch(/Editor model: openai\/mlx-tiny-editor/);
      // Each tiny model always says its own line: both answered, through the proxy.
      expect(a.output).toContain(models.architect.answer);
      expect(a.output).toContain(models.editor.answer);
      expect(posts(architect)).toBeGreaterThan(before[1]!);
      expect(posts(editor)).toBeGreaterThan(before[0]!);
      expect(proxy.log()).toMatch(/POST \/v1\/chat\/completions HTTP\/1\.1" 200/);
    } finally {
      await proxy.stop();
    }
  }, 900_000);

  it('direct mode: real aider talks to each server with the exact repo id, no proxy', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const u = user();
    await setup(u, ['--mode', 'direct']);
    const conf = parse(fs.readFileSync(path.join(u.repo, '.aider.conf.yml'), 'utf8'));
    expect(conf.model).toBe(`openai/${models.architect.repoId}`);
    const before = [posts(editor), posts(architect)];
    const a = await runAider(['--message', 'Add a docstring to hello.py', 'hello.py'], { cwd: u.repo, home: u.home, env: { OPENAI_BASE_URL: u.env.OPENAI_BASE_URL } });
    expectCleanAider(a.output);
    expect(a.output).toContain(models.architect.answer);
    expect(a.output).toContain(models.editor.answer);
    expect(posts(architect)).toBeGreaterThan(before[1]!);
    expect(posts(editor)).toBeGreaterThan(before[0]!);
  }, 900_000);

  it('profile scope: `aider-mlx aider` runs real aider on the isolated profile only', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const u = user();
    const proxyPort = await freePort();
    await setup(u, ['--scope', 'profile', '--proxy-port', String(proxyPort)]);
    expect(fs.existsSync(path.join(u.repo, '.aider.conf.yml'))).toBe(false);
    const proxy = await startLitellm(path.join(u.home, '.config/aider-mlx/litellm.yaml'), { PATH: u.env.PATH }, { port: proxyPort });
    try {
      // Seed aider's model-info cache the way runAider does (no network here).
      await runAider(['--exit'], { cwd: u.repo, home: u.home });
      const before = posts(architect);
      const a = await runChild(process.execPath, [BIN, 'aider', ...AIDER_BASE_ARGS, '--message', 'Say hi'], { env: u.env, cwd: u.repo, timeoutMs: 600_000 });
      expectCleanAider(a.output);
      expect(a.output).toMatch(/Main model: openai\/mlx-tiny-architect/);
      expect(a.output).toContain(models.architect.answer);
      expect(posts(architect)).toBeGreaterThan(before);
    } finally {
      await proxy.stop();
    }
  }, 900_000);
});
