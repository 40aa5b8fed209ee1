/**
 * `doctor --fix` on the user's own files: the value it fixes changes, and every other byte stays as
 * they wrote it (the blanks after a colon, comments aligned in a column, quotes, .env comments).
 */
import { describe, expect, it } from 'vitest';
import { editUserYaml } from '../../src/config/merge.js';
import { applyEdits } from '../../src/doctor/fix.js';
import type { UserEdit } from '../../src/doctor/types.js';

const yaml = (keyPath: Array<string | number>, old: unknown, value: unknown): UserEdit => ({ path: '/h/.aider.conf.yml', format: 'yaml', keyPath, ...(old !== undefined ? { old } : {}), new: value }) as UserEdit;
const edit = (text: string, ...edits: UserEdit[]) => applyEdits(text, edits, editUserYaml, '/h/.aider.conf.yml');

describe('the doctor edits a hand-written file in place', () => {
  it('a longer and a shorter value: the blanks after the colon, the other lines and the comment column stay', () => {
    const text = `# mine
model:          openai/editor        # role alias
openai-api-base: http://127.0.0.1:8080/v1/v1  # from the log
openai-api-key:   sk-local               # placeholder
dark-mode: true
`;
    const r = edit(text, yaml(['model'], 'openai/editor', 'openai/mlx-community/Qwen2.5-Coder-7B-Instruct-4bit'), yaml(['openai-api-base'], 'http://127.0.0.1:8080/v1/v1', 'http://127.0.0.1:8080/v1'));
    expect(r.stale).toEqual([]);
    expect(r.text).toBe(`# mine
model:          openai/mlx-community/Qwen2.5-Coder-7B-Instruct-4bit # role alias
openai-api-base: http://127.0.0.1:8080/v1     # from the log
openai-api-key:   sk-local               # placeholder
dark-mode: true
`);
  });

  it('the same edit asked twice (two roles with one name) is made once; two that disagree on one value: the first is made, the other is stale', () => {
    const text = `model_list:\n  - model_name: coder\n    litellm_params:\n      model: openai/coder   # alias\n      api_base: http://127.0.0.1:8080/v1\n`;
    const e = yaml(['model_list', 0, 'litellm_params', 'model'], 'openai/coder', 'openai/default_model');
    const twice = edit(text, e, { ...e });
    expect(twice.stale).toEqual([]);
    expect(twice.text).toBe(text.replace('openai/coder   # alias', 'openai/default_model # alias'));
    const other = yaml(['model_list', 0, 'litellm_params', 'model'], 'openai/coder', 'openai/mlx-community/X-4bit');
    const both = edit(text, e, other);
    expect(both.text).toBe(twice.text);
    expect(both.stale).toEqual([other]);
  });

  it('quotes stay the kind they were; a tab before a comment stays', () => {
    const text = `model: "openai/editor"\t# tabbed\nweak-model: 'openai/weak'   # single\n`;
    const r = edit(text, yaml(['model'], 'openai/editor', 'openai/a'), yaml(['weak-model'], 'openai/weak', "openai/it's"));
    expect(r.text).toBe(`model: "openai/a"\t# tabbed\nweak-model: 'openai/it''s'  # single\n`);
  });

  it('a nested value (a LiteLLM model_list entry) changes alone', () => {
    const text = `model_list:
  - model_name: coder   # mine
    litellm_params:
      model:    openai/editor   # the role name
      api_base: http://127.0.0.1:8080/v1
`;
    const r = edit(text, yaml(['model_list', 0, 'litellm_params', 'model'], 'openai/editor', 'openai/default_model'));
    expect(r.text).toBe(text.replace('openai/editor   #', 'openai/default_model #'));
  });

  it('a key that is not there is added in the file\'s style; a value the file no longer has is left, as stale', () => {
    const r = edit('# mine\nmodel: openai/x   # c\n', yaml(['openai-api-base'], undefined, 'http://127.0.0.1:8080/v1'), yaml(['model'], 'openai/y', 'openai/z'));
    expect(r.text).toBe('# mine\nmodel: openai/x   # c\nopenai-api-base: http://127.0.0.1:8080/v1\n');
    expect(r.stale.map((s) => s.keyPath)).toEqual([['model']]);
  });

  it('.env: the value changes, an inline comment after it stays', () => {
    const e: UserEdit = { path: '/h/.env', format: 'dotenv', keyPath: ['OPENAI_API_BASE'], old: 'http://x/v1/chat/completions', new: 'http://x/v1' } as UserEdit;
    const r = applyEdits('# keys\nexport OPENAI_API_BASE=http://x/v1/chat/completions   # work\nOPENAI_API_KEY=sk-local\n', [e], editUserYaml, '/h/.env');
    expect(r.text).toBe('# keys\nexport OPENAI_API_BASE=http://x/v1   # work\nOPENAI_API_KEY=sk-local\n');
  });
});
