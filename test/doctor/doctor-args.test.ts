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
