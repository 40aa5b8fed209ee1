/**
 * What the built CLI prints for the things a new user tries first: `status --json` with no plan,
 * a mistyped main-level flag, every command's `--help` (the hidden stand-in server's too), and
 * the width of every help page.
 */
import { describe, expect, it } from 'vitest';
import { cli, sandbox } from './helpers.js';

describe('status --json with no plan (T1)', () => {
  it('prints a JSON document saying there is no setup and what to run, exit 2 like the text mode', async () => {
    const s = sandbox();
    const text = await cli(['status'], { cwd: s.repo, env: s.env });
    const r = await cli(['status', '--json'], { cwd: s.repo, env: s.env });
    expect(r.code).toBe(text.code);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ ok: false, mode: null, hops: [], background: null });
    expect(doc.error).toMatch(/^No plan yet at .*plan\.yaml\.$/);
    expect(doc.next).toEqual([expect.stringMatching(/ setup$/)]);
    // The human line still goes to stderr; stdout is only the document.
    expect(r.stderr).toMatch(/No plan yet/);
  });
});
