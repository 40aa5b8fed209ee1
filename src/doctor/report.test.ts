import { describe, expect, it } from 'vitest';
import { asRun, selfCommand } from '../lib/paths.js';
import { PROGRAM } from '../lib/wrap.js';
import type { DoctorReport } from './run.js';
import { checkToJson, formatDoctorCheck, redact, reportToText, splitFix, wrap } from './report.js';
import type { DoctorCheck } from './types.js';

describe('redact', () => {
  it('replaces known secrets and key-shaped strings, keeping a readable prefix', () => {
    const text = 'key sk-aider-mlx-0123456789abcdef and hf_ABCDEFGHIJKLMNOP, Bearer abc.def.ghi-123, master_key: s3cr3t-value-xyz, and mysecretvalue';
    const out = redact(text, ['mysecretvalue']);
    expect(out).not.toContain('0123456789abcdef');
    expect(out).not.toContain('ABCDEFGHIJKLMNOP');
    expect(out).not.toContain('abc.def.ghi-123');
    expect(out).not.toContain('s3cr3t-value-xyz');
    expect(out).not.toContain('mysecretvalue');
    expect(out).toContain('sk-ai<redacted>');
    expect(out).toContain('Bearer <redacted>');
  });

  it('leaves ordinary text alone', () => {
    const text = 'http://127.0.0.1:8080/v1 openai/mlx-qwq-32b-4bit default_model sk-…(61 chars)';
    expect(redact(text, [])).toBe(text);
  });

  it('ignores secrets too short to be keys (they would shred the text)', () => {
    expect(redact('a bc def', ['bc'])).toBe('a bc def');
  });
});

describe('check output', () => {
  const fail: DoctorCheck = {
    id: 'config.litellm.api_base',
    group: 'config',
    title: 'LiteLLM config: an api_base is wrong',
    status: 'fail',
    observed: 'http://127.0.0.1:8080/v1/v1',
    expected: 'http://127.0.0.1:8080/v1',
    fix: 'Run `npx aider-mlx doctor --fix`.',
    fixable: 'rewrite',
    causes: ['C2'],
  };

  it('a failure shows observed, expected and one fix; its id only in --verbose', () => {
    expect(formatDoctorCheck(fail, { env: {} })).toBe(
      [
        '  ✗ LiteLLM config: an api_base is wrong',
        '      observed: http://127.0.0.1:8080/v1/v1',
        '      expected: http://127.0.0.1:8080/v1',
        '      fix: Run',
        `          ${selfCommand()} doctor --fix`,
      ].join('\n'),
    );
    expect(formatDoctorCheck(fail, { env: {}, verbose: true }).split('\n')[0]).toBe('  ✗ LiteLLM config: an api_base is wrong [config.litellm.api_base]');
  });

  it('a pass is one line; a skip says why, in words', () => {
    expect(formatDoctorCheck({ id: 'a', group: 'env', title: 'ok', status: 'pass', observed: 'x' }, { env: {} })).toBe('  ✓ ok');
    const reach: DoctorCheck = { id: 'server.x.reachable', group: 'server', title: 'x server: nothing answers', status: 'fail' };
    const chat: DoctorCheck = { id: 'server.x.chat', group: 'server', title: 'chat', status: 'skip', observed: 'not checked: server.x.reachable failed' };
    expect(formatDoctorCheck(chat, { env: {} }, '  ', [reach, chat])).toBe('  – chat — skipped: the x server does not answer');
    expect(formatDoctorCheck(chat, { env: {}, verbose: true }, '  ', [reach, chat])).toBe('  – chat — skipped: server.x.reachable failed [server.x.chat]');
  });

  it('the JSON form always carries every key, null when empty; fixable only for problems', () => {
    const j = checkToJson({ id: 'a', group: 'env', title: 't', status: 'pass', fixable: 'rewrite' });
    expect(j).toEqual({ id: 'a', group: 'env', title: 't', status: 'pass', observed: null, expected: null, fix: null, docs: null, latencyMs: null, causes: [], fixable: false });
    expect(checkToJson(fail).fixable).toBe(true);
  });
});

describe('wrapping and commands', () => {
  it('wraps on word boundaries and never breaks a word, even one longer than the line', () => {
    const long = 'a'.repeat(70);
    const lines = wrap(`one two three ${long} four five six seven eight nine ten eleven twelve`, 30, '  ', '    ');
    expect(lines.every((l) => l.length <= 30 || l.trim() === long)).toBe(true);
    expect(lines).toContain(`    ${long}`);
    expect(lines.join(' ').split(/\s+/).filter(Boolean)).toEqual(`one two three ${long} four five six seven eight nine ten eleven twelve`.split(' '));
  });

  it('finds the commands in a fix: after a label, in backticks, in "(or: …)", in parentheses', () => {
    expect(splitFix('Install it: uv tool install mlx-lm   (or: pipx install mlx-lm)')).toEqual([{ text: 'Install it:' }, { cmd: 'uv tool install mlx-lm' }, { text: 'or:' }, { cmd: 'pipx install mlx-lm' }]);
    expect(splitFix('Start it in another terminal: mlx_lm.server --model m --port 8080')).toEqual([{ text: 'Start it in another terminal:' }, { cmd: 'mlx_lm.server --model m --port 8080' }]);
    expect(splitFix('Run `npx aider-mlx doctor --fix` (sets max_tokens); `doctor --deep` proves the cap.')).toEqual([{ text: 'Run' }, { cmd: 'npx aider-mlx doctor --fix' }, { text: '(sets max_tokens); `doctor --deep` proves the cap.' }]);
    expect(splitFix('Stop what holds port 4000 (lsof -nP -iTCP:4000 -sTCP:LISTEN), then: litellm --config c.yaml --port 4000')).toEqual([
      { text: 'Stop what holds port 4000' },
      { cmd: 'lsof -nP -iTCP:4000 -sTCP:LISTEN' },
      { text: 'then:' },
      { cmd: 'litellm --config c.yaml --port 4000' },
    ]);
    expect(splitFix('Unset them (check ~/.zshrc and .env files) unless you mean them.')).toEqual([{ text: 'Unset them (check ~/.zshrc and .env files) unless you mean them.' }]);
  });

  it('a command in a fix gets its own line, whole, however narrow the terminal', () => {
    const cmd = 'mlx_lm.server --model mlx-community/Qwen2.5-Coder-14B-Instruct-4bit --port 8080';
    const out = formatDoctorCheck({ id: 'a', group: 'server', title: 'down', status: 'fail', fix: `Start it in another terminal: ${cmd}` }, { env: {}, width: 40 });
    expect(out.split('\n').map((l) => l.trim())).toContain(cmd);
  });
});

describe('the commands in the text report run from this copy', () => {
  const self = selfCommand();
  /** A command line offering a bare `aider-mlx …` or `npx aider-mlx …` (from a clone neither runs). */
  const bare = /(?:^|[\s`(])(?:npx )?aider-mlx (?!doctor \d)/m;
  const scope: DoctorCheck = {
    id: 'aider.location',
    group: 'aider',
    title: 'Aider started in ~ would not read the plan\'s files',
    status: 'warn',
    observed: 'the plan\'s Aider files are in ~/p (project scope)',
    expected: 'run aider inside ~/p',
    fix: 'cd ~/p before running aider, or re-run setup with --scope global (every folder) or --scope profile (`aider-mlx aider`).',
  };
  const report = (checks: DoctorCheck[], o: Partial<DoctorReport> = {}): DoctorReport =>
    ({
      version: '0.0.0',
      planPath: '/h/.config/aider-mlx/plan.yaml',
      hasPlan: false,
      deep: false,
      timeoutMs: 1000,
      elapsedMs: 1,
      likely: [],
      checks,
      lead: [],
      summary: { pass: 0, warn: checks.filter((c) => c.status === 'warn').length, fail: checks.filter((c) => c.status === 'fail').length, skip: 0 },
      ok: true,
      exitCode: 0,
      secrets: [],
      state: {} as DoctorReport['state'],
      adoptable: false,
      ...o,
    }) as DoctorReport;

  it('a node …/bin/aider-mlx.js command is a program (a command line of its own)', () => {
    expect(PROGRAM.test(`${self} aider`)).toBe(true);
    expect(PROGRAM.test("node '/a b/bin/aider-mlx.js' doctor --fix")).toBe(true);
    expect(PROGRAM.test('node is not installed')).toBe(false);
  });

  it('the scope hint\'s `aider-mlx aider` is printed as this copy runs it, on its own line', () => {
    const lines = formatDoctorCheck(scope, { env: {} }).split('\n');
    expect(lines).toContain(`          ${self} aider`);
    expect(lines.join('\n')).not.toMatch(bare);
  });

  it('a fix the doctor already names as run here is not replaced twice', () => {
    const fix = asRun('Your own chain works: run `npx aider-mlx setup --adopt` to make it the plan.');
    expect(asRun(fix)).toBe(fix);
    const out = formatDoctorCheck({ id: 'config.plan', group: 'config', title: 'no plan', status: 'warn', fix }, { env: {} });
    expect(out.split('\n')).toContain(`          ${self} setup --adopt`);
    expect(out.split(self).length).toBe(2);
  });

  it('the default layout: the fix, the repair offer, --verbose and the adopt hint name this copy', () => {
    const fixable: DoctorCheck = { id: 'config.litellm.api_base', group: 'config', title: 'an api_base is wrong', status: 'fail', fix: 'Set it.', fixable: 'rewrite' };
    const text = reportToText(report([scope, fixable], { adoptable: true }), { env: {}, width: 200 });
    expect(text).not.toMatch(bare);
    expect(text.split('\n')).toContain(`      ${self} doctor --fix`);
    expect(text.split('\n')).toContain(`  ${self} doctor --verbose`);
    expect(text.split('\n')).toContain(`  ${self} setup --adopt`);
    expect(text).toContain('To make this a plan');
  });

  it('--verbose: the repair offer too', () => {
    const fixable: DoctorCheck = { id: 'config.litellm.api_base', group: 'config', title: 'an api_base is wrong', status: 'fail', fix: 'Set it.', fixable: 'rewrite' };
    const text = reportToText(report([scope, fixable]), { env: {}, width: 200, verbose: true });
    expect(text).not.toMatch(bare);
    expect(text.split('\n')).toContain(`    ${self} doctor --fix`);
  });
});
