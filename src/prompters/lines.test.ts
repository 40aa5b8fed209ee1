import { describe, expect, it } from 'vitest';
import { selfCommand } from '../lib/paths.js';
import { noteLine } from './lines.js';

describe('noteLine', () => {
  it('names a backticked `aider-mlx …` command as this copy runs, and leaves prose that names the tool', () => {
    const line = noteLine('info', 'It keeps running: `aider-mlx stop` stops it; aider-mlx writes only its own keys.');
    expect(line).toContain(`\`${selfCommand()} stop\``);
    expect(line).toContain('; aider-mlx writes only its own keys.');
  });
});
