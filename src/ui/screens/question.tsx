/** The question screens: select, text, confirm. Esc and Ctrl-C are handled by the App. */
import { useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { resolveText } from '../../wizard/prompter.js';
import { fitHelp, HelpLines, MORE, wordRows, wrappedRows } from '../components/basics.js';
import { SelectList, wrapsHints } from '../components/select-list.js';
import { TextField } from '../components/text-field.js';
import { KEYS } from '../keys.js';
import type { Screen } from '../store.js';
import type { Theme } from '../theme.js';

function Message({ theme, text }: { theme: Theme; text: string }) {
  return (
    <Text wrap="wrap">
      <Text color={theme.accent}>? </Text>
      <Text bold>{text}</Text>
    </Text>
  );
}

/**
 * The question's summary in place of its help, counted row by row as this screen lays it out at
 * this size (every choice shown, no scroll markers); undefined when even that does not fit. A last
 * line says there is more when a row is left for it.
 */
export function compactHelp(q: Extract<Screen, { kind: 'select' }>['q'], columns: number, rows: number): string[] | undefined {
  if (!q.summary?.length) return undefined;
  const wrap = wrapsHints(q.choices, columns);
  // Above the help: a blank row, the header, a blank row, the message; below the list: a blank
  // row, the key hints, the row the cursor rests on, and one spare (the frame stays under the height).
  const fixed = 3 + wordRows(`? ${q.message}`, columns) + 4;
  const extra = (c: (typeof q.choices)[number]) => (c.disabled ? `(${c.disabled})` : c.hint);
  const list = q.choices.reduce((n, c) => n + (wrap && extra(c) ? 1 + wordRows(extra(c)!, columns - 4) : 1), 0);
  const description = Math.max(0, ...q.choices.map((c) => (c.description ? 1 + wordRows(`  ${c.description}`, columns) : 0)));
  const room = rows - fixed - list - description;
  const used = q.summary.reduce((n, l) => n + wordRows(`  ${l}`, columns), 0);
  if (used > room) return undefined;
  return used + wordRows(`  ${MORE}`, columns) <= room ? [...q.summary, MORE] : q.summary;
}

export function SelectScreen({ s, theme, rows, columns }: { s: Extract<Screen, { kind: 'select' }>; theme: Theme; rows: number; columns: number }) {
  // The live area must stay shorter than the terminal (Ink cannot redraw what scrolled off):
  // header, message, help, two "more" markers, a description and the key hints take ~14 rows.
  // Rows whose hint goes under the label take two.
  const perRow = wrapsHints(s.q.choices, columns) ? 2 : 1;
  // Help lines wrap on a narrow terminal: counted by the rows they take, and cut (saying so) when
  // they would leave less than three choices on screen.
  const minList = Math.min(s.q.choices.length, 3) * perRow;
  let help = fitHelp(s.q.help, columns, Math.max(1, rows - 14 - minList));
  const helpRows = (help ?? []).reduce((n, l) => n + wrappedRows(l, columns), 0);
  let visible = Math.max(Math.min(3, s.q.choices.length), Math.min(s.q.choices.length, Math.floor((rows - 14 - helpRows) / perRow)));
  // Too short for the help: its essentials instead, with every choice, when they fit.
  const compact = help?.at(-1) === MORE ? compactHelp(s.q, columns, rows) : undefined;
  if (compact) {
    help = compact;
    visible = s.q.choices.length;
  }
  return (
    <Box flexDirection="column">
      <Message theme={theme} text={s.q.message} />
      <HelpLines theme={theme} lines={help} />
      <SelectList choices={s.q.choices} defaultValue={s.q.default} visible={visible} columns={columns} theme={theme} isActive onSubmit={s.answer} />
    </Box>
  );
}

export function TextScreen({ s, theme }: { s: Extract<Screen, { kind: 'text' }>; theme: Theme }) {
  const [error, setError] = useState<string | undefined>();
  // The step's own lines for what is typed so far (e.g. the memory fit of a context window).
  const [live, setLive] = useState<string[] | undefined>(undefined);
  const placeholder = s.q.default !== undefined ? `${s.q.default}  (Enter keeps it)` : s.q.placeholder;
  return (
    <Box flexDirection="column">
      <Message theme={theme} text={s.q.message} />
      <HelpLines theme={theme} lines={live ?? s.q.help} />
      <Box>
        <Text color={theme.accent}>{'❯ '}</Text>
        <TextField
          placeholder={placeholder}
          theme={theme}
          isActive
          onChange={(v: string) => {
            // A complaint about what was typed goes as soon as it is edited.
            setError(undefined);
            if (s.q.live) setLive(s.q.live(v));
          }}
          onSubmit={(raw) => {
            const r = resolveText(s.q, raw);
            if ('error' in r) {
              setError(r.error);
              return false;
            }
            s.answer(r.value);
            return true;
          }}
        />
      </Box>
      {error ? <Text color={theme.error}>{`  ✗ ${error}`}</Text> : null}
    </Box>
  );
}

export function ConfirmScreen({ s, theme }: { s: Extract<Screen, { kind: 'confirm' }>; theme: Theme }) {
  useInput((input, key) => {
    if (KEYS.yes(input, key)) s.answer(true);
    else if (KEYS.no(input, key)) s.answer(false);
    else if (KEYS.submit(input, key)) s.answer(s.q.default);
  });
  return (
    <Box flexDirection="column">
      <Text wrap="wrap">
        <Text color={theme.accent}>? </Text>
        <Text bold>{s.q.message}</Text>
        <Text dimColor={theme.dim}>{s.q.default ? ' (Y/n)' : ' (y/N)'}</Text>
      </Text>
      <HelpLines theme={theme} lines={s.q.help} />
    </Box>
  );
}
