import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderFiles } from '../config/render.js';
import { PLAN_VERSION, type Plan } from '../config/plan.js';
import { perRunSettings } from '../config/profile.js';
import { configPaths } from '../lib/paths.js';
import { ownedLocations } from '../service/locations.js';
import { runAiderCommand } from './aider.js';

const MODEL = 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit';
let root: string;
const saved = { ...process.env };

function plan(deployments: Plan['roles']['editor']['deployments'], dir: string): Plan {
  return {
    version: PLAN_VERSION,
    mode: 'proxy',
    roles: { editor: { model: MODEL, context: 32768, deployments } },
    proxy: { host: '127.0.0.1', port: 4000 },
    requestTimeout: 600,
    aider: { scope: 'profile', dir },
  };
}

/** The profile files as setup writes them, and an `aider` on PATH that records what it was given. */
function install(p: Plan) {
  const dir = configPaths(process.env).profile;
  mkdirSync(dir, { recursive: true });
  const r = renderFiles(p, { litellmConfig: join(root, 'litellm.yaml'), aiderDir: dir, proxyKey: 'sk-aider-mlx-TESTKEY' });
  writeFileSync(join(dir, '.aider.conf.yml'), r.conf);
  writeFileSync(join(dir, '.aider.model.settings.yml'), r.settings);
  writeFileSync(join(dir, '.aider.model.metadata.json'), r.metadata);
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  // Copies the settings file it was handed (the 4th argument) next to its arguments.
  writeFileSync(join(bin, 'aider'), `#!/bin/sh\nprintf '%s\\n' "$@" > "${root}/args.$$"\ncat "$4" > "${root}/settings.$$"\n`);
  chmodSync(join(bin, 'aider'), 0o755);
  process.env.PATH = `${bin}:${saved.PATH}`;
  return dir;
}

function runs(): Array<{ args: string[]; settings: Array<{ extra_params: { extra_headers?: Record<string, string> } }> }> {
  return readdirSync(root)
    .filter((f) => f.startsWith('args.'))
    .map((f) => ({ args: readFileSync(join(root, f), 'utf8').trim().split('\n'), settings: parse(readFileSync(join(root, f.replace('args', 'settings')), 'utf8')) }));
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'aider-mlx-aidercmd-'));
  process.env.HOME = root;
  process.env.XDG_CONFIG_HOME = join(root, '.config');
  delete process.env.XDG_DATA_HOME;
});
afterEach(() => {
  process.env = { ...saved };
  rmSync(root, { recursive: true, force: true });
});

describe('aider-mlx aider', () => {
  it('gives each run its own session id when the proxy has several servers of a model, and cleans up', async () => {
    const dir = install(plan([{ host: '127.0.0.1', port: 8080 }, { host: '127.0.0.1', port: 18080 }], join(root, '.config', 'aider-mlx', 'aider')));
    const written = parse(readFileSync(join(dir, '.aider.model.settings.yml'), 'utf8'))[0].extra_params.extra_headers['x-litellm-session-id'];
    expect(written).toMatch(/^aider-mlx-[0-9a-f]{16}$/);
    await runAiderCommand(['--message', 'hi']);
    await runAiderCommand(['--message', 'again']);
    const [a, b] = runs();
    const idOf = (r: NonNullable<typeof a>) => r.settings[0]!.extra_params.extra_headers!['x-litellm-session-id']!;
    expect(idOf(a!)).toMatch(/^aider-mlx-run-[0-9a-f-]{36}$/);
    expect(idOf(b!)).toMatch(/^aider-mlx-run-[0-9a-f-]{36}$/);
    expect(idOf(a!)).not.toBe(idOf(b!));
    expect(idOf(a!)).not.toBe(written);
    // Everything else is the profile's: same model entries, same other flags.
    expect(a!.args.slice(-2)).toEqual(['--message', 'hi']);
    expect(a!.args[3]).not.toBe(join(dir, '.aider.model.settings.yml'));
    expect(existsSync(a!.args[3]!)).toBe(false); // removed when aider exited
    expect(readdirSync(ownedLocations(process.env).run).filter((f) => f.startsWith('aider-'))).toEqual([]);
  });

  it('one server per model through the proxy: a fresh session id per run too (the turns log tells follow-ups from new conversations)', async () => {
    install(plan([{ host: '127.0.0.1', port: 8080 }], join(root, '.config', 'aider-mlx', 'aider')));
    await runAiderCommand([]);
    const [a] = runs();
    expect(a!.settings[0]!.extra_params.extra_headers!['x-litellm-session-id']).toMatch(/^aider-mlx-run-[0-9a-f-]{36}$/);
  });

  it('direct mode (no proxy to read a session id): the profile files as they are, no header', async () => {
    const dir = install({ ...plan([{ host: '127.0.0.1', port: 8080 }], join(root, '.config', 'aider-mlx', 'aider')), mode: 'direct' });
    await runAiderCommand([]);
    const [a] = runs();
    expect(a!.args[3]).toBe(join(dir, '.aider.model.settings.yml'));
    expect(a!.settings[0]!.extra_params.extra_headers).toBeUndefined();
  });
});

describe('perRunSettings', () => {
  it('replaces only the session header, keeps a user entry and other headers', () => {
    const text = [
      '- name: openai/mine',
      '  extra_params:',
      '    extra_headers: { x-litellm-session-id: old, X-Other: keep }',
      '- name: someone/else',
      '  edit_format: whole',
    ].join('\n');
    const out = parse(perRunSettings(text, 'new')!);
    expect(out).toEqual([{ name: 'openai/mine', extra_params: { extra_headers: { 'x-litellm-session-id': 'new', 'X-Other': 'keep' } } }, { name: 'someone/else', edit_format: 'whole' }]);
    expect(perRunSettings('- name: a\n', 'x')).toBeUndefined();
    expect(perRunSettings('{ broken', 'x')).toBeUndefined();
  });
});
