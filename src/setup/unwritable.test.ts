/**
 * A project folder the user cannot write (a read-only checkout, another user's folder): the dry run
 * says so as the real run would (exit 2), and the real run stops before it makes a backup or a
 * journal, naming the folder (not an internal temp file). Root may write anywhere here, so the
 * permission is stood in for through caps.access; one test uses a real read-only folder when not root.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { startFakeMlxServer } from '../servers/fake-mlx-server.js';
import { freePorts } from '../wizard/test-helpers.js';
import { parseSetupFlags } from './flags.js';
import { runSetup } from './run.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'aider-mlx-ro-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('setup into a folder that cannot be written', () => {
  it('--dry-run: exit 2 naming the folder; the real run the same, and it leaves no backup or journal folder behind', async () => {
    const [port] = (await freePorts(1)) as [number];
    const server = await startFakeMlxServer({ port, model: EDITOR });
    try {
      const proj = join(root, 'proj');
      mkdirSync(join(proj, '.git'), { recursive: true });
      writeFileSync(join(proj, '.aider.conf.yml'), 'dark-mode: true  # mine\n');
      const env = { HOME: join(root, 'home'), XDG_CONFIG_HOME: join(root, 'home/.config'), PATH: '/usr/bin:/bin', HF_HUB_CACHE: join(root, 'hf'), HF_HUB_OFFLINE: '1' };
      const access = async (p: string) => {
        if (p === proj) throw Object.assign(new Error(`EACCES: permission denied, access '${p}'`), { code: 'EACCES' });
      };
      for (const dry of [true, false]) {
        const input = parseSetupFlags(['--yes', ...(dry ? ['--dry-run'] : []), '--mode', 'direct', '--scope', 'project', '--editor', EDITOR, '--editor-port', String(port)]);
        const err = await runSetup(input, { env, cwd: proj, defaultContextOf: () => 16384, access }).then(() => undefined, (e: unknown) => e);
        expect(err, dry ? 'dry run' : 'real run').toBeInstanceOf(AppError);
        expect((err as AppError).exitCode).toBe(2);
        expect((err as AppError).message).toBe(`${proj} is not writable by you (permission denied), so the files there cannot be written. Nothing was written.`);
        expect((err as AppError).tryThis).toContain(`ls -ld ${proj}`);
      }
      const cfg = join(root, 'home/.config/aider-mlx');
      expect(existsSync(cfg) ? readdirSync(cfg) : []).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
