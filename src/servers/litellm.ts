import { mkdir } from 'node:fs/promises';
import { which, run, spawnService } from '../lib/exec.js';
import { isCompromised } from '../lib/compromised.js';
import type { Env } from '../lib/paths.js';

export interface LitellmInstall {
  bin: string;
  version?: string;
  compromised: boolean;
}

/** The `litellm` on PATH and its version (read from `litellm --version`, bounded). */
export async function findLitellm(env: Env, timeoutMs = 60_000): Promise<LitellmInstall | undefined> {
  const bin = which('litellm', env);
  if (!bin) return undefined;
  const r = await run(bin, ['--version'], { env: env as Record<string, string>, timeoutMs }).catch(() => undefined);
  const version = r ? (r.stdout + r.stderr).match(/(\d+\.\d+\.\d+(?:\.post\d+)?)/)?.[1] : undefined;
  return { bin, version, compromised: isCompromised('litellm', version) };
}

export interface RunningProxy {
  host: string;
  port: number;
  root: string;
  log: string[];
  stop(): Promise<void>;
  exited: Promise<unknown>;
}

/** Start `litellm --config F` bound to 127.0.0.1 (LiteLLM's own default is 0.0.0.0). */
export async function startLitellmProxy(opts: {
  bin: string;
  configPath: string;
  port: number;
  env: Env;
  cwd: string;
}): Promise<RunningProxy> {
  await mkdir(opts.cwd, { recursive: true });
  const log: string[] = [];
  const { child, stop } = spawnService(
    opts.bin,
    ['--config', opts.configPath, '--host', '127.0.0.1', '--port', String(opts.port)],
    {
      // No telemetry, no remote price-map fetch (offline Macs would wait on it): this run only
      // proves the config.
      env: { ...opts.env, LITELLM_TELEMETRY: 'False', LITELLM_LOCAL_MODEL_COST_MAP: 'True', DISABLE_ADMIN_UI: 'True' },
      cwd: opts.cwd,
      onLine: (l) => {
        log.push(l);
        if (log.length > 200) log.shift();
      },
    },
  );
  return { host: '127.0.0.1', port: opts.port, root: `http://127.0.0.1:${opts.port}`, log, stop, exited: child };
}
