/**
 * The doctor against the REAL peers (test/peers): two real mlx_lm.servers on tiny models, the real
 * LiteLLM proxy on the config setup writes, real aider. Seeded causes are diagnosed from the real
 * error texts, `--fix` is applied, and real aider proves the result. Skipped (with the reason) when
 * the peers are not installed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { composeWrites } from '../../src/config/write.js';
import { PLAN_VERSION, type Plan } from '../../src/config/plan.js';
import { applyFixes, planFixes } from '../../src/doctor/fix.js';
import { runDoctor, type DoctorReport } from '../../src/doctor/run.js';
import { applyWrites, planWrites } from '../../src/lib/fs.js';
import { configPaths } from '../../src/lib/paths.js';
import type { Peers } from '../peers/bootstrap.js';
import {
  childEnv, cleanupTemp, freePort, serveTinyPair, runAider, startLitellm, tempDir,
  type LitellmProxy, type MlxServer, type TinyModels,
} from '../peers/harness.js';

const SLOW = 900_000;
let peers: Peers;
let skip: string | null = null;
let models: TinyModels;
let editor: MlxServer;
let architect: MlxServer;

beforeAll(async () => {
  ({ peers, skip, models, editor, architect } = await serveTinyPair(['mlx', 'litellm', 'aider']));
}, SLOW);

afterAll(async () => {
  await Promise.all([editor?.stop(), architect?.stop()]);
  cleanupTemp();
}, 60_000);

interface User {
  home: string;
  repo: string;
  env: NodeJS.ProcessEnv;
  plan: Plan;
  litellm: string;
  conf: string;
  proxy?: LitellmProxy;
  doctor(o?: { deep?: boolean; errorText?: string }): Promise<DoctorReport>;
  restartProxy(): Promise<void>;
  aider(): Promise<string>;
}

/** A user after `setup` (the files composeWrites writes), with the real proxy running on them. */
async function user(mode: 'proxy' | 'direct' = 'proxy'): Promise<User> {
  const home = tempDir('doctor-peers');
  const repo = path.join(home, 'project');
  fs.mkdirSync(repo);
  execFileSync('git', ['init', '-q', repo]);
  const PATH = [path.dirname(peers.litellm!.bin), path.dirname(peers.aider!.bin), path.dirname(peers.mlx!.bin), process.env.PATH].join(':');
  const env = childEnv({ PATH, HF_HOME: models.hfHome, HF_HUB_OFFLINE: '1' }, home);
  // What a networked aider would have fetched (see harness.runAider).
  const cache = path.join(home, '.aider', 'caches', 'model_prices_and_context_window.json');
  const lib = path.join(peers.aider!.venv, 'lib');
  for (const py of fs.readdirSync(lib)) {
    const src = path.join(lib, py, 'site-packages', 'litellm', 'model_prices_and_context_window_backup.json');
    if (fs.existsSync(src)) {
      fs.mkdirSync(path.dirname(cache), { recursive: true });
      fs.copyFileSync(src, cache);
    }
  }
  const plan: Plan = {
    version: PLAN_VERSION,
    mode,
    roles: {
      editor: { model: models.editor.repoId, context: 2048, deployments: [{ host: '127.0.0.1', port: editor.port }] },
      architect: { model: models.architect.repoId, context: 2048, deployments: [{ host: '127.0.0.1', port: architect.port }] },
    },
    proxy: { host: '127.0.0.1', port: await freePort() },
    requestTimeout: 600,
    aider: { scope: 'project', dir: repo },
  };
  const composed = await composeWrites(plan, env);
  await applyWrites(await planWrites(composed.changes), { backupRoot: configPaths(env).backups });
  const litellm = configPaths(env).litellm;
  const u: User = {
    home,
    repo,
    env,
    plan,
    litellm,
    conf: path.join(repo, '.aider.conf.yml'),
    doctor: (o = {}) =>
      runDoctor({ timeoutMs: 120_000, deep: o.deep ?? false, ...(o.errorText !== undefined ? { errorText: o.errorText } : {}) }, { env, cwd: repo }),
    restartProxy: async () => {
      await u.proxy?.stop();
      u.proxy = await startLitellm(litellm, { PATH }, { port: plan.proxy.port });
    },
    aider: async () => (await runAider(['--message', 'Reply with the single word: pong'], { cwd: repo, home, env: { HF_HOME: models.hfHome }, baseArgs: ['--yes-always', '--no-check-update', '--no-analytics', '--no-stream', '--no-pretty'] })).output,
  };
  if (mode === 'proxy') await u.restartProxy();
  return u;
}

const status = (r: DoctorReport, id: string) => r.checks.find((c) => c.id === id)?.status;
const failing = (r: DoctorReport) => r.checks.filter((c) => c.status === 'fail').map((c) => `${c.id}: ${c.observed}`);
const need = (ctx: TestContext) => {
  if (skip) ctx.skip(skip);
};

describe('doctor against the real peers', () => {
  it('a healthy setup: every hop passes, --deep included (a real aider call), versions read from dist-info', async (ctx) => {
    need(ctx);
    const u = await user();
    try {
      const r = await u.doctor({ deep: true });
      expect(failing(r)).toEqual([]);
      expect(status(r, 'aider.call')).toBe('pass');
      expect(status(r, 'server.editor+weak.template')).toBe('pass');
      expect(status(r, 'server.editor+weak.max_tokens')).toBe('pass');
      expect(r.checks.find((c) => c.id === 'env.litellm')?.title).toContain(peers.litellm!.version);
      expect(r.checks.find((c) => c.id === 'env.mlx_lm')?.title).toContain(peers.mlx!.version);
      expect(status(r, 'env.litellm_release')).toBe('pass');
    } finally {
      await u.proxy?.stop();
    }
  }, SLOW);

  it('C1 through the proxy: the real aider error names it, --fix turns it green, real aider proves it', async (ctx) => {
    need(ctx);
    const u = await user();
    try {
      fs.writeFileSync(u.litellm, fs.readFileSync(u.litellm, 'utf8').replace('model: openai/default_model', 'model: openai/qwen-coder'));
      await u.restartProxy();
      const seen = await u.aider();
      expect(seen).toMatch(/litellm\.\w+Error/);
      const r = await u.doctor({ errorText: seen });
      expect(r.likely[0]).toMatchObject({ cause: 'C1', verdict: 'confirmed' });
      expect(status(r, 'config.litellm.upstream')).toBe('fail');

      const fp = await planFixes(r, u.env);
      await applyFixes(fp, u.env);
      await u.restartProxy();
      const after = await u.doctor({ deep: true });
      expect(failing(after)).toEqual([]);
      expect(status(after, 'aider.call')).toBe('pass');
      expect(await u.aider()).not.toMatch(/litellm\.\w+Error/);
    } finally {
      await u.proxy?.stop();
    }
  }, SLOW);

  it("C11 and C10 with the real proxy's own answers (400 Invalid model name; 400 No connected db. for a wrong key)", async (ctx) => {
    need(ctx);
    const u = await user();
    try {
      const conf = fs.readFileSync(u.conf, 'utf8');
      fs.writeFileSync(u.conf, conf.replace(/^model: .*$/m, 'model: openai/mlx-tiny-arch'));
      const seen = await u.aider();
      const r = await u.doctor({ errorText: seen });
      expect(r.likely[0]).toMatchObject({ cause: 'C11', verdict: 'confirmed' });
      expect(status(r, 'aider.names')).toBe('fail');

      fs.writeFileSync(u.conf, conf);
      // Project scope: real Aider reads its key from the env file that .aider.conf.yml names.
      fs.writeFileSync(configPaths(u.env).aiderEnv, 'AIDER_OPENAI_API_KEY=sk-not-the-master-key-0000\n', { mode: 0o600 });
      const refused = await u.aider();
      const k = await u.doctor({ errorText: refused });
      expect(k.error?.signals).toContain('auth-rejected');
      expect(k.likely[0]).toMatchObject({ cause: 'C10', verdict: 'confirmed' });
      expect(status(k, 'proxy.auth')).toBe('fail');
      expect(status(k, 'proxy.names')).toBe('pass');

      await applyFixes(await planFixes(k, u.env), u.env);
      const after = await u.doctor({ deep: true });
      expect(failing(after)).toEqual([]);
    } finally {
      await u.proxy?.stop();
    }
  }, SLOW);

  it('C2 in direct mode: a doubled /v1 in a model\'s api_base, from the real NotFound to a real answer', async (ctx) => {
    need(ctx);
    const u = await user('direct');
    const settings = path.join(u.repo, '.aider.model.settings.yml');
    fs.writeFileSync(settings, fs.readFileSync(settings, 'utf8').replace(`api_base: ${editor.baseUrl}`, `api_base: ${editor.baseUrl}/v1`));
    const r = await u.doctor({ errorText: 'litellm.NotFoundError: NotFoundError: OpenAIException - Not Found' });
    expect(r.likely[0]).toMatchObject({ cause: 'C2', verdict: 'confirmed' });
    expect(status(r, 'server.editor+weak.path')).toBe('fail');
    expect(editor.log()).not.toContain('"POST /v1/v1/chat/completions');
    await applyFixes(await planFixes(r, u.env), u.env);
    const after = await u.doctor({ deep: true });
    expect(failing(after)).toEqual([]);
    expect(status(after, 'aider.call')).toBe('pass');
  }, SLOW);
});
