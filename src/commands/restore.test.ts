import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { applyWrites, planWrites, readManifest } from '../lib/fs.js';
import { configPaths, type Env } from '../lib/paths.js';
import { scriptedAsker } from '../tools/ask.js';
import { listBackupSets, runRestore } from './restore.js';

let home: string;
let env: Env;
let a: string;
let b: string;

const write = async (changes: Array<[string, string]>, now: Date) =>
  applyWrites(await planWrites(changes.map(([path, content]) => ({ path, content }))), { backupRoot: configPaths(env).backups, now });

function out() {
  const o = { stdout: '', stderr: '' };
  return { o, io: { out: (s: string) => void (o.stdout += s), err: (s: string) => void (o.stderr += s) } };
}

beforeEach(async () => {
  home = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-restore-'));
  env = { HOME: home };
  a = join(home, 'proj', '.aider.conf.yml');
  b = join(home, 'proj', '.aider.model.settings.yml');
  fs.mkdirSync(join(home, 'proj'));
  fs.writeFileSync(a, '# mine\nmodel: gpt-4o\r\n'); // CRLF and all: bytes, not text
  await write([[a, 'model: openai/one\n'], [b, '- name: openai/one\n']], new Date('2026-11-25T10:00:00Z'));
  await write([[a, 'model: openai/two\n'], [b, '- name: openai/two\n']], new Date('2026-11-25T11:00:00Z'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe('restore', () => {
  it('--list shows every set, newest first, with how each file compares with now', async () => {
    const { o, io } = out();
    expect(await runRestore(['--list'], { ...io, env, interactive: false })).toBe(0);
    const lines = o.stdout.split('\n');
    expect(lines[1]).toMatch(/^ {2}1\. 2026-11-25T11-00-00-000Z/);
    expect(o.stdout).toMatch(/2\. 2026-11-25T10-00-00-000Z[\s\S]*proj\/\.aider\.conf\.yml {2}\(differs from now\)[\s\S]*settings\.yml {2}\(did not exist then: restoring removes it\)/);
  });

  it('--yes puts back the newest set byte for byte, backed up first, and that can be undone', async () => {
    const [newest] = await listBackupSets(configPaths(env).backups);
    const { o, io } = out();
    expect(await runRestore(['--yes'], { ...io, env, interactive: false })).toBe(0);
    const manifest = await readManifest(newest!.dir);
    for (const f of manifest.files) {
      expect(fs.readFileSync(f.path)).toEqual(fs.readFileSync(join(newest!.dir, f.backup!)));
    }
    expect(fs.readFileSync(a, 'utf8')).toBe('model: openai/one\n');
    expect(o.stdout).toMatch(/`aider-mlx restore (\S+)` undoes this/);
    const undo = /`aider-mlx restore (\S+)` undoes this/.exec(o.stdout)![1]!;
    const again = out();
    expect(await runRestore([undo], { ...again.io, env, interactive: false })).toBe(0);
    expect(fs.readFileSync(a, 'utf8')).toBe('model: openai/two\n');
    expect(fs.readFileSync(b, 'utf8')).toBe('- name: openai/two\n');
  });

  it('a set chosen by number returns the original bytes and removes files that did not exist', async () => {
    const { io } = out();
    expect(await runRestore(['2'], { ...io, env, interactive: false })).toBe(0);
    expect(fs.readFileSync(a)).toEqual(Buffer.from('# mine\nmodel: gpt-4o\r\n'));
    expect(fs.existsSync(b)).toBe(false);
  });

  it('asks which set and confirms on a terminal; "no" changes nothing', async () => {
    const before = fs.readFileSync(a, 'utf8');
    const asker = scriptedAsker([1, false]);
    const { io } = out();
    expect(await runRestore([], { ...io, env, interactive: true, asker })).toBe(130);
    expect(asker.asked).toHaveLength(2);
    expect(fs.readFileSync(a, 'utf8')).toBe(before);
    const yes = scriptedAsker([1, true]);
    expect(await runRestore([], { ...io, env, interactive: true, asker: yes })).toBe(0);
    expect(fs.readFileSync(a, 'utf8')).toBe('# mine\nmodel: gpt-4o\r\n');
  });

  it('without a terminal it names --yes instead of asking', async () => {
    const { io } = out();
    await expect(runRestore([], { ...io, env, interactive: false })).rejects.toThrow(UsageError);
    await expect(runRestore(['nope'], { ...io, env, interactive: false })).rejects.toThrow(/No backup set "nope"/);
  });

  it('says there is nothing to restore when there are no sets', async () => {
    const { io } = out();
    await expect(runRestore(['--yes'], { ...io, env: { HOME: join(home, 'empty') }, interactive: false })).rejects.toThrow(/nothing to restore/);
  });
});
