/**
 * A stand-in mlx_lm.server as its own process, started through a link named mlx_lm.server so its
 * command line reads like the real one (the doctor learns the served model from it: /proc on Linux,
 * lsof + ps elsewhere). The caller kills the child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort } from '../../src/servers/ports.js';

export async function serverProcess(cli: string, dir: string, model: string): Promise<{ port: number; child: ChildProcess }> {
  const link = join(dir, 'mlx_lm.server');
  if (!existsSync(link)) symlinkSync(cli, link);
  const port = await findFreePort('127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
  const child = spawn(process.execPath, [link, 'fake-mlx-server', '--model', model, '--port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('Starting httpd')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the stand-in exited ${code}: ${err}`)));
  });
  return { port, child };
}

/** The built CLI as a user runs it: no terminal (CI=1), no colour; its exit code and both streams. */
export function runCli(cli: string, args: string[], o: { env: Record<string, string>; cwd: string }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: o.cwd, env: { ...o.env, NO_COLOR: '1', CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
