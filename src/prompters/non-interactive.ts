/**
 * No terminal (or --yes, or an answers file): every question is answered from the answers, then
 * from its default when --yes was given, else it fails at once naming the flag to pass.
 */
import { UsageError } from '../errors.js';
import type {
  ConfirmQuestion, NoteKind, Prompter, QuestionBase, ReviewQuestion, SelectQuestion, StepInfo, Summary, TaskHandle, TextQuestion,
} from '../wizard/prompter.js';
import { noteLine, stepLine, summaryLines, throttled } from './lines.js';

export type AnswerValue = string | number | boolean;

export interface NonInteractiveOptions {
  /** By question id (`model.editor`, `scope`…). */
  answers?: Record<string, AnswerValue>;
  /** Take the default of every question that has one. */
  yes: boolean;
  /** Progress lines; stderr in the CLI, nothing in tests. */
  out?: (line: string) => void;
  signal?: AbortSignal;
}

export function missingAnswer(q: QuestionBase): UsageError {
  return new UsageError(
    `No terminal to ask "${q.message}" in.`,
    q.flag ? `Pass ${q.flag} (or --yes to take the defaults).` : 'Pass --yes to take the defaults, or run it in a terminal.',
  );
}

/**
 * What was taken for a question, said as a statement (nothing is asked here): `Editor model:
 * mlx-community/…`; a choice that repeats its question ("Use this setup? Use this setup") once.
 */
export function taken(message: string, label: string): string {
  const subject = message.replace(/[?:]\s*$/, '').trim();
  const last = subject.split(/(?<=[.:])\s+/).at(-1)!;
  return label.toLowerCase().startsWith(last.toLowerCase()) ? `  ${label}` : `  ${subject}: ${label}`;
}

export class NonInteractivePrompter implements Prompter {
  readonly face = 'non-interactive' as const;
  private readonly out: (line: string) => void;

  constructor(private readonly opts: NonInteractiveOptions) {
    this.out = opts.out ?? (() => undefined);
  }

  private answer(q: QuestionBase): AnswerValue | undefined {
    return this.opts.answers?.[q.id];
  }

  step(info: StepInfo): void {
    this.out(stepLine(info));
  }

  async select<T extends string>(q: SelectQuestion<T>): Promise<T> {
    const a = this.answer(q);
    if (a !== undefined) {
      const v = String(a);
      const c = q.choices.find((x) => x.value === v || x.label === v);
      if (c?.disabled) throw new UsageError(`"${v}" cannot be chosen for "${q.message}": ${c.disabled}.`);
      this.out(taken(q.message, c?.label ?? v));
      return (c?.value ?? v) as T;
    }
    if (this.opts.yes && q.default !== undefined) {
      this.out(taken(q.message, q.choices.find((c) => c.value === q.default)?.label ?? q.default));
      return q.default;
    }
    throw missingAnswer(q);
  }

  async text(q: TextQuestion): Promise<string> {
    const a = this.answer(q);
    const raw = a !== undefined ? String(a) : this.opts.yes && q.default !== undefined ? q.default : undefined;
    if (raw === undefined) throw missingAnswer(q);
    const err = q.validate?.(raw);
    if (err) throw new UsageError(`"${raw}" for "${q.message}": ${err}.`, q.flag ? `Pass a valid ${q.flag}.` : undefined);
    this.out(`  ${q.message}: ${raw}`);
    return raw;
  }

  async confirm(q: ConfirmQuestion): Promise<boolean> {
    const a = this.answer(q);
    if (a !== undefined) return a === true || /^(y|yes|true|1)$/i.test(String(a));
    if (this.opts.yes) return q.default;
    throw missingAnswer(q);
  }

  async review(q: ReviewQuestion): Promise<boolean> {
    for (const f of q.files) this.out(`  ${f.status === 'unchanged' ? 'unchanged' : f.status === 'create' ? 'create   ' : 'update   '} ${f.label}`);
    for (const h of q.help ?? []) this.out(`  ${h}`);
    const a = this.answer(q);
    if (a !== undefined) return a === true || /^(y|yes|true|1)$/i.test(String(a));
    if (this.opts.yes) return true;
    throw missingAnswer(q);
  }

  note(kind: NoteKind, text: string): void {
    this.out(noteLine(kind, text));
  }

  async task<T>(title: string, fn: (h: TaskHandle) => Promise<T>): Promise<T> {
    this.out(`  … ${title}`);
    const status = throttled((l) => this.out(`    ${l}`), 5000);
    const ctrl = new AbortController();
    const signal = this.opts.signal ? AbortSignal.any([this.opts.signal, ctrl.signal]) : ctrl.signal;
    return fn({ status, log: () => undefined, progress: () => undefined, signal });
  }

  async finish(summary: Summary): Promise<void> {
    for (const l of summaryLines(summary)) this.out(l);
  }

  async close(): Promise<void> {}
}
