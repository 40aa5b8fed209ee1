import { join } from 'node:path';
import { spawnService, which } from '../lib/exec.js';
import { packageRoot, type Env } from '../lib/paths.js';
import { familyOf } from '../config/families.js';
import { promptCacheArgs, promptCacheFor, type PromptCacheBound } from '../hub/prompt-cache.js';
import type { ServedModel } from '../config/names.js';
import type { Deployment } from '../config/plan.js';
import { maxOutputTokens } from '../config/render-context.js';
import { bindHost } from '../serve/remote.js';
import { waitForChat, type WaitInfo, type WaitResult } from './probe.js';

/** How to run an mlx_lm.server: the real one, or the built-in stand-in (`--demo`, tests). */
export type ServerKind = 'mlx' | 'stand-in';

export interface LaunchOptions {
  model: string;
  port: number;
  host?: string;
  /** Default answer length when a request sends none (the server's own default is 512). */
  maxTokens?: number;
  /** The bounded prompt cache (hub/prompt-cache.ts): `--prompt-cache-size` / `--prompt-cache-bytes`. */
  promptCache?: PromptCacheBound;
  kind?: ServerKind;
  env?: Env;
  /** Every log line (the real server logs to stderr; both streams are merged). */
  onLine?: (line: string) => void;
  /** Its output goes to this file (and is read back for `onLine`), so it can be handed over. */
  logFile?: string;
}

export interface LaunchedServer {
  pid: number | undefined;
  host: string;
  port: number;
  baseUrl: string;
  command: string[];
  /** The last 200 log lines. */
  log: string[];
  /** Resolves when the process exits, with its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Poll until a real 1-token completion answers (or the process exits, or the timeout). */
  ready(opts: { timeoutMs: number; signal?: AbortSignal; onWait?: (w: WaitInfo) => void }): Promise<WaitResult & { exitedEarly: boolean }>;
  stop(): Promise<void>;
  /**
   * Let it go on running after we exit (another process takes it over): the pid of its process
   * group (undefined: it has exited). Absent when it cannot outlive us (its output is a pipe to us,
   * or it is no process of its own).
   */
  release?(): number | undefined;
}

/** The argument array for mlx_lm.server (never a shell string). */
export function serverArgs(o: Pick<LaunchOptions, 'model' | 'port' | 'host' | 'maxTokens' | 'promptCache'>): string[] {
  const args = ['--model', o.model, '--host', o.host ?? '127.0.0.1', '--port', String(o.port)];
  if (o.maxTokens) args.push('--max-tokens', String(o.maxTokens));
  args.push(...promptCacheArgs(o.promptCache));
  // Reasoning models: keep <think> blocks; Aider's reasoning_tag strips them.
  if (familyOf(o.model).reasoning) args.push('--chat-template-args', '{"enable_thinking":true}');
  return args;
}

/** What serve starts for a deployment on this machine: the printed commands are built from it too. */
export function serverLaunchFor(m: ServedModel, d: Deployment, env: Env): Pick<LaunchOptions, 'model' | 'port' | 'host' | 'maxTokens' | 'promptCache'> {
  return { model: m.model, port: d.port, host: bindHost(d.host), maxTokens: maxOutputTokens(m), promptCache: promptCacheFor(m, env) };
}

/** An argument array as words to paste into a shell (quoted where a shell would split or expand). */
export function shellWords(args: readonly string[]): string {
  return args.map((a) => (/[^\w@%+=:,./-]/.test(a) ? `'${a.replace(/'/g, "'\\''")}'` : a)).join(' ');
}

/** `mlx_lm.server …`: the command line serve runs for this deployment. */
export function serverCommandLine(m: ServedModel, d: Deployment, env: Env): string {
  return `mlx_lm.server ${shellWords(serverArgs(serverLaunchFor(m, d, env)))}`;
}

/** [command, ...prefix] that starts a server of this kind, or undefined when it is not installed. */
export function serverCommand(kind: ServerKind, env: Env = process.env): string[] | undefined {
  if (kind === 'stand-in') {
    return [process.execPath, join(packageRoot(), 'bin', 'aider-mlx.js'), 'fake-mlx-server'];
  }
  const bin = which('mlx_lm.server', env);
  return bin ? [bin] : undefined;
}

export function launchMlxServer(o: LaunchOptions): LaunchedServer {
  const kind = o.kind ?? 'mlx';
  const env = o.env ?? process.env;
  const cmd = serverCommand(kind, env);
  if (!cmd) throw new Error('mlx_lm.server is not installed (not found on PATH)');
  const args = [...cmd.slice(1), ...serverArgs(o)];
  const log: string[] = [];
  const { child, stop, release } = spawnService(cmd[0]!, args, {
    env,
    ...(o.logFile ? { logFile: o.logFile } : {}),
    onLine: (l) => {
      log.push(l);
      if (log.length > 200) log.shift();
      o.onLine?.(l);
    },
  });
  const host = o.host ?? '127.0.0.1';
  const baseUrl = `http://${host}:${o.port}/v1`;
  let done = false;
  const exited = child.then((r) => {
    done = true;
    return r.exitCode ?? null;
  });
  return {
    pid: child.pid,
    host,
    port: o.port,
    baseUrl,
    command: [cmd[0]!, ...args],
    log,
    exited,
    async ready({ timeoutMs, signal, onWait }) {
      const died = new AbortController();
      void exited.then(() => died.abort());
      const r = await waitForChat(baseUrl, 'default_model', {
        timeoutMs,
        intervalMs: 1000,
        signal: signal ? AbortSignal.any([signal, died.signal]) : died.signal,
        onWait,
      });
      return { ...r, exitedEarly: done };
    },
    stop,
    ...(o.logFile
      ? {
          release() {
            if (done || child.pid === undefined) return undefined;
            release();
            return child.pid;
          },
        }
      : {}),
  };
}
