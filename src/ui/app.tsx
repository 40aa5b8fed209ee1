import { useEffect, useState, useSyncExternalStore } from 'react';
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

function Header({ title, demo, step, theme }: { title: string; demo: boolean; step?: { index: number; total: number; title: string }; theme: Theme }) {
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

/** Clear the screen, cursor to its top left (the scrollback stays). */
const CLEAR_SCREEN = '\u001B[2J\u001B[H';

/**
 * The terminal's size, as state: a resize re-renders the face at the new width (Ink alone only
 * lays the old tree out again, so boxes sized from the old width stay too wide and wrap).
 *
 * A resize also repaints the whole screen. A terminal reflows what it shows when its width changes
 * (long rows wrap onto more rows), so the frame Ink erases "so many rows up" is no longer that many
 * rows, and its leftovers would stay above the new frame. So, once the resizing stops, the screen
 * is cleared and the history printed again (a new key remounts Ink's <Static>, which prints every
 * item), then the live frame below it: one copy of everything, laid out for the new size.
 */
function useTerminalSize(stdout: NodeJS.WriteStream): { columns: number; rows: number; repaint: number } {
  const [size, setSize] = useState(() => ({ columns: stdout.columns || 80, rows: stdout.rows || 24, repaint: 0 }));
  useEffect(() => {
    let timer: NodeJS.Timeout | undefined;
    const onResize = () => {
      clearTimeout(timer);
      // After Ink's own redraw at the new size (throttled to ~33 ms) has gone out.
      timer = setTimeout(() => {
        stdout.write(CLEAR_SCREEN);
        setSize((s) => ({ columns: stdout.columns || 80, rows: stdout.rows || 24, repaint: s.repaint + 1 }));
      }, 60);
    };
    stdout.on('resize', onResize);
    return () => {
      clearTimeout(timer);
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}

export function App({ store, theme }: { store: UiStore; theme: Theme }) {
  const state = useSyncExternalStore(store.subscribe, store.get);
  const { stdout } = useStdout();
  const size = useTerminalSize(stdout);
  const { columns, rows } = size;
  // The history cut back (Esc to an earlier step): the screen is cleared before it is printed again.
  useEffect(() => {
    store.clearScreen = () => stdout.write(CLEAR_SCREEN);
    return () => {
      store.clearScreen = () => undefined;
    };
  }, [store, stdout]);
  // Always listening: keeps raw mode on, so Ctrl-C reaches us as a key, never as a stray SIGINT.
  useInput((input, key) => {
    if (KEYS.cancel(input, key)) store.onCancel();
    else if (KEYS.back(input, key)) store.onBack();
  });
  const s = state.screen;
  const hints = s.kind === 'idle' ? HINTS.none : HINTS[s.kind];
  return (
    <Box flexDirection="column">
      <History key={`${size.repaint}:${state.rewinds}`} items={state.history} theme={theme} columns={columns} />
      {s.kind === 'idle' ? null : (
        <Box flexDirection="column" width={columns} marginTop={1}>
          <Header title={state.title} demo={state.demo} step={state.step} theme={theme} />
          <Box marginTop={1} flexDirection="column">
            {s.kind === 'select' ? <SelectScreen key={s.id} s={s} theme={theme} rows={rows} columns={columns} /> : null}
            {s.kind === 'text' ? <TextScreen key={s.id} s={s} theme={theme} /> : null}
            {s.kind === 'confirm' ? <ConfirmScreen key={s.id} s={s} theme={theme} /> : null}
            {s.kind === 'review' ? <ReviewScreen key={s.id} s={s} theme={theme} rows={rows} columns={columns} /> : null}
            {s.kind === 'task' ? <TaskScreen key={s.id} s={s} theme={theme} columns={columns} rows={rows} /> : null}
          </Box>
          <KeyHints theme={theme} hints={hints} />
        </Box>
      )}
    </Box>
  );
}
