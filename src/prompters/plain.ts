/**
 * Line mode: one question at a time as plain lines (--plain, TERM=dumb; screen readers, Emacs'
 * shell, simple terminals). Numbered choices and `Choose [1]: `, `[Y/n]`, `value [default]: `;
 * `b` (or Esc, then Enter) goes back, Ctrl-C cancels. Nothing it writes moves the cursor or erases:
 * every byte is printable text or a newline (see line-input.ts for why the terminal stays in its
 * line mode). While a question waits for its answer, nothing else is written under it.
 */
import { CancelledError } from '../errors.js';
import {
  GoBack, initialIndex, type ConfirmQuestion, type NoteKind, type Prompter, type ReviewQuestion, type SelectQuestion, type StepInfo,
  type Summary, type TaskHandle, type TextQuestion,
} from '../wizard/prompter.js';
import { BACK, chooseLine, columnsOf, confirmLine, fitted, printable, textLine, type Back, type LineIO } from './line-input.js';
import { noteLine, reviewDiffs, reviewLines, stepLine, summaryLines, throttled } from './lines.js';

export interface PlainOptions {
  onCancel: () => void;
  signal: AbortSignal;
  demo?: boolean;
  title?: string;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

export function createPlainPrompter(o: PlainOptions): Prompter {
  const output = o.output ?? process.stdout;
  const io: LineIO = { input: o.input ?? process.stdin, output, signal: o.signal, onInterrupt: o.onCancel };
  /** Lines that arrive while a question is open wait for its answer. */
  let asking = false;
  const held: string[] = [];
  /** A line, wrapped at the terminal's width. */
  const write = (l: string, o: { verbatim?: boolean } = {}) => {
    // Verbatim (a diff: the file's own lines): printable, never wrapped.
    const s = `${o.verbatim ? printable(l) : fitted(l, columnsOf(output))}\n`;
    if (asking) held.push(s);
    else output.write(s);
  };
  if (o.title) write(`${o.title}${o.demo ? '  (DEMO: stand-in servers, files in a temp folder)' : ''}\n  Enter accepts the default · b goes back · Ctrl-C cancels`);

  async function ask<T>(run: () => Promise<T | Back>): Promise<T> {
    if (o.signal.aborted) throw new CancelledError();
    output.write('\n');
    asking = true;
    let v: T | Back;
    try {
      v = await run();
    } finally {
      asking = false;
      for (const s of held.splice(0)) output.write(s);
    }
    if (o.signal.aborted) throw new CancelledError();
    if (v === BACK) {
      write('  ← back');
      throw new GoBack();
    }
    return v;
  }

  return {
    face: 'plain',
    step(s: StepInfo) {
      write(stepLine(s));
    },
    async select<T extends string>(q: SelectQuestion<T>): Promise<T> {
      const i = await ask(() =>
        chooseLine(
          {
            message: q.message,
            ...(q.help ? { help: q.help } : {}),
            choices: q.choices,
            defaultIndex: initialIndex(q),
            back: true,
          },
          io,
        ),
      );
      return q.choices[i]!.value;
    },
    async text(q: TextQuestion): Promise<string> {
      return ask(() =>
        textLine({ message: q.message, ...(q.help ? { help: q.help } : {}), ...(q.default !== undefined ? { default: q.default } : {}), ...(q.validate ? { validate: q.validate } : {}), back: true }, io),
      );
    },
    async confirm(q: ConfirmQuestion): Promise<boolean> {
      return ask(() => confirmLine({ message: q.message, ...(q.help ? { help: q.help } : {}), default: q.default, back: true }, io));
    },
    async review(q: ReviewQuestion): Promise<boolean> {
      // One text: the list is laid out as a whole (every row the same way).
      write(reviewLines(q.files).join('\n'));
      for (const d of reviewDiffs(q.files)) write(`\n${d}`, { verbatim: true });
      if (q.help?.length) {
        write('');
        for (const l of q.help) write(`  ${l}`);
      }
      const i = await ask(() =>
        chooseLine({ message: q.message, choices: [{ label: 'Yes, write them' }, { label: 'No: cancel, write nothing' }], defaultIndex: 0, back: true }, io),
      );
      return i === 0;
    },
    note(kind: NoteKind, text: string) {
      write(noteLine(kind, text));
    },
    async task<T>(title: string, fn: (h: TaskHandle) => Promise<T>): Promise<T> {
      write(`  … ${title}`);
      const started = Date.now();
      // A child keeps the handle (a server's log callback): once the task is over it writes nothing.
      let open = true;
      const status = throttled((l) => write(`    ${l}`), 3000);
      let lastTenth = -1;
      try {
        const r = await fn({
          status: (l) => open && status(l),
          log: (l) => open && write(`    │ ${l}`),
          progress: (p) => {
            if (!open || !p || p.total <= 0) return;
            const tenth = Math.floor((p.done / p.total) * 10);
            if (tenth !== lastTenth) {
              lastTenth = tenth;
              write(`    ${tenth * 10}%${p.label ? ` ${p.label}` : ''}`);
            }
          },
          signal: o.signal,
        });
        if (o.signal.aborted) throw new CancelledError();
        const s = (Date.now() - started) / 1000;
        if (s >= 1) write(`    done in ${s.toFixed(1)} s`);
        return r;
      } finally {
        open = false;
      }
    },
    async finish(summary: Summary) {
      write(summaryLines(summary).join('\n'));
    },
    async close() {},
  };
}
