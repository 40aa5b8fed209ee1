import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSetupFlags } from '../setup/flags.js';
import { answersToArgs } from './answers.js';

async function file(text: string): Promise<string> {
  const p = join(await mkdtemp(join(tmpdir(), 'aider-mlx-answers-')), 'a.yaml');
  await writeFile(p, text);
  return p;
}

describe('--answers FILE', () => {
  it('takes a plan file as it is', async () => {
    const p = await file(`version: 1
mode: direct
roles:
  editor: { model: mlx-community/Qwen2.5-Coder-7B-Instruct-4bit, context: 16384, deployments: [{ host: 127.0.0.1, port: 9001 }] }
  architect: { model: mlx-community/Qwen3-8B-4bit, context: 8192, deployments: [{ host: 127.0.0.1, port: 9002 }] }
proxy: { host: 127.0.0.1, port: 4100 }
requestTimeout: 300
aider: { scope: profile, dir: /somewhere }
`);
    const input = parseSetupFlags([...(await answersToArgs(p)), '--yes']);
    expect(input).toMatchObject({
      editor: 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', editorPort: 9001,
      architect: 'mlx-community/Qwen3-8B-4bit', architectPort: 9002,
      mode: 'direct', scope: 'profile', proxyPort: 4100, requestTimeoutSec: 300, context: 16384, host: '127.0.0.1',
    });
  });

  it('flags typed after it win; bad values fail like the flags do', async () => {
    const p = await file('roles: { editor: { model: a/b, port: 9001 } }\nmode: direct\n');
    expect(parseSetupFlags([...(await answersToArgs(p)), '--mode', 'proxy', '--editor-port', '9005'])).toMatchObject({ mode: 'proxy', editorPort: 9005, editor: 'a/b' });
    const bad = await file('roles: { editor: { model: "has space" } }\n');
    const badArgs = await answersToArgs(bad);
    expect(() => parseSetupFlags(badArgs)).toThrow(/--editor "has space": .*spaces/);
    await expect(answersToArgs(await file('roles: { planner: { model: a/b } }\n'))).rejects.toThrow(/unknown role "planner"/);
  });
});


describe('--answers: what is not an answers file (reliability report L10, L12, L9)', () => {
  it('roles: "hello" says roles must be a list of roles by name, not `unknown role "0"`', async () => {
    const p = await file('roles: "hello"\n');
    await expect(answersToArgs(p)).rejects.toThrow(/"roles" must be a list of roles by name \(editor, architect, weak\)/);
    await expect(answersToArgs(await file('roles: [editor]\n'))).rejects.toThrow(/"roles" must be a list of roles by name/);
  });

  it('/dev/zero is refused at once with a plain message', async () => {
    const t0 = Date.now();
    await expect(answersToArgs('/dev/zero')).rejects.toThrow('The answers file /dev/zero is a character device, not a file.');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a file over 1 MB is refused', async () => {
    const p = await file('# ' + 'x'.repeat(1024 * 1024 + 10) + '\n');
    await expect(answersToArgs(p)).rejects.toThrow(/at most 1 MB is read/);
  });

  it('a 2000-character repo id in the answers is refused with the limit', async () => {
    const p = await file(`roles: { editor: { model: a/${'b'.repeat(2000)} } }\n`);
    const args = await answersToArgs(p);
    expect(() => parseSetupFlags([...args, '--yes'])).toThrow(/at most 96 characters \(this one is 2000\)/);
  });
});

describe('--answers FILE that is not valid YAML', () => {
  it('names its line and column once, says what is wrong, and ends in a full stop', async () => {
    const p = await file('mode: proxy\nroles:\n\teditor: x\n');
    const e = await answersToArgs(p).then(() => undefined, (x: unknown) => x as Error & { exitCode?: number });
    expect(e?.message).toBe(`${p} line 3, column 1 is not YAML or JSON: a tab used to indent (YAML indents with spaces only).`);
  });
});
