/**
 * The Ink face, loaded by dynamic import only when the wizard runs on a terminal, after its first
 * frame is on screen (boot.tsx): the App takes that frame over.
 */
import type { Prompter } from '../wizard/prompter.js';
import { App } from './app.js';
import { BOOT_TASK, type FirstFrame } from './boot.js';
import { InkPrompter } from './ink-prompter.js';
import { UiStore } from './store.js';

export interface InkFaceOptions {
  title: string;
  demo: boolean;
  onCancel: () => void;
  signal: AbortSignal;
}

export function startInkFace(o: InkFaceOptions, first: FirstFrame): Prompter {
  // The same screen the first frame showed, so the hand-over does not flicker.
  const store = new UiStore({ title: o.title, demo: o.demo, screen: { kind: 'task', id: 0, title: BOOT_TASK, log: [], startedAt: Date.now() } });
  first.instance.rerender(<App store={store} theme={first.theme} />);
  return new InkPrompter(store, {
    onCancel: o.onCancel,
    signal: o.signal,
    unmount: async () => {
      first.instance.unmount();
      await first.instance.waitUntilExit().catch(() => undefined);
    },
  });
}
