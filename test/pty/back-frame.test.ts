/**
 * Esc as a terminal shows it: back one step, the screen shows exactly the earlier step (its
 * heading, its number) and nothing of the step left (neither its heading in the history above nor
 * the live header's counter).
 */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { KEY, startEmulated, emulatedRuns, type Emulated } from './emulator.js';
import { sandbox } from './helpers.js';

const { runs, roots, describePty } = emulatedRuns();

/** The live header's counter: `aider-mlx setup  DEMO      5/11 · Proxy or direct`. */
const HEADER = /^aider-mlx setup {2}DEMO\s+(\d+)(?:\/\d+)? · (.+)$/;
/** A heading in the history: `── Ports 6/11`. */
const HISTORY = /^── (.+?) (\d+)(?:\/\d+)?$/;

function headings(screen: string[]): { header: Array<[number, string]>; history: Array<[number, string]> } {
  const header: Array<[number, string]> = [];
  const history: Array<[number, string]> = [];
  for (const l of screen) {
    const h = HEADER.exec(l);
    if (h) header.push([Number(h[1]), h[2]!.trim()]);
    const m = HISTORY.exec(l);
    if (m) history.push([Number(m[2]), m[1]!.trim()]);
  }
  return { header, history };
}

async function after(e: Emulated, key: string, until: string | RegExp): Promise<string[]> {
  e.write(key);
  await e.waitFor(until, 60_000);
  return e.settle(400, 60_000);
}

describePty('Esc as a terminal shows it', () => {
  it('Ink, 100×40: Esc at Ports, then at Proxy or direct: each screen is the earlier step, nothing left of the later', async () => {
    const s = await sandbox();
    roots.push(s.root);
    const e = await startEmulated(['--demo', '--demo-dir', join(s.root, 'demo')], { env: s.env, cwd: s.project, cols: 100, rows: 40 });
    runs.push(e);
    const first = await e.waitFor(/Use this setup\?|Install\s+(it|both|all\s+\d)\s+now\?/, 30_000);
    if (!first.some((l) => l.includes('Use this setup?'))) await after(e, KEY.enter, 'Use this setup?');
    await e.settle();
    e.write(KEY.down);
    await e.waitFor('❯ Adjust…');
    await after(e, KEY.enter, '? How many models?');
    await after(e, KEY.enter, '? Which model writes the code?');
    await after(e, KEY.enter, '? Context window for the editor');
    const proxy = await after(e, KEY.enter, /How should Aider reach\s+the\s+servers\?/);
    const proxyHeading = headings(proxy).header[0]!;
    expect(proxyHeading[1]).toBe('Proxy or direct');
    const ports = await after(e, KEY.enter, /\? (Ports|Some ports are taken)/);
    expect(headings(ports).header.map(([, t]) => t)).toEqual(['Ports']);

    // Esc at Ports: Proxy or direct again, with the number it had.
    let screen = await after(e, KEY.esc, /How should Aider reach\s+the\s+servers\?/);
    let show = screen.map((l) => `|${l}`).join('\n');
    let h = headings(screen);
    expect(h.header, show).toEqual([proxyHeading]);
    expect(h.history.filter(([, t]) => t === 'Ports'), show).toEqual([]);
    expect(h.history.filter(([, t]) => t === 'Proxy or direct'), show).toEqual([proxyHeading]);
    // Headings on screen go up one by one, the live one last: no step left over between them.
    const nums = h.history.map(([n]) => n);
    expect(nums, show).toEqual(nums.map((_, i) => nums[0]! + i));
    expect(nums.at(-1), show).toBe(proxyHeading[0]);
    expect(screen.join('\n'), show).not.toContain('✓ LiteLLM is not installed');

    // Esc again: Editor model, its own number; nothing of Proxy or direct.
    screen = await after(e, KEY.esc, '? Which model writes the code?');
    show = screen.map((l) => `|${l}`).join('\n');
    h = headings(screen);
    expect(h.header, show).toEqual([[proxyHeading[0] - 1, 'Editor model']]);
    expect(h.history.filter(([, t]) => t === 'Proxy or direct' || t === 'Ports'), show).toEqual([]);
    expect(h.history.at(-1), show).toEqual([proxyHeading[0] - 1, 'Editor model']);
    expect(screen.join('\n'), show).not.toContain('✓ Which model writes the code?');

    // Forward again: the steps come back with the same numbers, each heading once on screen.
    await after(e, KEY.enter, '? Context window for the editor');
    screen = await after(e, KEY.enter, /How should Aider reach\s+the\s+servers\?/);
    show = screen.map((l) => `|${l}`).join('\n');
    h = headings(screen);
    expect(h.header, show).toEqual([proxyHeading]);
    expect(h.history.filter(([, t]) => t === 'Proxy or direct'), show).toEqual([proxyHeading]);
    expect(h.history.filter(([, t]) => t === 'Editor model'), show).toHaveLength(1);
  }, 120_000);
});
