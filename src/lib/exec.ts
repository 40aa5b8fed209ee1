import { execa, type ResultPromise } from 'execa';
import { StringDecoder } from 'node:string_decoder';
import type { Env } from './paths.js';
import { envSecrets, lineRedactor } from './redact.js';

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
    // Whole lines only, each redacted (a key the child prints may come in two chunks).
    const lines = lineRedactor(opts.onLine, envSecrets((opts.env ?? process.env) as Record<string, string | undefined>));
    const utf8 = new StringDecoder('utf8');
    child.all.on('data', (chunk: Buffer) => lines.write(utf8.write(chunk)));
    child.all.on('end', () => {
      lines.write(utf8.end());
      lines.end();
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
