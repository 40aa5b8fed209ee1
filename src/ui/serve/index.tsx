/** Mounts the serve dashboard; loaded by `serve` with a dynamic import, only on a terminal. */
import { render } from 'ink';
import { themeFor } from '../theme.js';
import type { ServeView } from '../../serve/view.js';
import { Dashboard } from './dashboard.js';

export function mountServeDashboard(view: ServeView, o: { title: string; onQuit: () => void; env?: Record<string, string | undefined> }) {
  const app = render(<Dashboard view={view} theme={themeFor(o.env)} title={o.title} onQuit={o.onQuit} />, { exitOnCtrlC: false, patchConsole: false });
  // "x s ago" ages even when nothing happens.
  const tick = setInterval(() => app.rerender(<Dashboard view={view} theme={themeFor(o.env)} title={o.title} onQuit={o.onQuit} />), 1000);
  return {
    unmount() {
      clearInterval(tick);
      app.unmount();
    },
  };
}
