import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError, CancelledError } from '../errors.js';
import {
  type BackupManifest,
  type RenameFn,
  applyWrites,
  atomicWriteFile,
  backupStamp,
  linkReplacedNote,
  planWrites,
  restoreBackupSet,
} from './fs.js';

let root: string;
let backups: string;
const NOW = new Date('2026-11-25T13:05:00.123Z');
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const read = (p: string) => fs.readFileSync(p, 'utf8');
const mode = (p: string) => fs.statSync(p).mode & 0o777;
/** Every file under root, recursively, excluding the backups folder. */
const listFiles = (dir = root): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (p === backups) return [];
    return e.isDirectory() ? listFiles(p) : [p];
  });
const readManifest = (dir: string) => JSON.parse(read(join(dir, 'manifest.json'))) as BackupManifest;

beforeEach(() => {
  root = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-fs-'));
  backups = join(root, 'backups');
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('planWrites', () => {
  it('finds what changes, with diffs, by comparing bytes', async () => {
    const same = join(root, 'same.yml');
    const edited = join(root, 'edited.yml');
    fs.writeFileSync(same, 'a: 1\n');
    fs.writeFileSync(edited, 'a: 1\n');
    const plan = await planWrites([
      { path: same, content: 'a: 1\n' },
      { path: edited, content: 'a: 2\n' },
      { path: join(root, 'new.yml'), content: 'b: 1\n' },
    ]);
    expect(plan.map((p) => [p.changed, p.existed])).toEqual([
      [false, true],
      [true, true],
      [true, false],
    ]);
    expect(plan[0]!.diff).toBe('');
    expect(plan[1]!.oldContent).toBe('a: 1\n');
    expect(plan[1]!.diff).toContain('-a: 1\n+a: 2\n');
    expect(plan[2]!.diff).toMatch(/^--- \/dev\/null\n/);
    expect(plan[1]!.oldSha256).toBe(sha('a: 1\n'));
    expect(plan[2]!.oldSha256).toBeNull();
  });

  it('counts a looser mode on a file that must be 0600 as a change', async () => {
    const key = join(root, 'key.yml');
    fs.writeFileSync(key, 'k: 1\n', { mode: 0o644 });
    fs.chmodSync(key, 0o644);
    const [p] = await planWrites([{ path: key, content: 'k: 1\n', mode: 0o600 }]);
    expect(p).toMatchObject({ changed: true, diff: '', oldMode: 0o644 });
    await applyWrites([p!], { backupRoot: backups, now: NOW });
    expect(mode(key)).toBe(0o600);
  });
});

describe('applyWrites', () => {
  it('writes nothing and makes no backup set when nothing changes', async () => {
    const f = join(root, 'a.yml');
    fs.writeFileSync(f, 'x\n');
    const plan = await planWrites([{ path: f, content: 'x\n' }]);
    expect(await applyWrites(plan, { backupRoot: backups, now: NOW })).toEqual({ written: [] });
    expect(fs.existsSync(backups)).toBe(false);
  });

  it('backs up every file it replaces in one set, with a manifest and sha256, then writes', async () => {
    const a = join(root, 'a.yml');
    const b = join(root, 'sub', 'b.json');
    const c = join(root, 'new', 'deeper', 'c.yml');
    fs.mkdirSync(join(root, 'sub'));
    fs.writeFileSync(a, 'old a\n');
    fs.writeFileSync(b, '{"old": true}\n', { mode: 0o640 });
    fs.chmodSync(b, 0o640);
    const untouched = join(root, 'untouched.yml');
    fs.writeFileSync(untouched, 'same\n');
    const plan = await planWrites([
      { path: a, content: 'new a\n' },
      { path: b, content: '{"new": true}\n' },
      { path: untouched, content: 'same\n' },
      { path: c, content: 'new c\n', mode: 0o600 },
    ]);
    const result = await applyWrites(plan, { backupRoot: backups, now: NOW });

    const setDir = join(backups, '2026-11-25T13-05-00-123Z');
    expect(result).toEqual({ written: [a, b, c], backupDir: setDir });
    expect(fs.readdirSync(backups)).toEqual(['2026-11-25T13-05-00-123Z']);
    const manifest = readManifest(setDir);
    expect(manifest).toEqual({
      version: 1,
      createdAt: '2026-11-25T13:05:00.123Z',
      files: [
        { path: a, existed: true, sha256: sha('old a\n'), backup: '1-a.yml', mode: expect.any(Number), target: a },
        { path: b, existed: true, sha256: sha('{"old": true}\n'), backup: '2-b.json', mode: 0o640, target: b },
        { path: c, existed: false, sha256: null, backup: null, mode: null, target: c },
      ],
    });
    expect(read(join(setDir, '1-a.yml'))).toBe('old a\n');
    expect(read(join(setDir, '2-b.json'))).toBe('{"old": true}\n');
    expect(mode(join(setDir, '1-a.yml'))).toBe(0o600);
    expect(mode(setDir)).toBe(0o700);

    expect([read(a), read(b), read(c)]).toEqual(['new a\n', '{"new": true}\n', 'new c\n']);
    expect(mode(b)).toBe(0o640);
    expect(mode(c)).toBe(0o600);
    expect(listFiles().filter((p) => p.endsWith('.tmp'))).toEqual([]);
  });

  it('makes no backup set when every changed file is new, and honours dirMode', async () => {
    const f = join(root, 'conf', 'aider-mlx', 'plan.yaml');
    const plan = await planWrites([{ path: f, content: 'v: 1\n', mode: 0o600 }]);
    const result = await applyWrites(plan, { backupRoot: backups, now: NOW, dirMode: 0o700 });
    expect(result).toEqual({ written: [f] });
    expect(fs.existsSync(backups)).toBe(false);
    expect(mode(f)).toBe(0o600);
    expect(mode(join(root, 'conf', 'aider-mlx'))).toBe(0o700);
  });

  it('creates files that hold a key with mode 0600 whatever the umask', async () => {
    const old = process.umask(0);
    try {
      const f = join(root, '.aider.conf.yml');
      await applyWrites(await planWrites([{ path: f, content: 'openai-api-key: sk\n', mode: 0o600 }]), {
        backupRoot: backups,
      });
      expect(mode(f)).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });

  it('puts every old file back, and leaves no temp file, when a rename fails midway', async () => {
    const a = join(root, 'a.yml');
    const b = join(root, 'b.yml');
    const c = join(root, 'new-folder', 'c.yml');
    fs.writeFileSync(a, 'old a\n');
    fs.writeFileSync(b, 'old b\n');
    const plan = await planWrites([
      { path: c, content: 'new c\n' },
      { path: a, content: 'new a\n' },
      { path: b, content: 'new b\n' },
    ]);
    let calls = 0;
    const rename: RenameFn = async (from, to) => {
      if (++calls === 3) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      await fs.promises.rename(from, to);
    };
    const err = await applyWrites(plan, { backupRoot: backups, now: NOW, rename }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toMatch(/Could not write .*b\.yml: EACCES/);
    expect((err as AppError).tryThis).toMatch(/^Nothing was changed/);
    expect(calls).toBe(3);
    expect([read(a), read(b), fs.existsSync(c)]).toEqual(['old a\n', 'old b\n', false]);
    expect(listFiles().sort()).toEqual([a, b].sort());
    expect(fs.existsSync(join(root, 'new-folder'))).toBe(false);
    // Nothing changed in the end, so no backup set stays behind.
    expect(fs.readdirSync(backups)).toEqual([]);
  });

  it('refuses to write over a file that changed since the plan', async () => {
    const a = join(root, 'a.yml');
    fs.writeFileSync(a, 'one\n');
    const plan = await planWrites([{ path: a, content: 'two\n' }]);
    fs.writeFileSync(a, 'edited meanwhile\n');
    await expect(applyWrites(plan, { backupRoot: backups })).rejects.toThrow(/changed while aider-mlx was running/);
    expect(read(a)).toBe('edited meanwhile\n');
    expect(fs.existsSync(backups)).toBe(false);
  });

  it('stops cleanly when cancelled before anything is written', async () => {
    const a = join(root, 'a.yml');
    fs.writeFileSync(a, 'one\n');
    const plan = await planWrites([{ path: a, content: 'two\n' }]);
    const ac = new AbortController();
    ac.abort();
    await expect(applyWrites(plan, { backupRoot: backups, signal: ac.signal })).rejects.toBeInstanceOf(CancelledError);
    expect(read(a)).toBe('one\n');
    expect(listFiles()).toEqual([a]);
  });

  it('writes through a symlink, keeping the link', async () => {
    const real = join(root, 'dotfiles', 'aider.conf.yml');
    const link = join(root, '.aider.conf.yml');
    fs.mkdirSync(join(root, 'dotfiles'));
    fs.writeFileSync(real, 'old\n');
    fs.symlinkSync(real, link);
    const result = await applyWrites(await planWrites([{ path: link, content: 'new\n' }]), { backupRoot: backups, now: NOW });
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(read(real)).toBe('new\n');
    expect(readManifest(result.backupDir!).files[0]!.path).toBe(link);
  });

  it('gives two runs in the same millisecond separate backup sets', async () => {
    const a = join(root, 'a.yml');
    fs.writeFileSync(a, '0\n');
    await applyWrites(await planWrites([{ path: a, content: '1\n' }]), { backupRoot: backups, now: NOW });
    const second = await applyWrites(await planWrites([{ path: a, content: '2\n' }]), { backupRoot: backups, now: NOW });
    expect(second.backupDir).toBe(join(backups, `${backupStamp(NOW)}-2`));
    expect(read(join(second.backupDir!, '1-a.yml'))).toBe('1\n');
  });
});

describe('restoreBackupSet', () => {
  it('puts every file back byte for byte, removes the new ones, and can itself be undone', async () => {
    const a = join(root, 'a.yml');
    const b = join(root, 'b.bin');
    const c = join(root, 'c.yml');
    const bytes = Buffer.from([0, 255, 10, 13, 10, 0xc3, 0x28]); // not valid UTF-8 on purpose
    fs.writeFileSync(a, 'old a\n');
    fs.chmodSync(a, 0o644);
    fs.writeFileSync(b, bytes);
    fs.chmodSync(b, 0o600);
    const applied = await applyWrites(
      await planWrites([
        { path: a, content: 'new a\n', mode: 0o600 },
        { path: b, content: 'text now\n' },
        { path: c, content: 'new c\n' },
      ]),
      { backupRoot: backups, now: NOW },
    );

    const later = new Date(NOW.getTime() + 60_000);
    const r = await restoreBackupSet(applied.backupDir!, { now: later });
    expect(r).toEqual({ restored: [a, b], removed: [c], backupDir: join(backups, backupStamp(later)) });
    expect(read(a)).toBe('old a\n');
    expect(mode(a)).toBe(0o644);
    expect(fs.readFileSync(b).equals(bytes)).toBe(true);
    expect(mode(b)).toBe(0o600);
    expect(fs.existsSync(c)).toBe(false);
    expect(listFiles().sort()).toEqual([a, b].sort());

    // Restoring the set the restore made brings the written state back.
    await restoreBackupSet(r.backupDir!, { now: new Date(later.getTime() + 1) });
    expect([read(a), read(b), read(c)]).toEqual(['new a\n', 'text now\n', 'new c\n']);
  });

  it('does nothing when the files already match the set', async () => {
    const a = join(root, 'a.yml');
    fs.writeFileSync(a, 'old\n');
    const applied = await applyWrites(await planWrites([{ path: a, content: 'new\n' }]), { backupRoot: backups, now: NOW });
    fs.writeFileSync(a, 'old\n');
    expect(await restoreBackupSet(applied.backupDir!)).toEqual({ restored: [], removed: [] });
  });

  it('refuses a damaged backup and changes nothing', async () => {
    const a = join(root, 'a.yml');
    const b = join(root, 'b.yml');
    fs.writeFileSync(a, 'old a\n');
    fs.writeFileSync(b, 'old b\n');
    const applied = await applyWrites(
      await planWrites([
        { path: a, content: 'new a\n' },
        { path: b, content: 'new b\n' },
      ]),
      { backupRoot: backups, now: NOW },
    );
    fs.writeFileSync(join(applied.backupDir!, '2-b.yml'), 'tampered\n');
    await expect(restoreBackupSet(applied.backupDir!)).rejects.toThrow(/damaged/);
    expect([read(a), read(b)]).toEqual(['new a\n', 'new b\n']);
  });

  it('restores all or nothing when a rename fails', async () => {
    const a = join(root, 'a.yml');
    const b = join(root, 'b.yml');
    fs.writeFileSync(a, 'old a\n');
    fs.writeFileSync(b, 'old b\n');
    const applied = await applyWrites(
      await planWrites([
        { path: a, content: 'new a\n' },
        { path: b, content: 'new b\n' },
      ]),
      { backupRoot: backups, now: NOW },
    );
    let calls = 0;
    const rename: RenameFn = async (from, to) => {
      if (++calls === 2) throw new Error('disk full');
      await fs.promises.rename(from, to);
    };
    await expect(restoreBackupSet(applied.backupDir!, { rename })).rejects.toThrow(/disk full/);
    expect([read(a), read(b)]).toEqual(['new a\n', 'new b\n']);
    expect(listFiles().filter((p) => p.endsWith('.tmp'))).toEqual([]);
  });

  it('says so when the folder is not a backup set', async () => {
    await expect(restoreBackupSet(root)).rejects.toThrow(/not a backup set/);
  });
});

describe('atomicWriteFile', () => {
  it('writes with the given mode and leaves no temp file', async () => {
    const f = join(root, 'x.yaml');
    fs.writeFileSync(f, 'old\n');
    await atomicWriteFile(f, 'new\n', 0o600);
    expect(read(f)).toBe('new\n');
    expect(mode(f)).toBe(0o600);
    expect(fs.readdirSync(root)).toEqual(['x.yaml']);
  });
});

describe('what a user or a cloned repository left in place', () => {
  it('refuses to write through a symlink that leaves its folder, naming the target; force replaces the link only', async () => {
    const project = join(root, 'proj');
    const outside = join(root, 'playbook.yml');
    fs.mkdirSync(project);
    fs.writeFileSync(outside, '- hosts: all\n');
    fs.symlinkSync('../playbook.yml', join(project, '.aider.model.settings.yml'));
    const change = { path: join(project, '.aider.model.settings.yml'), content: '- name: x\n', linkScope: project };
    await expect(planWrites([change])).rejects.toThrow(/symbolic link to .*playbook\.yml, outside .*proj/);
    const planned = await planWrites([change], { force: true });
    expect(planned[0]!.replacesLinkTo).toBe(fs.realpathSync(outside));
    await applyWrites(planned, { backupRoot: backups });
    expect(fs.lstatSync(change.path).isSymbolicLink()).toBe(false);
    expect(read(change.path)).toBe('- name: x\n');
    expect(read(outside)).toBe('- hosts: all\n');
  });

  it('follows a link that stays inside its folder, and any link when no scope is given (dotfiles)', async () => {
    const project = join(root, 'proj');
    fs.mkdirSync(join(project, 'conf'), { recursive: true });
    fs.writeFileSync(join(project, 'conf/real.yml'), 'a: 1\n');
    fs.symlinkSync('conf/real.yml', join(project, 'link.yml'));
    const planned = await planWrites([{ path: join(project, 'link.yml'), content: 'a: 2\n', linkScope: project }]);
    await applyWrites(planned, { backupRoot: backups });
    expect(fs.lstatSync(join(project, 'link.yml')).isSymbolicLink()).toBe(true);
    expect(read(join(project, 'conf/real.yml'))).toBe('a: 2\n');
    fs.writeFileSync(join(root, 'dot.yml'), 'b: 1\n');
    fs.symlinkSync('../dot.yml', join(project, 'dot.yml'));
    await applyWrites(await planWrites([{ path: join(project, 'dot.yml'), content: 'b: 2\n' }]), { backupRoot: backups });
    expect(read(join(root, 'dot.yml'))).toBe('b: 2\n');
  });

  it('refuses to replace a link to nothing (a dotfiles checkout moved), naming its target; force replaces the link', async () => {
    const link = join(root, '.aider.conf.yml');
    fs.symlinkSync('dotfiles/aider.conf.yml', link);
    const change = { path: link, content: 'model: x\n' };
    await expect(planWrites([change])).rejects.toThrow(/\.aider\.conf\.yml is a symbolic link to .*dotfiles\/aider\.conf\.yml, which does not exist/);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    const planned = await planWrites([change], { force: true });
    expect(planned[0]!.replacesLinkTo).toBe(join(root, 'dotfiles', 'aider.conf.yml'));
    await applyWrites(planned, { backupRoot: backups });
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(false);
    expect(read(link)).toBe('model: x\n');
  });

  it('does not replace a read-only file without force', async () => {
    const file = join(root, '.aider.conf.yml');
    fs.writeFileSync(file, 'dark-mode: true\n');
    fs.chmodSync(file, 0o444);
    await expect(planWrites([{ path: file, content: 'x: 1\n', mode: 0o600 }])).rejects.toThrow(/read-only \(mode 0444\)/);
    expect(read(file)).toBe('dark-mode: true\n');
    await applyWrites(await planWrites([{ path: file, content: 'x: 1\n', mode: 0o600 }], { force: true }), { backupRoot: backups });
    expect(read(file)).toBe('x: 1\n');
  });

  it('creates new files 0644 at most, whatever the umask', async () => {
    const old = process.umask(0);
    try {
      await applyWrites(await planWrites([{ path: join(root, 'settings.yml'), content: 'a: 1\n' }]), { backupRoot: backups });
    } finally {
      process.umask(old);
    }
    expect(mode(join(root, 'settings.yml'))).toBe(0o644);
  });

  it("names its temps so Aider's `.aider*` ignore pattern covers them, and removes dead runs' temps and half-made backup sets", async () => {
    const target = join(root, '.aider.conf.yml');
    const seen: string[] = [];
    await applyWrites(await planWrites([{ path: target, content: 'a: 1\n' }]), {
      backupRoot: backups,
      rename: async (from, to) => {
        seen.push(from);
        await fs.promises.rename(from, to);
      },
    });
    expect(seen.map((p) => p.split('/').pop()!)).toEqual([expect.stringMatching(/^\.aider/)]);
    // Left by a killed run (pid 2^22+1 is never alive here): an older build's name and ours.
    const dead = 4194305;
    fs.writeFileSync(join(root, `..aider.conf.yml.aider-mlx-${dead}-0a1b2c3d.tmp`), 'openai-api-key: sk-x\n');
    fs.writeFileSync(join(root, `.aider-mlx-tmp..aider.conf.yml.${dead}-0a1b2c3d`), 'x');
    fs.mkdirSync(join(backups, `2026-11-25T13-05-00-123Z.partial-${dead}`), { recursive: true });
    await applyWrites(await planWrites([{ path: target, content: 'a: 2\n' }]), { backupRoot: backups });
    expect(fs.readdirSync(root).filter((n) => n.includes('tmp'))).toEqual([]);
    expect(fs.readdirSync(backups).filter((n) => n.includes('partial'))).toEqual([]);
  });

  it('a second signal during the renames does not kill the process between two of them', async () => {
    const files = [join(root, 'a.yml'), join(root, 'b.yml')];
    let listeners = -1;
    await applyWrites(await planWrites(files.map((p) => ({ path: p, content: 'n: 1\n' }))), {
      backupRoot: backups,
      rename: async (from, to) => {
        listeners = process.listenerCount('SIGINT');
        await fs.promises.rename(from, to);
      },
    });
    expect(listeners).toBeGreaterThan(0);
    expect(process.listenerCount('SIGINT')).toBe(listeners - 1);
  });
});

describe('a symbolic link --force replaces comes back (restore, a failed run)', () => {
  /** The user's settings file: a link into their dotfiles checkout, outside the project. */
  function dotfilesLink() {
    const project = join(root, 'proj');
    const dotfiles = join(root, 'dotfiles');
    fs.mkdirSync(project);
    fs.mkdirSync(dotfiles);
    const target = join(dotfiles, 'aider.model.settings.yml');
    fs.writeFileSync(target, '- name: gpt-4o\n');
    const link = join(project, '.aider.model.settings.yml');
    fs.symlinkSync('../dotfiles/aider.model.settings.yml', link);
    return { project, target, link, change: { path: link, content: '- name: x\n', linkScope: project } };
  }

  it('the review note names the link and its target; the manifest records the link; restore puts it back', async () => {
    const { target, link, change } = dotfilesLink();
    const planned = await planWrites([change], { force: true });
    const note = linkReplacedNote(planned[0]!);
    expect(note).toMatch(/\.aider\.model\.settings\.yml is a symbolic link to .*dotfiles\/aider\.model\.settings\.yml: writing replaces the link with a file of its own/);
    const { backupDir } = await applyWrites(planned, { backupRoot: backups, now: NOW });
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(false);
    const m = readManifest(backupDir!);
    expect(m.files[0]).toMatchObject({ path: link, existed: true, link: '../dotfiles/aider.model.settings.yml' });

    const r = await restoreBackupSet(backupDir!, { backupRoot: backups });
    expect(r.restored).toEqual([link]);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(link)).toBe('../dotfiles/aider.model.settings.yml');
    expect(read(target)).toBe('- name: gpt-4o\n');
    // The restore's own set holds the file it replaced: restoring that one undoes the restore.
    await restoreBackupSet(r.backupDir!, { backupRoot: backups });
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(false);
    expect(read(link)).toBe('- name: x\n');
    expect(read(target)).toBe('- name: gpt-4o\n');
  });

  it('a rename that fails after the link was replaced puts the link back, not a copy of its target', async () => {
    const { target, link, change } = dotfilesLink();
    const other = join(root, 'proj', 'other.yml');
    const planned = await planWrites([change, { path: other, content: 'b: 1\n' }], { force: true });
    let n = 0;
    const rename: RenameFn = async (from, to) => {
      if (++n === 2) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      await fs.promises.rename(from, to);
    };
    await expect(applyWrites(planned, { backupRoot: backups, rename })).rejects.toThrow(/Could not write/);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(link)).toBe('../dotfiles/aider.model.settings.yml');
    expect(read(target)).toBe('- name: gpt-4o\n');
  });

  it('a link to nothing that --force replaced comes back as that link', async () => {
    const link = join(root, '.aider.conf.yml');
    fs.symlinkSync('dotfiles/aider.conf.yml', link);
    const planned = await planWrites([{ path: link, content: 'model: x\n' }], { force: true });
    const { backupDir } = await applyWrites(planned, { backupRoot: backups });
    expect(readManifest(backupDir!).files[0]).toMatchObject({ link: 'dotfiles/aider.conf.yml' });
    await restoreBackupSet(backupDir!, { backupRoot: backups });
    expect(fs.readlinkSync(link)).toBe('dotfiles/aider.conf.yml');
    expect(fs.existsSync(join(root, 'dotfiles'))).toBe(false);
  });
});
