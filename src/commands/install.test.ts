import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import type { Env } from '../lib/paths.js';
import { runInstall } from './install.js';

let home: string;
let bin: string;
let env: Env;

function tool(name: string, version: string) {
  fs.writeFileSync(join(bin, name), `#!/bin/sh\necho "${version}"\n`, { mode: 0o755 });
}
function io(interactive = false) {
  const o = { out: '', err: '' };
  return { o, io: { env, platform: 'linux' as const, interactive, out: (s: string) => void (o.out += s), err: (s: string) => void (o.err += s) } };
}

beforeEach(() => {
  home = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-install-cmd-'));
  bin = join(home, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(join(bin, 'python3'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  env = { HOME: home, PATH: bin };
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe('aider-mlx install', () => {
  it('keeps what is installed and says which version it found', async () => {
    tool('mlx_lm.server', '');
    tool('mlx_lm', '0.32.2');
    tool('litellm', 'LiteLLM: Current Version = 1.108.7');
    tool('aider', 'aider 0.85.0');
    const { o, io: i } = io();
    expect(await runInstall([], i)).toBe(0);
    expect(o.out).toContain('✓ mlx-lm 0.32.2 is installed');
    expect(o.out).toContain('✓ litellm 1.108.7 is installed');
    expect(o.out).toContain('✓ aider-chat 0.85.0 is installed: ~/bin/aider (aider-mlx is tested with 0.86.2)');
  });

  it('--dry-run lists the pinned installs and their commands, and runs nothing', async () => {
    const { o, io: i } = io();
    expect(await runInstall(['--dry-run'], i)).toBe(0);
    expect(o.err).toContain("Will install with pip in a venv of aider-mlx's (~/bin/python3):");
    expect(o.err).toContain('mlx-lm[cpu]==0.32.2');
    expect(o.err).toContain('litellm[proxy]==1.108.7');
    expect(o.err).toContain('aider-chat==0.86.2');
    expect(o.err).toContain('$ ~/bin/python3 -m venv --clear ~/.local/share/aider-mlx/venvs/litellm');
    expect(fs.existsSync(join(home, '.local'))).toBe(false);
  });

  it('a compromised litellm on PATH is named and replaced, never kept', async () => {
    tool('litellm', 'LiteLLM: Current Version = 1.82.8');
    const { o, io: i } = io();
    expect(await runInstall(['litellm', '--dry-run'], i)).toBe(0);
    expect(o.err).toContain('✗ ~/bin/litellm is litellm 1.82.8, a known-compromised release: remove it; installing 1.108.7.');
    expect(o.err).toContain('litellm[proxy]==1.108.7');
  });

  it('asks first; without a terminal it names --yes; unknown tools and methods are usage errors', async () => {
    await expect(runInstall(['aider'], io().io)).rejects.toThrow(/there is no terminal to ask in/);
    await expect(runInstall(['nope'], io().io)).rejects.toThrow(UsageError);
    await expect(runInstall(['--method', 'conda'], io().io)).rejects.toThrow(/--method must be one of uv, pipx, venv/);
    await expect(runInstall(['--method', 'uv'], io().io)).rejects.toThrow(/--method uv: uv is not on PATH/);
    const { o, io: i } = io(true);
    const asked: string[] = [];
    const no = { confirm: async (q: string) => (asked.push(q), false), choose: async () => 0, text: async () => '' };
    expect(await runInstall(['aider'], { ...i, asker: no })).toBe(130);
    expect(asked).toEqual(['Install?']);
    expect(o.err).toContain('Nothing was installed.');
  });
});
