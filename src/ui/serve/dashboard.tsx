/** The live serve dashboard: one row per unit, the selected unit's log tail below. */
import { useState, useSyncExternalStore } from 'react';
import { Box, Text, useInput, useStdout } from 'ink';
import { KEYS } from '../keys.js';
import type { Theme } from '../theme.js';
import { formatAgo, formatBytes } from '../../serve/metrics.js';
import { STATE_SYMBOL } from '../../serve/plain.js';
import type { ServeView } from '../../serve/view.js';
import type { UnitState } from '../../serve/supervisor.js';

const TAIL = 8;

function stateColor(s: UnitState, theme: Theme): string | undefined {
  if (!theme.color) return undefined;
  if (s === 'ready' || s === 'adopted' || s === 'remote') return theme.ok;
  if (s === 'failed' || s === 'blocked') return theme.error;
  if (s === 'backoff' || s === 'down') return theme.warn;
  return theme.info;
}

/**
 * Fixed columns never shrink (Ink's flex boxes do by default, so a long model name ran the state
 * into the memory); each keeps a space after it. A narrow terminal drops the least needed columns
 * (last request, then memory) before it would cut the port.
 */
function Col({ width, children }: { width: number; children: React.ReactNode }) {
  return (
    <Box width={width} flexShrink={0} marginRight={1}>
      {children}
    </Box>
  );
}

export function Dashboard({ view, theme, title, now = Date.now, onQuit, columns }: { view: ServeView; theme: Theme; title: string; now?: () => number; onQuit: () => void; columns?: number }) {
  const { stdout } = useStdout();
  const width = columns ?? stdout?.columns ?? 80;
  const showLast = width >= 96;
  const showMemory = width >= 72;
  const snap = useSyncExternalStore((fn) => view.subscribe(fn), () => view.snapshot().version);
  const { rows } = view.snapshot();
  const [selected, setSelected] = useState(0);
  useInput((input, key) => {
    if (KEYS.up(input, key)) setSelected((i) => Math.max(0, i - 1));
    else if (KEYS.down(input, key)) setSelected((i) => Math.min(rows.length - 1, i + 1));
    else if (KEYS.cancel(input, key) || input === 'q') onQuit();
  });
  const sel = rows[Math.min(selected, rows.length - 1)];
  const t = now();
  void snap;
  return (
    <Box flexDirection="column">
      <Text bold color={theme.color ? theme.accent : undefined}>{title}</Text>
      <Box>
        <Col width={18}><Text dimColor={theme.dim}>role</Text></Col>
        <Col width={21}><Text dimColor={theme.dim}>where</Text></Col>
        <Col width={10}><Text dimColor={theme.dim}>state</Text></Col>
        {showMemory ? <Col width={8}><Text dimColor={theme.dim}>memory</Text></Col> : null}
        {showLast ? <Col width={12}><Text dimColor={theme.dim}>last request</Text></Col> : null}
        <Text dimColor={theme.dim} wrap="truncate">model</Text>
      </Box>
      {rows.map((r, i) => (
        <Box key={r.unit.id}>
          <Col width={18}>
            <Text color={i === selected && theme.color ? theme.selected : undefined} wrap="truncate">
              {i === selected ? '› ' : '  '}
              {r.unit.label}
            </Text>
          </Col>
          <Col width={21}><Text wrap="truncate-middle">{`${r.unit.host}:${r.unit.port}`}</Text></Col>
          <Col width={10}><Text color={stateColor(r.unit.state, theme)} wrap="truncate">{`${STATE_SYMBOL[r.unit.state]} ${r.unit.state}`}</Text></Col>
          {showMemory ? <Col width={8}><Text wrap="truncate">{formatBytes(r.rssBytes)}</Text></Col> : null}
          {showLast ? <Col width={12}><Text wrap="truncate">{formatAgo(r.lastRequestAt, t)}</Text></Col> : null}
          <Text wrap="truncate">{r.unit.model ?? ''}</Text>
        </Box>
      ))}
      {sel ? (
        <Box flexDirection="column" marginTop={1}>
          <Text wrap="truncate">{`${sel.unit.label} ${sel.unit.host}:${sel.unit.port}: ${sel.unit.message}`}</Text>
          {sel.unit.logTail.slice(-TAIL).map((l, i) => (
            <Text key={i} dimColor={theme.dim} wrap="truncate">{`│ ${l}`}</Text>
          ))}
        </Box>
      ) : null}
      <Text dimColor={theme.dim}>↑↓ unit · q or Ctrl-C stop what serve started</Text>
    </Box>
  );
}
