/**
 * The built CLI on a hand-written direct chain: a stand-in mlx_lm.server as its own process (the
 * model read from its real command line), Aider's file written by hand. `setup --adopt --yes`
 * writes only the plan; then `status` shows the server and `reconfigure --yes --dry-run` opens on
 * the adopted plan. Without a chain: exit 2 with the reason.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli as runCliAt } from './server-process.js';
import { flat } from '../e2e/helpers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'aider-mlx.js');
const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const runCli = (args: string[], o: { env: Record<string, string>; cwd: string }) => runCliAt(CLI, args, o);

/** The stand-in on a port the OS picks (port 0), its real command line carrying --model. */
async function serverProcess(model: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'fake-mlx-server', '--model', model, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  cleanups.push(() => child.kill('SIGTERM'));
  const port = await new Promise<number>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /Starting httpd at \S+ on port (\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`the stand-in exited ${code}: ${err}`)));
  });
  return { port, child };
}

describe('aider-mlx setup --adopt (built CLI)', () => {
  it('adopts a hand-written direct chain: only the plan is written; status shows the server; reconfigure opens on it', async () => {
    const h = mkdtempSync(join(tmpdir(), 'aider-mlx-adopt-e2e-'));
    cleanups.push(() => rmSync(h, { recursive: true, force: true }));
    const project = join(h, 'proj');
    mkdirSync(join(project, '.git'), { recursive: true });
    const env = { HOME: h, XDG_CONFIG_HOME: join(h, '.config'), PATH: process.env.PATH ?? '' };
    const { port } = await serverProcess(EDITOR);
    const conf = `# mine, by hand\nmodel: openai/default_model   # the server maps it to its --model\nopenai-api-base: http://127.0.0.1:${port}/v1\nopenai-api-key: sk-local\n`;
    writeFileSync(join(project, '.aider.conf.yml'), conf);

    const none = await runCli(['setup', '--adopt', '--yes'], { env, cwd: h });
    expect(none.code, none.stdout + none.stderr).toBe(2);
    expect(none.stderr).toMatch(/Nothing coherent to adopt: Aider here .* has no model/);
    expect(none.stderr).not.toMatch(/\n\s+at /);

    const r = await runCli(['setup', '--adopt', '--yes'], { env, cwd: project });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(flat(r.stdout)).toContain(`serving ${EDITOR}`);
    // Its next steps name this checkout's bin (a bare `aider-mlx` is on no PATH from a clone).
    expect(flat(r.stdout)).toContain(`Next: \`node ${CLI} status\``);
    expect(r.stdout).not.toMatch(/`aider-mlx /);
    const plan = readFileSync(join(h, '.config', 'aider-mlx', 'plan.yaml'), 'utf8');
    expect(plan).toContain(`model: ${EDITOR}`);
    expect(plan).toContain('adopted:');
    expect(readFileSync(join(project, '.aider.conf.yml'), 'utf8')).toBe(conf);
    expect(existsSync(join(h, '.config', 'aider-mlx', 'litellm.yaml'))).toBe(false);

    const st = await runCli(['status', '--json'], { env, cwd: h });
    expect(st.code, st.stderr).toBe(0);
    const hops = (JSON.parse(st.stdout) as { hops: Array<{ kind: string; model?: string; port: number; up: boolean }> }).hops;
    expect(hops).toEqual([expect.objectContaining({ kind: 'deployment', model: EDITOR, port, up: true })]);

    // reconfigure opens on the adopted plan. Your own values are not replaced behind your back:
    const guarded = await runCli(['reconfigure', '--yes', '--dry-run', '--timeout', '20'], { env, cwd: h });
    expect(guarded.code).toBe(2);
    expect(flat(guarded.stderr)).toContain(`~/proj/.aider.conf.yml already sets model: openai/default_model; setup would replace it with openai/${EDITOR}`);
    // … its dry run (with --force) proposes the same model and port, and writes nothing.
    const rc = await runCli(['reconfigure', '--yes', '--dry-run', '--force', '--json', '--timeout', '20'], { env, cwd: h });
    expect(rc.stdout, rc.stderr).not.toBe('');
    const j = JSON.parse(rc.stdout) as { plan: { mode: string; roles: { editor: { model: string; deployments: Array<{ port: number }> } } }; written: string[] };
    expect(j.plan.mode).toBe('direct');
    expect(j.plan.roles.editor.model).toBe(EDITOR);
    expect(j.plan.roles.editor.deployments[0]!.port).toBe(port);
    expect(j.written).toEqual([]);
    expect(readFileSync(join(project, '.aider.conf.yml'), 'utf8')).toBe(conf);

    // A second adopt refuses: there is a plan now.
    const again = await runCli(['setup', '--adopt', '--yes'], { env, cwd: project });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/There is a plan already/);
  }, 90_000);
});
