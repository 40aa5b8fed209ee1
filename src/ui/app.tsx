import { useSyncExternalStore } from 'react';
import { Box, Text, useInput, useStdout } from 'ink';
import { KeyHints } from './components/basics.js';
import { HINTS, KEYS } from './keys.js';
import { ConfirmScreen, SelectScreen, TextScreen } from './screens/question.js';
import { History } from './screens/history.js';
import { ReviewScreen } from './screens/review.js';
import { TaskScreen } from './screens/task.js';
import type { UiStore } from './store.js';
import type { Theme } from './theme.js';
import { stepCounter } from '../wizard/prompter.js';

function Header({ title, demo, step, theme }: { title: string; demo: boolean; step?: { index: number; total?: number; title: string }; theme: Theme }) {
  return (
    <Box justifyContent="space-between">
      <Text wrap="truncate-end">
        <Text bold>{title}</Text>
        {demo ? <Text> </Text> : null}
        {demo ? <Text {...(theme.badge ?? { inverse: true })}>{' DEMO '}</Text> : null}
      </Text>
      {step ? <Text dimColor={theme.dim} wrap="truncate-start">{`${stepCounter(step)} · ${step.title}`}</Text> : null}
    </Box>
  );
}

export function App({ store, theme }: { store: UiStore; theme: Theme }) {
  const state = useSyncExternalStore(store.subscribe, store.get);
  const { stdout } = useStdout();
  const columns = stdout.columns || 80;
  const rows = stdout.rows || 24;
  // Always listening: keeps raw mode on, so Ctrl-C reaches us as a key, never as a stray SIGINT.
  useInput((input, key) => {
    if (KEYS.cancel(input, key)) store.onCancel();
    else if (KEYS.back(input, key)) store.onBack();
  });
  const s = state.screen;
  const hints = s.kind === 'idle' ? HINTS.none : HINTS[s.kind];
  return (
    <Box flexDirection="column">
      <History items={state.history} theme={theme} />
      {s.kind === 'idle' ? null : (
        <Box flexDirection="column" width={columns} marginTop={1}>
          <Header title={state.title} demo={state.demo} step={state.step} theme={theme} />
          <Box marginTop={1} flexDirection="column">
            {s.kind === 'select' ? <SelectScreen key={s.id} s={s} theme={theme} rows={rows} /> : null}
            {s.kind === 'text' ? <TextScreen key={s.id} s={s} theme={theme} /> : null}
            {s.kind === 'confirm' ? <ConfirmScreen key={s.id} s={s} theme={theme} /> : null}
            {s.kind === 'review' ? <ReviewScreen key={s.id} s={s} theme={theme} rows={rows} /> : null}
            {s.kind === 'task' ? <TaskScreen key={s.id} s={s} theme={theme} columns={columns} rows={rows} /> : null}
          </Box>
          <KeyHints theme={theme} hints={hints} />
        </Box>
      )}
    </Box>
  );
}
