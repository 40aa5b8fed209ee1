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

/** Rows a help line takes at this width, once wrapped (two spaces of indent). */
export function wrappedRows(line: string, columns: number): number {
  return Math.max(1, Math.ceil((line.length + 2) / Math.max(10, columns)));
}

/**
 * Rows `text` takes once a terminal `columns` wide shows it wrapped between words (as Ink wraps):
 * a word too long for a row is broken over as many as it needs.
 */
export function wordRows(text: string, columns: number): number {
  const w = Math.max(10, columns);
  let rows = 1;
  let used = 0;
  for (const word of text.split(' ')) {
    const n = [...word].length;
    if (used > 0 && used + 1 + n <= w) used += 1 + n;
    else if (used === 0 && n <= w) used = n;
    else {
      if (used > 0) rows++;
      rows += Math.max(0, Math.ceil(n / w) - 1);
      used = n % w || (n === 0 ? 0 : w);
    }
  }
  return rows;
}

/** The last help line shown when the rest does not fit. */
export const MORE = '… (a taller terminal shows the rest)';

/**
 * The help lines that fit in `maxRows` rows at this width, whole lines first to last; when some do
 * not fit, the last shown says so. The live area must stay shorter than the terminal: Ink cannot
 * redraw what scrolled off (a second header, a lost question).
 */
export function fitHelp(lines: string[] | undefined, columns: number, maxRows: number): string[] | undefined {
  if (!lines?.length) return lines;
  const out: string[] = [];
  let used = 0;
  for (const [i, l] of lines.entries()) {
    const rows = wrappedRows(l, columns);
    // A line that is not the last leaves a row for the "…" line after it.
    const reserve = i < lines.length - 1 ? 1 : 0;
    if (used + rows + reserve > maxRows) {
      out.push(MORE);
      return out;
    }
    out.push(l);
    used += rows;
  }
  return out;
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
