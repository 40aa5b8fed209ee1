/**
 * The proxy's master key never lands in a file git would pick up (project scope): Aider reads it
 * from an env file under ~/.config/aider-mlx through `env-file`. An older setup that wrote the
 * key into .aider.conf.yml is moved over on the next run; uninstall removes the env file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startFakeMlxServer, type FakeMlxServer } from '../../src/servers/fake-mlx-server.js';
import { freePorts } from '../../src/wizard/test-helpers.js';
import { cli, sandbox, type Sandbox } from './helpers.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
let editor: FakeMlxServer;
let proxyPort: number;

beforeAll(async () => {
  editor = await startFakeMlxServer({ model: EDITOR });
  [proxyPort] = (await freePorts(1)) as [number];
});
afterAll(async () => {
  await editor.close();
});

const setup = (extra: string[] = []) => ['setup', '--yes', '--mode', 'proxy', '--editor', EDITOR, '--editor-port', String(editor.port), '--proxy-port', String(proxyPort), '--timeout', '10', ...extra];

const masterKey = (s: Sandbox) => parse(readFileSync(join(s.config, 'litellm.yaml'), 'utf8')).general_settings.master_key as string;

/** Every file git would add with `git add .`, and which of them hold `secret`. */
function untracked(s: Sandbox, secret: string): { files: string[]; leaking: string[] } {
  const out = execFileSync('git', ['ls-files', '--others', '--exclude-standard', '-z'], { cwd: s.repo, encoding: 'utf8' });
  const files = out.split('\0').filter(Boolean);
  return { files, leaking: files.filter((f) => readFileSync(join(s.repo, f), 'utf8').includes(secret)) };
}

describe('project scope: the master key stays out of the repository', () => {
  it('setup --yes in a git repository: no file git would pick up holds the key; Aider reads it from ~/.config/aider-mlx/aider.env', async () => {
    const s = sandbox();
    const r = await cli(setup(), { cwd: s.repo, env: s.env });
    expect(r.code, r.stderr).toBe(0);
    const key = masterKey(s);
    expect(key).toMatch(/^sk-aider-mlx-[0-9a-f]{48}$/);
    const { files, leaking } = untracked(s, key);
    expect(files).toContain('.aider.conf.yml');
    expect(leaking).toEqual([]);
    const envFile = join(s.config, 'aider.env');
    expect(parse(readFileSync(join(s.repo, '.aider.conf.yml'), 'utf8'))['env-file']).toBe(envFile);
    expect(readFileSync(envFile, 'utf8')).toContain(`AIDER_OPENAI_API_KEY=${key}\n`);
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    // The user is told where the key went; the key itself is never printed.
    expect(r.stdout).toMatch(/proxy's key goes to ~\/\.config\/aider-mlx\/aider\.env/);
    expect(r.stdout + r.stderr).not.toContain(key);
  });

  it('an older setup that wrote the key into .aider.conf.yml: the next run moves it out, the user\'s lines stay', async () => {
    const s = sandbox();
    expect((await cli(setup(), { cwd: s.repo, env: s.env })).code).toBe(0);
    const key = masterKey(s);
    const confPath = join(s.repo, '.aider.conf.yml');
    // What the previous release wrote, plus the user's own lines; no env file yet.
    const old = readFileSync(confPath, 'utf8')
      .replace(/^# The local proxy's key is read from.*\nenv-file: .*\n/m, `# The local proxy's key (direct mode: a placeholder, the servers have no authentication).\n# This file is written with mode 0600; do not commit it.\nopenai-api-key: ${key}\n`);
    expect(old).toContain(`openai-api-key: ${key}`);
    writeFileSync(confPath, `# my own settings\ndark-mode: true   # I like dark\n${old}`, { mode: 0o600 });
    execFileSync('rm', ['-f', join(s.config, 'aider.env')]);
    expect(untracked(s, key).leaking).toEqual(['.aider.conf.yml']);

    const r = await cli(setup(), { cwd: s.repo, env: s.env });
    expect(r.code, r.stderr).toBe(0);
    expect(untracked(s, key).leaking).toEqual([]);
    const text = readFileSync(confPath, 'utf8');
    expect(text).toContain('# my own settings\n');
    expect(text).toMatch(/^dark-mode: true/m);
    const conf = parse(text);
    expect(conf['openai-api-key']).toBeUndefined();
    expect(conf['env-file']).toBe(join(s.config, 'aider.env'));
    expect(readFileSync(join(s.config, 'aider.env'), 'utf8')).toContain(`AIDER_OPENAI_API_KEY=${key}\n`);
    // The old file, key included, is in the backup set (0600 folder), not in the repository.
    expect(existsSync(join(s.config, 'backups'))).toBe(true);
  });

  it('a key the user set themselves stays; lines the user added to the env file stay', async () => {
    const s = sandbox();
    expect((await cli(setup(), { cwd: s.repo, env: s.env })).code).toBe(0);
    const confPath = join(s.repo, '.aider.conf.yml');
    writeFileSync(confPath, `${readFileSync(confPath, 'utf8')}openai-api-key: sk-my-own-openai-key-0000\n`);
    const envFile = join(s.config, 'aider.env');
    writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}MY_VAR=1\n`, { mode: 0o600 });
    expect((await cli(setup(), { cwd: s.repo, env: s.env })).code).toBe(0);
    expect(parse(readFileSync(confPath, 'utf8'))['openai-api-key']).toBe('sk-my-own-openai-key-0000');
    expect(readFileSync(envFile, 'utf8')).toMatch(/^MY_VAR=1$/m);
    expect(readFileSync(envFile, 'utf8').match(/AIDER_OPENAI_API_KEY=/g)).toHaveLength(1);
  });

  it('the doctor follows env-file: it finds the key Aider sends in the env file', async () => {
    const s = sandbox();
    expect((await cli(setup(), { cwd: s.repo, env: s.env })).code).toBe(0);
    const r = await cli(['doctor', '--json', '--timeout', '3'], { cwd: s.repo, env: s.env });
    const key = JSON.parse(r.stdout).checks.find((c: { id: string }) => c.id === 'aider.key');
    expect(key.status).toBe('pass');
    expect(key.observed).toMatch(/aider\.env/);
    expect(r.stdout).not.toContain(masterKey(s));
  });

  it('uninstall removes the env file and the env-file line', async () => {
    const s = sandbox();
    expect((await cli(setup(), { cwd: s.repo, env: s.env })).code).toBe(0);
    expect(existsSync(join(s.config, 'aider.env'))).toBe(true);
    const r = await cli(['uninstall', '--yes'], { cwd: s.repo, env: s.env });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(s.config, 'aider.env'))).toBe(false);
    const conf = join(s.repo, '.aider.conf.yml');
    if (existsSync(conf)) expect(readFileSync(conf, 'utf8')).not.toMatch(/env-file/);
  });
});
