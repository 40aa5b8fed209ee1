import { describe, expect, it } from 'vitest';
import { BOOT_TASK } from '../ui/boot.js';
import { lookingAround, thisMachine } from './words.js';

describe('machine words', () => {
  it('say Mac only on macOS, the boot frame included', () => {
    expect(lookingAround('darwin')).toBe('Looking at this Mac: tools, cached models, ports');
    expect(lookingAround('linux')).toBe('Looking at this machine: tools, cached models, ports');
    expect(thisMachine('win32')).toBe('this machine');
    expect(BOOT_TASK).toBe(lookingAround(process.platform));
    if (process.platform !== 'darwin') expect(BOOT_TASK).not.toContain('Mac');
  });
});
