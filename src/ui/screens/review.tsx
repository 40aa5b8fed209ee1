/** Every file to be written, and the diff of the focused one; Enter writes them all. */
import { useReducer } from 'react';
import { Box, Text, useInput } from 'ink';
import { KEYS } from '../keys.js';
import type { Screen } from '../store.js';
import type { Theme } from '../theme.js';
import { HelpLines } from '../components/basics.js';

interface State {
  file: number;
  scroll: number;
}

/**
 * A path cut in the middle to `width` columns: its start (where it lives) and its end (the file's
 * name) stay, so two files never look the same on a narrow terminal.
 */
export function elideMiddle(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  const tail = Math.ceil((width - 1) * 0.6);
  const head = width - 1 - tail;
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - tail).join('')}`;
}

export function ReviewScreen({ s, theme, rows, columns }: { s: Extract<Screen, { kind: 'review' }>; theme: Theme; rows: number; columns: number }) {
  const files = s.q.files;
  const firstChanged = Math.max(0, files.findIndex((f) => f.status !== 'unchanged'));
  // Kept shorter than the terminal: header, message, file list, rule, hints take ~12 rows.
  const diffRows = Math.max(4, rows - files.length - 12 - (s.q.help?.length ?? 0));
  const linesOf = (i: number) => (files[i]?.diff ? files[i]!.diff.replace(/\n$/, '').split('\n') : ['(no change)']);
  const [st, dispatch] = useReducer(
    (p: State, a: 'up' | 'down' | 'scrollUp' | 'scrollDown'): State => {
      if (a === 'up') return { file: Math.max(0, p.file - 1), scroll: 0 };
      if (a === 'down') return { file: Math.min(files.length - 1, p.file + 1), scroll: 0 };
      const max = Math.max(0, linesOf(p.file).length - diffRows);
      return { ...p, scroll: a === 'scrollDown' ? Math.min(max, p.scroll + diffRows) : Math.max(0, p.scroll - diffRows) };
    },
    { file: firstChanged, scroll: 0 },
  );
  useInput((input, key) => {
    if (KEYS.up(input, key)) dispatch('up');
    else if (KEYS.down(input, key)) dispatch('down');
    else if (KEYS.scrollDown(input, key)) dispatch('scrollDown');
    else if (KEYS.scrollUp(input, key)) dispatch('scrollUp');
    else if (KEYS.submit(input, key)) s.answer(true);
  });
  const lines = linesOf(st.file);
  const shown = lines.slice(st.scroll, st.scroll + diffRows);
  const more = lines.length - st.scroll - shown.length;
  const color = (l: string) => (l.startsWith('+') && !l.startsWith('+++') ? theme.ok : l.startsWith('-') && !l.startsWith('---') ? theme.error : l.startsWith('@@') ? theme.accent : undefined);
  return (
    <Box flexDirection="column">
      <Text wrap="wrap">
        <Text color={theme.accent}>? </Text>
        <Text bold>{s.q.message}</Text>
      </Text>
      <HelpLines theme={theme} lines={s.q.help} />
      {files.map((f, i) => (
        <Text key={f.path} wrap="truncate-end">
          <Text color={i === st.file ? theme.selected : undefined} bold={i === st.file}>{`${i === st.file ? '❯' : ' '} ${f.status === 'create' ? 'create   ' : f.status === 'update' ? 'update   ' : 'unchanged'} `}</Text>
          <Text>{elideMiddle(f.label, columns - 12)}</Text>
        </Text>
      ))}
      <Box flexDirection="column" marginTop={1} borderStyle="single" borderLeft={false} borderRight={false} borderBottom={false} borderDimColor>
        {shown.map((l, i) => (
          <Text key={i} color={color(l)} wrap="truncate-end">
            {l || ' '}
          </Text>
        ))}
        {more > 0 ? <Text dimColor={theme.dim}>{`… ${more} more lines (PgDn)`}</Text> : null}
      </Box>
    </Box>
  );
}
