/** What is done stays on screen above the live area (Ink's Static: printed once, never redrawn). */
import { Box, Static, Text } from 'ink';
import { MARKS, noteColor } from '../components/basics.js';
import type { HistoryItem } from '../store.js';
import type { Theme } from '../theme.js';
import { stepCounter } from '../../wizard/prompter.js';
import { COMMAND_LINE } from '../../lib/wrap.js';

function Item({ item, theme }: { item: HistoryItem; theme: Theme }) {
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
        <Text color={noteColor(theme, item.note)} dimColor={item.note === 'dim' && theme.dim} wrap="wrap">
          {`${MARKS[item.note]} ${item.text}`}
        </Text>
      );
    case 'summary':
      return (
        <Box flexDirection="column" marginTop={1}>
          <Text bold color={item.summary.ok ? theme.ok : theme.error}>{`${item.summary.ok ? '✓' : '✗'} ${item.summary.title}`}</Text>
          {item.summary.sections.map((sec) => (
            <Box key={sec.title} flexDirection="column" marginTop={1}>
              <Text bold>{sec.title}</Text>
              {sec.lines.map((l, i) => {
                const line = `  ${sec.title.startsWith('Next') ? `${i + 1}. ` : ''}${l}`;
                // A command (`$ …`) is one line, however wide: the terminal may soft-wrap it, a paste runs it whole.
                return COMMAND_LINE.test(line) ? (
                  <Box key={i} width={[...line].length} flexShrink={0}>
                    <Text wrap="truncate-end">{line}</Text>
                  </Box>
                ) : (
                  <Text key={i} wrap="wrap">{line}</Text>
                );
              })}
            </Box>
          ))}
        </Box>
      );
  }
}

export function History({ items, theme }: { items: HistoryItem[]; theme: Theme }) {
  return <Static items={items}>{(item) => <Item key={item.id} item={item} theme={theme} />}</Static>;
}
