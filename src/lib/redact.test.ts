import { describe, expect, it } from 'vitest';
import { LOCAL_API_KEY } from '../config/names.js';
import { envSecrets, isSecretName, lineRedactor, redact, redactDeep } from './redact.js';

const USER = 'sk-proj-REALUSERKEY-abcdefghijklmnop1234';
const ANT = 'sk-ant-REALANTHROPIC-xyz987654321';
const HF = 'hf_ENVSECRETabcdefghijklmnopqrstuv';
const PLAIN = 'plainSECRETvalue99'; // no known shape: only its key's name says it is a secret

function clean(out: string) {
  for (const s of ['REALUSERKEY', 'REALANTHROPIC', 'ENVSECRET', 'SECRETvalue', 'hunter2x']) expect(out, out).not.toContain(s);
}

describe('redact: one redactor for every output', () => {
  it('YAML keys keep their name, the value goes (with comments, quotes, indents)', () => {
    const yaml = [
      `openai-api-key: ${USER}`,
      `anthropic-api-key: "${ANT}"`,
      `deepseek-api-key: '${PLAIN}'   # mine`,
      `  api_key: ${PLAIN}`,
      `  - api-key: ${PLAIN}`,
      `master_key: ${PLAIN}`,
      `hf_token: ${PLAIN}`,
      `api_key: hunter2x`,
    ].join('\n');
    const out = redact(yaml);
    clean(out);
    expect(out.split('\n')).toEqual([
      'openai-api-key: <redacted>',
      'anthropic-api-key: "<redacted>"',
      "deepseek-api-key: '<redacted>'   # mine",
      '  api_key: <redacted>',
      '  - api-key: <redacted>',
      'master_key: <redacted>',
      'hf_token: <redacted>',
      'api_key: <redacted>',
    ]);
  });

  it('diff lines with +, - and space prefixes still say which key changes', () => {
    const diff = `--- a/.aider.conf.yml\n+++ b/.aider.conf.yml\n@@ -1,3 +1,3 @@\n-openai-api-key: ${USER}\n+openai-api-key: sk-aider-mlx-0123456789abcdef0123456789abcdef0123456789abcdef\n anthropic-api-key: ${ANT}\n dark-mode: true\n`;
    const out = redact(diff);
    clean(out);
    expect(out).not.toContain('0123456789abcdef');
    expect(out).toContain('\n-openai-api-key: <redacted>\n+openai-api-key: <redacted>\n anthropic-api-key: <redacted>\n dark-mode: true\n');
  });

  it("a price per token is no secret: Aider's model metadata diff stays valid JSON", () => {
    const diff = '+    "input_cost_per_token": 0,\n+    "output_cost_per_token": 0,\n+    "max_tokens": 8192,\n+    "hf_token": "hf_AbCdEfGhIjKlMnOp"\n';
    const out = redact(diff);
    expect(out).toContain('"input_cost_per_token": 0,');
    expect(out).toContain('"output_cost_per_token": 0,');
    expect(out).toContain('"max_tokens": 8192,');
    expect(out).not.toContain('AbCdEfGh');
  });

  it('JSON, env lines, headers, flags and log text', () => {
    const cases: Array<[string, string]> = [
      [`{"api_key": "${PLAIN}", "model": "gpt-4o"}`, '{"api_key": "<redacted>", "model": "gpt-4o"}'],
      [`{\\"openai-api-key\\":\\"${PLAIN}\\"}`, '{\\"openai-api-key\\":\\"<redacted>\\"}'],
      [`{'api_key': '${PLAIN}'}`, "{'api_key': '<redacted>'}"],
      [`OPENAI_API_KEY=${USER}`, 'OPENAI_API_KEY=<redacted>'],
      [`export HF_TOKEN="${PLAIN}"`, 'export HF_TOKEN="<redacted>"'],
      [`MY_SERVICE_SECRET=${PLAIN}`, 'MY_SERVICE_SECRET=<redacted>'],
      [`env: OPENAI_API_KEY=${USER} HF_TOKEN=${HF} PATH=/usr/bin`, 'env: OPENAI_API_KEY=<redacted> HF_TOKEN=<redacted> PATH=/usr/bin'],
      [`Authorization: Bearer ${PLAIN}`, 'Authorization: Bearer <redacted>'],
      [`authorization: Basic ${PLAIN}`, 'authorization: Basic <redacted>'],
      [`headers={'Authorization': 'Bearer ${PLAIN}'}`, "headers={'Authorization': 'Bearer <redacted>'}"],
      [`x-api-key: ${PLAIN}`, 'x-api-key: <redacted>'],
      [`litellm --api-key ${PLAIN} --port 4000`, 'litellm --api-key <redacted> --port 4000'],
      [`aider --openai-api-key=${PLAIN}`, 'aider --openai-api-key=<redacted>'],
      [`huggingface-cli login --token ${PLAIN}`, 'huggingface-cli login --token <redacted>'],
      [`GET /v1/models?api_key=${PLAIN}&x=1`, 'GET /v1/models?api_key=<redacted>&x=1'],
      [`proxy says master_key=${PLAIN}, ok`, 'proxy says master_key=<redacted>, ok'],
      [`key ${USER} in text`, 'key sk-pr<redacted> in text'],
      [`and ${ANT}.`, 'and sk-an<redacted>.'],
      [`token ${HF} here`, 'token hf_<redacted> here'],
      ['ghp_abcdefghijklmnopqrstuvwxyz0123 there', 'ghp_<redacted> there'],
    ];
    for (const [input, want] of cases) {
      expect(redact(input), input).toBe(want);
      // Redacting twice (a child's line, then the command's output) changes nothing more.
      expect(redact(redact(input)), input).toBe(want);
      clean(redact(input));
    }
  });

  it('known values go wherever they are, whole', () => {
    expect(redact(`the proxy key is ${PLAIN}!`, [PLAIN, undefined])).toBe('the proxy key is <redacted>!');
    expect(redact('short ab', ['ab'])).toBe('short ab');
  });

  it('leaves ordinary text alone', () => {
    const text = [
      'http://127.0.0.1:8080/v1 openai/mlx-qwq-32b-4bit default_model sk-…(61 chars)',
      'max_tokens: 4096',
      '+  max_output_tokens: 8192',
      'tokenizer: mlx-community/Qwen2.5-Coder-7B-Instruct-4bit',
      'Checking each mlx_lm.server with a real 1-token completion (up to 5 s each)…',
      "expected: openai-api-key: the proxy's master_key",
      'observed: no openai-api-key, no OPENAI_API_KEY, no extra_params.api_key',
      `api_key: ${LOCAL_API_KEY}`,
      'api_key: os.environ/OPENAI_API_KEY',
      'OPENAI_API_KEY=$OPENAI_API_KEY',
      'pip install hf_transfer',
      'model: openai/mlx-qwen2.5-coder-7b-instruct-4bit',
      '+openai-api-base: http://127.0.0.1:4000/v1',
      'HF_TOKEN_PATH=/Users/me/.cache/huggingface/token',
      '--editor-port 8080 --timeout 5',
      'a desk-lamp and a task-runner-thing',
      '#openai-api-key: xxx',
    ].join('\n');
    expect(redact(text)).toBe(text);
  });

  it('names, deep values for --json, and the environment', () => {
    for (const n of ['openai-api-key', 'anthropic-api-key', 'api_key', 'api-key', 'apiKey', 'master_key', 'HF_TOKEN', 'hf_token', 'OPENAI_API_KEY', 'X_SECRET']) expect(isSecretName(n), n).toBe(true);
    for (const n of ['model', 'max_tokens', 'tokenizer', 'openai-api-base', 'api_base']) expect(isSecretName(n), n).toBe(false);
    expect(redactDeep({ a: [`OPENAI_API_KEY=${USER}`], apiKey: 'short', n: 3, m: 'gpt-4o' })).toEqual({ a: ['OPENAI_API_KEY=<redacted>'], apiKey: '<redacted>', n: 3, m: 'gpt-4o' });
    expect(envSecrets({ OPENAI_API_KEY: USER, HF_TOKEN: HF, PATH: '/usr/bin:/bin', HOME: '/home/me', X_TOKEN: 'short' })).toEqual([USER, HF]);
  });

  it('lineRedactor: a secret split across two chunks is redacted once its line is whole', () => {
    const lines: string[] = [];
    const w = lineRedactor((l) => lines.push(l), [PLAIN]);
    w.write('starting\nOPENAI_API_KEY=sk-openai-ENVSE');
    w.write(`CRET-abcdef123456 and ${PLAIN.slice(0, 5)}`);
    w.write(`${PLAIN.slice(5)}\nlast line, no newline: HF_TOKEN=hf_ENVSEC`);
    w.write('RETabcdefghij');
    w.end();
    expect(lines).toEqual(['starting', 'OPENAI_API_KEY=<redacted> and <redacted>', 'last line, no newline: HF_TOKEN=<redacted>']);
  });
});

describe('redact: each shape on its own', () => {
  // A text with none of the words the patterns need is returned after one scan: each pattern must
  // still be caught when it is the only thing in its text that looks like a secret.
  const shapes: Array<[string, string]> = [
    ['my password: Zq9xWv2LmN4p', 'Zq9xWv2LmN4p'],
    ['passwd=Zq9xWv2LmN4p', 'Zq9xWv2LmN4p'],
    ['"client_secret": "Zq9xWv2LmN4p"', 'Zq9xWv2LmN4p'],
    ['HF_TOKEN=Zq9xWv2LmN4p', 'Zq9xWv2LmN4p'],
    ['--api-key Zq9xWv2LmN4p', 'Zq9xWv2LmN4p'],
    ['Authorization: Zq9xWv2LmN4p', 'Zq9xWv2LmN4p'],
    ['Bearer Zq9xWv2LmN4p', 'Zq9xWv2LmN4p'],
    ['sent sk-Zq9xWv2LmN4p', 'Zq9xWv2LmN4p'],
    ['sent hf_Zq9xWv2LmN4pQ', 'Zq9xWv2LmN4pQ'],
    ['sent ghp_Zq9xWv2LmN4pZq9xWv2LmN4p', 'Zq9xWv2LmN4pZq9xWv2LmN4p'],
    ['sent github_pat_Zq9xWv2LmN4pZq9xWv2LmN4p', 'Zq9xWv2LmN4pZq9xWv2LmN4p'],
    ['sent xoxb-Zq9xWv2LmN4p', 'Zq9xWv2LmN4p'],
    ['sent AIzaZq9xWv2LmN4pZq9xWv2LmN4pZq9xWv2', 'Zq9xWv2LmN4pZq9xWv2LmN4pZq9xWv2'],
    ['sent AKIAZQ9XWV2LMN4PZQ9X', 'ZQ9XWV2LMN4PZQ9X'],
  ];
  it.each(shapes)('%s', (text, secret) => {
    expect(redact(text)).not.toContain(secret);
  });
  it('a known value with no shape and no name around it', () => {
    expect(redact('the proxy said Zq9xWv2LmN4p', ['Zq9xWv2LmN4p'])).toBe('the proxy said <redacted>');
  });
  it('a text with nothing to redact comes back as it is', () => {
    const t = 'model_list[1].litellm_params.model: openai/architect → openai/default_model (max_tokens 512, 1-token probe)';
    expect(redact(t, ['Zq9xWv2LmN4p'])).toBe(t);
  });
});
