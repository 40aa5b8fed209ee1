import { selfCommand } from '../../src/lib/paths.js';
/**
 * `launch` and `stop`, as a user runs them, with no terminal: a stand-in `aider` on PATH records
 * its argv, cwd, environment and what the servers answered when it started; the servers are the
 * plan's, started by a background `serve --stand-in`. `stop` leaves nothing running.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeMlxServer } from '../../src/servers/fake-mlx-server.js';
import { isPortFree } from '../../src/servers/ports.js';
import { cli, flat, sandbox, standInAider, type Sandbox } from './helpers.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const roots: Array<{ s: Sandbox; env: Record<string, string> }> = [];

afterEach(async () => {
  // Whatever a failed test left in the background goes (stop only touches its own pid file).
  for (const { s, env } of roots.splice(0)) await cli(['stop'], { cwd: s.repo, env }).catch(() => undefined);
});

/** A plan written by `setup --yes` against a stand-in that is then closed: nothing runs after. */
async function planWithNothingRunning(s: Sandbox, env: Record<string, string>, out: { stdout?: string } = {}): Promise<number> {
  const server = await startFakeMlxServer({ model: EDITOR });
  try {
    const r = await cli(['setup', '--yes', '--editor', EDITOR, '--editor-port', String(server.port), '--mode', 'direct', '--timeout', '20'], { cwd: s.repo, env });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    out.stdout = r.stdout;
  } finally {
    await server.close();
  }
  expect(await isPortFree('127.0.0.1', server.port)).toBe(true);
  return server.port;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line names this port as a server's (`--port N`). */
function serversOnPort(port: number): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,command='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => new RegExp(`--port ${port}(\\s|$)`).test(l) && /fake-mlx-server|mlx_lm/.test(l));
}

describe('launch', () => {
  it('starts the servers in the background, checks them, runs aider in the project with the files; stop leaves nothing', async () => {
    const s = sandbox();
    const aider = standInAider(s);
    const env = { ...s.env, PATH: aider.path };
    roots.push({ s, env });
    const port = await planWithNothingRunning(s, env);

    // From another folder: aider still starts in the project setup wrote to.
    const r = await cli(['launch', '--stand-in', '--timeout', '60', '--', '--no-auto-commits', 'src/app.ts'], {
      cwd: s.home,
      env: { ...env, STANDIN_PROBE: `http://127.0.0.1:${port}/v1/models` },
      timeoutMs: 90_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Started aider-mlx serve in the background \(pid \d+\)/);
    expect(r.stderr).toContain(`editor + weak: ${EDITOR} on 127.0.0.1:${port} answered`);

    const runs = aider.runs();
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.argv).toEqual(['--no-auto-commits', 'src/app.ts']);
    expect(run.cwd).toBe(s.repo);
    expect(run.files).toEqual(['.aider.conf.yml', '.aider.model.settings.yml', '.aider.model.metadata.json']);
    expect(readFileSync(join(s.repo, '.aider.conf.yml'), 'utf8')).toContain(`http://127.0.0.1:${port}/v1`);
    expect(run.env.HOME).toBe(s.home);
    // The server was answering when aider started, with the plan's model.
    expect(run.answers[0]).toMatchObject({ status: 200 });
    expect(run.answers[0]!.body).toContain(EDITOR);

    // Still up after aider exited: the background serve keeps it.
    expect(await isPortFree('127.0.0.1', port)).toBe(false);
    const data = join(s.home, '.local/share/aider-mlx');
    const record = JSON.parse(readFileSync(join(data, 'serve.pid'), 'utf8')) as { pid: number; log: string };
    expect(pidAlive(record.pid)).toBe(true);
    expect(statSync(join(data, 'serve.pid')).mode & 0o777).toBe(0o600);
    expect(statSync(record.log).mode & 0o777).toBe(0o600);
    expect(statSync(data).mode & 0o777).toBe(0o700);

    const st = await cli(['status', '--timeout', '5'], { cwd: s.repo, env });
    expect(st.code, st.stdout + st.stderr).toBe(0);
    expect(flat(st.stdout)).toMatch(new RegExp(`background: aider-mlx serve, pid ${record.pid}, since \\S+, log ~/.local/share/aider-mlx/serve.log`));

    // A second launch starts nothing new: everything answers already.
    const again = await cli(['launch', '--stand-in'], { cwd: s.repo, env, timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/Started aider-mlx serve/);
    expect(JSON.parse(readFileSync(join(data, 'serve.pid'), 'utf8')).pid).toBe(record.pid);

    const stop = await cli(['stop'], { cwd: s.repo, env });
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`Stopped aider-mlx serve (pid ${record.pid}`);
    expect(pidAlive(record.pid)).toBe(false);
    expect(groupAlive(record.pid)).toBe(false);
    expect(serversOnPort(port)).toEqual([]);
    expect(await isPortFree('127.0.0.1', port)).toBe(true);
    expect(existsSync(join(data, 'serve.pid'))).toBe(false);

    const none = await cli(['stop'], { cwd: s.repo, env });
    expect(none.stdout).toContain('Nothing of aider-mlx runs in the background.');
  });

  it('uninstall stops the background serve before it removes its files', async () => {
    const s = sandbox();
    const aider = standInAider(s);
    const env = { ...s.env, PATH: aider.path };
    roots.push({ s, env });
    const port = await planWithNothingRunning(s, env);
    expect((await cli(['launch', '--stand-in', '--timeout', '60'], { cwd: s.repo, env, timeoutMs: 90_000 })).code).toBe(0);
    const { pid } = JSON.parse(readFileSync(join(s.home, '.local/share/aider-mlx/serve.pid'), 'utf8')) as { pid: number };
    expect(pidAlive(pid)).toBe(true);
    const r = await cli(['uninstall', '--yes'], { cwd: s.repo, env });
    expect(r.code, r.stderr).toBe(0);
    expect(pidAlive(pid)).toBe(false);
    expect(groupAlive(pid)).toBe(false);
    expect(await isPortFree('127.0.0.1', port)).toBe(true);
  });

  it('a serve that cannot start its server: exit 1 with the log, aider never runs', async () => {
    const s = sandbox();
    const aider = standInAider(s);
    const env = { ...s.env, PATH: aider.path };
    roots.push({ s, env });
    const port = await planWithNothingRunning(s, env);
    // Another program (not a model server) takes the port before launch: serve refuses it, launch says so.
    const sockets = new Set<net.Socket>();
    const squatter = net.createServer((c) => {
      sockets.add(c);
      c.on('close', () => sockets.delete(c));
      c.on('error', () => undefined);
      c.end('SSH-2.0-OpenSSH_9.6\r\n');
    });
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', r));
    try {
      const r = await cli(['launch', '--stand-in', '--timeout', '30'], { cwd: s.repo, env, timeoutMs: 40_000 });
      expect(r.code, r.stderr).toBe(1);
      expect(flat(r.stderr)).toContain("aider-mlx serve stopped before everything answered");
      expect(flat(r.stderr)).toMatch(/blocked — port \d+ is held by/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(aider.runs()).toEqual([]);
    } finally {
      for (const c of sockets) c.destroy();
      await new Promise((r) => squatter.close(r));
    }
  });

  it('without aider installed: exit 2, one message, nothing started', async () => {
    const s = sandbox();
    roots.push({ s, env: s.env });
    const bare = { ...s.env, PATH: '/usr/bin:/bin' };
    const setup: { stdout?: string } = {};
    const port = await planWithNothingRunning(s, bare, setup);
    // setup --yes (no terminal) says what is missing and the one command.
    expect(flat(setup.stdout ?? "")).toContain(`note: mlx-lm, aider-chat are not installed: install them with \`${selfCommand()} install\`.`);
    const r = await cli(['launch', '--stand-in'], { cwd: s.repo, env: bare });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('aider is not installed');
    expect(r.stderr).toContain(`${selfCommand()} install aider`);
    expect(await isPortFree('127.0.0.1', port)).toBe(true);
    expect(existsSync(join(s.home, '.local/share/aider-mlx/serve.pid'))).toBe(false);
  });
});
