/**
 * The one interface the wizard talks to. Three faces implement it: Ink (src/ui), inquirer line
 * mode and non-interactive (src/prompters). Steps never know which one they run under.
 */

/** A row of a list. Values are strings so an answers file or a flag can name them. */
export interface Choice<T extends string = string> {
  value: T;
  label: string;
  /** Shown beside the label, dimmed: size, fit, where it comes from. */
  hint?: string;
  /** Shown under the list while this row is focused. */
  description?: string;
  /** Shown but not selectable; the text says why. */
  disabled?: string;
}

export interface QuestionBase {
  /** Stable key: the answers-file key and what tests answer by (`model.editor`, `ports`). */
  id: string;
  /** The flag that answers this question, named when there is no terminal to ask in. */
  flag?: string;
  message: string;
  /** Lines shown under the message (context for the choice). */
  help?: string[];
  /**
   * The help's essentials, a few short lines: what a terminal too short for all of the help shows
   * instead (Ink), so the question never stands there with nothing to go on.
   */
  summary?: string[];
}

export interface SelectQuestion<T extends string = string> extends QuestionBase {
  choices: Choice<T>[];
  default?: T;
}

export interface TextQuestion extends QuestionBase {
  default?: string;
  placeholder?: string;
  /** An error message, or undefined when the value is fine. */
  validate?: (value: string) => string | undefined;
  /** Lines that replace `help` while the user types (e.g. the memory fit of the number typed so far). */
  live?: (typed: string) => string[];
}

export interface ConfirmQuestion extends QuestionBase {
  default: boolean;
}

export interface ReviewFile {
  path: string;
  /** `~/…` for display. */
  label: string;
  status: 'create' | 'update' | 'unchanged';
  diff: string;
}

export interface ReviewQuestion extends QuestionBase {
  files: ReviewFile[];
}

export type NoteKind = 'info' | 'warn' | 'error' | 'success' | 'dim';

export interface TaskHandle {
  /** One line that replaces the previous one ("waiting for the model to load, 12 s"). */
  status(text: string): void;
  /** A line of the child's log, for the tail. */
  log(line: string): void;
  /** Download progress; undefined clears it. */
  progress(p?: { done: number; total: number; label?: string }): void;
  /** Aborted on Ctrl-C (cancel) and on Esc (back) while the task runs. */
  signal: AbortSignal;
}

export interface Summary {
  title: string;
  ok: boolean;
  sections: Array<{ title: string; lines: string[] }>;
}

export interface StepInfo {
  index: number;
  /** The steps known so far (it grows when an answer adds a step). */
  total: number;
  title: string;
}

/** "3/9": every face prints this, the same way for every heading of a run. */
export function stepCounter(s: Pick<StepInfo, 'index' | 'total'>): string {
  return `${s.index}/${s.total}`;
}

export interface Prompter {
  readonly face: 'ink' | 'plain' | 'non-interactive';
  /** A step starts: the heading and the progress through the flow. */
  step(info: StepInfo): void;
  select<T extends string>(q: SelectQuestion<T>): Promise<T>;
  text(q: TextQuestion): Promise<string>;
  confirm(q: ConfirmQuestion): Promise<boolean>;
  /** Show every file's diff; true = write them. */
  review(q: ReviewQuestion): Promise<boolean>;
  note(kind: NoteKind, text: string): void;
  /** Slow work with a spinner, a log tail and a progress bar. Esc during it goes back. */
  task<T>(title: string, fn: (h: TaskHandle) => Promise<T>): Promise<T>;
  /** The last screen ("next steps"). */
  finish(summary: Summary): Promise<void>;
  /** Give the terminal back (idempotent). */
  close(): Promise<void>;
}

/** Esc: go back one step. Thrown by a face, caught by the step runner. */
export class GoBack extends Error {
  constructor() {
    super('back');
    this.name = 'GoBack';
  }
}

/** Jump to a named step (e.g. "change the model" after a server failed to start). */
export class GoTo extends Error {
  constructor(readonly stepId: string) {
    super(`go to ${stepId}`);
    this.name = 'GoTo';
  }
}

/** The choice a select starts on: the default when it is selectable, else the first selectable one. */
export function initialIndex<T extends string>(q: Pick<SelectQuestion<T>, 'choices' | 'default'>): number {
  const i = q.choices.findIndex((c) => c.value === q.default && !c.disabled);
  if (i >= 0) return i;
  const first = q.choices.findIndex((c) => !c.disabled);
  return first >= 0 ? first : 0;
}

/** Text answer: empty means the default; then the validator. */
export function resolveText(q: TextQuestion, raw: string): { value: string } | { error: string } {
  const value = raw.trim() === '' ? (q.default ?? '') : raw.trim();
  const error = q.validate?.(value);
  return error ? { error } : { value };
}
