import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot, selfCommand } from './paths.js';

describe('selfCommand: the command the next steps print', () => {
  it('from a checkout it is this checkout\'s bin (npx aider-mlx would ask the registry), and it runs as printed', () => {
    const cmd = selfCommand();
    expect(cmd).toBe(`node ${join(packageRoot(), 'bin', 'aider-mlx.js')}`);
    const [node, ...args] = cmd.split(' ');
    const version = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string;
    expect(execFileSync(node === 'node' ? process.execPath : node!, [...args, '--version'], { encoding: 'utf8' }).trim()).toBe(version);
  });
});
