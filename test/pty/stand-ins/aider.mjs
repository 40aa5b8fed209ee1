// A stand-in `aider` for the pty tests: `--version` prints one; any other run appends to
// STANDIN_RECORD its argv, cwd, environment and the Aider files in its folder, then sends a real
// 1-token completion to the base its config names (--config, else ./.aider.conf.yml), with the key
// it names (openai-api-key, or AIDER_OPENAI_API_KEY from its env-file), and records the answer.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

const argv = process.argv.slice(2);
if (argv.includes('--version')) {
  process.stdout.write('aider 0.86.1\n');
  process.exit(0);
}
const at = argv.indexOf('--config');
const confPath = resolve(at >= 0 ? argv[at + 1] : '.aider.conf.yml');
const conf = existsSync(confPath) ? (parse(readFileSync(confPath, 'utf8')) ?? {}) : {};
let key = conf['openai-api-key'];
if (!key && conf['env-file'] && existsSync(conf['env-file'])) {
  key = /^(?:AIDER_)?OPENAI_API_KEY=(.*)$/m.exec(readFileSync(conf['env-file'], 'utf8'))?.[1]?.trim();
}
const base = conf['openai-api-base'];
const model = String(conf['editor-model'] ?? conf.model ?? '').replace(/^openai\//, '');
let answer;
try {
  const r = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Reply with OK.' }], max_tokens: 1 }),
  });
  answer = { base, model, status: r.status, body: await r.text() };
} catch (e) {
  answer = { base, model, error: String(e) };
}
const files = ['.aider.conf.yml', '.aider.model.settings.yml', '.aider.model.metadata.json'].filter((f) => existsSync(f));
appendFileSync(process.env.STANDIN_RECORD, JSON.stringify({ argv, cwd: process.cwd(), env: process.env, files, conf: confPath, answer }) + '\n');
process.stdout.write(answer.status === 200 ? 'OK\n' : `error: ${answer.error ?? answer.status}\n`);
process.exit(answer.status === 200 ? 0 : 1);
