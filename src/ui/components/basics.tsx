import { useEffect, useState } from 'react';
import { Box, Text } from 'ink';
import type { NoteKind } from '../../wizard/prompter.js';
import type { Hint } from '../keys.js';
import type { Theme } from '../theme.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** A spinner and the seconds since `since`; one timer, 10 frames a second. */
export function Spinner({ theme, since }: { theme: Theme; since?: number }) {
  const [frame, setFrame] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setFrame((f) => f + 1), 100);
    return () => clearInterval(t);
  }, []);
  const secs = since !== undefined ? Math.floor((Date.now() - since) / 1000) : undefined;
  return (
    <Text>
      <Text color={theme.accent}>{FRAMES[frame % FRAMES.length]}</Text>
      {secs !== undefined && secs > 0 ? <Text dimColor={theme.dim}>{` ${secs}s`}</Text> : null}
    </Text>
  );
}

export function ProgressBar({ theme, done, total, width }: { theme: Theme; done: number; total: number; width: number }) {
  const share = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(share * width);
  return (
    <Text>
      <Text color={theme.accent}>{'█'.repeat(filled)}</Text>
      <Text dimColor={theme.dim}>{'░'.repeat(width - filled)}</Text>
      <Text>{` ${Math.floor(share * 100)}%`}</Text>
    </Text>
  );
}

export function KeyHints({ theme, hints }: { theme: Theme; hints: Hint[] }) {
  if (!hints.length) return null;
  return (
    <Box marginTop={1}>
      <Text dimColor={theme.dim} wrap="truncate-end">
        {hints.map(([k, a]) => `${k} ${a}`).join(' · ')}
      </Text>
    </Box>
  );
}

export const MARKS: Record<NoteKind, string> = { info: '·', warn: '!', error: '✗', success: '✓', dim: ' ' };

export function noteColor(theme: Theme, kind: NoteKind): string | undefined {
  return kind === 'warn' ? theme.warn : kind === 'error' ? theme.error : kind === 'success' ? theme.ok : undefined;
}

export function HelpLines({ theme, lines }: { theme: Theme; lines?: string[] }) {
  if (!lines?.length) return null;
  return (
    <Box flexDirection="column">
      {lines.map((l, i) => (
        <Text key={i} dimColor={theme.dim} wrap="wrap">
          {`  ${l}`}
        </Text>
      ))}
    </Box>
  );
}
