/**
 * `doctor --fix`: seed a cause, plan and apply the fix through the safe writer, run the doctor
 * again, and prove the failing checks now pass (and the user's own lines survived, and a backup set
 * exists).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyFixes, planFixes } from '../../src/doctor/fix.js';
import { runDoctor, type DoctorReport } from '../../src/doctor/run.js';
import { type World, worldsClosedAfterEach } from './world.js';

const world = worldsClosedAfterEach();

const run = (w: World, o: { cwd?: string; env?: Record<string, string>; deep?: boolean } = {}) =>
  runDoctor({ timeoutMs: 2000, deep: o.deep ?? false }, { env: { ...w.env, ...o.env }, cwd: o.cwd ?? w.project });

const status = (r: DoctorReport, id: string) => r.checks.find((c) => c.id === id)?.status;
const failing = (r: DoctorReport) => r.checks.filter((c) => c.status === 'fail').map((c) => c.id);

/** Fix, restart the proxy when its config changed (as the fix tells the user), check again. */
async function fixAndRecheck(w: World, o: { cwd?: string; env?: Record<string, string>; deep?: boolean } = {}) {
  const before = await run(w, o);
  const fp = await planFixes(before, { ...w.env, ...o.env });
  expect(fp.writes.length).toBeGreaterThan(0);
  for (const wr of fp.writes) expect(wr.diff, wr.path).not.toBe('');
  const res = await applyFixes(fp, { ...w.env, ...o.env });
  if (fp.after.some((a) => a.startsWith('Restart the LiteLLM proxy'))) await w.restartProxy();
  const after = await run(w, o);
  return { before, fp, res, after };
}

type LitellmDoc = { model_list: Array<{ model_name: string; litellm_params: Record<string, unknown> }> };
type Settings = Array<{ name: string; extra_params?: Record<string, unknown> } & Record<string, unknown>>;

describe('doctor --fix turns a seeded cause green', () => {
  it('C1 + C2 + C4 + C14 + metadata at once (proxy mode), keeping the user\'s comments, with a backup set', async () => {
    const w = await world();
    w.editYaml<LitellmDoc>(w.paths.litellm, (d) => {
      d.model_list[0]!.litellm_params.model = 'openai/qwen-coder';
      d.model_list[1]!.litellm_params.api_base = `${w.architect!.baseUrl}/v1`;
      for (const e of d.model_list) delete e.litellm_params.max_tokens;
    });
    writeFileSync(w.paths.conf, `# my own note: keep me\n${readFileSync(w.paths.conf, 'utf8').replace(/^model: .*$/m, 'model: mlx-community/QwQ-32B-4bit')}`);
    w.writeText(w.paths.metadata, '{}\n');
    await w.restartProxy();
    const { before, fp, res, after } = await fixAndRecheck(w);
    for (const id of ['config.litellm.upstream', 'config.litellm.api_base', 'aider.prefix']) expect(status(before, id), id).toBe('fail');
    expect(status(before, 'aider.metadata')).toBe('warn');
    expect(fp.after[0]).toContain('Restart the LiteLLM proxy');
    // A second proxy cannot take the port: the running one is stopped first, then started again.
    expect(fp.after[0]).toMatch(/stop the one running now .*, then start it again: `.* serve`, or litellm --config /);
    expect(failing(after)).toEqual([]);
    for (const id of ['config.litellm.upstream', 'config.litellm.api_base', 'config.litellm.max_tokens', 'aider.prefix', 'aider.model', 'aider.metadata', 'aider.max_tokens']) {
      expect(status(after, id), id).toBe('pass');
    }
    expect(readFileSync(w.paths.conf, 'utf8')).toContain('# my own note: keep me');
    expect(res.backupDir && existsSync(join(res.backupDir, 'manifest.json'))).toBe(true);
    expect(after.exitCode).toBe(0);
  });

  it('C11: a renamed model_name in the proxy config and in Aider', async () => {
    const w = await world();
    w.editYaml(w.paths.conf, (d) => {
      d.model = 'openai/mlx-qwq';
    });
    const { before, after } = await fixAndRecheck(w);
    expect(status(before, 'aider.names')).toBe('fail');
    expect(status(after, 'aider.names')).toBe('pass');
    expect(failing(after)).toEqual([]);
  });

  it("C9 and C10: missing key, then a key that is not the proxy's", async () => {
    const w = await world();
    w.writeText(w.paths.aiderEnv, 'AIDER_OPENAI_API_KEY=sk-not-the-master-key-000000\n');
    const { before, after } = await fixAndRecheck(w);
    expect(status(before, 'proxy.auth')).toBe('fail');
    expect(status(after, 'proxy.auth')).toBe('pass');
    expect(status(after, 'aider.key')).toBe('pass');

    const d = await world({ mode: 'direct', two: false });
    d.editYaml(d.paths.conf, (c) => {
      delete c['openai-api-key'];
    });
    const r = await fixAndRecheck(d);
    expect(status(r.before, 'aider.key')).toBe('fail');
    expect(status(r.after, 'aider.key')).toBe('pass');
  });

  it('C5: direct mode, two models on one base: per-model api_base comes back', async () => {
    const w = await world({ mode: 'direct' });
    w.editYaml<Settings>(w.paths.settings, (d) => {
      for (const e of d) delete e.extra_params!.api_base;
    });
    const { before, after } = await fixAndRecheck(w);
    expect(status(before, 'aider.api_base')).toBe('fail');
    expect(status(after, 'aider.api_base')).toBe('pass');
    expect(failing(after)).toEqual([]);
  });

  it('C18: OPENAI_BASE_URL cannot be unset by a file edit, but per-model api_base makes it harmless', async () => {
    const w = await world({ mode: 'direct', two: false });
    w.editYaml<Settings>(w.paths.settings, (d) => {
      delete d[0]!.extra_params!.api_base;
    });
    const env = { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' };
    const { before, after } = await fixAndRecheck(w, { env });
    expect(status(before, 'config.env.base_url')).toBe('fail');
    expect(status(after, 'config.env.base_url')).toBe('pass');
    expect(status(after, 'aider.api_base')).toBe('pass');
  });

  it('C16: an out-of-range top_p in our settings entry is rewritten', async () => {
    const w = await world({ two: false });
    w.editYaml<Settings>(w.paths.settings, (d) => {
      d[0]!.extra_params!.top_p = 1.5;
    });
    const { before, after } = await fixAndRecheck(w);
    expect(status(before, 'aider.params')).toBe('fail');
    expect(status(after, 'aider.params')).toBe('pass');
  });

  it('C14 proven by --deep before, gone after', async () => {
    const w = await world({ two: false });
    w.editYaml<LitellmDoc>(w.paths.litellm, (d) => {
      for (const e of d.model_list) delete e.litellm_params.max_tokens;
    });
    w.editYaml<Settings>(w.paths.settings, (d) => {
      for (const e of d) delete e.extra_params!.max_tokens;
    });
    await w.restartProxy();
    const { before, after } = await fixAndRecheck(w, { deep: true });
    expect(status(before, 'server.editor+weak.max_tokens')).toBe('fail');
    expect(status(after, 'server.editor+weak.max_tokens')).toBe('pass');
  });

  it('an overriding .aider.conf.yml in the cwd gets the key aligned, its comment kept', async () => {
    const w = await world();
    const sub = join(w.project, 'sub');
    mkdirSync(sub);
    const file = join(sub, '.aider.conf.yml');
    writeFileSync(file, '# mine: do not lose me\nmodel: openai/gpt-4o\nauto-commits: false\n');
    const { before, after } = await fixAndRecheck(w, { cwd: sub });
    expect(status(before, 'aider.model')).toBe('fail');
    expect(status(after, 'aider.model')).toBe('pass');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('# mine: do not lose me');
    expect(text).toContain('auto-commits: false');
    expect(text).toContain('model: openai/mlx-qwq-32b-4bit');
  });

  it('master key: a config without one gets a generated key, and Aider the same key', async () => {
    const w = await world({ two: false });
    w.editYaml<{ general_settings?: unknown }>(w.paths.litellm, (d) => {
      delete d.general_settings;
    });
    await w.restartProxy();
    const { before, after } = await fixAndRecheck(w);
    expect(status(before, 'config.litellm.master_key')).toBe('warn');
    expect(status(after, 'config.litellm.master_key')).toBe('pass');
    expect(status(after, 'proxy.auth')).toBe('pass');
    expect(status(after, 'aider.key')).toBe('pass');
  });

  it('what no file edit can fix is listed as manual, and nothing is written for it', async () => {
    const w = await world({ editorDown: true });
    const r = await run(w, { env: { AIDER_MODEL: 'openai/other' } });
    const fp = await planFixes(r, { ...w.env, AIDER_MODEL: 'openai/other' });
    expect(fp.writes).toEqual([]);
    expect(fp.manual.map((c) => c.id)).toEqual(expect.arrayContaining(['server.editor+weak.reachable', 'aider.model']));
  });

  it('a healthy setup has nothing to fix', async () => {
    const w = await world();
    const fp = await planFixes(await run(w), w.env);
    expect(fp.writes).toEqual([]);
    expect(fp.addresses).toEqual([]);
  });
});
