import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  MalformedFileError,
  mergeAiderConf,
  mergeLitellmConfig,
  mergeModelMetadata,
  mergeModelSettings,
} from './merge.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../../test/fixtures/real-world', name), 'utf8');
const SAMPLE = fixture('sample.aider.conf.yml');

const CONF = `# Written by aider-mlx: Aider talks to the LiteLLM proxy.

# Plans with QwQ, edits with the coder.
model: openai/mlx-qwq-32b
editor-model: openai/mlx-qwen2.5-coder-14b
weak-model: openai/mlx-qwen2.5-coder-14b
openai-api-base: http://127.0.0.1:4000/v1
openai-api-key: sk-local-proxy # any non-empty string
timeout: 900
architect: true
`;
const CONF_VALUES = {
  model: 'openai/mlx-qwq-32b',
  'editor-model': 'openai/mlx-qwen2.5-coder-14b',
  'weak-model': 'openai/mlx-qwen2.5-coder-14b',
  'openai-api-base': 'http://127.0.0.1:4000/v1',
  'openai-api-key': 'sk-local-proxy',
  timeout: 900,
  architect: true,
};
const CONF_ONE_MODEL = `model: openai/mlx-qwen2.5-coder-14b
weak-model: openai/mlx-qwen2.5-coder-14b
openai-api-base: http://127.0.0.1:4000/v1
openai-api-key: sk-local-proxy
timeout: 600
`;

/** Throws unless `want` appears in `have` in order (other lines may sit in between). */
function expectInOrder(have: string[], want: string[]) {
  let j = 0;
  for (const line of want) {
    while (j < have.length && have[j] !== line) j++;
    expect(j, `line missing or out of order: ${JSON.stringify(line)}`).toBeLessThan(have.length);
    j++;
  }
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('mergeAiderConf on Aider’s sample file', () => {
  const merged = mergeAiderConf(SAMPLE, CONF, '/home/me/.aider.conf.yml');

  it('keeps every original line, comments included, in order', () => {
    const lines = merged.text.split('\n');
    expectInOrder(lines, SAMPLE.split('\n'));
    for (const line of SAMPLE.split('\n').filter((l) => l.startsWith('#'))) expect(lines).toContain(line);
  });

  it('parses to the values we set, with no conflicts', () => {
    expect(parse(merged.text)).toEqual(CONF_VALUES);
    expect(merged.conflicts).toEqual([]);
    expect(merged.changed).toBe(true);
  });

  it('puts each key right after its commented-out line', () => {
    const lines = merged.text.split('\n');
    for (const key of Object.keys(CONF_VALUES)) {
      const at = lines.findIndex((l) => l.startsWith(`${key}:`));
      const commented = lines.findIndex((l) => l.startsWith(`#${key}:`));
      // Our own comment for a key may sit between them.
      expect(at - commented, key).toBeGreaterThan(0);
      expect(at - commented, key).toBeLessThanOrEqual(2);
    }
    expect(merged.text).toContain('#model: xxx\n# Plans with QwQ, edits with the coder.\nmodel: openai/mlx-qwq-32b\n');
    expect(merged.text).toContain('openai-api-key: sk-local-proxy # any non-empty string\n');
    expect(merged.text).not.toContain('Written by aider-mlx');
    expect(merged.text).not.toContain('Added by aider-mlx');
  });

  it('is idempotent', () => {
    const again = mergeAiderConf(merged.text, CONF, 'x');
    expect(again.text).toBe(merged.text);
    expect(again.changed).toBe(false);
  });

  it('removes keys no longer managed and gives the sample lines back', () => {
    const one = mergeAiderConf(merged.text, CONF_ONE_MODEL, 'x', { remove: ['architect', 'editor-model'] });
    expect(parse(one.text)).toEqual({
      model: 'openai/mlx-qwen2.5-coder-14b',
      'weak-model': 'openai/mlx-qwen2.5-coder-14b',
      'openai-api-base': 'http://127.0.0.1:4000/v1',
      'openai-api-key': 'sk-local-proxy',
      timeout: 600,
    });
    expect(one.removed).toEqual(['architect', 'editor-model']);
    expect(one.conflicts.map((c) => c.key)).toEqual(['model', 'timeout']);
    expectInOrder(one.text.split('\n'), SAMPLE.split('\n'));
    expect(one.text).not.toMatch(/^(architect|editor-model):/m);
    // The sample's own lines around the removed keys are back as they were.
    for (const block of ['#architect: false\n\n## Enable/disable automatic', '#editor-model: xxx\n\n## Specify the edit format'])
      expect(one.text).toContain(block);
  });
});

describe('mergeAiderConf on a user’s file', () => {
  const USER = `# my aider settings
dark-mode: true   # easier on the eyes
model: gpt-4o # the old one
auto-commits: false

# end of file
`;

  it('sets existing keys in place, keeps comments, appends new keys under a header, reports conflicts', () => {
    const r = mergeAiderConf(USER, CONF, 'x');
    expect(r.conflicts).toEqual([{ key: 'model', from: 'gpt-4o', to: 'openai/mlx-qwq-32b' }]);
    expect(parse(r.text)).toEqual({ 'dark-mode': true, 'auto-commits': false, ...CONF_VALUES });
    expect(r.text).toContain('model: openai/mlx-qwq-32b # the old one\n');
    expect(r.text).toContain('# my aider settings\n');
    const lines = r.text.split('\n');
    expect(lines.indexOf('# end of file')).toBeLessThan(lines.indexOf('# Added by aider-mlx'));
    expect(lines[lines.indexOf('# Added by aider-mlx') + 1]).toBe('editor-model: openai/mlx-qwen2.5-coder-14b');
    expect(mergeAiderConf(r.text, CONF, 'x').text).toBe(r.text);
  });

  it('a comment right under the user\'s last key stays right under it (no blank line put between); our block comes after', () => {
    const mine = 'dark-mode: true  # mine\npretty: true\n# keep this comment\n';
    const r = mergeAiderConf(mine, CONF, 'x');
    expect(r.text.startsWith(`${mine}\n# Added by aider-mlx\n`)).toBe(true);
    // A blank line the user had before it stays too.
    const spaced = 'pretty: true\n\n# keep this comment\n';
    expect(mergeAiderConf(spaced, CONF, 'x').text.startsWith(`${spaced}\n# Added by aider-mlx\n`)).toBe(true);
  });

  it('returns the existing text byte for byte when nothing changes', () => {
    const odd = "model:    'openai/mlx-qwq-32b'   # spaced\nextra:\n- a\n";
    const r = mergeAiderConf(odd, "model: openai/mlx-qwq-32b\n", 'x');
    expect(r).toEqual({ text: odd, changed: false, conflicts: [], removed: [] });
  });

  it('keeps the spacing before the user’s inline comments when a value changes (setup --force)', () => {
    const hand = [
      '# my own settings',
      'model: openai/mine   # my model',
      'editor-model: "openai/ed"\t# after a quoted value and a tab',
      "weak-model: 'openai/w'    # single-quoted",
      'openai-api-base: http://localhost:9999/v1 # one space',
      'timeout: 300            # aligned',
      'dark-mode: true         # aligned, not ours',
      'cache-prompts:   # nothing set yet',
      '',
    ].join('\n');
    const ours = [
      'model: openai/default_model',
      'editor-model: openai/mlx-ed',
      'weak-model: openai/mlx-weak-model',
      'openai-api-base: http://127.0.0.1:4000/v1',
      'timeout: 1200',
      'cache-prompts: true',
      '',
    ].join('\n');
    const r = mergeAiderConf(hand, ours, 'x');
    // Byte for byte the user's file but for the values: a comment stays in its column (a value
    // grown past it leaves one space), one after a tab keeps the tab.
    expect(r.text).toBe(
      [
        '# my own settings',
        'model: openai/default_model # my model',
        'editor-model: "openai/mlx-ed"\t# after a quoted value and a tab',
        "weak-model: 'openai/mlx-weak-model' # single-quoted",
        'openai-api-base: http://127.0.0.1:4000/v1 # one space',
        'timeout: 1200           # aligned',
        'dark-mode: true         # aligned, not ours',
        'cache-prompts: true # nothing set yet',
        '',
      ].join('\n'),
    );
    const shorter = mergeAiderConf(hand, 'model: openai/m\n', 'x');
    expect(shorter.text).toBe(hand.replace('model: openai/mine   # my model', 'model: openai/m      # my model'));
    expect(mergeAiderConf(r.text, ours, 'x').changed).toBe(false);
    const crlf = mergeAiderConf(hand.replace(/\n/g, '\r\n'), ours, 'x');
    expect(crlf.text).toBe(r.text.replace(/\n/g, '\r\n'));
  });

  it('keeps Windows line endings', () => {
    const r = mergeAiderConf('model: a # mine\r\ntimeout: 1\r\n', 'model: b\n', 'x');
    expect(r.text).toBe('model: b # mine\r\ntimeout: 1\r\n');
    expect(mergeAiderConf(r.text, 'model: b\n', 'x').changed).toBe(false);
  });

  it('keeps the user’s sequence indentation', () => {
    const r = mergeAiderConf('set-env:\n- A=1\n- B=2\n', 'model: m\n', 'x');
    expect(r.text).toContain('set-env:\n- A=1\n- B=2\n');
  });

  it('writes the rendered text when there is no file (or an empty one)', () => {
    expect(mergeAiderConf(undefined, CONF, 'x')).toEqual({ text: CONF, changed: true, conflicts: [], removed: [] });
    expect(mergeAiderConf('\n', CONF, 'x').text).toBe(CONF);
    expect(mergeAiderConf(CONF, CONF, 'x').changed).toBe(false);
  });

  it('reports malformed YAML with file, line and column, and leaves the file alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aider-mlx-merge-'));
    const file = join(dir, '.aider.conf.yml');
    const broken = 'model: gpt-4o\nweak-model: [a, b\ntimeout: 5\n';
    writeFileSync(file, broken);
    const err = catchError(() => mergeAiderConf(readFileSync(file, 'utf8'), CONF, file));
    expect(err).toBeInstanceOf(MalformedFileError);
    const e = err as MalformedFileError;
    expect([e.path, e.line, e.col]).toEqual([file, 3, 1]);
    expect(e.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} line 3, column 1: `));
    expect(e.tryThis).toBe('Fix or move that file, then run again; nothing was written.');
    expect(readFileSync(file, 'utf8')).toBe(broken);
  });

  it('points at the right column for a bad indent', () => {
    const e = catchError(() => mergeAiderConf('model: a\n  weak-model: b\n', CONF, 'c.yml')) as MalformedFileError;
    expect([e.line, e.col]).toEqual([1, 8]);
  });

  it('takes duplicate keys as Aider does (the last one wins) and sets that one', () => {
    const r = mergeAiderConf('model: a\ntimeout: 1\nmodel: b\n', 'model: c\n', 'c.yml');
    expect(r.text).toBe('model: a\ntimeout: 1\nmodel: c\n');
    expect(r.conflicts).toEqual([{ key: 'model', from: 'b', to: 'c' }]);
    expect(mergeAiderConf('model: a\nx: 1\nmodel: b\n', 'x: 1\n', 'c.yml', { remove: ['model'] }).text).toBe('x: 1\n');
  });

  it('rejects a file that is not a map', () => {
    const list = catchError(() => mergeAiderConf('# hi\n- model\n', CONF, 'c.yml')) as MalformedFileError;
    expect(list).toBeInstanceOf(MalformedFileError);
    expect([list.line, list.col]).toEqual([2, 1]);
  });

  it('shortens paths under home in the message', () => {
    const e = catchError(() => mergeAiderConf('a: [\n', CONF, join(process.env.HOME ?? '/nonexistent', '.aider.conf.yml')));
    expect((e as Error).message).toMatch(/^~\/\.aider\.conf\.yml line \d+, column \d+: /);
  });
});

describe('mergeModelSettings', () => {
  const RENDERED = `# aider-mlx model settings

# QwQ plans.
- name: openai/mlx-qwq-32b
  edit_format: diff
  use_temperature: 0.6
  reasoning_tag: think
  extra_params:
    max_tokens: 16384
    top_p: 0.95

# The coder edits.
- name: openai/mlx-qwen2.5-coder-14b
  edit_format: diff
  extra_params:
    max_tokens: 8192
`;

  it('replaces entries by name in place, appends new ones, keeps the rest (Aider’s bundled file)', () => {
    const theirs = fixture('aider-model-settings.yml');
    // Aider's own file repeats keys inside one entry; PyYAML (and we) take the last.
    const load = (t: string) => parse(t, { uniqueKeys: false }) as Array<{ name: string; edit_format?: string }>;
    const before = load(theirs);
    const at = before.findIndex((e) => e.name === 'openai/gpt-4o');
    const ours = `- name: openai/gpt-4o\n  edit_format: whole\n${RENDERED}`;
    const r = mergeModelSettings(theirs, ours, 'x');
    const after = load(r.text);
    expect(after).toHaveLength(before.length + 2);
    expect(after[at]).toEqual({ name: 'openai/gpt-4o', edit_format: 'whole' });
    expect(after.slice(0, at)).toEqual(before.slice(0, at));
    expect(after.slice(at + 1, before.length)).toEqual(before.slice(at + 1));
    expect(after.slice(-2).map((e) => e.name)).toEqual(['openai/mlx-qwq-32b', 'openai/mlx-qwen2.5-coder-14b']);
    expect(r.conflicts.map((c) => c.key)).toEqual(['openai/gpt-4o']);
    expect(r.text).toContain('\n\n# The coder edits.\n- name: openai/mlx-qwen2.5-coder-14b\n');
    expect(r.text).not.toContain('aider-mlx model settings');
    expect(mergeModelSettings(r.text, ours, 'x')).toMatchObject({ text: r.text, changed: false });
  });

  it('keeps the user’s comments and removes names we no longer write', () => {
    const theirs = `# my settings

# keep me: my own model
- name: my/model
  edit_format: whole # inline

# QwQ plans.
- name: openai/mlx-qwq-32b
  edit_format: whole

- name: openai/old-architect
  edit_format: diff
`;
    const r = mergeModelSettings(theirs, RENDERED, 'x', { remove: ['openai/old-architect', 'not/there'] });
    expect(r.removed).toEqual(['openai/old-architect']);
    expect((parse(r.text) as Array<{ name: string }>).map((e) => e.name)).toEqual([
      'my/model',
      'openai/mlx-qwq-32b',
      'openai/mlx-qwen2.5-coder-14b',
    ]);
    for (const line of ['# my settings', '# keep me: my own model', '  edit_format: whole # inline', '# QwQ plans.'])
      expect(r.text.split('\n')).toContain(line);
    expect(r.conflicts).toEqual([
      {
        key: 'openai/mlx-qwq-32b',
        from: { name: 'openai/mlx-qwq-32b', edit_format: 'whole' },
        to: (parse(RENDERED) as unknown[])[0],
      },
    ]);
    expect(mergeModelSettings(r.text, RENDERED, 'x').text).toBe(r.text);
  });

  it('is idempotent on its own output and starts from the rendered text', () => {
    const first = mergeModelSettings(undefined, RENDERED, 'x');
    expect(first.text).toBe(RENDERED);
    expect(mergeModelSettings(first.text, RENDERED, 'x')).toMatchObject({ text: RENDERED, changed: false });
  });

  it('reports malformed files with line and column', () => {
    const e = catchError(() => mergeModelSettings('- name: a\n  edit_format: diff: x\n', RENDERED, 's.yml')) as MalformedFileError;
    expect(e).toBeInstanceOf(MalformedFileError);
    expect([e.line, e.col]).toEqual([2, 16]);
    const notList = catchError(() => mergeModelSettings('name: a\n', RENDERED, 's.yml')) as MalformedFileError;
    expect([notList.line, notList.col]).toEqual([1, 1]);
    expect(notList.reason).toMatch(/list of model settings/);
  });
});

describe('mergeModelMetadata', () => {
  const RENDERED =
    JSON.stringify(
      {
        'openai/mlx-qwq-32b': { max_tokens: 16384, max_input_tokens: 32768, litellm_provider: 'openai', mode: 'chat' },
        'openai/mlx-qwen2.5-coder-14b': { max_tokens: 8192, max_input_tokens: 32768, litellm_provider: 'openai', mode: 'chat' },
      },
      null,
      2,
    ) + '\n';

  it('reads JSON5 (comments, trailing commas), merges by key, writes JSON', () => {
    const theirs = `{
  // mine
  "my/model": { max_tokens: 1000, },
  "openai/mlx-qwq-32b": { "max_tokens": 1 },
  'openai/old': { max_tokens: 2 },
}
`;
    const r = mergeModelMetadata(theirs, RENDERED, 'm.json', { remove: ['openai/old'] });
    const obj = JSON.parse(r.text) as Record<string, unknown>;
    expect(Object.keys(obj)).toEqual(['my/model', 'openai/mlx-qwq-32b', 'openai/mlx-qwen2.5-coder-14b']);
    expect(obj['my/model']).toEqual({ max_tokens: 1000 });
    expect(r.text).toBe(JSON.stringify(obj, null, 2) + '\n');
    expect(r.conflicts).toEqual([
      { key: 'openai/mlx-qwq-32b', from: { max_tokens: 1 }, to: JSON.parse(RENDERED)['openai/mlx-qwq-32b'] },
    ]);
    expect(r.removed).toEqual(['openai/old']);
    expect(mergeModelMetadata(r.text, RENDERED, 'm.json')).toMatchObject({ text: r.text, changed: false });
  });

  it('is idempotent from nothing', () => {
    const first = mergeModelMetadata(undefined, RENDERED, 'm.json');
    expect(first.text).toBe(RENDERED);
    expect(mergeModelMetadata(first.text, RENDERED, 'm.json').text).toBe(first.text);
  });

  it('keeps a user’s JSON5 file untouched when nothing changes', () => {
    const theirs = `// mine\n${RENDERED.replace(/\n}\n$/, ',\n}\n')}`;
    expect(mergeModelMetadata(theirs, RENDERED, 'm.json')).toMatchObject({ text: theirs, changed: false });
  });

  it('reports syntax errors with line and column', () => {
    const e = catchError(() => mergeModelMetadata('{\n  "a": 1,\n  "b": }\n', RENDERED, 'm.json')) as MalformedFileError;
    expect(e).toBeInstanceOf(MalformedFileError);
    expect([e.line, e.col]).toEqual([3, 8]);
    expect(e.message).toBe("m.json line 3, column 8: invalid character '}'");
    const arr = catchError(() => mergeModelMetadata('\n  [1]\n', RENDERED, 'm.json')) as MalformedFileError;
    expect([arr.line, arr.col]).toEqual([2, 3]);
  });
});

describe('mergeLitellmConfig', () => {
  const RENDERED = `model_list:
  - model_name: mlx-qwen2.5-coder-14b
    litellm_params:
      model: openai/default_model
      api_base: http://127.0.0.1:8080/v1
    model_info: {mode: chat, max_input_tokens: 32768}
  - model_name: mlx-qwen2.5-coder-14b
    litellm_params:
      model: openai/default_model
      api_base: http://127.0.0.1:8082/v1
  - model_name: mlx-qwq-32b
    litellm_params:
      model: openai/default_model
      api_base: http://127.0.0.1:8081/v1
litellm_settings:
  drop_params: true
  request_timeout: 900
router_settings:
  num_retries: 0
`;

  it('replaces all deployments of a model_name together and keeps the user’s other keys', () => {
    const theirs = `model_list:
- model_name: gpt-4o   # mine
  litellm_params:
    model: openai/gpt-4o
- model_name: mlx-qwen2.5-coder-14b
  litellm_params:
    model: openai/default_model
    api_base: http://127.0.0.1:9999/v1
- model_name: old-model
  litellm_params:
    model: openai/default_model
- model_name: mlx-qwen2.5-coder-14b
  litellm_params:
    model: openai/x
litellm_settings:
  drop_params: false
  set_verbose: true
general_settings:
  master_key: sk-mine # keep
`;
    const r = mergeLitellmConfig(theirs, RENDERED, 'l.yaml', { remove: ['old-model'] });
    const cfg = parse(r.text) as {
      model_list: Array<{ model_name: string; litellm_params: { api_base?: string } }>;
      litellm_settings: object;
      router_settings: object;
      general_settings: object;
    };
    expect(cfg.model_list.map((m) => m.model_name)).toEqual([
      'gpt-4o',
      'mlx-qwen2.5-coder-14b',
      'mlx-qwen2.5-coder-14b',
      'mlx-qwq-32b',
    ]);
    expect(cfg.model_list.map((m) => m.litellm_params.api_base)).toEqual([
      undefined,
      'http://127.0.0.1:8080/v1',
      'http://127.0.0.1:8082/v1',
      'http://127.0.0.1:8081/v1',
    ]);
    expect(cfg.litellm_settings).toEqual({ drop_params: true, set_verbose: true, request_timeout: 900 });
    expect(cfg.router_settings).toEqual({ num_retries: 0 });
    expect(cfg.general_settings).toEqual({ master_key: 'sk-mine' });
    expect(r.text).toContain('- model_name: gpt-4o   # mine\n');
    expect(r.text).toContain('master_key: sk-mine # keep\n');
    // The user's style: unindented sequences; flow maps as rendered.
    expect(r.text).toContain('\n- model_name: mlx-qwq-32b\n');
    expect(r.removed).toEqual(['old-model']);
    expect(r.conflicts.map((c) => c.key)).toEqual(['model_list: mlx-qwen2.5-coder-14b', 'litellm_settings.drop_params']);
    expect(mergeLitellmConfig(r.text, RENDERED, 'l.yaml')).toMatchObject({ text: r.text, changed: false });
  });

  it('keeps the spacing before the user’s inline comments on a setting it replaces', () => {
    const theirs = 'litellm_settings:\n  drop_params: false      # mine\n  request_timeout: 60\t# a tab\nrouter_settings:\n  num_retries: 3 # one\n';
    const r = mergeLitellmConfig(theirs, RENDERED, 'l.yaml');
    expect(r.text).toContain('\n  drop_params: true       # mine\n  request_timeout: 900\t# a tab\n');
    expect(r.text).toContain('\n  num_retries: 0 # one\n');
  });

  it('is idempotent from nothing and from its own output', () => {
    const first = mergeLitellmConfig(undefined, RENDERED, 'l.yaml');
    expect(first.text).toBe(RENDERED);
    expect(mergeLitellmConfig(first.text, RENDERED, 'l.yaml').text).toBe(RENDERED);
  });

  it('reports a model_list that is not a list', () => {
    const e = catchError(() => mergeLitellmConfig('model_list:\n  a: 1\n', RENDERED, 'l.yaml')) as MalformedFileError;
    expect(e).toBeInstanceOf(MalformedFileError);
    expect([e.line, e.col, e.reason]).toEqual([2, 3, 'model_list must be a list of models']);
  });
});
