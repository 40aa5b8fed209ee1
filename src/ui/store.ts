/**
 * The state the Ink face shows, outside React: the wizard (through InkPrompter) sets the current
 * screen and appends to the history; components read it with useSyncExternalStore and answer
 * through the callbacks it holds.
 */
import type {
  ConfirmQuestion, NoteKind, ReviewQuestion, SelectQuestion, StepInfo, Summary, TextQuestion,
} from '../wizard/prompter.js';

/** Every screen has an id: a new question gets fresh component state (cursor, typed text). */
export type Screen =
  | { kind: 'idle'; id: number }
  | { kind: 'select'; id: number; q: SelectQuestion; answer(v: string): void }
  | { kind: 'text'; id: number; q: TextQuestion; answer(v: string): void }
  | { kind: 'confirm'; id: number; q: ConfirmQuestion; answer(v: boolean): void }
  | { kind: 'review'; id: number; q: ReviewQuestion; answer(v: boolean): void }
  | {
      kind: 'task';
      id: number;
      title: string;
      status?: string;
      log: string[];
      progress?: { done: number; total: number; label?: string };
      startedAt: number;
    };

export type HistoryItem =
  | { id: number; kind: 'step'; step: StepInfo }
  | { id: number; kind: 'answer'; question: string; answer: string }
  | { id: number; kind: 'note'; note: NoteKind; text: string }
  | { id: number; kind: 'summary'; summary: Summary };

/** A history item before it gets its id. */
export type NewHistoryItem = HistoryItem extends infer H ? (H extends { id: number } ? Omit<H, 'id'> : never) : never;

export interface UiState {
  title: string;
  demo: boolean;
  step?: StepInfo;
  screen: Screen;
  history: HistoryItem[];
  /** How many times the history was cut back (Esc to an earlier step): each time it is printed again. */
  rewinds: number;
}

type Listener = () => void;

export class UiStore {
  private state: UiState;
  private listeners = new Set<Listener>();
  private nextId = 1;
  /** Esc on the current screen (set by the prompter). */
  onBack: () => void = () => undefined;
  /** Ctrl-C anywhere. */
  onCancel: () => void = () => undefined;
  /** Clear the terminal's screen (set by the App): what Ink printed once cannot be taken back otherwise. */
  clearScreen: () => void = () => undefined;

  constructor(init: { title: string; demo: boolean; screen?: Screen }) {
    this.state = { title: init.title, demo: init.demo, screen: init.screen ?? { kind: 'idle', id: 0 }, history: [], rewinds: 0 };
  }

  get = (): UiState => this.state;

  subscribe = (l: Listener): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  set(patch: Partial<UiState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  id(): number {
    return this.nextId++;
  }

  idle(): void {
    this.set({ screen: { kind: 'idle', id: this.id() } });
  }

  push(item: NewHistoryItem): void {
    this.set({ history: [...this.state.history, { ...item, id: this.id() } as HistoryItem] });
  }

  /**
   * Keep only the first `keep` history items, then add `item` (and apply `patch`), in one update:
   * the screen is cleared and the history printed again, so nothing of what was cut stays on screen
   * (Ink's <Static> prints an item once and never erases it; a new key prints them all again).
   */
  rewind(keep: number, item: NewHistoryItem, patch: Partial<Pick<UiState, 'step' | 'screen'>> = {}): void {
    this.clearScreen();
    this.set({ ...patch, history: [...this.state.history.slice(0, keep), { ...item, id: this.id() } as HistoryItem], rewinds: this.state.rewinds + 1 });
  }

  /** Update the running task, if it is still the one on screen. */
  updateTask(id: number, patch: Partial<Extract<Screen, { kind: 'task' }>>): void {
    const s = this.state.screen;
    if (s.kind === 'task' && s.id === id) this.set({ screen: { ...s, ...patch } });
  }
}
