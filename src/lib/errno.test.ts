import { describe, expect, it } from 'vitest';
import { plainSystemError } from './errno.js';
import { tempPathFor } from './journal.js';

describe('plainSystemError names the file the user knows', () => {
  it("a temp the safe writer stages is named by its target, and ls -ld names the target's folder", () => {
    const temp = tempPathFor('/Users/me/proj/.aider.conf.yml');
    const err = Object.assign(new Error(`EACCES: permission denied, open '${temp}'`), { code: 'EACCES', syscall: 'open', path: temp });
    const p = plainSystemError(err)!;
    expect(p.message).toBe('Permission denied: aider-mlx could not open /Users/me/proj/.aider.conf.yml (EACCES).');
    expect(p.tryThis).toContain('ls -ld /Users/me/proj /Users/me/proj/.aider.conf.yml');
    expect(p.message + p.tryThis).not.toContain('aider-mlx-tmp');
  });
});
