/**
 * `--deep`: the real Aider call, with a stand-in `aider` on PATH (a script that prints what the
 * real one prints), so the call, its arguments and the reading of its output are tested here; the
 * peers suite runs the real one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/doctor/run.js';
import { type World, worldsClosedAfterEach } from './world.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'peer-errors');
const world = worldsClosedAfterEach();

function fakeAider(w: World, output: string, code = 0) {
  const out = join(w.home, 'aider-output.txt');
  writeFileSync(out, output);
  writeFileSync(
    join(w.home, 'bin', 'aider'),
    `#!/bin/sh\nprintf '%s\\n' "$PWD" "$@" > "${join(w.home, 'aider-args.txt')}"\n/bin/cat "${out}"\nexit ${code}\n`,
    { mode: 0o755 },
  );
  return () => readFileSync(join(w.home, 'aider-args.txt'), 'utf8').split('\n');
}

describe('doctor --deep: a real Aider call', () => {
  it('passes when Aider answers; runs in the project with --dry-run and no history files', async () => {
    const w = await world({ two: false });
    const args = fakeAider(w, 'Aider v0.86.2\nModel: openai/mlx-qwen2.5-coder-7b-instruct-4bit with diff edit format\n\npong\n');
    const r = await runDoctor({ timeoutMs: 5000, deep: true }, { env: w.env, cwd: w.project });
    expect(r.checks.find((c) => c.id === 'aider.call')?.status).toBe('pass');
    const a = args();
    expect(a[0]).toBe(w.project);
    expect(a).toEqual(expect.arrayContaining(['--dry-run', '--no-auto-commits', '--no-gitignore', '--message']));
    expect(a).not.toContain('--config');
  });

  it('profile scope: Aider gets the profile files, like `aider-mlx aider`', async () => {
    const w = await world({ two: false, scope: 'profile' });
    const args = fakeAider(w, 'pong\n');
    await runDoctor({ timeoutMs: 5000, deep: true }, { env: w.env, cwd: w.project });
    const a = args();
    expect(a[a.indexOf('--config') + 1]).toBe(w.paths.conf);
    expect(a[a.indexOf('--model-settings-file') + 1]).toBe(w.paths.settings);
  });

  it('fails with the parsed LiteLLM error when Aider prints one (it exits 0 anyway)', async () => {
    const w = await world({ two: false });
    fakeAider(w, readFileSync(join(FIXTURES, 'aider-alias-as-upstream-model.txt'), 'utf8'));
    const r = await runDoctor({ timeoutMs: 5000, deep: true }, { env: w.env, cwd: w.project });
    const c = r.checks.find((x) => x.id === 'aider.call')!;
    expect(c.status).toBe('fail');
    expect(c.observed).toMatch(/^litellm\.NotFoundError \(OpenAIException, HTTP 404\)/);
    expect(c.causes?.[0]).toBe('C1');
  });

  it('is skipped when aider is not installed, and not run without --deep', async () => {
    const w = await world({ two: false });
    const deep = await runDoctor({ timeoutMs: 5000, deep: true }, { env: w.env, cwd: w.project });
    expect(deep.checks.find((c) => c.id === 'aider.call')?.status).toBe('skip');
    const plain = await runDoctor({ timeoutMs: 5000, deep: false }, { env: w.env, cwd: w.project });
    expect(plain.checks.find((c) => c.id === 'aider.call')).toBeUndefined();
  });
});
