/**
 * Without a terminal (stdin a pipe), every step heading of one run is numbered the same way:
 * "[n/N]", n going up by one, the last heading's total its own number (the total is the steps known
 * so far, so it may change when an answer adds or skips a step).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, sandbox } from './helpers.js';

function headings(text: string): string[] {
  return text.split('\n').filter((l) => /^\[\d/.test(l));
}

function expectNumbered(hs: string[], all: string): void {
  expect(hs.length, all).toBeGreaterThan(3);
  for (const h of hs) expect(h, all).toMatch(/^\[\d+\/\d+\] \S/);
  const nums = hs.map((h) => /^\[(\d+)\/(\d+)\]/.exec(h)!.slice(1).map(Number) as [number, number]);
  expect(nums.map(([n]) => n), all).toEqual(nums.map((_, i) => i + 1));
  for (const [n, total] of nums) expect(total, all).toBeGreaterThanOrEqual(n);
  expect(nums.at(-1)![1], all).toBe(nums.at(-1)![0]);
}

describe('step headings without a terminal', () => {
  for (const face of [[], ['--plain']]) {
    it(`setup --demo ${face.join(' ')}: every heading is [n/N], n one more each time`, async () => {
      const s = sandbox();
      const env = { ...s.env, CI: 'true', HF_HUB_OFFLINE: '1', HF_HUB_CACHE: join(s.root, 'hf') };
      const r = await cli(['setup', '--demo', ...face, '--demo-dir', join(s.root, 'demo')], { cwd: s.repo, env, timeoutMs: 120_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const all = r.stdout + r.stderr;
      expectNumbered(headings(all), all);
    }, 180_000);
  }
});
