/**
 * Line mode on @inquirer/prompts: one question at a time, plain text, no redraws beyond the prompt
 * itself. For screen readers and simple terminals (--plain, TERM=dumb). Esc goes back (inquirer
 * does not know Esc: our keypress listener aborts the prompt), Ctrl-C cancels.
 */
// Each prompt from its own package: @inquirer/prompts also pulls in the editor prompt (and iconv-lite).
import confirm from '@inquirer/confirm';
import input from '@inquirer/input';
import select from '@inquirer/select';
import { CancelledError } from '../errors.js';
import {
  GoBack, type ConfirmQuestion, type NoteKind, type Prompter, type ReviewQuestion, type SelectQuestion, type StepInfo, type Summary,
  type TaskHandle, type TextQuestion,
} from '../wizard/prompter.js';
import { noteLine, reviewLines, stepLine, summaryLines, throttled } from './lines.js';

export interface PlainOptions {
  onCancel: () => void;
  signal: AbortSignal;
  demo?: boolean;
  title?: string;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

type Key = { name?: string; ctrl?: boolean };

export function createPlainPrompter(o: PlainOptions): Prompter {
  const stdin = (o.input ?? process.stdin) as NodeJS.ReadStream;
  const stdout = o.output ?? process.stdout;
  const write = (l: string) => void stdout.write(`${l}\n`);
  if (o.title) write(`${o.title}${o.demo ? '  (DEMO: stand-in servers, files in a temp folder)' : ''}\n  Enter accepts the default · Esc goes back · Ctrl-C cancels`);

  /** Run one inquirer prompt; Esc → GoBack, Ctrl-C → cancel. */
  async function ask<T>(run: (ctx: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; signal: AbortSignal; clearPromptOnDone: boolean }) => Promise<T>): Promise<T> {
    if (o.signal.aborted) throw new CancelledError();
    const back = new AbortController();
    const onKey = (_s: string, key: Key | undefined) => {
      if (key?.name === 'escape') back.abort();
    };
    stdin.on('keypress', onKey);
    try {
      return await run({ input: stdin, output: stdout, signal: AbortSignal.any([back.signal, o.signal]), clearPromptOnDone: false });
    } catch (e) {
      const name = (e as Error).name;
      if (name === 'ExitPromptError') {
        o.onCancel();
        throw new CancelledError();
      }
      if (o.signal.aborted) throw new CancelledError();
      if (name === 'AbortPromptError' && back.signal.aborted) {
        write('  ← back');
        throw new GoBack();
      }
      throw e;
    } finally {
      stdin.off('keypress', onKey);
    }
  }

  const helpLines = (help?: string[]) => {
    for (const h of help ?? []) write(`  ${h}`);
  };

  return {
    face: 'plain',
    step(s: StepInfo) {
      write(stepLine(s));
    },
    async select<T extends string>(q: SelectQuestion<T>): Promise<T> {
      helpLines(q.help);
      return ask((ctx) =>
        select<T>(
          {
            message: q.message,
            choices: q.choices.map((c) => ({
              value: c.value,
              name: c.hint ? `${c.label} — ${c.hint}` : c.label,
              ...(c.description ? { description: c.description } : {}),
              ...(c.disabled ? { disabled: c.disabled } : {}),
            })),
            ...(q.default !== undefined ? { default: q.default } : {}),
            pageSize: 12,
          },
          ctx,
        ),
      );
    },
    async text(q: TextQuestion): Promise<string> {
      helpLines(q.help);
      const v = await ask((ctx) =>
        input(
          {
            message: q.message,
            ...(q.default !== undefined ? { default: q.default } : {}),
            validate: (raw: string) => {
              const value = raw.trim() === '' ? (q.default ?? '') : raw.trim();
              return q.validate?.(value) ?? true;
            },
          },
          ctx,
        ),
      );
      return v.trim() === '' ? (q.default ?? '') : v.trim();
    },
    async confirm(q: ConfirmQuestion): Promise<boolean> {
      helpLines(q.help);
      return ask((ctx) => confirm({ message: q.message, default: q.default }, ctx));
    },
    async review(q: ReviewQuestion): Promise<boolean> {
      for (const l of reviewLines(q.files)) write(l);
      if (q.help?.length) write('');
      helpLines(q.help);
      const v = await ask((ctx) =>
        select<'write' | 'cancel'>(
          {
            message: q.message,
            choices: [
              { value: 'write', name: 'Yes, write them' },
              { value: 'cancel', name: 'No: cancel, write nothing' },
            ],
            default: 'write',
          },
          ctx,
        ),
      );
      return v === 'write';
    },
    note(kind: NoteKind, text: string) {
      write(noteLine(kind, text));
    },
    async task<T>(title: string, fn: (h: TaskHandle) => Promise<T>): Promise<T> {
      write(`  … ${title}`);
      const started = Date.now();
      const status = throttled((l) => write(`    ${l}`), 3000);
      let lastTenth = -1;
      const r = await fn({
        status,
        log: (l) => write(`    │ ${l}`),
        progress: (p) => {
          if (!p || p.total <= 0) return;
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
    },
    async finish(summary: Summary) {
      for (const l of summaryLines(summary)) write(l);
    },
    async close() {},
  };
}
