/**
 * The Ink face, loaded by dynamic import only when the wizard runs on a terminal. The first frame
 * (title and a spinner) is drawn before the wizard's own modules are even loaded.
 */
import { render } from 'ink';
import type { Prompter } from '../wizard/prompter.js';
import { App } from './app.js';
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
export const FIRST_TASK = 'Looking at this Mac: tools, cached models, ports';

export function startInkFace(o: InkFaceOptions): Prompter {
  const store = new UiStore({ title: o.title, demo: o.demo, screen: { kind: 'task', id: 0, title: FIRST_TASK, log: [], startedAt: Date.now() } });
  const instance = render(<App store={store} theme={themeFor(process.env)} />, {
    exitOnCtrlC: false,
    patchConsole: false,
    incrementalRendering: true,
    ...(o.stdout ? { stdout: o.stdout } : {}),
    ...(o.stdin ? { stdin: o.stdin } : {}),
  });
  return new InkPrompter(store, {
    onCancel: o.onCancel,
    signal: o.signal,
    unmount: async () => {
      instance.unmount();
      await instance.waitUntilExit().catch(() => undefined);
    },
  });
}
