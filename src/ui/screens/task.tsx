/** Slow work: a spinner, a status line, a progress bar for downloads, the tail of the child's log. */
import { Box, Text } from 'ink';
import { ProgressBar, Spinner } from '../components/basics.js';
import type { Screen } from '../store.js';
import type { Theme } from '../theme.js';

export function TaskScreen({ s, theme, columns, rows }: { s: Extract<Screen, { kind: 'task' }>; theme: Theme; columns: number; rows: number }) {
  const tail = s.log.filter((l) => l.trim()).slice(-Math.max(2, Math.min(6, rows - 12)));
  return (
    <Box flexDirection="column">
      <Box>
        <Spinner theme={theme} since={s.startedAt} />
        <Text wrap="truncate-end">{` ${s.title}`}</Text>
      </Box>
      {s.status ? <Text dimColor={theme.dim} wrap="truncate-end">{`  ${s.status}`}</Text> : null}
      {s.progress && s.progress.total > 0 ? (
        <Box>
          <Text>{'  '}</Text>
          <ProgressBar theme={theme} done={s.progress.done} total={s.progress.total} width={Math.max(10, Math.min(40, columns - 30))} />
          {s.progress.label ? <Text dimColor={theme.dim} wrap="truncate-end">{` ${s.progress.label}`}</Text> : null}
        </Box>
      ) : null}
      {tail.map((l, i) => (
        <Text key={i} dimColor={theme.dim} wrap="truncate-end">{`  │ ${l}`}</Text>
      ))}
    </Box>
  );
}
