/**
 * The built CLI on a hand-written setup, as a user runs it: `aider-mlx doctor --json -- <aider
 * args>`, against a stand-in mlx_lm.server running as its own process (started through a link
 * named mlx_lm.server, so its command line reads like the real one). The doctor learns the served
 * model from that process's command line (/proc on Linux, lsof + ps elsewhere), not from a test hook.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serverProcess, runCli as runCliAt } from './server-process.js';
import { selfCommand } from '../../src/lib/paths.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = process.env.AIDER_MLX_CLI ?? join(ROOT, 'bin', 'aider-mlx.js');
const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const runCli = (args: string[], o: { env: Record<string, string>; cwd: string }) => runCliAt(CLI, args, o);

async function server(dir: string, model: string) {
  const s = await serverProcess(CLI, dir, model);
  cleanups.push(() => s.child.kill('SIGTERM'));
  return s;
}

function home() {
  const h = mkdtempSync(join(tmpdir(), 'aider-mlx-hand-e2e-'));
  cleanups.push(() => rmSync(h, { recursive: true, force: true }));
  const project = join(h, 'proj');
  mkdirSync(join(project, '.git'), { recursive: true });
  const env = { HOME: h, XDG_CONFIG_HOME: join(h, '.config'), PATH: process.env.PATH ?? '', OPENAI_API_KEY: 'sk-local' };
  return { h, project, env };
}

type J = { exitCode: number; checks: Array<{ id: string; group: string; status: string; title: string; fix: string | null }> };

describe('aider-mlx doctor -- <aider args> (built CLI, a real server process)', () => {
  it('(b) --model openai/editor straight at the server: exit 1, the served model read from its command line, the exact flag to use', async () => {
    const { h, project, env } = home();
    const { port } = await server(h, EDITOR);
    const base = `http://127.0.0.1:${port}/v1`;
    const r = await runCli(['doctor', '--json', '--', 'aider', '--model', 'openai/editor', '--openai-api-base', base], { env, cwd: project });
    expect(r.code, r.stderr).toBe(1);
    const j = JSON.parse(r.stdout) as J;
    expect(j.checks.find((c) => c.id === 'uses.model')?.title).toBe('model: openai/editor (the command line)');
    const c = j.checks.find((x) => x.id === 'chain.model.openai/editor')!;
    expect(c.status).toBe('fail');
    expect(c.title).toContain(`serves ${EDITOR}`);
    expect(c.fix).toBe(`Run aider with --model openai/${EDITOR} instead of --model openai/editor.`);

    const ok = await runCli(['doctor', '--json', '--', '--model', `openai/${EDITOR}`, `--openai-api-base=${base}`], { env, cwd: project });
    const jo = JSON.parse(ok.stdout) as J;
    expect(jo.checks.filter((x) => x.status === 'fail')).toEqual([]);
    expect(jo.checks.find((x) => x.id === `chain.model.openai/${EDITOR}`)?.status).toBe('pass');
    expect(ok.code).toBe(0);
  }, 60_000);

  it('no setup at all: says so first, offers the wizard, exit 1', async () => {
    const { project, env } = home();
    const r = await runCli(['doctor', '--plain'], { env, cwd: project });
    expect(r.code).toBe(1);
    const firstCheck = r.stdout.split('\n').find((l) => /^\s+[✓!✗–] /.test(l));
    expect(firstCheck).toContain('No setup found');
    expect(r.stdout).toContain(selfCommand());
    expect(r.stdout).not.toContain('npx aider-mlx');
    expect(r.stdout).not.toContain('API key');
  }, 60_000);

  it('--litellm-config is a flag of the doctor; what follows -- is never read as one', async () => {
    const { project, env } = home();
    writeFileSync(join(project, 'mine.yaml'), 'model_list: []\n');
    const r = await runCli(['doctor', '--json', '--litellm-config', join(project, 'mine.yaml'), '--', '--json-is-aider-s', '--model', 'openai/x', '--openai-api-base', 'http://127.0.0.1:9/v1'], { env, cwd: project });
    const j = JSON.parse(r.stdout) as J;
    expect(j.checks.find((x) => x.id === 'uses.model')?.title).toContain('openai/x');
    expect(r.code).toBe(1);
  }, 60_000);
});

describe('doctor --fix on a project file that is a link into a dotfiles folder (built CLI)', () => {
  it('the diff and the result say the change lands in the link\'s target; the link stays a link', async () => {
    const { readFileSync, lstatSync, symlinkSync } = await import('node:fs');
    const { h, project, env } = home();
    const { port } = await server(h, EDITOR);
    mkdirSync(join(h, 'dotfiles'));
    const target = join(h, 'dotfiles', 'aider.conf.yml');
    writeFileSync(target, `# my dotfiles\nmodel: openai/${EDITOR}\nopenai-api-base: http://127.0.0.1:${port}/v1/v1   # from a tutorial\n`);
    symlinkSync('../dotfiles/aider.conf.yml', join(project, '.aider.conf.yml'));
    const r = await runCli(['doctor', '--fix', '--yes'], { env, cwd: project });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('(~/proj/.aider.conf.yml is a symbolic link: this changes ~/dotfiles/aider.conf.yml)');
    expect(r.stdout).toContain('Changed ~/proj/.aider.conf.yml (a link: ~/dotfiles/aider.conf.yml changed)');
    expect(lstatSync(join(project, '.aider.conf.yml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe(`# my dotfiles\nmodel: openai/${EDITOR}\nopenai-api-base: http://127.0.0.1:${port}/v1      # from a tutorial\n`);
  });
});
