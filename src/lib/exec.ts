import { execa, type ResultPromise } from 'execa';
import type { Env } from './paths.js';

/** The one place that spawns processes: argument arrays only, never a shell string. */
export async function run(
  cmd: string,
  args: string[],
  opts: { env?: Env; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa(cmd, args, {
    env: opts.env as NodeJS.ProcessEnv | undefined,
    extendEnv: opts.env === undefined,
    cwd: opts.cwd,
    timeout: opts.timeoutMs,
    reject: false,
    stdin: 'ignore',
  });
  return { code: r.exitCode ?? (r.failed ? 1 : 0), stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** Start a long-running child; the caller stops it (the whole process tree dies with SIGTERM then SIGKILL). */
export function spawnService(
  cmd: string,
  args: string[],
  opts: { env?: Env; cwd?: string; onLine?: (line: string) => void },
): { child: ResultPromise; stop: () => Promise<void> } {
  const child = execa(cmd, args, {
    env: opts.env as NodeJS.ProcessEnv | undefined,
    extendEnv: opts.env === undefined,
    cwd: opts.cwd,
    reject: false,
    stdin: 'ignore',
    all: true,
    detached: true,
    buffer: false,
  });
  if (opts.onLine && child.all) {
    let rest = '';
    child.all.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) opts.onLine!(l);
    });
  }
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* already gone */
      }
    };
    killGroup('SIGTERM');
    const timer = setTimeout(() => killGroup('SIGKILL'), 5000);
    await child.catch(() => undefined);
    clearTimeout(timer);
  };
  return { child, stop };
}

export { which } from './which.js';
