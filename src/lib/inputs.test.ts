/**
 * Reading what the user names, and refusing what cannot be trusted (reliability report M5, M6,
 * M8, L9, L10, L12): the bounded reader, the owner/mode checks, the flag parser's messages, the
 * plain messages for file-system errors, and the limits on hosts and model ids.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError, formatError } from '../errors.js';
import { hostProblem, modelRefSchema } from '../config/plan-schema.js';
import { readPlanRaw } from '../config/plan-file.js';
import { parseSetupFlags } from '../setup/flags.js';
import { parseFlags } from './args.js';
import { readBounded, readBoundedSync } from './read-bounded.js';
import { trustProblem, trustProblemAt } from './trust.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'aider-mlx-inputs-'));

describe('readBounded', () => {
  it('refuses /dev/zero at once, without reading it', async () => {
    const t0 = Date.now();
    await expect(readBounded('/dev/zero', { what: 'The answers file', maxBytes: 1024, over: 'refuse' })).rejects.toThrow(/\/dev\/zero is a character device, not a file/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('refuses a FIFO that has no writer instead of waiting for one', async () => {
    const dir = tmp();
    const fifo = join(dir, 'answers.yaml');
    execFileSync('mkfifo', [fifo]);
    await expect(readBounded(fifo, { what: 'The answers file', maxBytes: 1024, over: 'refuse' })).rejects.toThrow(/is a named pipe \(FIFO\), not a file/);
    expect(readBoundedSync(fifo, { what: 'x', maxBytes: 1024, over: 'refuse' })).toBeUndefined();
  });

  it('refuses a file over the cap, saying both sizes', async () => {
    const f = join(tmp(), 'big.yaml');
    writeFileSync(f, '');
    truncateSync(f, 3 * 1024 * 1024);
    const e = await readBounded(f, { what: 'The answers file', maxBytes: 1024 * 1024, over: 'refuse' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).message).toMatch(/is 3 MB; at most 1 MB is read/);
  });

  it('keeps the first and last bytes of a long log, and no more', async () => {
    const f = join(tmp(), 'err.log');
    writeFileSync(f, 'HEAD-' + 'x'.repeat(5000) + '-TAIL');
    const r = await readBounded(f, { what: '--error-file', maxBytes: 100, over: 'ends' });
    expect(r.truncated).toBe(true);
    expect(r.text.startsWith('HEAD-')).toBe(true);
    expect(r.text.endsWith('-TAIL')).toBe(true);
    expect(r.text.length).toBeLessThan(300);
  });

  it('reads a small file whole; a missing one is ENOENT as before', async () => {
    const f = join(tmp(), 'a.yaml');
    writeFileSync(f, 'mode: proxy\n');
    expect((await readBounded(f, { what: 'x', maxBytes: 1024, over: 'refuse' })).text).toBe('mode: proxy\n');
    await expect(readBounded(f + '.nope', { what: 'x', maxBytes: 1024, over: 'refuse' })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('trust: owner and mode of the plan, the key files and the config folder', () => {
  it('a group- or world-writable file is refused with the exact chmod', () => {
    const f = join(tmp(), 'plan.yaml');
    writeFileSync(f, 'x');
    chmodSync(f, 0o666);
    const p = trustProblemAt(f);
    expect(p?.problem).toMatch(/can be changed by other users \(mode 0666\)/);
    expect(p?.fix).toBe(`chmod 600 ${f}`);
    chmodSync(f, 0o600);
    expect(trustProblemAt(f)).toBeUndefined();
  });

  it('a key file others can read is refused; the same mode on the plan is fine', () => {
    const f = join(tmp(), 'litellm.yaml');
    writeFileSync(f, 'x');
    chmodSync(f, 0o644);
    expect(trustProblemAt(f)).toBeUndefined();
    expect(trustProblemAt(f, { holdsKey: true })?.fix).toBe(`chmod 600 ${f}`);
  });

  it('a folder open to everyone gets chmod 700', () => {
    const d = join(tmp(), 'aider-mlx');
    mkdirSync(d);
    chmodSync(d, 0o777);
    expect(trustProblemAt(d)?.fix).toBe(`chmod 700 ${d}`);
  });

  it("a file owned by another user is refused, even for root, with the chown to run", () => {
    const f = join(tmp(), 'plan.yaml');
    writeFileSync(f, 'x');
    chmodSync(f, 0o600);
    const st = statSync(f);
    const p = trustProblem(f, { ...st, uid: 65534, mode: st.mode, isDirectory: () => false } as never, { uid: st.uid, user: 'me' });
    expect(p?.problem).toMatch(/belongs to another user \(uid 65534\)/);
    expect(p?.fix).toBe(`chown me ${f}`);
  });

  it.runIf(process.getuid?.() === 0)('readPlanRaw refuses a plan chowned to nobody (run as root: the escalation of the report)', async () => {
    const dir = join(tmp(), 'aider-mlx');
    mkdirSync(dir, { mode: 0o700 });
    const plan = join(dir, 'plan.yaml');
    writeFileSync(plan, 'version: 1\n', { mode: 0o600 });
    chownSync(plan, 65534, 65534);
    await expect(readPlanRaw({ HOME: '/nonexistent' }, plan)).rejects.toThrow(/belongs to another user \(uid 65534\)/);
  });
});

describe('readPlanRaw: a YAML alias bomb is a plain error', () => {
  it('billion laughs', async () => {
    const dir = join(tmp(), 'aider-mlx');
    mkdirSync(dir, { mode: 0o700 });
    const plan = join(dir, 'plan.yaml');
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    writeFileSync(plan, lines.join('\n') + '\n', { mode: 0o600 });
    const e = await readPlanRaw({ HOME: '/nonexistent' }, plan).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).message).toMatch(/plan\.yaml cannot be read: .*YAML aliases/);
  });
});

describe('formatError: file-system errors in plain words, exit 2', () => {
  const sys = (code: string, syscall: string, path?: string) => Object.assign(new Error(`${code}: boom, ${syscall}`), { code, syscall, ...(path ? { path } : {}) });

  it('EACCES on a staged temp names the real file and says what to do', () => {
    const r = formatError(sys('EACCES', 'open', '/p/proj/..aider.conf.yml.aider-mlx-16168-02a9b2b1.tmp'));
    expect(r.code).toBe(2);
    expect(r.text).toMatch(/Permission denied: aider-mlx could not open \/p\/proj\/\.aider\.conf\.yml \(EACCES\)/);
    expect(r.text).toMatch(/ls -ld \/p\/proj/);
    expect(r.text).not.toMatch(/Unexpected|Please report|at async/);
  });

  it('ENOSPC without a path, EROFS and EPERM', () => {
    expect(formatError(sys('ENOSPC', 'write')).text).toMatch(/^✗ The disk is full: aider-mlx could not write a file \(ENOSPC\)\.\n  → Free some space/);
    expect(formatError(sys('EROFS', 'rename', '/ro/x')).text).toMatch(/Read-only file system: aider-mlx could not replace \/ro\/x/);
    expect(formatError(sys('EPERM', 'rename', '/x')).code).toBe(2);
  });

  it("yaml's alias guard thrown from anywhere", () => {
    const r = formatError(new ReferenceError('Excessive alias count indicates a resource exhaustion attack'));
    expect(r.code).toBe(2);
    expect(r.text).not.toMatch(/Please report/);
  });
});

describe('flags: our own messages', () => {
  const opts = { list: { type: 'boolean' }, yes: { type: 'boolean', short: 'y' }, json: { type: 'boolean' } } as const;
  it('an unknown option names the command and the nearest flag', () => {
    expect(() => parseFlags(['--bogus'], opts, { command: 'restore', usage: 'Usage: x' })).toThrow('Unknown option --bogus for `aider-mlx restore`.');
    try {
      parseFlags(['--lsit'], opts, { command: 'restore', usage: 'Usage: x', allowPositionals: true });
    } catch (e) {
      expect((e as AppError).tryThis).toBe('Did you mean --list? Usage: x');
      expect((e as AppError).message).not.toMatch(/positional argument/);
    }
  });

  it('a value starting with "-" reaches our own validation', () => {
    expect(() => parseSetupFlags(['--editor-port', '-1'])).toThrow('--editor-port must be a whole number from 1 to 65535 (got "-1").');
    expect(() => parseSetupFlags(['--editor', '-x'])).toThrow(/^--editor "-x": a Hugging Face repo id looks like/);
    expect(() => parseSetupFlags(['--editor', '--yes'])).toThrow('--editor needs a value (the next word, --yes, is another option).');
    for (const a of [['--editor-port', '-1'], ['--editor', '-x']]) {
      try {
        parseSetupFlags(a);
      } catch (e) {
        expect((e as Error).message).not.toMatch(/To specify|ambiguous/);
      }
    }
  });
});

describe('hosts (L12) and model ids (L9)', () => {
  it.each([
    ['127.0.0.1?', /a name or an IPv4 address/],
    ['127.0.0.1#frag', /a name or an IPv4 address/],
    ['user@127.0.0.1', /no user@ part/],
    ['127.0.0.1:18080', /no port: give the port with --editor-port/],
    ['[::1]', /IPv6 addresses are not supported: use 127.0.0.1/],
    ['::1', /IPv6/],
    ['http://127.0.0.1', /not a URL/],
  ])('refuses %s', (h, msg) => {
    expect(hostProblem(h)).toMatch(msg);
    expect(() => parseSetupFlags(['--host', h])).toThrow(msg);
  });

  it.each(['127.0.0.1', 'localhost', 'mac-studio.local', '10.0.0.5', 'my_box'])('accepts %s', (h) => {
    expect(hostProblem(h)).toBeUndefined();
  });

  it('a repo name over 96 characters, an owner over 96, a path component over 255 bytes', () => {
    const msg = (s: string) => {
      const r = modelRefSchema.safeParse(s);
      return r.success ? undefined : r.error.issues[0]!.message;
    };
    expect(msg(`a/${'b'.repeat(2000)}`)).toBe('a Hugging Face repo name is at most 96 characters (this one is 2000)');
    expect(msg(`${'a'.repeat(97)}/b`)).toMatch(/user or organisation name is at most 96/);
    expect(msg(`a/${'b'.repeat(96)}`)).toBeUndefined();
    expect(msg(`/models/${'c'.repeat(2000)}`)).toMatch(/at most 255 bytes \(one here is 2000\)/);
    expect(msg(`~/models/${'é'.repeat(128)}`)).toMatch(/at most 255 bytes \(one here is 256\)/);
    expect(msg(`/models/${'c'.repeat(255)}`)).toBeUndefined();
    expect(() => parseSetupFlags(['--editor', `a/${'b'.repeat(2000)}`])).toThrow(/at most 96 characters/);
  });
});
