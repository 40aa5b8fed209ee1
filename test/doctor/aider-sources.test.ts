/**
 * What Aider will use, read as Aider reads it (aider/main.py, aider/args.py): config files home <
 * git root < cwd; .env files home < cwd < --env-file (default: the git root's .env, so it is loaded
 * last), each overriding the environment; AIDER_* beat the files; the command line beats all.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_SOURCE, parseAiderArgs, readDiskState } from '../../src/doctor/files.js';
import { litellmArgs, mlxServerArgs } from '../../src/doctor/checks/chain.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tree() {
  const home = mkdtempSync(join(tmpdir(), 'aider-mlx-src-'));
  dirs.push(home);
  const repo = join(home, 'repo');
  const sub = join(repo, 'sub');
  mkdirSync(join(repo, '.git'), { recursive: true });
  mkdirSync(sub);
  return { home, repo, sub, env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config') } };
}

describe('parseAiderArgs', () => {
  it('reads --flag value, --flag=value, repeated list flags, --architect, -c; ignores the rest', () => {
    expect(
      parseAiderArgs(['--model', 'openai/a', '--editor-model=openai/b', '--set-env', 'X=1', '--set-env', 'Y=2', '--architect', '--yes-always', '-c', 'my.yml', '--weak-model', 'openai/w', 'file.py']),
    ).toEqual({ model: 'openai/a', 'editor-model': 'openai/b', 'set-env': ['X=1', 'Y=2'], architect: true, config: 'my.yml', 'weak-model': 'openai/w' });
  });
});

describe('readDiskState: where each value comes from', () => {
  it('the command line beats AIDER_* which beat the files; cwd beats git root beats home', async () => {
    const t = tree();
    writeFileSync(join(t.home, '.aider.conf.yml'), 'model: openai/home\nweak-model: openai/home-weak\neditor-model: openai/home-ed\n');
    writeFileSync(join(t.repo, '.aider.conf.yml'), 'model: openai/repo\nweak-model: openai/repo-weak\n');
    writeFileSync(join(t.sub, '.aider.conf.yml'), 'model: openai/sub\n');
    const s = await readDiskState({ ...t.env, AIDER_WEAK_MODEL: 'openai/env-weak' }, t.sub, {}, { aiderArgs: ['--model', 'openai/cli'] });
    expect(s.aider.conf.model).toEqual({ value: 'openai/cli', source: CLI_SOURCE });
    expect(s.aider.conf['weak-model']).toEqual({ value: 'openai/env-weak', source: 'env AIDER_WEAK_MODEL' });
    expect(s.aider.conf['editor-model']).toEqual({ value: 'openai/home-ed', source: join(t.home, '.aider.conf.yml') });
    const s2 = await readDiskState(t.env, t.sub, {});
    expect(s2.aider.conf.model?.source).toBe(join(t.sub, '.aider.conf.yml'));
    expect(s2.aider.conf['weak-model']?.source).toBe(join(t.repo, '.aider.conf.yml'));
  });

  it('the git root .env is loaded after the cwd one (--env-file defaults to it); --env-file moves that last place; .env beats the shell', async () => {
    const t = tree();
    writeFileSync(join(t.home, '.env'), 'OPENAI_API_BASE=http://home/v1\nOPENAI_API_KEY=sk-home\n');
    writeFileSync(join(t.sub, '.env'), 'OPENAI_API_BASE=http://sub/v1\n');
    writeFileSync(join(t.repo, '.env'), 'OPENAI_API_BASE=http://repo/v1\n');
    writeFileSync(join(t.home, 'other.env'), 'OPENAI_API_BASE=http://other/v1\n');
    const s = await readDiskState({ ...t.env, OPENAI_API_BASE: 'http://shell/v1' }, t.sub, {});
    expect(s.env.OPENAI_API_BASE).toEqual({ value: 'http://repo/v1', source: join(t.repo, '.env') });
    expect(s.env.OPENAI_API_KEY?.source).toBe(join(t.home, '.env'));
    const s2 = await readDiskState(t.env, t.sub, {}, { aiderArgs: ['--env-file', join(t.home, 'other.env')] });
    expect(s2.env.OPENAI_API_BASE?.value).toBe('http://other/v1');
    // --openai-api-base on the command line sets OPENAI_API_BASE after every .env file.
    const s3 = await readDiskState(t.env, t.sub, {}, { aiderArgs: ['--openai-api-base', 'http://cli/v1'] });
    expect(s3.env.OPENAI_API_BASE).toEqual({ value: 'http://cli/v1', source: CLI_SOURCE });
  });

  it('--config on the command line: only that file', async () => {
    const t = tree();
    writeFileSync(join(t.sub, '.aider.conf.yml'), 'model: openai/sub\n');
    writeFileSync(join(t.home, 'mine.yml'), 'model: openai/mine\n');
    const s = await readDiskState(t.env, t.sub, {}, { aiderArgs: ['--config', join(t.home, 'mine.yml')] });
    expect(s.aider.conf.model?.value).toBe('openai/mine');
    expect(s.aider.confFiles.map((f) => f.path)).toEqual([join(t.home, 'mine.yml')]);
  });
});

describe('command lines of the local processes', () => {
  it('mlx_lm.server: console script, python -m, mlx_lm server; --model X and --model=X', () => {
    expect(mlxServerArgs(['/venv/bin/python3', '/venv/bin/mlx_lm.server', '--model', 'a/b', '--port', '8080'])).toEqual({ isMlx: true, model: 'a/b' });
    expect(mlxServerArgs(['python', '-m', 'mlx_lm.server', '--model=/models/q'])).toEqual({ isMlx: true, model: '/models/q' });
    expect(mlxServerArgs(['/venv/bin/mlx_lm', 'server', '--model', 'c/d'])).toEqual({ isMlx: true, model: 'c/d' });
    expect(mlxServerArgs(['node', 'server.js', '--model', 'x'])).toEqual({ isMlx: false });
  });
  it('litellm: --config resolved against the process folder', () => {
    expect(litellmArgs(['/u/.local/bin/litellm', '--config', 'litellm.yaml', '--port', '4000'], '/u')).toEqual({ isLitellm: true, config: '/u/litellm.yaml' });
    expect(litellmArgs(['python', '-m', 'litellm', '-c', '/etc/l.yaml'])).toEqual({ isLitellm: true, config: '/etc/l.yaml' });
    expect(litellmArgs(['ollama', 'serve'])).toEqual({ isLitellm: false });
  });
});
