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

