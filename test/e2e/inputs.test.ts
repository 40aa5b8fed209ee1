/**
 * Through the built CLI (rebuild with `npx tsup`): the inputs of the reliability report M5, M6,
 * M8, L10, L12 end in one plain message and the right exit code, quickly.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeMlxServer, type FakeMlxServer } from '../../src/servers/fake-mlx-server.js';
import { BIN, cli, flat, sandbox, type Sandbox } from './helpers.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
let editor: FakeMlxServer;
beforeAll(async () => {
  editor = await startFakeMlxServer({ model: EDITOR });
});
afterAll(async () => {
  await editor.close();
});

const setupArgs = () => ['setup', '--yes', '--mode', 'proxy', '--editor', EDITOR, '--editor-port', String(editor.port), '--proxy-port', '4999', '--timeout', '10', '--force'];

async function seeded(): Promise<Sandbox> {
  const s = sandbox();
  const r = await cli(setupArgs(), { cwd: s.repo, env: s.env });
  expect(r.code, r.stderr).toBe(0);
  return s;
}

const plain = (stderr: string) => {
  expect(stderr).not.toMatch(/Unexpected error|Please report|\n\s+at /);
  // One message and one hint, each wrapped at 80 columns: every other row continues one of them.
  const rows = stderr.trim().split('\n');
  expect(rows.filter((l) => /^(?:✗|\s*→)/.test(l)).length, stderr).toBeLessThanOrEqual(2);
  for (const l of rows) if (!/^(?:✗|\s*→)/.test(l)) expect(l, stderr).toMatch(/^ {2,}\S/);
};

describe('files that are not files (M6, L10)', () => {
  it('setup --answers /dev/zero: exit 2 at once', async () => {
    const s = sandbox();
    const t0 = Date.now();
    const r = await cli(['setup', '--answers', '/dev/zero'], { cwd: s.repo, env: s.env, timeoutMs: 10_000 });
    expect(r.code).toBe(2);
    expect(flat(r.stderr)).toMatch(/The answers file \/dev\/zero is a character device, not a file\./);
    expect(Date.now() - t0).toBeLessThan(5000);
    plain(r.stderr);
  });

  it('setup --answers FIFO without a writer: exit 2, no hang', async () => {
    const s = sandbox();
    const fifo = join(s.root, 'answers.fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await cli(['setup', '--answers', fifo], { cwd: s.repo, env: s.env, timeoutMs: 10_000 });
    expect(r.code).toBe(2);
    expect(flat(r.stderr)).toMatch(/is a named pipe \(FIFO\), not a file/);
  });

  it('doctor --error-file /dev/zero: exit 2 at once', async () => {
    const s = sandbox();
    const r = await cli(['doctor', '--error-file', '/dev/zero'], { cwd: s.repo, env: s.env, timeoutMs: 10_000 });
    expect(r.code).toBe(2);
    expect(flat(r.stderr)).toMatch(/--error-file \/dev\/zero is a character device/);
    plain(r.stderr);
  });
});

describe('a closed pipe on stdout (M8)', () => {
  // `… | true`: the reader is gone before aider-mlx writes.
  const closed = (args: string[], s: Sandbox) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: s.repo, env: s.env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    });

  it('--help and models --json exit 0 with nothing on stderr', async () => {
    const s = sandbox();
    for (const args of [['--help'], ['models', '--json']]) {
      const r = await closed(args, s);
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.code, args.join(' ')).toBe(0);
    }
  });
});

describe('a plan or key file someone else can change (M5), and an alias bomb (M8)', () => {
  const status = (s: Sandbox) => cli(['status', '--timeout', '2'], { cwd: s.repo, env: s.env });

  it('plan.yaml 0666: status, reconfigure and setup refuse with the chmod; doctor fails the check', async () => {
    const s = await seeded();
    const plan = join(s.config, 'plan.yaml');
    chmodSync(plan, 0o666);
    for (const args of [['status', '--timeout', '2'], ['reconfigure', '--yes', '--proxy-port', '4998'], setupArgs()]) {
      const r = await cli(args, { cwd: s.repo, env: s.env });
      expect(r.code, args[0]).toBe(2);
      expect(flat(r.stderr)).toContain('can be changed by other users (mode 0666)');
      expect(flat(r.stderr)).toContain(`chmod 600 ${plan}`);
      plain(r.stderr);
    }
    // setup --json: the refusal as a document on stdout too, the same exit code.
    const sj = await cli([...setupArgs(), '--json'], { cwd: s.repo, env: s.env });
    expect(sj.code).toBe(2);
    expect(JSON.parse(sj.stdout)).toMatchObject({ ok: false, exitCode: 2, error: expect.stringContaining('can be changed by other users (mode 0666)') });
    const d = await cli(['doctor', '--json', '--timeout', '2'], { cwd: s.repo, env: s.env });
    expect(d.code).toBe(1);
    const perm = (JSON.parse(d.stdout) as { checks: Array<{ id: string; status: string; fix?: string }> }).checks.find((c) => c.id === 'config.permissions');
    expect(perm?.status).toBe('fail');
    expect(perm?.fix).toContain(`chmod 600 ${plan}`);
  });

  it('litellm.yaml 0644 (holds the master key) and the folder 0777 are refused', async () => {
    const s = await seeded();
    const litellm = join(s.config, 'litellm.yaml');
    chmodSync(litellm, 0o644);
    let r = await status(s);
    expect(r.code).toBe(2);
    expect(flat(r.stderr)).toContain(`chmod 600 ${litellm}`);
    // --json: a document on stdout saying the same, the same exit code.
    const j = await cli(['status', '--json', '--timeout', '2'], { cwd: s.repo, env: s.env });
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, hops: [], error: expect.stringContaining('other users can read it'), tryThis: `Run: chmod 600 ${litellm}` });
    chmodSync(litellm, 0o600);
    chmodSync(s.config, 0o777);
    r = await status(s);
    expect(r.code).toBe(2);
    expect(flat(r.stderr)).toContain(`chmod 700 ${s.config}`);
  });

  it.runIf(process.getuid?.() === 0)('a plan owned by another user is refused even for root: reconfigure writes nothing elsewhere', async () => {
    const s = await seeded();
    const plan = join(s.config, 'plan.yaml');
    const victim = join(s.root, 'victim');
    writeFileSync(plan, readFileSync(plan, 'utf8').replace(/dir: .*/, `dir: ${victim}`));
    chownSync(plan, 65534, 65534);
    const r = await cli(['reconfigure', '--yes', '--proxy-port', '4998'], { cwd: s.repo, env: s.env });
    expect(r.code).toBe(2);
    expect(flat(r.stderr)).toContain('belongs to another user (uid 65534)');
    expect(flat(r.stderr)).toContain(`chown root ${plan}`);
    expect(() => readFileSync(join(victim, '.aider.conf.yml'))).toThrow();
  });

  it('a billion-laughs plan: status, reconfigure, serve and setup exit 2 with a plain message', async () => {
    const s = await seeded();
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    writeFileSync(join(s.config, 'plan.yaml'), lines.join('\n') + '\n', { mode: 0o600 });
    for (const args of [['status'], ['reconfigure', '--yes', '--proxy-port', '4998'], ['serve', '--once', '--timeout', '2'], setupArgs()]) {
      const r = await cli(args, { cwd: s.repo, env: s.env });
      expect(r.code, args[0]).toBe(2);
      expect(flat(r.stderr)).toMatch(/plan\.yaml cannot be read: .*YAML aliases/);
      plain(r.stderr);
    }
  });
});

describe('flags and hosts (L12, L9)', () => {
  it.each([
    ['restore --bogus', ['restore', '--bogus'], /Unknown option --bogus for `(node \S+\/bin\/aider-mlx\.js|npx aider-mlx) restore`/],
    ['--editor-port -1', ['setup', '--yes', '--editor', EDITOR, '--editor-port', '-1'], /--editor-port must be a whole number from 1 to 65535 \(got "-1"\)/],
    ['--editor -x', ['setup', '--yes', '--editor', '-x'], /--editor "-x": a Hugging Face repo id looks like/],
    ['--host [::1]', ['setup', '--yes', '--editor', EDITOR, '--host', '[::1]'], /IPv6 addresses are not supported: use 127\.0\.0\.1/],
    ['--host 127.0.0.1:18080', ['setup', '--yes', '--editor', EDITOR, '--host', '127.0.0.1:18080'], /give the port with --editor-port/],
    ['--host user@127.0.0.1', ['setup', '--yes', '--editor', EDITOR, '--host', 'user@127.0.0.1'], /no user@ part/],
    ['a 2000-character repo id', ['setup', '--yes', '--editor', `a/${'b'.repeat(2000)}`], /at most 96 characters/],
    ['a 300-byte path component', ['setup', '--yes', '--editor', `/m/${'c'.repeat(300)}`], /at most 255 bytes/],
  ] as Array<[string, string[], RegExp]>)('%s', async (_name, args, msg) => {
    const s = sandbox();
    const r = await cli(args, { cwd: s.repo, env: s.env });
    expect(r.code).toBe(2);
    expect(flat(r.stderr)).toMatch(msg);
    expect(r.stderr).not.toMatch(/To specify|ENOTFOUND/);
    plain(r.stderr);
  });
});
