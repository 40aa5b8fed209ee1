import { isAliasBomb, plainSystemError } from './lib/errno.js';

/** Exit codes, in one place: 0 done, 1 verification failed, 2 usage or bad input, 130 cancelled. */
export const EXIT = { ok: 0, verify: 1, usage: 2, cancelled: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the user can act on: what went wrong, and what to do next. */
export class AppError extends Error {
  constructor(
    message: string,
    readonly tryThis?: string,
    readonly exitCode: ExitCode = EXIT.usage,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export class UsageError extends AppError {
  constructor(message: string, tryThis?: string) {
    super(message, tryThis, EXIT.usage);
    this.name = 'UsageError';
  }
}

export class VerifyError extends AppError {
  constructor(message: string, tryThis?: string) {
    super(message, tryThis, EXIT.verify);
    this.name = 'VerifyError';
  }
}

export class CancelledError extends AppError {
  constructor() {
    super('Cancelled.', undefined, EXIT.cancelled);
    this.name = 'CancelledError';
  }
}

export function formatError(err: unknown): { text: string; code: ExitCode } {
  if (err instanceof AppError) {
    const lines = [`✗ ${err.message}`];
    if (err.tryThis) lines.push(`  → ${err.tryThis}`);
    return { text: lines.join('\n'), code: err.exitCode };
  }
  const plain = plainSystemError(err);
  if (plain) return { text: `✗ ${plain.message}\n  → ${plain.tryThis}`, code: EXIT.usage };
  if (isAliasBomb(err)) {
    return {
      text: '✗ A YAML file uses too many aliases (*name), the shape of a "billion laughs" file: it was not expanded.\n  → Write the values out in that file instead of aliasing them; `aider-mlx doctor` names the file.',
      code: EXIT.usage,
    };
  }
  const e = err as Error;
  return {
    text: `✗ Unexpected error: ${e?.stack ?? String(err)}\n  → Please report it with the command you ran.`,
    code: EXIT.verify,
  };
}
