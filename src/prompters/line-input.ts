/**
 * Questions as plain lines, for every face that is not Ink: the wizard's line face (--plain,
 * TERM=dumb) and the day-two commands' questions (install, restore, uninstall, models rm, the
 * doctor's walk). A question is text and a prompt; the answer is one line read from the terminal.
 *
 * The terminal stays in its normal line mode (never raw): the terminal itself echoes and edits
 * what is typed, so nothing here moves the cursor or erases anything, and a screen reader, Emacs'
 * shell or a dumb terminal sees exactly the lines written. Ctrl-C is then the terminal's SIGINT
 * (our servers run in their own process group, so it reaches only us). One reader per stream keeps
 * what was typed ahead (a paste of several answers) for the next questions instead of losing it.
 */
import { StringDecoder } from 'node:string_decoder';
import { CancelledError } from '../errors.js';
import { columnsOf, wrapLine, wrapText } from '../lib/wrap.js';

export { columnsOf, wrapLine };

/** The answer that means "go back one step": `b`, `back`, or Esc (then Enter). */
export const BACK = Symbol('back');
export type Back = typeof BACK;

type Waiter = (line: string | null) => void;

/** Lines from a stream, one at a time; the stream is read only while someone waits for a line. */
class LineReader {
  private partial = '';
  private lines: string[] = [];
  private ended = false;
  private afterCR = false;
  private waiter?: Waiter;
  private readonly decoder = new StringDecoder('utf8');
  private readonly interrupts = new Set<() => void>();

  constructor(private readonly input: NodeJS.ReadableStream) {}

  private readonly onData = (chunk: Buffer | string) => {
    let text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (this.afterCR && text.startsWith('\n')) text = text.slice(1);
    // A terminal left in raw mode (by someone else) sends Ctrl-C and Ctrl-D as bytes.
    if (text.includes('\x03')) {
      for (const f of [...this.interrupts]) f();
      return;
    }
    if (text.includes('\x04')) {
      this.onEnd();
      return;
    }
    this.afterCR = text.endsWith('\r');
    const parts = (this.partial + text).split(/\r\n|\r|\n/);
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts);
    this.deliver();
  };

  private readonly onEnd = () => {
    if (this.ended) return;
    this.ended = true;
    if (this.partial) this.lines.push(this.partial);
    this.partial = '';
    this.deliver();
  };

  private deliver() {
    if (!this.waiter) return;
    if (this.lines.length === 0 && !this.ended) return;
    const w = this.waiter;
    this.waiter = undefined;
    this.detach();
    w(this.lines.length > 0 ? this.lines.shift()! : null);
  }

  private detach() {
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('close', this.onEnd);
    // Not reading between questions: the process can exit, and nothing typed is consumed early.
    this.input.pause();
  }

  /** The next line (without its newline), or null at the end of input. */
  next(): Promise<string | null> {
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift()!);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.input.on('data', this.onData);
      this.input.once('end', this.onEnd);
      this.input.once('close', this.onEnd);
      this.input.resume();
    });
  }

  /** Stop waiting (the answer is no longer wanted). */
  cancel() {
    if (!this.waiter) return;
    this.waiter = undefined;
    this.detach();
  }

  onInterrupt(f: () => void): () => void {
    this.interrupts.add(f);
    return () => this.interrupts.delete(f);
  }
}

const readers = new WeakMap<NodeJS.ReadableStream, LineReader>();
function readerOf(input: NodeJS.ReadableStream): LineReader {
  let r = readers.get(input);
  if (!r) readers.set(input, (r = new LineReader(input)));
  return r;
}

/**
 * Text a plain terminal can show as it is: no escape sequences, no carriage returns or other
 * control bytes (a child's coloured log, a progress bar's `\r`), tabs as spaces.
 */
export function printable(text: string): string {
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, '')
    .replace(/\x1b[@-_]?/g, '')
    .replace(/\t/g, '  ')
    .replace(/\r\n/g, '\n')
    .replace(/[\x00-\x09\x0b-\x1f\x7f]/g, '');
}

/** printable(), every line of it wrapped at the terminal's width. */
export function fitted(text: string, columns: number | undefined): string {
  return wrapText(printable(text), columns);
}

/** One line (or a few) to the terminal, fitted to its width. */
function say(output: NodeJS.WritableStream, text: string): void {
  output.write(`${fitted(text, columnsOf(output))}\n`);
}

export interface LineIO {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Aborted elsewhere (the wizard's own Ctrl-C handling): the question ends as cancelled. */
  signal?: AbortSignal;
  /** Called on Ctrl-C at a question, before it ends as cancelled. */
  onInterrupt?: () => void;
}

/** Write the prompt, read one line. Ctrl-C, an abort or the end of input: CancelledError. */
export async function readAnswer(prompt: string, io: LineIO = {}): Promise<string> {
  const input = io.input ?? process.stdin;
  const output = io.output ?? process.stdout;
  if (io.signal?.aborted) throw new CancelledError();
  const reader = readerOf(input);
  output.write(fitted(prompt, columnsOf(output)));
  let offInterrupt: () => unknown = () => undefined;
  let onSigint: (() => void) | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const cancelled = new Promise<never>((_, reject) => {
      const cancel = () => {
        reader.cancel();
        output.write('\n');
        reject(new CancelledError());
      };
      onSigint = () => {
        io.onInterrupt?.();
        cancel();
      };
      onAbort = cancel;
      offInterrupt = reader.onInterrupt(onSigint);
      process.on('SIGINT', onSigint);
      io.signal?.addEventListener('abort', onAbort, { once: true });
    });
    const line = await Promise.race([reader.next(), cancelled]);
    if (line === null) {
      output.write('\n');
      throw new CancelledError();
    }
    // A terminal echoes the answer and its newline; from a pipe, end the prompt's line ourselves.
    if (!(input as { isTTY?: boolean }).isTTY) output.write('\n');
    return line;
  } finally {
    offInterrupt();
    if (onSigint) process.off('SIGINT', onSigint);
    if (onAbort) io.signal?.removeEventListener('abort', onAbort);
  }
}

/** What was typed, without escape sequences; `BACK` for `b`, `back` or a bare Esc. */
function parse(line: string, back: boolean): string | Back {
  if (back && /^\s*\x1b+\s*$/.test(line)) return BACK;
  const text = printable(line).trim();
  if (back && /^(b|back)$/i.test(text)) return BACK;
  return text;
}

export interface LineChoice {
  label: string;
  hint?: string;
  description?: string;
  /** Shown, not numbered, not choosable: why. */
  disabled?: string;
}

export interface ChooseQuestion {
  message: string;
  help?: string[];
  choices: LineChoice[];
  /** Index of the default (Enter); must be a choosable row. */
  defaultIndex: number;
  /** `b` goes back (the wizard); off for one-off questions. */
  back?: boolean;
}

/**
 * Numbered rows, then `Choose [n]: `. The number typed is the row's number as shown (disabled rows
 * have none). Returns the index into `choices`.
 */
export async function chooseLine(q: ChooseQuestion, io: LineIO = {}): Promise<number | Back> {
  const output = io.output ?? process.stdout;
  const numbers: number[] = []; // shown number - 1 → index into choices
  const rows: string[] = [q.message, ...(q.help ?? []).map((h) => `  ${h}`)];
  q.choices.forEach((c, i) => {
    const tail = `${c.hint ? `  ${c.hint}` : ''}${c.disabled ? `  (not available: ${c.disabled})` : ''}`;
    if (c.disabled) rows.push(`   -  ${c.label}${tail}`);
    else {
      numbers.push(i);
      rows.push(`  ${String(numbers.length).padStart(numbers.length > 9 || q.choices.length > 9 ? 2 : 1)}) ${c.label}${tail}`);
    }
    if (c.description) rows.push(`       ${c.description}`);
  });
  say(output, rows.join('\n'));
  const def = Math.max(0, numbers.indexOf(q.defaultIndex)) + 1;
  for (;;) {
    const a = parse(await readAnswer(`Choose [${def}]: `, io), q.back ?? false);
    if (a === BACK) return BACK;
    if (a === '') return numbers[def - 1]!;
    const n = Number(a);
    if (Number.isInteger(n) && n >= 1 && n <= numbers.length) return numbers[n - 1]!;
    say(output, `  Type a number from 1 to ${numbers.length}${q.back ? ', or b to go back' : ''} (Enter: ${def}).`);
  }
}

export interface ConfirmLineQuestion {
  message: string;
  help?: string[];
  default: boolean;
  back?: boolean;
}

/** `message [Y/n] ` or `[y/N] `: y, yes, n, no, or Enter for the default. */
export async function confirmLine(q: ConfirmLineQuestion, io: LineIO = {}): Promise<boolean | Back> {
  const output = io.output ?? process.stdout;
  for (const h of q.help ?? []) say(output, `  ${h}`);
  for (;;) {
    const a = parse(await readAnswer(`${q.message} ${q.default ? '[Y/n]' : '[y/N]'} `, io), q.back ?? false);
    if (a === BACK) return BACK;
    if (a === '') return q.default;
    if (/^y(es)?$/i.test(a)) return true;
    if (/^no?$/i.test(a)) return false;
    say(output, `  Type y or n${q.back ? ', or b to go back' : ''} (Enter: ${q.default ? 'y' : 'n'}).`);
  }
}

export interface TextLineQuestion {
  message: string;
  help?: string[];
  default?: string;
  /** An error message, or undefined when the value is fine. */
  validate?: (value: string) => string | undefined;
  back?: boolean;
}

/** `message [default]: `; Enter keeps the default; asked again while the value is rejected. */
export async function textLine(q: TextLineQuestion, io: LineIO = {}): Promise<string | Back> {
  const output = io.output ?? process.stdout;
  for (const h of q.help ?? []) say(output, `  ${h}`);
  for (;;) {
    const a = parse(await readAnswer(`${q.message}${q.default ? ` [${q.default}]` : ''}: `, io), q.back ?? false);
    if (a === BACK) return BACK;
    const value = a === '' ? (q.default ?? '') : a;
    const error = q.validate?.(value);
    if (!error) return value;
    say(output, `  ✗ ${error}`);
  }
}
