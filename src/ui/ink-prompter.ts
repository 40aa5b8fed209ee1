/** The Prompter of the Ink face: each call puts a screen in the store and waits for its answer. */
import { CancelledError } from '../errors.js';
import { asRun } from '../lib/paths.js';
import {
  GoBack, type ConfirmQuestion, type NoteKind, type Prompter, type ReviewQuestion, type SelectQuestion, type StepInfo, type Summary,
  type TaskHandle, type TextQuestion,
} from '../wizard/prompter.js';
import type { Screen, UiStore } from './store.js';

export class InkPrompter implements Prompter {
  readonly face = 'ink' as const;
  private cancelled = false;
  private pendingReject?: (e: Error) => void;

  constructor(
    private readonly store: UiStore,
    private readonly o: { onCancel: () => void; signal: AbortSignal; unmount?: () => Promise<void> },
  ) {
    store.onCancel = () => this.cancel();
    o.signal.addEventListener('abort', () => this.cancel(), { once: true });
  }

  /** Ctrl-C (or SIGINT): abort the run and reject whatever is waiting. */
  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.o.onCancel();
    this.store.idle();
    this.store.push({ kind: 'note', note: 'warn', text: 'Cancelled: stopping what this run started; nothing was written.' });
    this.pendingReject?.(new CancelledError());
  }

  private ask<T>(make: (answer: (v: T) => void, id: number) => Screen, shown: (v: T) => string, message: string): Promise<T> {
    if (this.cancelled) return Promise.reject(new CancelledError());
    return new Promise<T>((resolve, reject) => {
      // One answer per question: a key that arrives with the one that answered (a double Enter, a
      // paste) must not answer it again, nor the next question on its behalf.
      let answered = false;
      this.pendingReject = reject;
      this.store.onBack = () => {
        this.pendingReject = undefined;
        reject(new GoBack());
      };
      this.store.set({
        screen: make((v: T) => {
          if (answered) return;
          answered = true;
          this.pendingReject = undefined;
          this.store.onBack = () => undefined;
          this.store.idle();
          this.store.push({ kind: 'answer', question: message, answer: shown(v) });
          resolve(v);
        }, this.store.id()),
      });
    });
  }

  step(info: StepInfo): void {
    if (this.cancelled) return;
    // A number not above the last heading's: back (Esc, or a jump) to an earlier step. What the
    // history holds from that step on (its heading and answers, the headings of the steps left)
    // is cut, so the screen shows that step as it was first shown, nothing of the later ones.
    const from = this.store.get().history.findIndex((h) => h.kind === 'step' && h.step.index >= info.index);
    if (from >= 0) this.store.rewind(from, { kind: 'step', step: info }, { step: info });
    else {
      this.store.set({ step: info });
      this.store.push({ kind: 'step', step: info });
    }
  }

  select<T extends string>(q: SelectQuestion<T>): Promise<T> {
    return this.ask<T>(
      (answer, id) => ({ kind: 'select', id, q: q as SelectQuestion, answer: answer as (v: string) => void }),
      (v) => q.choices.find((c) => c.value === v)?.label ?? v,
      q.message,
    );
  }

  text(q: TextQuestion): Promise<string> {
    return this.ask<string>((answer, id) => ({ kind: 'text', id, q, answer }), (v) => v, q.message);
  }

  confirm(q: ConfirmQuestion): Promise<boolean> {
    return this.ask<boolean>((answer, id) => ({ kind: 'confirm', id, q, answer }), (v) => (v ? 'yes' : 'no'), q.message);
  }

  review(q: ReviewQuestion): Promise<boolean> {
    const n = q.files.filter((f) => f.status !== 'unchanged').length;
    return this.ask<boolean>((answer, id) => ({ kind: 'review', id, q, answer }), (v) => (v ? `yes (${n} file${n === 1 ? '' : 's'})` : 'no'), q.message);
  }

  note(kind: NoteKind, text: string): void {
    if (this.cancelled) return;
    // Its `aider-mlx …` commands named as this copy runs (asRun), as in the line faces.
    this.store.push({ kind: 'note', note: kind, text: asRun(text) });
  }

  async task<T>(title: string, fn: (h: TaskHandle) => Promise<T>): Promise<T> {
    if (this.cancelled) throw new CancelledError();
    const id = this.store.id();
    const back = new AbortController();
    const signal = AbortSignal.any([this.o.signal, back.signal]);
    this.store.onBack = () => back.abort();
    this.store.set({ screen: { kind: 'task', id, title, log: [], startedAt: Date.now() } });
    const handle: TaskHandle = {
      signal,
      status: (text) => this.store.updateTask(id, { status: text }),
      log: (line) => {
        const s = this.store.get().screen;
        if (s.kind === 'task' && s.id === id) this.store.updateTask(id, { log: [...s.log.slice(-199), line] });
      },
      progress: (p) => this.store.updateTask(id, { progress: p }),
    };
    try {
      const r = await fn(handle);
      if (this.cancelled) throw new CancelledError();
      if (back.signal.aborted) throw new GoBack();
      return r;
    } catch (e) {
      if (this.cancelled) throw new CancelledError();
      if (back.signal.aborted) throw new GoBack();
      throw e;
    } finally {
      this.store.onBack = () => undefined;
      const s = this.store.get().screen;
      if (s.kind === 'task' && s.id === id) this.store.idle();
    }
  }

  async finish(summary: Summary): Promise<void> {
    this.store.idle();
    this.store.push({ kind: 'summary', summary });
  }

  async close(): Promise<void> {
    this.store.set({ screen: { kind: 'idle', id: this.store.id() }, step: undefined });
    await this.o.unmount?.();
  }
}
