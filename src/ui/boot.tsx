/**
 * The first frame, drawn before anything else of the face loads: the App's first screen with plain
 * nodes only (no hooks, no stdin) and ASCII only: the first non-ASCII character makes Ink build its
 * Unicode width tables (~20 ms here). The App, Braille spinner and all, replaces it a moment later.
 */
import { Box, render, Text, type Instance } from 'ink';
import { lookingAround } from '../lib/words.js';
import { HINTS } from './keys.js';
import { themeFor, type Theme } from './theme.js';

export const BOOT_TASK = lookingAround();

export function Boot({ title, demo, theme }: { title: string; demo: boolean; theme: Theme }) {
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text>
        <Text bold>{title}</Text>
        {demo ? <Text> </Text> : null}
        {demo ? <Text {...(theme.badge ?? { inverse: true })}>{' DEMO '}</Text> : null}
      </Text>
      <Box marginTop={1}>
        <Text color={theme.accent}>-</Text>
        <Text>{` ${BOOT_TASK}`}</Text>
      </Box>
      <Box marginTop={1}>
        <Text dimColor={theme.dim}>{HINTS.task.map(([k, a]) => `${k} ${a}`).join(', ')}</Text>
      </Box>
    </Box>
  );
}

export interface FirstFrame {
  instance: Instance;
  theme: Theme;
}

export function drawFirstFrame(o: { title: string; demo: boolean; stdout?: NodeJS.WriteStream; stdin?: NodeJS.ReadStream }): FirstFrame {
  const theme = themeFor(process.env);
  const instance = render(<Boot title={o.title} demo={o.demo} theme={theme} />, {
    exitOnCtrlC: false,
    patchConsole: false,
    // Never Ink's incrementalRendering: in Ink 6.8 its line-diff redraw moves the cursor up one line
    // too few whenever a frame is not shorter than the last one, so every changed row is written one
    // row too low over the old frame (two ❯, repeated rows, stacked hints). The standard redraw
    // erases the whole live area and writes it again: one frame on screen, whatever changed.
    ...(o.stdout ? { stdout: o.stdout } : {}),
    ...(o.stdin ? { stdin: o.stdin } : {}),
  });
  return { instance, theme };
}
