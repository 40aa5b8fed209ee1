import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { themeFor } from '../theme.js';
import { KEY, strip } from '../test-kit.js';
import { ServeView } from '../../serve/view.js';
import type { UnitStatus } from '../../serve/supervisor.js';
import { Dashboard } from './dashboard.js';

const T0 = Date.parse('2026-11-25T13:00:00Z');
const unit = (o: Partial<UnitStatus> & Pick<UnitStatus, 'id' | 'label' | 'port'>): UnitStatus => ({
  kind: 'server', host: '127.0.0.1', state: 'waiting', message: 'waiting', owned: true, restarts: 0, failures: 0, since: T0, logTail: [], ...o,
});

async function until(pred: () => boolean, what: string, frame: () => string) {
  for (let i = 0; i < 200; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}:\n${frame()}`);
}

describe('serve dashboard', () => {
  it('shows role, where, state, memory, last request and the selected log tail; q stops', async () => {
    const editor = unit({ id: 'e', label: 'editor + weak', port: 8080, model: 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit' });
    const proxy = unit({ id: 'p', kind: 'proxy', label: 'proxy', port: 4000 });
    const view = new ServeView([editor, proxy]);
    let quit = 0;
    const r = render(<Dashboard view={view} theme={themeFor({ NO_COLOR: '1' })} title="aider-mlx serve" now={() => T0 + 3000} onQuit={() => quit++} columns={100} />);
    const frame = () => strip(r.lastFrame());
    await until(() => frame().includes('… waiting'), 'the first frame', frame);

    view.apply({ type: 'state', at: T0, previous: 'waiting', unit: { ...editor, state: 'ready', message: 'ready in 2.1 s', pid: 41 } });
    view.apply({ type: 'log', at: T0, unitId: 'e', line: '127.0.0.1 - - [25/Nov/2026 13:00:00] "GET /health HTTP/1.1" 200 -' });
    view.apply({ type: 'log', at: T0, unitId: 'e', line: '127.0.0.1 - - [25/Nov/2026 13:00:00] "POST /v1/chat/completions HTTP/1.1" 200 -' });
    view.apply({ type: 'state', at: T0, previous: 'waiting', unit: { ...proxy, state: 'backoff', message: 'crashed (exit code 1); restarting in 1 s (1 of 6)', logTail: ['ImportError: litellm[proxy] is missing'] } });
    view.setMemory(new Map([[41, 512 * 1024 * 1024]]));
    await until(() => frame().includes('512 MB'), 'the memory', frame);
    const f = frame();
    expect(f).toMatch(/› editor \+ weak +127\.0\.0\.1:8080 +✓ ready +512 MB +3 s ago +mlx-community\/Qwen2\.5-Cod/);
    expect(f).toMatch(/ {2}proxy +127\.0\.0\.1:4000 +↻ backoff +— +—/);
    expect(f).toContain('editor + weak 127.0.0.1:8080: ready in 2.1 s');
    expect(f).toContain('│ 127.0.0.1 - - [25/Nov/2026 13:00:00] "POST /v1/chat/completions HTTP/1.1" 200 -');

    await new Promise((res) => setTimeout(res, 30));
    r.stdin.write(KEY.down);
    await until(() => frame().includes('ImportError'), 'the proxy log tail', frame);
    expect(frame()).toContain('proxy 127.0.0.1:4000: crashed (exit code 1); restarting in 1 s (1 of 6)');
    r.stdin.write('q');
    await until(() => quit === 1, 'q', frame);
    r.unmount();
  });

  it('columns never run together and the port is never cut, at 100, 80 and 60 columns (a long model name too)', async () => {
    for (const columns of [100, 80, 60]) {
      const editor = unit({ id: 'e', label: 'editor + weak', port: 18180, model: 'mlx-community/Qwen2.5-Coder-32B-Instruct-4bit-with-a-long-name' });
      const view = new ServeView([editor]);
      const r = render(<Dashboard view={view} theme={themeFor({ NO_COLOR: '1' })} title="aider-mlx serve" now={() => T0 + 3000} onQuit={() => undefined} columns={columns} />);
      const frame = () => strip(r.lastFrame());
      view.apply({ type: 'state', at: T0, previous: 'waiting', unit: { ...editor, state: 'adopted', message: 'adopted', pid: 41 } });
      view.setMemory(new Map([[41, 47 * 1024 * 1024]]));
      await until(() => frame().includes('adopted'), 'the adopted state', frame);
      const row = frame().split('\n').find((l) => l.includes('editor + weak'))!;
      expect(row, `${columns}: ${row}`).toContain('127.0.0.1:18180 ');
      expect(row, `${columns}: ${row}`).not.toMatch(/adopted\S/);
      if (columns >= 72) expect(row, `${columns}: ${row}`).toMatch(/✓ adopted +47 MB +/);
      r.unmount();
    }
  });
});
