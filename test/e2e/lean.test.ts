/**
 * dist/lean.cjs: `doctor`, `status` and the help pages from one CommonJS file, and on Node 20 V8's
 * code cache kept by bin/aider-mlx.js in the user's cache folder. A cache that is missing, corrupt
 * or in a folder that cannot be written only costs time: the command's answer is the same.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEAN_COMMANDS } from '../../src/main.js';
import { BIN, ROOT, cli, sandbox } from './helpers.js';

const LEAN = join(ROOT, 'dist', 'lean.cjs');
const hasCompileCache = typeof ((await import('node:module')) as { enableCompileCache?: unknown }).enableCompileCache === 'function';

describe('the lean bundle', () => {
  it('carries no Ink or React (their markers are in the other bundle, so this can fail)', () => {
    const markers = [/Raw mode is not supported/, /react\.element/];
    const text = readFileSync(LEAN, 'utf8');
    for (const m of markers) expect(m.test(text), String(m)).toBe(false);
    const others = readdirSync(join(ROOT, 'dist')).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(ROOT, 'dist', f), 'utf8'));
    for (const m of markers) expect(others.some((t) => m.test(t)), String(m)).toBe(true);
  });

  it('bin/aider-mlx.js sends it exactly LEAN_COMMANDS', () => {
    const bin = readFileSync(BIN, 'utf8');
    const list = /const LEAN = new Set\(\[([^\]]*)\]\)/.exec(bin)?.[1];
    expect(list, 'the LEAN set in bin/aider-mlx.js').toBeDefined();
    expect([...list!.matchAll(/'([^']+)'/g)].map((m) => m[1])).toEqual([...LEAN_COMMANDS]);
  });

  it('answers as the full CLI does: help pages, an unknown flag (exit 2), status without a plan', async () => {
    const s = sandbox();
    const help = await cli(['--help'], { cwd: s.repo, env: s.env });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('doctor');
    const page = await cli(['help', 'doctor'], { cwd: s.repo, env: s.env });
    expect(page.code).toBe(0);
    expect(page.stdout).toContain('--litellm-config');
    const bad = await cli(['doctor', '--jsn'], { cwd: s.repo, env: s.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Did you mean --json');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('what a lean command loads', () => {
  it('doctor --json and status with no setup load neither crypto, child_process nor fs/promises (they load on first use)', async () => {
    const s = sandbox();
    const list = join(s.root, 'modules.json');
    const preload = join(s.root, 'list.cjs');
    writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(process.moduleLoadList)));\n`);
    for (const args of [['doctor', '--json'], ['status']]) {
      const r = await new Promise<{ code: number | null }>((resolve) => {
        const c = spawn(process.execPath, ['-r', preload, BIN, ...args], { cwd: s.repo, env: { ...s.env, CI: '1' }, stdio: 'ignore' });
        c.on('close', (code) => resolve({ code }));
      });
      expect(r.code, args.join(' ')).not.toBeNull();
      const loaded = (JSON.parse(readFileSync(list, 'utf8')) as string[]).filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
      expect(loaded, args.join(' ')).toContain('http');
      for (const heavy of ['crypto', 'child_process', 'fs/promises']) expect(loaded, `${args.join(' ')} loads ${heavy}`).not.toContain(heavy);
    }
  });

  it('a lazily loaded built-in works when it is used: --fix writes a new random master key (crypto)', async () => {
    const s = sandbox();
    const cfg = join(s.home, 'litellm.yaml');
    writeFileSync(cfg, 'model_list:\n  - model_name: coder\n    litellm_params:\n      model: openai/default_model\n      api_base: http://127.0.0.1:9/v1\n');
    writeFileSync(join(s.repo, '.aider.conf.yml'), 'model: openai/coder\nopenai-api-base: http://127.0.0.1:9/v1\n');
    const r = await cli(['doctor', '--fix', '--yes', '--litellm-config', cfg], { cwd: s.repo, env: { ...s.env, CI: '1' } });
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(cfg, 'utf8')).toMatch(/master_key: sk-[0-9a-f]{48}/);
  });
});

describe.skipIf(hasCompileCache)('the code cache on Node 20', () => {
  const cacheDir = (home: string) => join(home, '.cache', 'aider-mlx', 'v8');

  it('is written after the first run (0600, in the user cache folder), read on the next, and a corrupt one is replaced', async () => {
    const s = sandbox();
    const first = await cli(['doctor', '--json'], { cwd: s.repo, env: s.env });
    const files = readdirSync(cacheDir(s.home));
    expect(files).toHaveLength(1);
    const file = join(cacheDir(s.home), files[0]!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(cacheDir(s.home)).mode & 0o777).toBe(0o700);
    const written = statSync(file).mtimeMs;
    const second = await cli(['doctor', '--json'], { cwd: s.repo, env: s.env });
    expect(second.code).toBe(first.code);
    // Accepted by V8: not written again.
    expect(statSync(file).mtimeMs).toBe(written);
    writeFileSync(file, 'not a code cache');
    const third = await cli(['doctor', '--json'], { cwd: s.repo, env: s.env });
    expect(third.code).toBe(first.code);
    expect(JSON.parse(third.stdout).schema).toBe('aider-mlx/doctor@1');
    expect(readFileSync(file).length).toBeGreaterThan(1000);
    expect(third.stderr).toBe(first.stderr);
  });

  it('a cache folder that cannot be made (a file in its place; root may write anywhere else): the same answer', async () => {
    const s = sandbox();
    mkdirSync(join(s.home, '.cache'), { recursive: true });
    writeFileSync(join(s.home, '.cache', 'aider-mlx'), 'my own file\n');
    const r = await cli(['status'], { cwd: s.repo, env: s.env });
    const again = await cli(['status'], { cwd: s.repo, env: { ...s.env, AIDER_MLX_NO_COMPILE_CACHE: '1' } });
    expect(r.code).toBe(again.code);
    expect(r.stdout).toBe(again.stdout);
    expect(r.stderr).toBe(again.stderr);
    expect(readFileSync(join(s.home, '.cache', 'aider-mlx'), 'utf8')).toBe('my own file\n');
  });
});
