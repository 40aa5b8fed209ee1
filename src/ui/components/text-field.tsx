/**
 * A one-line text input: typing, paste, ←→, Home/End, Backspace, Delete, Ctrl-U; Enter submits.
 *
 * It reads the raw key events, not useInput's: a paste or a fast typist delivers several keys in
 * one chunk ("8192\r"), and useInput hands that over as one string whose Enter is lost; Ink also
 * reports Backspace and Delete as the same key. Every key of a chunk is applied in order to the
 * latest value (kept in a ref, not in a render's closure), so an Enter right after typing submits
 * what was typed, never the value of the previous frame.
 */
import { useEffect, useRef, useState } from 'react';
import { Text, useStdin } from 'ink';
import type { Theme } from '../theme.js';

export interface FieldState {
  value: string;
  cursor: number;
}

export type FieldAction =
  | { type: 'insert'; text: string }
  | { type: 'erase' }
  | { type: 'delete' }
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
    case 'delete':
      return s.cursor >= s.value.length ? s : { value: s.value.slice(0, s.cursor) + s.value.slice(s.cursor + 1), cursor: s.cursor };
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

export type FieldKey = FieldAction | { type: 'submit' };

// The cursor keys as xterm, VT220 and rxvt send them (with or without modifiers).
const SEQUENCES: Array<[RegExp, FieldKey]> = [
  [/^\x1b(?:\[(?:1;\d+)?|O)D$/, { type: 'left' }],
  [/^\x1b(?:\[(?:1;\d+)?|O)C$/, { type: 'right' }],
  [/^\x1b(?:\[(?:1;\d+)?H|OH|\[[17]~)$/, { type: 'start' }],
  [/^\x1b(?:\[(?:1;\d+)?F|OF|\[[48]~)$/, { type: 'end' }],
  [/^\x1b\[3(?:;\d+)?~$/, { type: 'delete' }],
];

/**
 * The keys in one raw input event, in order. An escape sequence is one key (Esc itself, arrows up
 * and down: not the field's; the App and the screens handle them); any other event is a run of
 * characters, each its own key: text, Enter, Backspace, Ctrl-A/E/U.
 */
export function fieldKeys(raw: string): FieldKey[] {
  if (raw.startsWith('\x1b')) {
    const hit = SEQUENCES.find(([re]) => re.test(raw));
    return hit ? [hit[1]] : [];
  }
  const keys: FieldKey[] = [];
  let text = '';
  const flush = () => {
    if (text) keys.push({ type: 'insert', text });
    text = '';
  };
  for (const ch of raw) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x20 && c !== 0x7f) {
      text += ch;
      continue;
    }
    flush();
    if (ch === '\r' || ch === '\n') keys.push({ type: 'submit' });
    else if (c === 0x7f || c === 0x08) keys.push({ type: 'erase' });
    else if (c === 0x15) keys.push({ type: 'clear' });
    else if (c === 0x01) keys.push({ type: 'start' });
    else if (c === 0x05) keys.push({ type: 'end' });
    // Other control keys (Ctrl-C, Tab, …) are not the field's.
  }
  flush();
  return keys;
}

export function TextField({
  placeholder, theme, isActive, onSubmit, onChange,
}: {
  placeholder?: string;
  theme: Theme;
  isActive: boolean;
  /** Return false to keep the field open (a rejected value); the keys after it still apply. */
  onSubmit: (value: string) => boolean | void;
  /** Called with the value after every edit (live validation, the fit of the number typed). */
  onChange?: (value: string) => void;
}) {
  const { internal_eventEmitter: events, setRawMode } = useStdin();
  const [s, setS] = useState<FieldState>({ value: '', cursor: 0 });
  const latest = useRef(s);
  const submitted = useRef(false);
  const submit = useRef(onSubmit);
  submit.current = onSubmit;
  const change = useRef(onChange);
  change.current = onChange;
  useEffect(() => {
    if (!isActive) return;
    setRawMode(true);
    return () => setRawMode(false);
  }, [isActive, setRawMode]);
  useEffect(() => {
    if (!isActive || !events) return;
    const onInput = (raw: string) => {
      // Only an edit is a change (an Enter alone, or a cursor move, is not), said before the Enter
      // that follows it in the same chunk (a paste ending in a newline).
      let told = latest.current.value;
      const tell = () => {
        if (latest.current.value !== told) change.current?.((told = latest.current.value));
      };
      for (const k of fieldKeys(raw)) {
        // Accepted: the screen is going; what follows in the chunk is not this field's.
        if (submitted.current) break;
        if (k.type === 'submit') {
          tell();
          submitted.current = submit.current(latest.current.value) !== false;
        } else latest.current = fieldReducer(latest.current, k);
      }
      setS(latest.current);
      if (!submitted.current) tell();
    };
    events.on('input', onInput);
    return () => {
      events.removeListener('input', onInput);
    };
  }, [isActive, events]);
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
