/** A list with hints, disabled rows, a scrolling window and the focused row's description. */
import { useReducer, useRef } from 'react';
import { Box, Text, useInput } from 'ink';
import { initialIndex, type Choice } from '../../wizard/prompter.js';
import { KEYS } from '../keys.js';
import type { Theme } from '../theme.js';
import { wrapLine } from '../../lib/wrap.js';

export interface ListState {
  index: number;
  offset: number;
}

export type ListAction = 'up' | 'down' | 'pageUp' | 'pageDown' | 'home' | 'end';

/** Moves over selectable rows only; keeps the focused row inside the visible window. */
export function listReducer(choices: ReadonlyArray<{ disabled?: string }>, visible: number) {
  const ok = (i: number) => i >= 0 && i < choices.length && !choices[i]!.disabled;
  const step = (from: number, dir: 1 | -1, times = 1) => {
    let i = from;
    for (let n = 0; n < times; n++) {
      let j = i + dir;
      while (j >= 0 && j < choices.length && !ok(j)) j += dir;
      if (!ok(j)) break;
      i = j;
    }
    return i;
  };
  return (s: ListState, a: ListAction): ListState => {
    const index =
      a === 'up' ? step(s.index, -1)
      : a === 'down' ? step(s.index, 1)
      : a === 'pageUp' ? step(s.index, -1, visible)
      : a === 'pageDown' ? step(s.index, 1, visible)
      : a === 'home' ? step(-1, 1)
      : step(choices.length, -1);
    return { index, offset: windowFor(index, s.offset, visible, choices.length) };
  };
}

export function windowFor(index: number, offset: number, visible: number, total: number): number {
  let o = Math.min(offset, Math.max(0, total - visible));
  if (index < o) o = index;
  if (index >= o + visible) o = index - visible + 1;
  return Math.max(0, o);
}

/** The width a row takes on one line: "❯ label  (hint)". */
export function rowWidth(c: Pick<Choice, 'label' | 'hint' | 'disabled'>): number {
  const extra = c.disabled ? `  (${c.disabled})` : c.hint ? `  ${c.hint}` : '';
  return [...`❯ ${c.label}${extra}`].length;
}

/** Rows wrap their hint under the label when one of them would not fit on a line. */
export function wrapsHints(choices: ReadonlyArray<Pick<Choice, 'label' | 'hint' | 'disabled'>>, columns: number): boolean {
  return choices.some((c) => rowWidth(c) > columns);
}

export function SelectList({
  choices, defaultValue, visible, columns, theme, isActive, onSubmit,
}: {
  choices: Choice[];
  defaultValue?: string;
  visible: number;
  /** The terminal's width: rows too wide for it put their hint on a line of its own. */
  columns?: number;
  theme: Theme;
  isActive: boolean;
  onSubmit: (value: string) => void;
}) {
  // The latest position lives in a ref, not in a render's closure: keys that arrive together
  // ("↓↓⏎" in one chunk, or faster than a frame) each see the move before them.
  const pos = useRef<ListState | undefined>(undefined);
  if (!pos.current) {
    const index = initialIndex({ choices, default: defaultValue });
    pos.current = { index, offset: windowFor(index, 0, visible, choices.length) };
  }
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const move = (a: ListAction) => {
    pos.current = listReducer(choices, visible)(pos.current!, a);
    redraw();
  };
  useInput(
    (input, key) => {
      if (KEYS.up(input, key)) move('up');
      else if (KEYS.down(input, key)) move('down');
      else if (KEYS.pageUp(input, key)) move('pageUp');
      else if (KEYS.pageDown(input, key)) move('pageDown');
      else if (KEYS.home(input, key)) move('home');
      else if (KEYS.end(input, key)) move('end');
      else if (KEYS.submit(input, key)) {
        const c = choices[pos.current!.index];
        if (c && !c.disabled) onSubmit(c.value);
      }
    },
    { isActive },
  );
  // The window follows the terminal's height (a resize changes `visible`).
  const state = { index: pos.current.index, offset: windowFor(pos.current.index, pos.current.offset, visible, choices.length) };
  const shown = choices.slice(state.offset, state.offset + visible);
  const wrap = columns !== undefined && wrapsHints(choices, columns);
  const focused = choices[state.index];
  const above = state.offset;
  const below = choices.length - state.offset - shown.length;
  return (
    <Box flexDirection="column">
      {above > 0 ? <Text dimColor={theme.dim}>{`  ↑ ${above} more`}</Text> : null}
      {shown.map((c, i) => {
        const on = state.offset + i === state.index;
        const extra = c.disabled ? `(${c.disabled})` : c.hint;
        if (wrap && extra) {
          // The hint (size, fit) is what the row exists to show: under the label, never cut off.
          return (
            <Box key={c.value} flexDirection="column">
              <Text wrap="truncate-end" color={on ? theme.selected : undefined} bold={on}>{`${on ? '❯' : ' '} ${c.label}`}</Text>
              <Box paddingLeft={4}>
                <Text wrap="wrap" dimColor={theme.dim}>{extra}</Text>
              </Box>
            </Box>
          );
        }
        return (
          <Text key={c.value} wrap="truncate-end">
            <Text color={on ? theme.selected : undefined} bold={on}>{`${on ? '❯' : ' '} ${c.label}`}</Text>
            {extra ? <Text dimColor={theme.dim}>{`  ${extra}`}</Text> : null}
          </Text>
        );
      })}
      {below > 0 ? <Text dimColor={theme.dim}>{`  ↓ ${below} more`}</Text> : null}
      {focused?.description ? (
        <Box marginTop={1}>
          {/* Wrapped by the one rule: every row indented, a `command` kept whole (Ink's own wrap starts the next row at the edge). */}
          <Text dimColor={theme.dim} wrap="wrap">{wrapLine(`  ${focused.description}`, columns)}</Text>
        </Box>
      ) : null}
    </Box>
  );
}
