/** For the Ink face's tests: render the App over a store, send named keys, wait for frames. */
import { render } from 'ink-testing-library';
import { App } from './app.js';
import { InkPrompter } from './ink-prompter.js';
import { UiStore } from './store.js';
import { themeFor } from './theme.js';

export const KEY = {
  up: '\u001B[A',
  down: '\u001B[B',
  enter: '\r',
  esc: '\u001B',
  ctrlC: '\u0003',
  backspace: '\u007F',
  pageDown: '\u001B[6~',
} as const;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;?]*[ -/]*[@-~]|\u001B\][^\u0007]*\u0007/g;
export const strip = (s: string | undefined) => (s ?? '').replace(ANSI, '');

export function renderFace(o: { title?: string; demo?: boolean } = {}) {
  const ctrl = new AbortController();
  const store = new UiStore({ title: o.title ?? 'aider-mlx setup', demo: o.demo ?? false });
  const prompter = new InkPrompter(store, { onCancel: () => ctrl.abort(), signal: ctrl.signal });
  const r = render(<App store={store} theme={themeFor({ NO_COLOR: '1' })} />);
  /** Everything written so far (history + live area), without ANSI codes. */
  const all = () => strip(r.frames.join('\n'));
  const frame = () => strip(r.lastFrame());
  async function waitFor(pred: (frame: string) => boolean, what: string, timeoutMs = 5000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const f = frame();
      if (pred(f)) return f;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last frame:\n${f}`);
      await new Promise((res) => setTimeout(res, 10));
    }
  }
  /** Wait for text in the live frame. */
  const waitForText = (text: string, timeoutMs?: number) => waitFor((f) => f.includes(text), `"${text}"`, timeoutMs);
  /**
   * Send keys one at a time, letting Ink handle each (a lone Esc needs its own tick). A screen's
   * key handler is attached in an effect, just after its first frame: give it that moment.
   */
  async function press(...keys: string[]) {
    for (const k of keys) {
      await new Promise((res) => setTimeout(res, 30));
      r.stdin.write(k);
    }
    await new Promise((res) => setTimeout(res, 20));
  }
  async function type(text: string) {
    await new Promise((res) => setTimeout(res, 30));
    r.stdin.write(text);
    await new Promise((res) => setTimeout(res, 20));
  }
  return { ...r, store, prompter, ctrl, frame, all, waitFor, waitForText, press, type };
}
