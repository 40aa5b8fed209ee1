/**
 * The doctor's text report, as people read it: the answer first, one line per hop, details only
 * under what failed or warned, skips collapsed, no check ids or cause codes (those are for --json
 * and --verbose), wrapped at the terminal's width without splitting a word.
 */
import { describe, expect, it } from 'vitest';
import { reportToText, splitFix } from '../../src/doctor/report.js';
import { runDoctor } from '../../src/doctor/run.js';
import { GROUP_TITLES } from '../../src/doctor/types.js';
import { EDITOR, worldsClosedAfterEach, type World } from './world.js';

const world = worldsClosedAfterEach();
const doctor = (w: World, errorText?: string) => runDoctor({ timeoutMs: 2000, deep: false, ...(errorText ? { errorText } : {}) }, { env: w.env, cwd: w.project });
/** What a check id or a cause code looks like on screen. */
const ID = /\[(?:error|env|config|server|proxy|aider)\.[^\]]*\]|\bC\d+\b|SPEC|§/;

describe('doctor text report', () => {
  it('a broken setup: the cause and its fix come first, in words; no ids, no cause codes', async () => {
    const w = await world({ editorDown: true });
    const port = w.plan.roles.editor.deployments[0]!.port;
    const r = await doctor(w, `Error: connect ECONNREFUSED 127.0.0.1:${port}`);
    const text = reportToText(r, { env: w.env, width: 100 });
    expect(text).not.toMatch(ID);
    const lines = text.split('\n');
    const firstHop = lines.findIndex((l) => /^[✓!✗–] /.test(l) && Object.values(GROUP_TITLES).some((t) => l.slice(2).startsWith(t)));
    const verdict = lines.findIndex((l) => l.startsWith('✗ 1 problem'));
    const likely = lines.findIndex((l) => l.includes('Most likely: Nothing listens where the request goes'));
    const fix = lines.findIndex((l) => /^mlx_lm\.server --model \S+ --port \d+( --prompt-cache-\S+ \S+)*$/.test(l.trim()) && l.trim().startsWith(`mlx_lm.server --model ${EDITOR} --port ${port}`));
    expect(verdict).toBeGreaterThan(-1);
    expect(likely).toBeGreaterThan(verdict);
    expect(fix).toBeGreaterThan(likely);
    expect(firstHop).toBeGreaterThan(fix);
    // One line per hop that passed; details under the one that failed.
    expect(lines).toContain('✓ Config files');
    expect(lines).toContain('✗ MLX servers');
    expect(text).not.toContain('every Aider model name has a provider prefix');
  });

  it('a chain of skips is one line, saying what they wait for', async () => {
    const w = await world({ editorDown: true });
    const text = reportToText(await doctor(w), { env: w.env });
    expect(text).toContain('– 5 checks skipped: the editor + weak server does not answer');
    expect(text).not.toContain('is mlx_lm.server — skipped');
    expect(text).not.toMatch(ID);
  });

  it('wraps at 60 columns on word boundaries: no word is split, a command stays whole on its own line', async () => {
    const w = await world({ editorDown: true });
    const r = await doctor(w, 'litellm.NotFoundError: NotFoundError: OpenAIException - Not Found');
    const narrow = reportToText(r, { env: w.env, width: 60 });
    const wide = reportToText(r, { env: w.env, width: 10_000 });
    const words = (s: string) => s.split(/\s+/).filter(Boolean);
    expect(words(narrow)).toEqual(words(wide));
    const start = `mlx_lm.server --model ${EDITOR} --port ${w.plan.roles.editor.deployments[0]!.port}`;
    // The commands the fixes name (splitFix finds them; each must appear whole).
    const commands = r.checks.flatMap((c) => (c.fix ? splitFix(c.fix).flatMap((p) => (p.cmd ? [p.cmd] : [])) : []));
    // (the server's command carries its prompt-cache bound after the port)
    expect(commands.some((c) => c === start || c.startsWith(`${start} --prompt-cache-`))).toBe(true);
    for (const l of narrow.split('\n')) {
      if (l.length <= 60) continue;
      // Only a command to copy, or a single word longer than the line, may run past the edge.
      expect(commands.includes(l.trim()) || words(l).length === 1, l).toBe(true);
    }
    expect(narrow.split('\n').map((l) => l.trim()).some((l) => l === start || l.startsWith(`${start} --prompt-cache-`))).toBe(true);
  });

  it('--verbose still lists every check, with its id', async () => {
    const w = await world({ editorDown: true });
    const r = await doctor(w);
    const text = reportToText(r, { env: w.env, verbose: true, width: 1000 });
    for (const c of r.checks) expect(text).toContain(`[${c.id}]`);
    expect(text).toMatch(/C7: Nothing listens/);
    expect(text).not.toMatch(/SPEC|§/);
  });

  it('a healthy setup says so first, and lists the hops in one line each', async () => {
    const w = await world({ two: false });
    const text = reportToText(await doctor(w), { env: w.env });
    expect(text.split('\n')[2]).toMatch(/^[✓!] /);
    expect(text).toContain('✓ Aider\n');
    expect(text).not.toMatch(ID);
  });
});
