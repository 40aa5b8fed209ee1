/**
 * The Ink face, loaded by dynamic import only when the wizard runs on a terminal. The first frame
 * (title and a spinner) is drawn before the wizard's own modules are even loaded.
 */
import { render } from 'ink';
import type { Prompter } from '../wizard/prompter.js';
import { App, Boot, BOOT_TASK } from './app.js';
import { InkPrompter } from './ink-prompter.js';
import { UiStore } from './store.js';
import { themeFor } from './theme.js';

export interface InkFaceOptions {
  title: string;
  demo: boolean;
  onCancel: () => void;
  signal: AbortSignal;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}

/** The first screen: what the first step will show, so the hand-over does not flicker. */
export const FIRST_TASK = BOOT_TASK;

export function startInkFace(o: InkFaceOptions): Prompter {
  const store = new UiStore({ title: o.title, demo: o.demo, screen: { kind: 'task', id: 0, title: FIRST_TASK, log: [], startedAt: Date.now() } });
  const theme = themeFor(process.env);
  // The first frame is a few plain nodes (the App's look, without its hooks): on screen at once.
  // The App, with its key handling and timers, takes over on the next turn of the event loop.
  const instance = render(<Boot title={o.title} demo={o.demo} theme={theme} />, {
    exitOnCtrlC: false,
    patchConsole: false,
    incrementalRendering: true,
    ...(o.stdout ? { stdout: o.stdout } : {}),
    ...(o.stdin ? { stdin: o.stdin } : {}),
  });
  setImmediate(() => instance.rerender(<App store={store} theme={theme} />));
  return new InkPrompter(store, {
    onCancel: o.onCancel,
    signal: o.signal,
    unmount: async () => {
      instance.unmount();
      await instance.waitUntilExit().catch(() => undefined);
    },
  });
}
