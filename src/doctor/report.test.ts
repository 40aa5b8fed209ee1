import { describe, expect, it } from 'vitest';
import { checkToJson, formatDoctorCheck, redact } from './report.js';
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

  it('a failure shows observed, expected and one fix, with its id', () => {
    expect(formatDoctorCheck(fail, { env: {} })).toBe(
      [
        '  ✗ LiteLLM config: an api_base is wrong [config.litellm.api_base]',
        '      observed: http://127.0.0.1:8080/v1/v1',
        '      expected: http://127.0.0.1:8080/v1',
        '      fix: Run `npx aider-mlx doctor --fix`.',
      ].join('\n'),
    );
  });

  it('a pass is one line; a skip says why', () => {
    expect(formatDoctorCheck({ id: 'a', group: 'env', title: 'ok', status: 'pass', observed: 'x' }, { env: {} })).toBe('  ✓ ok');
    expect(formatDoctorCheck({ id: 'b', group: 'server', title: 'chat', status: 'skip', observed: 'not checked: server.x.reachable failed' }, { env: {} })).toBe(
      '  – chat — skipped: server.x.reachable failed',
    );
  });

  it('the JSON form always carries every key, null when empty; fixable only for problems', () => {
    const j = checkToJson({ id: 'a', group: 'env', title: 't', status: 'pass', fixable: 'rewrite' });
    expect(j).toEqual({ id: 'a', group: 'env', title: 't', status: 'pass', observed: null, expected: null, fix: null, docs: null, latencyMs: null, causes: [], fixable: false });
    expect(checkToJson(fail).fixable).toBe(true);
  });
});
