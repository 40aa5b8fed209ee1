/**
 * The two questions day-two commands ask (yes/no, pick one of a list), as a capability: tests pass
 * answers, the CLI reads a line from the terminal. Without a terminal nothing is asked: the caller
 * fails naming the flag (`--yes`) instead of hanging.
 */
import { createInterface } from 'node:readline/promises';
import type { Env } from '../lib/paths.js';

export interface Asker {
  confirm(question: string, defaultYes?: boolean): Promise<boolean>;
  /** Index of the chosen option (0-based). */
  choose(question: string, options: string[], defaultIndex?: number): Promise<number>;
}

/** Decided once: a terminal on both ends, and not CI. */
export function isInteractive(
  env: Env = process.env,
  streams: { stdin: { isTTY?: boolean }; stdout: { isTTY?: boolean } } = process,
): boolean {
  return Boolean(streams.stdin.isTTY && streams.stdout.isTTY) && !env.CI && env.TERM !== 'dumb';
}

export function terminalAsker(
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Asker {
  const line = async (q: string) => {
    const rl = createInterface({ input, output });
    try {
      return (await rl.question(q)).trim();
    } finally {
      rl.close();
    }
  };
  return {
    async confirm(question, defaultYes = false) {
      const a = (await line(`${question} ${defaultYes ? '[Y/n]' : '[y/N]'} `)).toLowerCase();
      return a === '' ? defaultYes : a === 'y' || a === 'yes';
    },
    async choose(question, options, defaultIndex = 0) {
      output.write(`${question}\n${options.map((o, i) => `  ${i + 1}. ${o}`).join('\n')}\n`);
      for (;;) {
        const a = await line(`Number [${defaultIndex + 1}]: `);
        if (a === '') return defaultIndex;
        const n = Number(a);
        if (Number.isInteger(n) && n >= 1 && n <= options.length) return n - 1;
        output.write(`Type a number from 1 to ${options.length}.\n`);
      }
    },
  };
}

/** Answers given in advance (tests, scripted runs); runs out → throws. */
export function scriptedAsker(answers: Array<boolean | number>): Asker & { asked: string[] } {
  const asked: string[] = [];
  const next = (q: string) => {
    asked.push(q);
    if (answers.length === 0) throw new Error(`no scripted answer left for: ${q}`);
    return answers.shift()!;
  };
  return {
    asked,
    confirm: async (q) => Boolean(next(q)),
    choose: async (q) => Number(next(q)),
  };
}
