import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from '../config/plan.js';
import { servedModels } from '../config/names.js';
import { serverArgs } from '../servers/launch.js';
import { serverStartAdvice } from '../serve/remote.js';
import { nextSteps } from '../setup/run.js';
import { buildUnits } from '../serve/units.js';
import { estimateModelMemory, fitRoles, gpuBudget, GiB } from './fit.js';
import { localKvBytesPerToken, promptCacheArgs, promptCacheFor } from './prompt-cache.js';

// Qwen2.5-Coder-14B's shape: 48 layers × 8 KV heads × 128 dim → 192 KiB a token.
const CONFIG = { num_hidden_layers: 48, num_attention_heads: 40, num_key_value_heads: 8, hidden_size: 5120 };
const MODEL = 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit';
let home: string;
let env: Record<string, string>;

function cacheModel(repo: string, config: unknown, rev = 'abc123') {
  const dir = join(home, 'hf', 'hub', `models--${repo.replace('/', '--')}`);
  mkdirSync(join(dir, 'snapshots', rev), { recursive: true });
  mkdirSync(join(dir, 'refs'), { recursive: true });
  writeFileSync(join(dir, 'refs', 'main'), `${rev}\n`);
  writeFileSync(join(dir, 'snapshots', rev, 'config.json'), JSON.stringify(config));
}

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'aider-mlx-pcache-'));
  env = { HOME: home, HF_HOME: join(home, 'hf') };
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('the prompt-cache bound', () => {
  it('reads the KV size from the cached config.json, or a local model folder', () => {
    cacheModel(MODEL, CONFIG);
    expect(localKvBytesPerToken(MODEL, env)).toBe(192 * 1024);
    mkdirSync(join(home, 'models', 'mine'), { recursive: true });
    writeFileSync(join(home, 'models', 'mine', 'config.json'), JSON.stringify(CONFIG));
    expect(localKvBytesPerToken('~/models/mine', env)).toBe(192 * 1024);
    expect(localKvBytesPerToken('mlx-community/not-here', env)).toBeUndefined();
    mkdirSync(join(home, 'models', 'broken'));
    writeFileSync(join(home, 'models', 'broken', 'config.json'), '{ not json');
    expect(localKvBytesPerToken('~/models/broken', env)).toBeUndefined();
  });

  it('is the same number the memory fit counts: entries per role × one context of KV', () => {
    cacheModel(MODEL, CONFIG);
    const b = promptCacheFor({ model: MODEL, roles: ['architect', 'editor', 'weak'], context: 16384 }, env);
    expect(b).toEqual({ entries: 3, bytes: 3 * 192 * 1024 * 16384 }); // 3 × 3 GB
    const fit = fitRoles(['architect', 'editor', 'weak'].map((role) => ({ role, input: { repoId: MODEL, context: 16384, weightsBytes: 8 * GiB, kvBytesPerTokenHint: 192 * 1024 } })), gpuBudget({ totalBytes: 64 * GiB }));
    expect(fit.processes[0]!.estimate.promptCache).toEqual(b);
    expect(promptCacheFor({ model: MODEL, roles: ['editor'], context: 16384 }, env)).toEqual({ entries: 2, bytes: 2 * 192 * 1024 * 16384 });
    // Not on this machine: the hint the wizard sized it with, else only the entry count.
    expect(promptCacheFor({ model: 'a/b', roles: ['editor'], context: 1000 }, env, 1024)).toEqual({ entries: 2, bytes: 2 * 1024 * 1000 });
    expect(promptCacheFor({ model: 'a/b', roles: ['editor'], context: 1000 }, env)).toEqual({ entries: 2 });
    expect(estimateModelMemory({ repoId: 'a/b', context: 1000, kvBytesPerTokenHint: 1024 }).promptCache).toEqual({ entries: 2, bytes: 2048000 });
  });

  it('mlx_lm.server gets --prompt-cache-size (the entries plus the system-prompt segment it caches mid-request) and --prompt-cache-bytes (plain bytes, mlx-lm 0.32.2)', () => {
    expect(promptCacheArgs({ entries: 2, bytes: 6442450944 })).toEqual(['--prompt-cache-size', '3', '--prompt-cache-bytes', '6442450944']);
    expect(promptCacheArgs({ entries: 3 })).toEqual(['--prompt-cache-size', '4']);
    expect(serverArgs({ model: MODEL, port: 8080, maxTokens: 8192, promptCache: { entries: 2, bytes: 1e9 } })).toEqual([
      '--model', MODEL, '--host', '127.0.0.1', '--port', '8080', '--max-tokens', '8192', '--prompt-cache-size', '3', '--prompt-cache-bytes', '1000000000',
    ]);
  });

  it('what setup tells the user to start carries the same bound', () => {
    cacheModel(MODEL, CONFIG);
    const plan: Plan = {
      version: 1,
      mode: 'proxy',
      roles: { editor: { model: MODEL, context: 16384, deployments: [{ host: '127.0.0.1', port: 8080 }, { host: '10.0.0.5', port: 8080 }] } },
      proxy: { host: '127.0.0.1', port: 4000 },
      requestTimeout: 600,
      aider: { scope: 'profile', dir: join(home, 'p') },
    };
    const flags = `--prompt-cache-size 3 --prompt-cache-bytes ${2 * 192 * 1024 * 16384}`;
    const steps = nextSteps(plan, env);
    expect(steps[0]).toContain(`mlx_lm.server --model ${MODEL} --host 127.0.0.1 --port 8080 --max-tokens 8192 ${flags}`);
    expect(steps[1]).toContain(`mlx_lm.server --model ${MODEL} --port 8080 ${flags} runs on its 127.0.0.1`);
    const m = servedModels(plan)[0]!;
    expect(serverStartAdvice(m.model, m.deployments[0]!, { promptCache: promptCacheFor(m, env) })).toBe(`Start it in another terminal: mlx_lm.server --model ${MODEL} --port 8080 ${flags}`);
  });

  it('setup prints the command serve runs, word for word, --prompt-cache-bytes included before the model is downloaded (X3)', async () => {
    // Nothing in the Hugging Face cache: the curated list's KV hint gives the byte bound.
    const bin = join(home, 'bin');
    const argvFile = join(home, 'argv.json');
    mkdirSync(bin);
    writeFileSync(join(bin, 'mlx_lm.server'), `#!/usr/bin/env node\nrequire('fs').writeFileSync(${JSON.stringify(argvFile)}, JSON.stringify(process.argv.slice(2)));\n`, { mode: 0o755 });
    const runEnv = { ...env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    const plan: Plan = {
      version: 1,
      mode: 'direct',
      roles: { editor: { model: MODEL, context: 16384, deployments: [{ host: '127.0.0.1', port: 8080 }] } },
      proxy: { host: '127.0.0.1', port: 4000 },
      requestTimeout: 600,
      aider: { scope: 'profile', dir: join(home, 'p') },
    };
    const printed = nextSteps(plan, runEnv)[0]!.split('   # ')[0]!;
    const unit = buildUnits(plan, { env: runEnv }).find((u) => u.kind === 'server')!;
    const proc = await unit.start(() => {});
    expect(await proc.exited).toBe(0);
    const { readFileSync } = await import('node:fs');
    const ran = JSON.parse(readFileSync(argvFile, 'utf8')) as string[];
    expect(printed).toBe(`mlx_lm.server ${ran.join(' ')}`);
    expect(ran.slice(ran.indexOf('--prompt-cache-size'))).toEqual(['--prompt-cache-size', '3', '--prompt-cache-bytes', String(2 * 192 * 1024 * 16384)]);
  });
});
