import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { AppError, UsageError } from '../errors.js';
import { applyWrites, planWrites, type RenameFn } from '../lib/fs.js';
import { configPaths, type Env } from '../lib/paths.js';
import { composeWrites } from '../config/write.js';
import type { Plan } from '../config/plan.js';
import { AIDER_FILES } from '../config/render.js';
import { ownedLocations } from '../service/locations.js';
import { machineOf, saveBench } from '../bench/store.js';
import { scriptedAsker } from '../tools/ask.js';
import { planUninstall, runUninstall, type UninstallIo } from './uninstall.js';

let home: string;
let project: string;
let env: Env;

const plan = (dir: string, over: Partial<Plan> = {}): Plan => ({
  version: 1,
  mode: 'proxy',
  roles: {
    editor: { model: 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit', context: 32768, deployments: [{ host: '127.0.0.1', port: 8080 }] },
    architect: { model: 'mlx-community/QwQ-32B-4bit', context: 32768, deployments: [{ host: '127.0.0.1', port: 8081 }] },
  },
  proxy: { host: '127.0.0.1', port: 4000 },
  requestTimeout: 600,
  aider: { scope: 'project', dir },
  ...over,
});

/** What `setup` does once its checks pass: compose, merge, write all-or-nothing with a backup set. */
async function setupWrites(p: Plan): Promise<void> {
  const composed = await composeWrites(p, env);
  await applyWrites(await planWrites(composed.changes), { backupRoot: configPaths(env).backups, dirMode: 0o700 });
}

const USER_CONF = `# my own aider settings
dark-mode: true   # easier on the eyes
auto-commits: false

# lint before commit
lint-cmd: "python: flake8"
`;
const USER_SETTINGS = `# my cloud model
- name: gpt-4o
  edit_format: diff
`;

function out() {
  const o = { stdout: '', stderr: '' };
  return { o, io: { out: (s: string) => void (o.stdout += s), err: (s: string) => void (o.stderr += s) } };
}

/** Every file under dir, recursively. */
const files = (dir: string): string[] =>
  fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name)) : [];

beforeEach(() => {
  home = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-uninstall-'));
  project = join(home, 'proj');
  fs.mkdirSync(project);
  env = { HOME: home, PATH: process.env.PATH };
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe('uninstall round trip', () => {
  it("leaves the user's files byte-identical and no file of ours behind", async () => {
    fs.writeFileSync(join(project, AIDER_FILES.conf), USER_CONF);
    fs.writeFileSync(join(project, AIDER_FILES.settings), USER_SETTINGS);
    const loc = ownedLocations(env, 'darwin');
    // Things of ours and things of the user's side by side.
    fs.mkdirSync(loc.launchAgents, { recursive: true });
    fs.writeFileSync(join(loc.launchAgents, 'com.aider-mlx.proxy.plist'), '<plist/>');
    fs.writeFileSync(join(loc.launchAgents, 'com.example.backup.plist'), '<plist/>');
    fs.mkdirSync(join(loc.venvs, 'litellm', 'bin'), { recursive: true });
    fs.writeFileSync(join(loc.venvs, 'litellm', 'bin', 'litellm'), '#!/bin/sh\n');
    fs.mkdirSync(loc.localBin, { recursive: true });
    fs.symlinkSync(join(loc.venvs, 'litellm', 'bin', 'litellm'), join(loc.localBin, 'litellm'));
    fs.writeFileSync(join(loc.localBin, 'my-script'), '#!/bin/sh\n');
    fs.mkdirSync(loc.logs, { recursive: true });
    fs.writeFileSync(join(loc.logs, 'proxy.log'), 'log\n');
    // The code cache of a doctor or status run, beside another tool's cache.
    fs.mkdirSync(join(loc.cache, 'v8'), { recursive: true });
    fs.writeFileSync(join(loc.cache, 'v8', 'lean-x.bin'), 'cache');
    fs.mkdirSync(join(dirname(loc.cache), 'pip'), { recursive: true });

    const p = plan(project);
    await setupWrites(p);
    // Run setup twice with a change between, as a user would: two backup sets.
    await setupWrites({ ...p, requestTimeout: 900 });
    const conf = fs.readFileSync(join(project, AIDER_FILES.conf), 'utf8');
    expect(conf).toContain('dark-mode: true');
    expect(conf).toContain('editor-model: openai/mlx-qwen2.5-coder-14b-instruct-4bit');

    const calls: string[][] = [];
    const { o, io } = out();
    const code = await runUninstall(['--yes'], {
      ...io,
      env,
      platform: 'darwin',
      uid: 501,
      interactive: false,
      exec: async (cmd, args) => {
        calls.push([cmd, ...args]);
        return { code: 0, stdout: '', stderr: '' };
      },
    });
    expect(code, o.stdout + o.stderr).toBe(0);
    expect(fs.readFileSync(join(project, AIDER_FILES.conf), 'utf8')).toBe(USER_CONF);
    expect(fs.readFileSync(join(project, AIDER_FILES.settings), 'utf8')).toBe(USER_SETTINGS);
    expect(fs.existsSync(join(project, AIDER_FILES.metadata))).toBe(false); // we created it
    expect(fs.existsSync(configPaths(env).dir)).toBe(false);
    expect(fs.existsSync(loc.data)).toBe(false);
    expect(fs.existsSync(loc.logs)).toBe(false);
    expect(fs.existsSync(loc.cache)).toBe(false);
    expect(fs.existsSync(join(dirname(loc.cache), 'pip'))).toBe(true);
    expect(fs.readdirSync(loc.launchAgents)).toEqual(['com.example.backup.plist']);
    expect(fs.readdirSync(loc.localBin)).toEqual(['my-script']);
    expect(calls).toEqual([['launchctl', 'bootout', 'gui/501/com.aider-mlx.proxy']]);
    expect(o.stderr).toContain('aider-mlx uninstall will remove:');
    expect(o.stdout).toContain('aider-mlx is uninstalled');
  });

  it('deletes Aider files it created from nothing, and a second run finds nothing left', async () => {
    await setupWrites(plan(project));
    expect(files(project).length).toBe(3);
    const { io } = out();
    expect(await runUninstall(['--yes'], { ...io, env, platform: 'linux', interactive: false })).toBe(0);
    expect(files(project)).toEqual([]);
    expect(files(home).filter((f) => !f.startsWith(project))).toEqual([]);
    const again = out();
    expect(await runUninstall(['--yes'], { ...again.io, env, platform: 'linux', interactive: false })).toBe(0);
    expect(again.o.stdout).toContain('Nothing of aider-mlx');
  });

  it('keeps a key the user changed after setup, and every key of their own', async () => {
    fs.writeFileSync(join(project, AIDER_FILES.conf), USER_CONF);
    await setupWrites(plan(project));
    const path = join(project, AIDER_FILES.conf);
    fs.writeFileSync(path, fs.readFileSync(path, 'utf8').replace(/^timeout: 600$/m, 'timeout: 1200'));
    const p = await planUninstall({ env, platform: 'linux' });
    const item = p.items.find((i) => i.kind === 'aider-file' && i.path === path);
    expect(item && item.kind === 'aider-file' && item.kept).toEqual(['timeout: 1200']);
    const { io } = out();
    await runUninstall(['--yes'], { ...io, env, platform: 'linux', interactive: false });
    const left = fs.readFileSync(path, 'utf8');
    expect(left).toContain('timeout: 1200');
    expect(left).toMatch(/^dark-mode: true +# easier on the eyes$/m);
    expect(left).toContain('# my own aider settings');
    expect(left).not.toContain('aider-mlx');
    expect(left).toContain('# lint before commit');
    expect(left).not.toMatch(/^(model|editor-model|openai-api-base|architect):/m);
  });

  it('a timeout setup derived from a bench result is recognised as ours and goes', async () => {
    // The architect prefills at 40 tok/s on this Mac: 2 × 32768 / 40 → 1639 s written.
    await saveBench([{ model: 'mlx-community/QwQ-32B-4bit', machine: machineOf('127.0.0.1'), via: 'direct', host: '127.0.0.1', port: 8081, roles: ['architect'], context: 32768, at: '2026-12-01T10:00:00.000Z', promptWords: 2000, coldTtftMs: 1, prefillTokPerSec: 40, turns: [] }], env);
    fs.writeFileSync(join(project, AIDER_FILES.conf), USER_CONF);
    await setupWrites(plan(project));
    const path = join(project, AIDER_FILES.conf);
    expect(fs.readFileSync(path, 'utf8')).toMatch(/^timeout: 1639$/m);
    const p = await planUninstall({ env, platform: 'linux' });
    const item = p.items.find((i) => i.kind === 'aider-file' && i.path === path);
    expect(item && item.kind === 'aider-file' && item.kept).toEqual([]);
    const { io } = out();
    await runUninstall(['--yes'], { ...io, env, platform: 'linux', interactive: false });
    expect(fs.readFileSync(path, 'utf8')).not.toMatch(/^timeout:/m);
  });

  it('without a terminal and without --yes removes nothing and names the flag', async () => {
    await setupWrites(plan(project));
    const before = files(home).sort();
    const { io } = out();
    await expect(runUninstall([], { ...io, env, platform: 'linux', interactive: false })).rejects.toThrow(UsageError);
    await expect(runUninstall([], { ...io, env, platform: 'linux', interactive: false })).rejects.toThrow(/terminal/);
    expect(files(home).sort()).toEqual(before);
  });

  it('asks, and a "no" removes nothing', async () => {
    await setupWrites(plan(project));
    const before = files(home).sort();
    const asker = scriptedAsker([false]);
    const { io } = out();
    expect(await runUninstall([], { ...io, env, platform: 'linux', interactive: true, asker })).toBe(130);
    expect(asker.asked).toEqual(['Remove all of this?']);
    expect(files(home).sort()).toEqual(before);
  });

  it('--dry-run shows the list and changes nothing', async () => {
    await setupWrites(plan(project));
    const before = files(home).sort();
    const { o, io } = out();
    expect(await runUninstall(['--dry-run'], { ...io, env, platform: 'linux', interactive: false })).toBe(0);
    expect(o.stdout).toContain('.aider.model.metadata.json: delete');
    expect(o.stdout).toContain('.config/aider-mlx');
    expect(files(home).sort()).toEqual(before);
  });

  it('runs the uninstall command of tools it installed with uv or pipx', async () => {
    const loc = ownedLocations(env, 'linux');
    fs.mkdirSync(loc.data, { recursive: true });
    fs.writeFileSync(
      loc.installed,
      JSON.stringify([
        { package: 'litellm', requirement: 'litellm[proxy]==1.108.7', method: 'uv', manager: '/opt/uv', installedAt: '2026-11-25T00:00:00Z' },
        { package: 'aider-chat', requirement: 'aider-chat==0.86.2', method: 'pipx', installedAt: '2026-11-25T00:00:00Z' },
        { package: 'mlx-lm', requirement: 'mlx-lm[cpu]==0.32.2', method: 'venv', venv: join(loc.venvs, 'mlx-lm'), installedAt: '2026-11-25T00:00:00Z' },
      ]),
    );
    const calls: string[][] = [];
    const { io } = out();
    await runUninstall(['--yes'], {
      ...io,
      env,
      platform: 'linux',
      interactive: false,
      exec: async (cmd, args) => {
        calls.push([cmd, ...args]);
        return { code: 0, stdout: '', stderr: '' };
      },
    });
    expect(calls).toEqual([
      ['/opt/uv', 'tool', 'uninstall', 'litellm'],
      ['pipx', 'uninstall', 'aider-chat'],
    ]);
    expect(fs.existsSync(loc.data)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Files people write by hand: a LiteLLM config of their own, Aider's sample config with their keys.

const fixture = (name: string) => fs.readFileSync(join(import.meta.dirname, '../../test/fixtures/real-world', name), 'utf8');

const OWN_MASTER_KEY = 'sk-my-own-litellm-master-key-0123456789';
const USER_LITELLM = `# My LiteLLM proxy, shared with the team's scripts.
model_list:
  # cloud model for long chats
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY

general_settings:
  master_key: ${OWN_MASTER_KEY}   # rotated monthly
  database_url: postgresql://llm:s3cret-db-pass@localhost:5432/litellm
litellm_settings:
  callbacks: ["langfuse"]   # tracing
`;

const USER_OPENAI = 'sk-proj-REALUSERKEY-abcdefghijklmnop1234';
const USER_ANTHROPIC = 'sk-ant-REALANTHROPIC-xyz987654321';
/** Aider's own sample config, with the user's keys filled in where the sample shows them. */
const sampleConf = () =>
  fixture('sample.aider.conf.yml')
    .replace(/^#openai-api-key: xxx$/m, `#openai-api-key: xxx\nopenai-api-key: ${USER_OPENAI}`)
    .replace(/^#anthropic-api-key: xxx$/m, `#anthropic-api-key: xxx\nanthropic-api-key: ${USER_ANTHROPIC}`)
    .replace(/^#dark-mode: false$/m, '#dark-mode: false\ndark-mode: true');

/** path → bytes of every file under dir. */
const snapshot = (dir: string) => new Map(files(dir).map((f) => [f, fs.readFileSync(f).toString('base64')]));

const io = (o: ReturnType<typeof out>, over: Partial<UninstallIo> = {}): UninstallIo => ({ ...o.io, env, platform: 'linux', interactive: false, ...over });

describe("uninstall keeps the user's LiteLLM config (H1)", () => {
  it('a litellm.yaml the user had before setup comes back byte for byte; only our folder contents go', async () => {
    const litellm = configPaths(env).litellm;
    fs.mkdirSync(configPaths(env).dir, { recursive: true });
    fs.writeFileSync(litellm, USER_LITELLM, { mode: 0o600 });
    await setupWrites(plan(project));
    const merged = fs.readFileSync(litellm, 'utf8');
    expect(merged).toContain('mlx-qwen2.5-coder-14b-instruct-4bit'); // setup did add ours
    expect(merged).toContain(OWN_MASTER_KEY); // and reused the user's key

    const o = out();
    expect(await runUninstall(['--yes'], io(o)), o.o.stdout + o.o.stderr).toBe(0);
    expect(fs.readFileSync(litellm, 'utf8')).toBe(USER_LITELLM);
    // Only litellm.yaml is left in the folder: plan and backups are gone.
    expect(fs.readdirSync(configPaths(env).dir)).toEqual(['litellm.yaml']);
    expect(o.o.stdout).toContain('litellm.yaml stays');
    // The user's secrets were never printed.
    expect(o.o.stdout + o.o.stderr).not.toContain(OWN_MASTER_KEY);
    expect(o.o.stdout + o.o.stderr).not.toContain('s3cret-db-pass');
  });

  it('a master_key of the user\'s that setup replaced (an os.environ/ reference) is put back', async () => {
    const litellm = configPaths(env).litellm;
    const own = USER_LITELLM.replace(`master_key: ${OWN_MASTER_KEY}`, 'master_key: os.environ/LITELLM_MASTER_KEY');
    fs.mkdirSync(configPaths(env).dir, { recursive: true });
    fs.writeFileSync(litellm, own, { mode: 0o600 });
    await setupWrites(plan(project));
    expect(fs.readFileSync(litellm, 'utf8')).not.toContain('os.environ/LITELLM_MASTER_KEY'); // setup put a generated key there
    const o = out();
    expect(await runUninstall(['--yes'], io(o)), o.o.stdout + o.o.stderr).toBe(0);
    expect(fs.readFileSync(litellm, 'utf8')).toBe(own);
  });

  it('a model and alerting the user added after setup stay; our models, settings and key go', async () => {
    const litellm = configPaths(env).litellm;
    await setupWrites(plan(project));
    const ourKey = (await planUninstall({ env, platform: 'linux' })).secrets.find((s) => s.startsWith('sk-aider-mlx-'))!;
    expect(fs.readFileSync(litellm, 'utf8')).toContain(ourKey);
    // As the file's header invites: an own model under model_list, a setting under general_settings.
    const edited = fs
      .readFileSync(litellm, 'utf8')
      .replace(/^model_list:\n/m, 'model_list:\n  # my cloud model\n  - model_name: my-gpt4o\n    litellm_params:\n      model: openai/gpt-4o\n')
      .replace(/^general_settings:\n/m, 'general_settings:\n  alerting: [slack]\n');
    fs.writeFileSync(litellm, edited);
    await setupWrites(plan(project)); // a later setup keeps them
    expect(fs.readFileSync(litellm, 'utf8')).toContain('my-gpt4o');

    const o = out();
    expect(await runUninstall(['--yes'], io(o)), o.o.stdout + o.o.stderr).toBe(0);
    const left = fs.readFileSync(litellm, 'utf8');
    expect(parseYaml(left)).toEqual({
      model_list: [{ model_name: 'my-gpt4o', litellm_params: { model: 'openai/gpt-4o' } }],
      general_settings: { alerting: ['slack'] },
    });
    expect(left).toContain('# my cloud model');
    expect(left).not.toContain(ourKey);
    expect(left).not.toContain('aider-mlx');
    expect(fs.readdirSync(configPaths(env).dir)).toEqual(['litellm.yaml']);
  });

  it("Aider's sample config with the user's own keys comes back byte for byte (their openai-api-key too)", async () => {
    const confPath = join(project, AIDER_FILES.conf);
    const conf = sampleConf();
    fs.writeFileSync(confPath, conf, { mode: 0o600 });
    await setupWrites(plan(project));
    const during = fs.readFileSync(confPath, 'utf8');
    // Their line stays: the proxy's key is in the env file, which Aider reads last (L11 asks first).
    expect(during).toContain(USER_OPENAI);
    expect(during).toMatch(/^env-file: /m);
    expect(during).toContain(USER_ANTHROPIC);

    const o = out();
    expect(await runUninstall(['--yes'], io(o)), o.o.stdout + o.o.stderr).toBe(0);
    expect(fs.readFileSync(confPath, 'utf8')).toBe(conf);
    expect(o.o.stdout + o.o.stderr).not.toContain(USER_OPENAI);
  });

  it('--dry-run shows the changes as a diff with every secret redacted, and writes nothing', async () => {
    fs.writeFileSync(join(project, AIDER_FILES.conf), sampleConf(), { mode: 0o600 });
    fs.mkdirSync(configPaths(env).dir, { recursive: true });
    fs.writeFileSync(configPaths(env).litellm, USER_LITELLM, { mode: 0o600 });
    await setupWrites(plan(project));
    const before = snapshot(home);
    const secrets = [USER_OPENAI, USER_ANTHROPIC, OWN_MASTER_KEY, 's3cret-db-pass'];
    for (const args of [['--dry-run'], ['--dry-run', '--json']]) {
      const o = out();
      expect(await runUninstall(args, io(o))).toBe(0);
      const raw = o.o.stdout + o.o.stderr;
      for (const s of secrets) expect(raw, args.join(' ')).not.toContain(s);
      const shown = args.includes('--json') ? (JSON.parse(o.o.stdout) as { items: Array<{ diff?: string }> }).items.map((i) => i.diff ?? '').join('') : raw;
      expect(shown).toContain('<redacted>');
      // The diff: our keys out (the env-file line too: their openai-api-key is in effect again).
      expect(shown).toContain(`--- ~/proj/${AIDER_FILES.conf}`);
      expect(shown).toMatch(/\n-model: /);
      expect(shown).toMatch(/\n-env-file: /);
      expect(shown).toContain('--- ~/.config/aider-mlx/litellm.yaml');
      expect(shown).toMatch(/-  - model_name: mlx-qwen2.5-coder-14b-instruct-4bit/);
    }
    expect(snapshot(home)).toEqual(before);
  });
});

describe('uninstall is all or nothing, and keeps the recovery data until the end (H2)', () => {
  /**
   * A read-only project folder (chmod 555) gives EACCES only to a non-root user, and these tests
   * run as root; so the failure is injected through the safe writer's `rename` hook: every rename
   * into the project folder fails with the EACCES a read-only folder gives.
   */
  const readOnly = (dir: string): RenameFn => async (from, to) => {
    if (to.startsWith(dir + '/')) throw Object.assign(new Error(`EACCES: permission denied, rename '${from}' -> '${to}'`), { code: 'EACCES', path: to });
    await fs.promises.rename(from, to);
  };

  it('a project folder it cannot write stops it before anything goes (exit 2), and a rerun finishes', async () => {
    const confPath = join(project, AIDER_FILES.conf);
    const conf = sampleConf();
    fs.writeFileSync(confPath, conf, { mode: 0o600 });
    fs.mkdirSync(configPaths(env).dir, { recursive: true });
    fs.writeFileSync(configPaths(env).litellm, USER_LITELLM, { mode: 0o600 });
    await setupWrites(plan(project));
    const before = snapshot(home);

    const o = out();
    const err = await runUninstall(['--yes'], io(o, { rename: readOnly(project) })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).exitCode).toBe(2);
    expect((err as AppError).message).toContain('EACCES');
    expect((err as AppError).tryThis).toMatch(/Nothing was changed or removed.*run `aider-mlx uninstall` again/);
    // Not one file changed or went: plan, litellm.yaml (ours rolled back), backups, Aider files.
    expect(snapshot(home)).toEqual(before);

    const again = out();
    expect(await runUninstall(['--yes'], io(again)), again.o.stdout + again.o.stderr).toBe(0);
    expect(fs.readFileSync(confPath, 'utf8')).toBe(conf);
    expect(fs.existsSync(join(project, AIDER_FILES.settings))).toBe(false);
    expect(fs.readFileSync(configPaths(env).litellm, 'utf8')).toBe(USER_LITELLM);
    expect(fs.existsSync(configPaths(env).backups)).toBe(false);
  });

  it('a later step that fails stops there (exit 2), keeps the plan and the backups, and a rerun finishes', async () => {
    fs.writeFileSync(join(project, AIDER_FILES.conf), USER_CONF);
    await setupWrites(plan(project));
    const loc = ownedLocations(env, 'linux');
    fs.mkdirSync(loc.data, { recursive: true });
    fs.writeFileSync(
      loc.installed,
      JSON.stringify([
        { package: 'litellm', requirement: 'litellm[proxy]==1.108.7', method: 'uv', manager: '/opt/uv', installedAt: '2026-11-25T00:00:00Z' },
        { package: 'aider-chat', requirement: 'aider-chat==0.86.2', method: 'pipx', installedAt: '2026-11-25T00:00:00Z' },
      ]),
    );
    const calls: string[] = [];
    let pipxWorks = false;
    const exec: UninstallIo['exec'] = async (cmd) => {
      calls.push(cmd);
      return cmd === 'pipx' && !pipxWorks ? { code: 1, stdout: '', stderr: 'pipx: cannot remove the venv' } : { code: 0, stdout: '', stderr: '' };
    };
    const o = out();
    expect(await runUninstall(['--yes'], io(o, { exec }))).toBe(2);
    expect(o.o.stdout).toContain('✗ aider-chat (pipx): pipx: cannot remove the venv');
    expect(o.o.stdout).toMatch(/Still in place: .*plan\.yaml/);
    expect(o.o.stdout).toContain('run `aider-mlx uninstall` again');
    expect(fs.existsSync(configPaths(env).plan)).toBe(true);
    expect(fs.readdirSync(configPaths(env).backups).length).toBeGreaterThan(0);
    expect(fs.readFileSync(join(project, AIDER_FILES.conf), 'utf8')).toBe(USER_CONF); // that part was done, whole

    pipxWorks = true;
    calls.length = 0;
    const again = out();
    expect(await runUninstall(['--yes'], io(again, { exec })), again.o.stdout).toBe(0);
    expect(calls).toEqual(['pipx']); // uv's uninstall is not run twice
    expect(fs.existsSync(configPaths(env).dir)).toBe(false);
    expect(fs.existsSync(loc.data)).toBe(false);
    expect(fs.readFileSync(join(project, AIDER_FILES.conf), 'utf8')).toBe(USER_CONF);
  });

  it('--keep-backups keeps the backup sets and says where', async () => {
    fs.writeFileSync(join(project, AIDER_FILES.conf), USER_CONF);
    await setupWrites(plan(project));
    const o = out();
    expect(await runUninstall(['--yes', '--keep-backups'], io(o))).toBe(0);
    expect(fs.readdirSync(configPaths(env).backups).filter((n) => !n.startsWith('.')).length).toBe(2); // setup's and uninstall's
    expect(fs.existsSync(configPaths(env).plan)).toBe(false);
    expect(o.o.stdout).toContain('The backup sets stay in ~/.config/aider-mlx/backups');
  });
});

describe('a plan that cannot be read is no licence to delete (H2)', () => {
  const cases: Array<[string, (text: string) => string]> = [
    ['truncated', (t) => t.slice(0, t.indexOf('deployments') + 20)],
    ['an alias bomb', () => `a: &a ["x","x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`],
  ];
  for (const [name, damage] of cases) {
    it(`${name}: refused with exit 2 naming the file, nothing removed`, async () => {
      fs.writeFileSync(join(project, AIDER_FILES.conf), USER_CONF);
      await setupWrites(plan(project));
      const planPath = configPaths(env).plan;
      fs.writeFileSync(planPath, damage(fs.readFileSync(planPath, 'utf8')));
      const before = snapshot(home);
      const o = out();
      const err = await runUninstall(['--yes'], io(o)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UsageError);
      expect((err as AppError).exitCode).toBe(2);
      expect((err as AppError).message).toContain('~/.config/aider-mlx/plan.yaml');
      expect((err as AppError).message).toContain('removed nothing');
      expect((err as AppError).tryThis).toContain('aider-mlx uninstall');
      expect(snapshot(home)).toEqual(before);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Nothing lost without the backups: what setup added is on record; a user's key never goes.

const HAND_LITELLM = `# my proxy
model_list:
  - model_name: my-claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet
      api_key: os.environ/ANTHROPIC_API_KEY
litellm_settings:
  drop_params: true  # mine
general_settings:
  master_key: ${OWN_MASTER_KEY}
`;



describe('uninstall knows what it added without the backups (U1)', () => {
  const startHand = () => {
    fs.mkdirSync(configPaths(env).dir, { recursive: true });
    fs.writeFileSync(configPaths(env).litellm, HAND_LITELLM, { mode: 0o600 });
  };

  it('backups deleted: the dry run lists only our entries, and --yes gives the hand-written file back', async () => {
    startHand();
    await setupWrites(plan(project));
    fs.rmSync(configPaths(env).backups, { recursive: true, force: true });
    const dry = out();
    expect(await runUninstall(['--dry-run'], io(dry))).toBe(0);
    const p = await planUninstall({ env, platform: 'linux' });
    const item = p.items.find((i) => i.kind === 'litellm-file');
    expect(item && item.kind === 'litellm-file' && item.removed).toContain('model_list: mlx-qwen2.5-coder-14b-instruct-4bit');
    expect(item && item.kind === 'litellm-file' && item.removed).not.toContain('litellm_settings.drop_params');
    expect(item && item.kind === 'litellm-file' && item.removed).not.toContain('general_settings.master_key');
    expect(dry.o.stdout).not.toMatch(/^-\s*master_key/m);
    expect(dry.o.stdout).not.toMatch(/^-\s*drop_params: true  # mine/m);
    const o = out();
    expect(await runUninstall(['--yes'], io(o)), o.o.stdout + o.o.stderr).toBe(0);
    expect(fs.readFileSync(configPaths(env).litellm, 'utf8')).toBe(HAND_LITELLM);
    expect(o.o.stdout + o.o.stderr).not.toContain(OWN_MASTER_KEY);
  });

  it('backups deleted: the user\'s .aider.conf.yml with a comment under its last key comes back byte for byte', async () => {
    const conf = join(project, '.aider.conf.yml');
    const mine = 'dark-mode: true  # mine\npretty: true\n# keep this comment\n';
    fs.mkdirSync(project, { recursive: true });
    fs.writeFileSync(conf, mine);
    await setupWrites(plan(project));
    expect(fs.readFileSync(conf, 'utf8').startsWith(mine)).toBe(true);
    fs.rmSync(configPaths(env).backups, { recursive: true, force: true });
    const o = out();
    expect(await runUninstall(['--yes'], io(o)), o.o.stdout + o.o.stderr).toBe(0);
    expect(fs.readFileSync(conf, 'utf8')).toBe(mine);
  });

  it('a copied HOME (the backups name the old one): the user\'s keys stay', async () => {
    startHand();
    await setupWrites(plan(project));
    const copy = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-uninstall-copy-'));
    try {
      fs.cpSync(home, copy, { recursive: true });
      const o = out();
      expect(await runUninstall(['--yes'], { ...io(o), env: { HOME: copy, PATH: process.env.PATH } }), o.o.stdout + o.o.stderr).toBe(0);
      const left = fs.readFileSync(configPaths({ HOME: copy }).litellm, 'utf8');
      expect(left).toBe(HAND_LITELLM);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });

  it('neither the record nor the backups: it keeps every entry and says so', async () => {
    startHand();
    await setupWrites(plan(project));
    fs.rmSync(configPaths(env).backups, { recursive: true, force: true });
    fs.rmSync(configPaths(env).added, { force: true });
    const during = fs.readFileSync(configPaths(env).litellm, 'utf8');
    const o = out();
    expect(await runUninstall(['--yes'], io(o)), o.o.stdout + o.o.stderr).toBe(0);
    expect(fs.readFileSync(configPaths(env).litellm, 'utf8')).toBe(during);
    expect(o.o.stderr).toMatch(/litellm\.yaml is left as it is: aider-mlx cannot tell/);
  });

  it('the record is written with the setup, mode 0600, and a second setup keeps what the first added', async () => {
    startHand();
    await setupWrites(plan(project));
    await setupWrites(plan(project, { requestTimeout: 900 }));
    expect(fs.statSync(configPaths(env).added).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(configPaths(env).added, 'utf8')).not.toContain(OWN_MASTER_KEY);
    fs.rmSync(configPaths(env).backups, { recursive: true, force: true });
    const o = out();
    expect(await runUninstall(['--yes'], io(o)), o.o.stdout + o.o.stderr).toBe(0);
    expect(fs.readFileSync(configPaths(env).litellm, 'utf8')).toBe(HAND_LITELLM);
  });
});

describe("the project's .aider.conf.yml comes back as the user had it (U2)", () => {
  for (const modes of [['proxy'], ['direct'], ['direct', 'proxy'], ['proxy', 'direct']] as const) {
    for (const backups of [true, false]) {
      it(`setup in ${modes.join(' then ')} mode, backups ${backups ? 'kept' : 'deleted'}: as they had it, mode 0644`, async () => {
        const path = join(project, AIDER_FILES.conf);
        fs.writeFileSync(path, USER_CONF, { mode: 0o644 });
        fs.chmodSync(path, 0o644);
        for (const mode of modes) await setupWrites(plan(project, { mode }));
        expect(fs.statSync(path).mode & 0o777).toBe(0o600);
        if (!backups) fs.rmSync(configPaths(env).backups, { recursive: true, force: true });
        const o = out();
        expect(await runUninstall(['--yes'], io(o)), o.o.stdout + o.o.stderr).toBe(0);
        expect(fs.readFileSync(path, 'utf8')).toBe(USER_CONF);
        expect(fs.statSync(path).mode & 0o777).toBe(0o644);
      });
    }
  }
});

describe('a file restore gave back is the user\'s again (U3)', () => {
  it('no "check it by hand" note for a ~/.aider.conf.yml equal to its pre-setup backup', async () => {
    const globalConf = join(home, AIDER_FILES.conf);
    fs.writeFileSync(globalConf, USER_CONF, { mode: 0o644 });
    await setupWrites(plan(home, { aider: { scope: 'global', dir: home } }));
    expect(fs.readFileSync(globalConf, 'utf8')).not.toBe(USER_CONF);
    const { restoreBackupSet } = await import('../lib/fs.js');
    const [set] = fs.readdirSync(configPaths(env).backups);
    await restoreBackupSet(join(configPaths(env).backups, set!), { backupRoot: configPaths(env).backups });
    expect(fs.readFileSync(globalConf, 'utf8')).toBe(USER_CONF);
    await setupWrites(plan(project));
    const p = await planUninstall({ env, platform: 'linux' });
    expect(p.notes.join('\n')).not.toContain('check it by hand');
    const o = out();
    expect(await runUninstall(['--yes'], io(o)), o.o.stdout + o.o.stderr).toBe(0);
    expect(o.o.stdout + o.o.stderr).not.toContain('check it by hand');
    expect(fs.readFileSync(globalConf, 'utf8')).toBe(USER_CONF);
  });

  it('a ~/.aider.conf.yml still holding our entries keeps the note', async () => {
    const globalConf = join(home, AIDER_FILES.conf);
    fs.writeFileSync(globalConf, USER_CONF, { mode: 0o644 });
    await setupWrites(plan(home, { aider: { scope: 'global', dir: home } }));
    await setupWrites(plan(project));
    const p = await planUninstall({ env, platform: 'linux' });
    expect(p.notes.join('\n')).toContain('check it by hand');
  });
});

describe('a symbolic link setup --force replaced comes back as that link', () => {
  it("uninstall --yes puts the user's dotfiles link back, its target untouched", async () => {
    const dotfiles = join(home, 'dotfiles');
    fs.mkdirSync(dotfiles);
    const target = join(dotfiles, 'aider.model.settings.yml');
    fs.writeFileSync(target, USER_SETTINGS);
    const link = join(project, AIDER_FILES.settings);
    fs.symlinkSync('../dotfiles/aider.model.settings.yml', link);
    const composed = await composeWrites(plan(project), env);
    await applyWrites(await planWrites(composed.changes, { force: true }), { backupRoot: configPaths(env).backups, dirMode: 0o700 });
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(false);
    const o = out();
    expect(await runUninstall(['--yes'], io(o)), o.o.stdout + o.o.stderr).toBe(0);
    expect(o.o.stderr).toContain('back to your symbolic link to ~/dotfiles/aider.model.settings.yml');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(link)).toBe('../dotfiles/aider.model.settings.yml');
    expect(fs.readFileSync(target, 'utf8')).toBe(USER_SETTINGS);
  });
});
