/** Every key binding of the Ink face, and the hint line each screen shows. */
import type { Key } from 'ink';

type Match = (input: string, key: Key) => boolean;

export const KEYS = {
  up: ((i, k) => k.upArrow || (i === 'k' && !k.ctrl)) as Match,
  down: ((i, k) => k.downArrow || (i === 'j' && !k.ctrl)) as Match,
  pageUp: ((_i, k) => k.pageUp) as Match,
  pageDown: ((_i, k) => k.pageDown) as Match,
  home: ((_i, k) => k.home) as Match,
  end: ((_i, k) => k.end) as Match,
  submit: ((_i, k) => k.return) as Match,
  back: ((_i, k) => k.escape) as Match,
  cancel: ((i, k) => k.ctrl && i === 'c') as Match,
  yes: ((i) => i === 'y' || i === 'Y') as Match,
  no: ((i) => i === 'n' || i === 'N') as Match,
  /** Review: scroll the diff. */
  scrollDown: ((i, k) => k.pageDown || i === ' ') as Match,
  scrollUp: ((i, k) => k.pageUp || i === 'b') as Match,
};

export type Hint = [keys: string, action: string];

export const HINTS: Record<'select' | 'text' | 'confirm' | 'review' | 'task' | 'none', Hint[]> = {
  select: [['↑↓', 'move'], ['Enter', 'choose'], ['Esc', 'back'], ['Ctrl-C', 'cancel']],
  text: [['Enter', 'accept'], ['Esc', 'back'], ['Ctrl-C', 'cancel']],
  confirm: [['y/n', 'answer'], ['Enter', 'default'], ['Esc', 'back'], ['Ctrl-C', 'cancel']],
  review: [['↑↓', 'file'], ['PgUp/PgDn', 'scroll'], ['Enter', 'write'], ['Esc', 'back'], ['Ctrl-C', 'cancel']],
  task: [['Esc', 'back'], ['Ctrl-C', 'cancel']],
  none: [],
};
