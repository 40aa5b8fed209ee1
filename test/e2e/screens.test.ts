/**
 * What a newcomer's first runs print without a terminal (a pipe): lines that fit 80 columns,
 * one numbering of the steps, no question echoed back, and no demo folder left behind.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, sandbox, type Sandbox } from './helpers.js';

const boxes: Sandbox[] = [];
afterEach(() => {
  for (const s of boxes.splice(0)) rmSync(s.root, { recursive: true, force: true });
});
/** A sandbox whose temp folder (TMPDIR) is its own: what a demo leaves there is seen. */
function box(): Sandbox & { tmp: string } {
  const s = sandbox();
  boxes.push(s);
  const tmp = join(s.root, 'tmp');
  mkdirSync(tmp);
  return { ...s, tmp, env: { ...s.env, TMPDIR: tmp, XDG_CONFIG_HOME: join(s.home, '.config'), HF_HUB_OFFLINE: '1', HF_HUB_CACHE: join(s.root, 'hf') } };
}

describe('the demo without a terminal', () => {
  it('a finished demo removes its /tmp/aider-mlx-demo-* folder, and says so', async () => {
    const s = box();
    const r = await cli(['setup', '--plain', '--demo'], { cwd: s.repo, env: s.env, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/aider-mlx-demo-\w+/);
    expect(readdirSync(s.tmp).filter((n) => n.startsWith('aider-mlx-demo-'))).toEqual([]);
    expect(`${r.stdout}${r.stderr}`.replace(/\s+/g, ' ')).toMatch(/the demo's files \(\S+aider-mlx-demo-\w+\) are removed as it ends/);
  }, 120_000);
});
