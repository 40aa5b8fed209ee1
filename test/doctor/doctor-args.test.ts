/** `doctor` flags: an --error that holds no text is a usage error (exit 2), not a run that passes. */
import { describe, expect, it } from 'vitest';
import { parseDoctorArgs } from '../../src/commands/doctor.js';
import { AppError } from '../../src/errors.js';

describe('doctor --error', () => {
  for (const text of ['', '   ', '\n\t ']) {
    it(`${JSON.stringify(text)}: exit 2, saying it needs the text Aider printed`, async () => {
      const e = await parseDoctorArgs(['--error', text]).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(AppError);
      expect((e as AppError).exitCode).toBe(2);
      expect((e as AppError).message).toMatch(/^--error needs the text Aider printed/);
    });
  }

  it('text is kept as given', async () => {
    expect((await parseDoctorArgs(['--error', ' litellm.NotFoundError: x '])).errorText).toBe(' litellm.NotFoundError: x ');
  });
});

describe('what doctor --fix says it resolved', () => {
  it('a problem fixed in the file that the running proxy still shows is counted as waiting for the restart, not as "0 resolved" alone', async () => {
    const { resolvedLine } = await import('../../src/commands/doctor.js');
    const c = (id: string, extra: Record<string, unknown> = {}) => ({ id, group: 'proxy' as const, title: id, status: 'fail' as const, ...extra });
    const addresses = [c('chain.upstream.coder.0', { edits: [{ path: '/h/litellm.yaml', format: 'yaml', keyPath: ['x'], new: 'y' }] }), c('aider.base')];
    // After: the upstream check still fails (the proxy runs the old config), with nothing left to edit; the base is fixed.
    const after = [c('chain.upstream.coder.0', { restart: 'litellm --config ~/litellm.yaml --port 4000' })];
    expect(resolvedLine(addresses, after, true)).toBe('--fix resolved 1 of 2 problems it could touch; 1 is fixed in the file and goes once you start or restart what is said above.');
    expect(resolvedLine(addresses, [], false)).toBe('--fix resolved 2 of 2 problems it could touch.');
  });
});
