/**
 * A Prompter for tests: answers by question id, in order, with Esc (BACK) and Ctrl-C (CANCEL) as
 * answers. A question the script does not name takes its default, as Enter would.
 */
import { CancelledError } from '../errors.js';
import { GoBack, resolveText, stepCounter, type Prompter, type QuestionBase, type SelectQuestion, type Summary, type TaskHandle, type TextQuestion } from './prompter.js';

export const BACK = Symbol('Esc');
export const CANCEL = Symbol('Ctrl-C');
export type Scripted = string | boolean | typeof BACK | typeof CANCEL;

export interface Recorded {
  /** Every question, in order: `id` (and the answer given). */
  asked: Array<{ id: string; answer: string }>;
  notes: Array<{ kind: string; text: string }>;
  steps: string[];
  /** Each step's counter as shown ("3/9", or "2" before the flow is known), with its title. */
  counters: Array<{ counter: string; title: string }>;
  /** What the screen showed, in order: `step:<title>`, `ask:<id>`, `note`, `task:<title>`. */
  shown: string[];
  tasks: string[];
  /** Progress reports and status lines of every task, in order. */
  progress: Array<{ done: number; total: number; label?: string }>;
  statuses: string[];
  summary?: Summary;
  /** Questions shown, with their choices, for assertions on what a screen offers. */
  questions: Map<string, QuestionBase & { choices?: SelectQuestion['choices']; default?: unknown }>;
}

export function scriptedPrompter(
  script: Array<[id: string | RegExp, answer: Scripted]>,
  opts: {
    onCancel?: () => void;
    signal?: AbortSignal;
    /** The face it plays (steps that only run on a terminal check it). */
    face?: Prompter['face'];
    /** Answers for questions the script does not name, by id, instead of their defaults. */
    unnamed?: Record<string, string>;
  } = {},
): Prompter & { rec: Recorded; remaining: () => string[] } {
  const queue = [...script];
  const rec: Recorded = { asked: [], notes: [], steps: [], counters: [], shown: [], tasks: [], progress: [], statuses: [], questions: new Map() };
  const take = (q: QuestionBase & { default?: unknown; choices?: SelectQuestion['choices'] }): Scripted | undefined => {
    rec.questions.set(q.id, q);
    rec.shown.push(`ask:${q.id}`);
    const next = queue[0];
    if (next && (typeof next[0] === 'string' ? next[0] === q.id : next[0].test(q.id))) {
      queue.shift();
      const a = next[1];
      if (a === CANCEL) {
        rec.asked.push({ id: q.id, answer: 'Ctrl-C' });
        opts.onCancel?.();
        throw new CancelledError();
      }
      if (a === BACK) {
        rec.asked.push({ id: q.id, answer: 'Esc' });
        throw new GoBack();
      }
      return a;
    }
    return undefined;
  };
  const fallback = (q: QuestionBase, d: unknown) => {
    if (d === undefined) throw new Error(`scripted prompter: no answer and no default for "${q.id}" (${q.message})`);
    return d;
  };
  return {
    face: opts.face ?? 'non-interactive',
    rec,
    remaining: () => queue.map(([id]) => String(id)),
    step: (s) => {
      rec.steps.push(s.title);
      rec.counters.push({ counter: stepCounter(s), title: s.title });
      rec.shown.push(`step:${s.title}`);
    },
    async select<T extends string>(q: SelectQuestion<T>): Promise<T> {
      const a = take(q) ?? opts.unnamed?.[q.id];
      const v = (a === undefined ? fallback(q, q.default ?? q.choices.find((c) => !c.disabled)?.value) : String(a)) as T;
      rec.asked.push({ id: q.id, answer: v });
      return v;
    },
    async text(q: TextQuestion): Promise<string> {
      const a = take(q);
      const r = resolveText(q, a === undefined ? '' : String(a));
      if ('error' in r) throw new Error(`scripted prompter: "${String(a)}" for ${q.id}: ${r.error}`);
      rec.asked.push({ id: q.id, answer: r.value });
      return r.value;
    },
    async confirm(q) {
      const a = take(q);
      const v = a === undefined ? q.default : a === true || a === 'yes';
      rec.asked.push({ id: q.id, answer: String(v) });
      return v;
    },
    async review(q) {
      const a = take(q);
      const v = a === undefined ? true : a === true || a === 'yes';
      rec.asked.push({ id: q.id, answer: String(v) });
      return v;
    },
    note: (kind, text) => {
      rec.notes.push({ kind, text });
      rec.shown.push('note');
    },
    async task<T>(title: string, fn: (h: TaskHandle) => Promise<T>): Promise<T> {
      rec.tasks.push(title);
      rec.shown.push(`task:${title}`);
      const signal = opts.signal ?? new AbortController().signal;
      return fn({ status: (l) => void rec.statuses.push(l), log: () => undefined, progress: (p) => void (p && rec.progress.push(p)), signal });
    },
    async finish(s) {
      rec.summary = s;
    },
    async close() {},
  };
}
