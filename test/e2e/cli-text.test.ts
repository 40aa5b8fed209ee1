/**
 * What the built CLI prints for the things a new user tries first: `status --json` with no plan,
 * a mistyped main-level flag, every command's `--help` (the hidden stand-in server's too), and
 * the width of every help page.
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/help.js';
import { cli, sandbox } from './helpers.js';

describe('status --json with no plan (T1)', () => {
  it('prints a JSON document saying there is no setup and what to run, exit 2 like the text mode', async () => {
    const s = sandbox();
    const text = await cli(['status'], { cwd: s.repo, env: s.env });
    const r = await cli(['status', '--json'], { cwd: s.repo, env: s.env });
    expect(r.code).toBe(text.code);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ ok: false, mode: null, hops: [], background: null });
    expect(doc.error).toMatch(/^No plan yet at .*plan\.yaml\.$/);
    expect(doc.next).toEqual([expect.stringMatching(/ setup$/), expect.stringMatching(/ setup --adopt$/)]);
    // The human line still goes to stderr; stdout is only the document.
    expect(r.stderr).toMatch(/No plan yet/);
  });
});

describe('a mistyped main-level flag (T2)', () => {
  it.each([
    ['--bogus', /^✗ Unknown option --bogus\.\n {2}→ Run `node \S+\/bin\/aider-mlx\.js --help`\s+to\s+see\s+the\s+commands\s+and\s+options\.\n$/],
    ['--dmeo', /^✗ Unknown option --dmeo\.\n {2}→ Did you mean --demo\? Run `node \S+\/bin\/aider-mlx\.js --help`/],
    ['--verison', /^✗ Unknown option --verison\.\n {2}→ Did you mean --version\?/],
    ['-x', /^✗ Unknown option -x\./],
  ])('%s is an unknown option, not a command; exit 2', async (flag, msg) => {
    const s = sandbox();
    const r = await cli([flag], { cwd: s.repo, env: s.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/Unknown command/);
  });
});

/**
 * Every page a user can ask for: each command, the stand-in server the demo's summary names
 * (`npx aider-mlx fake-mlx-server …`), and the subcommand forms the hints name.
 */
const PAGES_ASKED = [
  ...COMMANDS.map((c) => [c]),
  ['fake-mlx-server'],
  ['models', 'pull'],
  ['models', 'rm'],
  ['service', 'install'],
  ['service', 'status'],
  ['install', 'mlx-lm'],
];

describe('every command takes --help (T3), its page within 80 columns (T4)', () => {
  it.each(PAGES_ASKED.map((a) => [a.join(' '), a] as const))('%s --help', async (_name, args) => {
    const s = sandbox();
    const r = await cli([...args, '--help'], { cwd: s.repo, env: s.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^aider-mlx ${args[0]} — [^]*?\\n\\nUsage\\n {2}aider-mlx ${args[0]}`));
    expect(r.stdout).toContain('-h, --help');
    for (const l of r.stdout.split('\n')) expect(l.length, `${args.join(' ')}: ${l}`).toBeLessThanOrEqual(80);
  });
});

describe('every help page fits 80 columns (T4)', () => {
  it('the main page, and `help <command>` as `<command> --help`', async () => {
    const s = sandbox();
    const r = await cli(['--help'], { cwd: s.repo, env: s.env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\nCommands\n');
    for (const l of r.stdout.split('\n')) expect(l.length, l).toBeLessThanOrEqual(80);
    const bench = await cli(['help', 'bench'], { cwd: s.repo, env: s.env });
    expect(bench.stdout).toBe((await cli(['bench', '--help'], { cwd: s.repo, env: s.env })).stdout);
  });
});

describe('--json and a command that stops before its document (a bad flag value, an unknown flag)', () => {
  it.each([
    [['setup', '--yes', '--json', '--editor-port', 'abc']],
    [['setup', '--yes', '--json', '--bogus']],
    [['doctor', '--json', '--timeout', 'abc']],
    [['status', '--json', '--bogus']],
  ])('%j: a JSON document on stdout, the message on stderr, exit 2', async (args) => {
    const s = sandbox();
    const r = await cli(args, { cwd: s.repo, env: s.env });
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ ok: false, exitCode: 2 });
    expect(String(doc.error)).toBe(r.stderr.split('\n')[0]!.replace(/^✗ /, ''));
  });
});
