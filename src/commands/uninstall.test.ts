import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { applyWrites, planWrites } from '../lib/fs.js';
import { configPaths, type Env } from '../lib/paths.js';
import { composeWrites } from '../config/write.js';
import type { Plan } from '../config/plan.js';
import { AIDER_FILES } from '../config/render.js';
import { ownedLocations } from '../service/locations.js';
import { scriptedAsker } from '../tools/ask.js';
import { planUninstall, runUninstall } from './uninstall.js';

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
