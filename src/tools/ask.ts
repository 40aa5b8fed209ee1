/**
 * The questions the day-two commands ask (yes/no, pick one of a list, a line of text), as a
 * capability: tests pass answers, the CLI asks on the terminal as plain lines (the same line
 * prompter as the wizard's --plain face). Ctrl-C at a question ends the command as cancelled
 * ("✗ Cancelled.", exit 130). Without a terminal nothing is asked: the caller fails naming the flag
 * (`--yes`) instead of hanging.
 */
import type { Env } from '../lib/paths.js';
import { BACK, chooseLine, confirmLine, textLine, type LineIO } from '../prompters/line-input.js';

export interface Asker {
  confirm(question: string, defaultYes?: boolean): Promise<boolean>;
  /** Index of the chosen option (0-based). */
  choose(question: string, options: string[], defaultIndex?: number): Promise<number>;
  /** A line of text; Enter gives the default. */
  text(question: string, o?: { default?: string; validate?: (value: string) => string | undefined }): Promise<string>;
}

/**
 * Decided once: a terminal on both ends, and not CI. TERM=dumb can be asked (the questions are
 * plain lines); what needs a cursor (serve's dashboard) checks TERM itself.
 */
export function isInteractive(
  env: Env = process.env,
  streams: { stdin: { isTTY?: boolean }; stdout: { isTTY?: boolean } } = process,
): boolean {
  return Boolean(streams.stdin.isTTY && streams.stdout.isTTY) && !env.CI;
}

/** Questions on the terminal; they go to stderr, so stdout stays the command's result. */
export function terminalAsker(
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
  signal?: AbortSignal,
): Asker {
  const io: LineIO = { input, output, ...(signal ? { signal } : {}) };
  // Without `back`, BACK is never returned; the checks only narrow the type.
  return {
    async confirm(question, defaultYes = false) {
      const a = await confirmLine({ message: question, default: defaultYes }, io);
      return a !== BACK && a;
    },
    async choose(question, options, defaultIndex = 0) {
      const a = await chooseLine({ message: question, choices: options.map((label) => ({ label })), defaultIndex }, io);
      return a === BACK ? defaultIndex : a;
    },
    async text(question, o = {}) {
      const a = await textLine({ message: question, ...o }, io);
      return a === BACK ? (o.default ?? '') : a;
    },
  };
}

/** Answers given in advance (tests, scripted runs); runs out → throws. */
export function scriptedAsker(answers: Array<boolean | number | string>): Asker & { asked: string[] } {
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
    text: async (q) => String(next(q)),
  };
}
