/** A one-line text input: typing, paste, ←→, backspace, Ctrl-U; Enter submits. */
import { useEffect, useReducer } from 'react';
import { Text, useInput } from 'ink';
import { KEYS } from '../keys.js';
import type { Theme } from '../theme.js';

export interface FieldState {
  value: string;
  cursor: number;
}

export type FieldAction =
  | { type: 'insert'; text: string }
  | { type: 'erase' }
  | { type: 'left' }
  | { type: 'right' }
  | { type: 'start' }
  | { type: 'end' }
  | { type: 'clear' };

export function fieldReducer(s: FieldState, a: FieldAction): FieldState {
  switch (a.type) {
    case 'insert': {
      const text = a.text.replace(/[\r\n\t]/g, '');
      return { value: s.value.slice(0, s.cursor) + text + s.value.slice(s.cursor), cursor: s.cursor + text.length };
    }
    case 'erase':
      return s.cursor === 0 ? s : { value: s.value.slice(0, s.cursor - 1) + s.value.slice(s.cursor), cursor: s.cursor - 1 };
    case 'left':
      return { ...s, cursor: Math.max(0, s.cursor - 1) };
    case 'right':
      return { ...s, cursor: Math.min(s.value.length, s.cursor + 1) };
    case 'start':
      return { ...s, cursor: 0 };
    case 'end':
      return { ...s, cursor: s.value.length };
    case 'clear':
      return { value: '', cursor: 0 };
  }
}

export function TextField({
  placeholder, theme, isActive, onSubmit, onChange,
}: {
  placeholder?: string;
  theme: Theme;
  isActive: boolean;
  onSubmit: (value: string) => void;
  /** Called with the value after every edit (live validation, the fit of the number typed). */
  onChange?: (value: string) => void;
}) {
  const [s, dispatch] = useReducer(fieldReducer, { value: '', cursor: 0 });
  useEffect(() => onChange?.(s.value), [s.value]);
  useInput(
    (input, key) => {
      if (KEYS.submit(input, key)) onSubmit(s.value);
      else if (KEYS.erase(input, key)) dispatch({ type: 'erase' });
      else if (KEYS.left(input, key)) dispatch({ type: 'left' });
      else if (KEYS.right(input, key)) dispatch({ type: 'right' });
      else if (KEYS.clearLine(input, key)) dispatch({ type: 'clear' });
      else if (KEYS.lineStart(input, key)) dispatch({ type: 'start' });
      else if (KEYS.lineEnd(input, key)) dispatch({ type: 'end' });
      else if (input && !key.ctrl && !key.meta && !key.escape && !key.upArrow && !key.downArrow && !key.tab) dispatch({ type: 'insert', text: input });
    },
    { isActive },
  );
  if (!s.value) {
    return (
      <Text>
        <Text inverse> </Text>
        <Text dimColor={theme.dim}>{placeholder ?? ''}</Text>
      </Text>
    );
  }
  const before = s.value.slice(0, s.cursor);
  const at = s.value[s.cursor] ?? ' ';
  const after = s.value.slice(s.cursor + 1);
  return (
    <Text wrap="truncate-start">
      {before}
      <Text inverse>{at}</Text>
      {after}
    </Text>
  );
}
