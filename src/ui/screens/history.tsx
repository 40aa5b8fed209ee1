/** What is done stays on screen above the live area (Ink's Static: printed once, never redrawn). */
import { Box, Static, Text } from 'ink';
import { MARKS, noteColor } from '../components/basics.js';
import type { HistoryItem } from '../store.js';
import type { Theme } from '../theme.js';
import { stepCounter } from '../../wizard/prompter.js';
import { wrapText } from '../../lib/wrap.js';
import { sectionLines } from '../../prompters/lines.js';

/**
 * Text broken into rows by the one wrap rule (src/lib/wrap.ts), each row printed as it is: Ink
 * never breaks it again. A row still wider than the terminal (a command, kept whole to copy as one
 * line; a word too long for any row) is printed whole and the terminal soft-wraps it; it does not
 * widen the rows around it.
 */
function Rows({ text, columns, color, dim }: { text: string; columns: number; color?: string; dim?: boolean }) {
  return (
    <>
      {wrapText(text, columns)
        .split('\n')
        .map((row, i) => (
          <Box key={i} width={Math.max([...row].length, 1)} flexShrink={0}>
            <Text color={color} dimColor={dim} wrap="truncate-end">{row}</Text>
          </Box>
        ))}
    </>
  );
}

function Item({ item, theme, columns }: { item: HistoryItem; theme: Theme; columns: number }) {
  switch (item.kind) {
    case 'step':
      return (
        <Box marginTop={1}>
          <Text color={theme.accent} bold>{`── ${item.step.title} `}</Text>
          <Text dimColor={theme.dim}>{stepCounter(item.step)}</Text>
        </Box>
      );
    case 'answer':
      return (
        <Text wrap="wrap">
          <Text color={theme.ok}>{'✓ '}</Text>
          <Text>{`${item.question} `}</Text>
          <Text color={theme.accent}>{item.answer}</Text>
        </Text>
      );
    case 'note':
      return (
        <Box flexDirection="column">
          <Rows text={`${MARKS[item.note]} ${item.text}`} columns={columns} color={noteColor(theme, item.note)} dim={item.note === 'dim' && theme.dim} />
        </Box>
      );
    case 'summary':
      return (
        <Box flexDirection="column" marginTop={1}>
          <Text bold color={item.summary.ok ? theme.ok : theme.error}>{`${item.summary.ok ? '✓' : '✗'} ${item.summary.title}`}</Text>
          {item.summary.sections.map((sec) => (
            <Box key={sec.title} flexDirection="column" marginTop={1}>
              <Text bold>{sec.title}</Text>
              {sectionLines(sec).map((l, i) => (
                // Prose wrapped between words; a command (`$ …`) one line, however wide (its comment under it).
                <Rows key={i} text={l} columns={columns} />
              ))}
            </Box>
          ))}
        </Box>
      );
  }
}

/** Each item as wide as the terminal: a wide command row in one item never widens what wraps in another. */
export function History({ items, theme, columns }: { items: HistoryItem[]; theme: Theme; columns: number }) {
  return (
    <Static items={items}>
      {(item) => (
        <Box key={item.id} width={columns} flexDirection="column">
          <Item item={item} theme={theme} columns={columns} />
        </Box>
      )}
    </Static>
  );
}
