/** The built CLI: `setup --yes` without --editor, --context over a limit, and INIT_CWD (npm start). */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import JSON5 from 'json5';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startFakeMlxServer, type FakeMlxServer } from '../../src/servers/fake-mlx-server.js';
import { findFreePort } from '../../src/servers/ports.js';
import { makeCachedRepo, mlxFiles, qwen7bConfig } from '../stand-in-hub/cache-fixtures.js';
import { serverProcess } from '../doctor/server-process.js';
import { BIN, cli, flat, ROOT, sandbox, withFakeLitellm, type Sandbox } from './helpers.js';

const PICK = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
let server: FakeMlxServer;

beforeAll(async () => {
  server = await startFakeMlxServer({ model: PICK });
});
afterAll(async () => {
  await server.close();
});

/** One tier that every machine falls into, so the pick does not depend on this box's memory. */
function curatedFile(s: Sandbox): string {
  const p = join(s.root, 'curated.yaml');
  writeFileSync(
    p,
    [
      'version: 1',
      'tiers:',
      '  - memory: 1',
      '    picks:',
      '      - role: single',
      `        repo: ${PICK}`,
      '        context: 8192',
      '        reason: The test tier pick, small and quick.',
      '        approx: { weightsGB: 0.5, kvKiBPerToken: 56 }',
      '',
    ].join('\n'),
  );
  return p;
}

describe('setup --yes without --editor', () => {
  it('takes the proposal for this machine, prints what it chose and why, and writes a working setup', async () => {
    const s = sandbox();
    const proxyPort = await findFreePort('127.0.0.1', 20_000 + Math.floor(Math.random() * 20_000));
    // No LiteLLM on PATH (only Node and the system's git): the proposal says so and goes direct.
    const env = { ...s.env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, AIDER_MLX_CURATED_MODELS: curatedFile(s), HF_HUB_CACHE: join(s.root, 'hf'), HF_HUB_OFFLINE: '1' };
    const r = await cli(['setup', '--yes', '--editor-port', String(server.port), '--proxy-port', String(proxyPort), '--timeout', '20'], { cwd: s.repo, env, timeoutMs: 120_000 });
    expect(r.stderr).not.toMatch(/--editor is required|Unexpected/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^No --editor given: the setup proposed for this machine/);
    expect(flat(r.stdout)).toContain(`model: ${PICK} on 127.0.0.1:${server.port}`);
    expect(flat(r.stdout)).toContain('The test tier pick, small and quick. (curated for 1 GB Macs)');
    expect(r.stdout).toMatch(/context 8192 tokens/);
    expect(r.stdout).toMatch(/memory: editor\+weak .* budget/);
    expect(r.stdout).toMatch(/mode: direct: LiteLLM is not installed/);
    expect(r.stdout).toMatch(/scope: project/);
    const plan = parse(readFileSync(join(s.config, 'plan.yaml'), 'utf8'));
    expect(plan.roles.editor).toMatchObject({ model: PICK, context: 8192, deployments: [{ host: '127.0.0.1', port: server.port }] });
    expect(plan.mode).toBe('direct');
    const settings = readFileSync(join(s.repo, '.aider.model.settings.yml'), 'utf8');
    expect(settings).toContain(`api_base: http://127.0.0.1:${server.port}/v1`);
    const meta = JSON5.parse(readFileSync(join(s.repo, '.aider.model.metadata.json'), 'utf8')) as Record<string, { max_input_tokens: number }>;
    expect(Object.values(meta)[0]!.max_input_tokens).toBe(8192);
    // Checked for real: the stand-in answered a completion.
    expect(server.requests.some((q) => q.method === 'POST')).toBe(true);
  });
});

describe('setup --yes --editor without --mode (Y1)', () => {
  it('no LiteLLM on PATH: direct mode, said once with how to add the proxy; a LiteLLM there: proxy mode', async () => {
    const s = sandbox();
    // Only Node and the system's tools: no litellm anywhere on this PATH.
    const env = { ...s.env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HF_HUB_CACHE: join(s.root, 'hf'), HF_HUB_OFFLINE: '1' };
    const args = ['setup', '--yes', '--dry-run', '--editor', PICK, '--editor-port', String(server.port), '--timeout', '20'];
    const r = await cli(args, { cwd: s.repo, env, timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^aider-mlx setup — direct mode/m);
    expect(r.stdout).toMatch(/mode: direct \(no --mode given\): LiteLLM is not installed/);
    expect(flat(r.stdout)).toContain('install litellm');
    // Direct mode needs no LiteLLM: it is not named as missing, and no proxy file is planned.
    expect(r.stdout).not.toMatch(/litellm[^\n]*(is|are) not installed: install/);
    expect(flat(r.stdout)).not.toContain('litellm.yaml');

    // A free proxy port of its own: 4000 may be held (this suite holds it on purpose).
    const proxyPort = await findFreePort('127.0.0.1', 20_000 + Math.floor(Math.random() * 20_000));
    const withLite = await cli([...args, '--proxy-port', String(proxyPort)], { cwd: s.repo, env: withFakeLitellm(s, { HF_HUB_CACHE: env.HF_HUB_CACHE, HF_HUB_OFFLINE: '1' }), timeoutMs: 120_000 });
    expect(withLite.stdout, withLite.stderr).toMatch(/^aider-mlx setup — proxy mode/m);
    expect(flat(withLite.stdout)).not.toContain('no --mode given');
  }, 240_000);
});

describe('setup --yes finds the mlx_lm.server that already serves the model (Y2)', () => {
  it('no --editor-port: the running server (a process named mlx_lm.server) is used where it listens, and said so', async () => {
    const s = sandbox();
    // A model no other test serves: the server found can only be this one.
    const model = `mlx-community/reuse-test-${process.pid}-${Date.now().toString(36)}-4bit`;
    const { port, child } = await serverProcess(BIN, s.root, model);
    try {
      const env = { ...s.env, PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HF_HUB_CACHE: join(s.root, 'hf'), HF_HUB_OFFLINE: '1' };
      const r = await cli(['setup', '--yes', '--dry-run', '--editor', model, '--timeout', '20'], { cwd: s.repo, env, timeoutMs: 120_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(flat(r.stdout)).toContain(`already served by mlx_lm.server (pid ${child.pid}) on 127.0.0.1:${port}: reused`);
      expect(flat(r.stdout)).toMatch(new RegExp(`✓ editor \\+ weak: 127\\.0\\.0\\.1:${port} serves .* answered a 1-token completion`));
      expect(r.stdout).toMatch(new RegExp(`\\+\\s+port: ${port}\\n`));
      expect(r.stdout).not.toMatch(/127\.0\.0\.1:8080/);

      // A port given is the port used: nothing is looked up.
      const given = await cli(['setup', '--yes', '--dry-run', '--editor', model, '--editor-port', '1', '--timeout', '3'], { cwd: s.repo, env, timeoutMs: 60_000 });
      expect(flat(given.stdout)).not.toContain('reused');
      expect(flat(given.stdout)).toContain('127.0.0.1:1');
    } finally {
      child.kill('SIGTERM');
    }
  }, 240_000);
});

describe('setup --yes --context over a limit', () => {
  it("over the model's own maximum: exit 2 with the numbers, nothing written", async () => {
    const s = sandbox();
    const cache = join(s.root, 'hf');
    makeCachedRepo(cache, 'mlx-community/Small-Coder-7B-4bit', { files: mlxFiles({ config: { ...qwen7bConfig, max_position_embeddings: 32768 } }) });
    const r = await cli(['setup', '--yes', '--editor', 'mlx-community/Small-Coder-7B-4bit', '--context', '40000', '--timeout', '5'], { cwd: s.repo, env: { ...s.env, HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' } });
    expect(r.code).toBe(2);
    expect(flat(r.stderr)).toMatch(/--context 40000: 40000 tokens is more than mlx-community\/Small-Coder-7B-4bit supports \(at most 32768/);
    expect(r.stderr).toMatch(/Use --context 32768/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(s.config, 'plan.yaml'))).toBe(false);
  });

  it('over the memory budget: exit 2 with the arithmetic and the largest that fits', async () => {
    const s = sandbox();
    const cache = join(s.root, 'hf');
    makeCachedRepo(cache, 'mlx-community/Long-Coder-7B-4bit', { files: mlxFiles({ config: { ...qwen7bConfig, max_position_embeddings: 100_000_000 } }) });
    const r = await cli(['setup', '--yes', '--editor', 'mlx-community/Long-Coder-7B-4bit', '--context', '10000000', '--timeout', '5'], { cwd: s.repo, env: { ...s.env, HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1' } });
    expect(r.code).toBe(2);
    expect(flat(r.stderr)).toMatch(/--context 10000000: 10000000 tokens do not fit in memory: weights .* \+ prompt cache \d+ × KV [\d.]+ GB .* of [\d.]+ GB budget \(\d+%\)\. The largest that fits is \d+ tokens\./);
    expect(r.stderr).toMatch(/Use --context \d+ \(the largest that fits\)/);
    expect(existsSync(join(s.config, 'plan.yaml'))).toBe(false);
  });
});

describe('npm start (INIT_CWD)', () => {
  it('acts in the folder npm was run from, not the package folder', async () => {
    const s = sandbox();
    const r = await cli(['setup', '--yes', '--editor', PICK, '--editor-port', String(server.port), '--mode', 'direct', '--timeout', '20'], {
      cwd: ROOT,
      env: { ...s.env, INIT_CWD: s.repo, HF_HUB_CACHE: join(s.root, 'hf'), HF_HUB_OFFLINE: '1' },
      timeoutMs: 120_000,
    });
    expect(r.code).toBe(0);
    expect(existsSync(join(s.repo, '.aider.conf.yml'))).toBe(true);
    expect(parse(readFileSync(join(s.config, 'plan.yaml'), 'utf8')).aider.dir).toBe(s.repo);
    expect(existsSync(join(ROOT, '.aider.conf.yml'))).toBe(false);
    expect(BIN.startsWith(ROOT)).toBe(true);
  });
});
