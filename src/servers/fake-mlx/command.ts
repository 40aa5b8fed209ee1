/** The hidden `aider-mlx fake-mlx-server` command: the stand-in as a process, with the real server's argv and log. */
import { parseArgs } from 'node:util';
import { UsageError } from '../../errors.js';
import { hubOffline } from '../../hub/env.js';
import { asctime } from './python.js';
import { startFakeMlxServer } from './server.js';
import type { FakeMlxServer } from './state.js';

/** Flags of the real `mlx_lm.server` we accept and ignore, so a launcher can pass the same argv. */
export const IGNORED_VALUE_FLAGS = [
  'adapter-path',
  'allowed-origins',
  'draft-model',
  'num-draft-tokens',
  'log-level',
  'chat-template',
  'temp',
  'top-p',
  'top-k',
  'min-p',
  'chat-template-args',
  'decode-concurrency',
  'prompt-concurrency',
  'prefill-step-size',
  'prompt-cache-bytes',
] as const;
export const IGNORED_BOOL_FLAGS = ['trust-remote-code', 'use-default-chat-template', 'pipeline'] as const;

/**
 * `aider-mlx fake-mlx-server --model X [--port N] [--host H] [--max-tokens N] [--version V]`
 * (+ `--reasoning`, `--no-chat-template`, `--delay-ms N`, `--loading-ms N`, `--prefill-tok-per-sec N`,
 * `--prompt-cache-size N`). Logs to stderr like
 * the real server, runs until SIGINT/SIGTERM. Reads HF_HUB_OFFLINE like the real server's huggingface_hub.
 */
export async function runFakeServerCommand(
  args: string[],
  io: { stdout?: (s: string) => void; stderr?: (s: string) => void; signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {},
): Promise<number> {
  const err = io.stderr ?? ((s: string) => void process.stderr.write(s));
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    model: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    'max-tokens': { type: 'string' },
    version: { type: 'string' },
    'delay-ms': { type: 'string' },
    'prefill-tok-per-sec': { type: 'string' },
    'prompt-cache-size': { type: 'string' },
    'loading-ms': { type: 'string' },
    reasoning: { type: 'boolean' },
    'no-chat-template': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const f of IGNORED_VALUE_FLAGS) options[f] = { type: 'string' };
  for (const f of IGNORED_BOOL_FLAGS) options[f] = { type: 'boolean' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args, options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new UsageError(`fake-mlx-server: ${(e as Error).message}`, 'Usage: aider-mlx fake-mlx-server --model ID [--port N] [--host H]; `aider-mlx fake-mlx-server --help` lists its options.');
  }
  if (values.help) {
    const { commandHelp } = await import('../../help.js');
    (io.stdout ?? ((s: string) => void process.stdout.write(s)))(commandHelp('fake-mlx-server'));
    return 0;
  }
  const model = values.model as string | undefined;
  if (!model) throw new UsageError('fake-mlx-server needs --model.', 'Usage: aider-mlx fake-mlx-server --model ID [--port N]');
  const int = (name: string, fallback: number | undefined) => {
    const v = values[name] as string | undefined;
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a whole number, got "${v}".`);
    return Number(v);
  };
  const host = (values.host as string | undefined) ?? '127.0.0.1';
  const port = int('port', 8080)!;
  const delayMs = int('delay-ms', undefined);
  const loadingMs = int('loading-ms', undefined);

  let server: FakeMlxServer;
  try {
    server = await startFakeMlxServer({
      host,
      port,
      model,
      version: values.version as string | undefined,
      maxTokens: int('max-tokens', undefined),
      promptCacheSize: int('prompt-cache-size', undefined),
      hubOffline: hubOffline(io.env ?? process.env),
      faults: {
        reasoning: values.reasoning === true ? true : undefined,
        noChatTemplate: values['no-chat-template'] === true,
        delayMs,
        loading: loadingMs,
        prefillTokPerSec: int('prefill-tok-per-sec', undefined),
      },
      log: (line) => err(`${line}\n`),
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') err(`OSError: [Errno ${process.platform === 'darwin' ? 48 : 98}] Address already in use\n`);
    else err(`OSError: ${(e as Error).message}\n`);
    return 1;
  }
  err('mlx_lm/server.py: UserWarning: mlx_lm.server is not recommended for production as it only implements basic security checks.\n');
  err(`${asctime()} - INFO - Starting httpd at ${host} on port ${server.port}...\n`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (io.signal?.aborted) stop();
    else io.signal?.addEventListener('abort', stop, { once: true });
  });
  await server.close();
  return 0;
}
