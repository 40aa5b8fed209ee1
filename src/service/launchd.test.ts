import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from '../config/plan.js';
import { planToYaml } from '../config/plan-file.js';
import { configPaths, type Env } from '../lib/paths.js';
import { runService } from '../commands/service.js';
import { parseLaunchctlPrint } from './launchd.js';
import { toPlist } from './plist.js';

/** Parse a plist with Python's plistlib (a real, strict reader), or plutil on a Mac. */
function parsePlist(path: string): unknown {
  const r = spawnSync('python3', ['-c', 'import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],"rb"))))', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`plistlib could not read ${path}: ${r.stderr}`);
  if (process.platform === 'darwin') {
    const lint = spawnSync('plutil', ['-lint', path], { encoding: 'utf8' });
    if (lint.status !== 0) throw new Error(lint.stdout + lint.stderr);
  }
  return JSON.parse(r.stdout);
}
const hasPython = spawnSync('python3', ['-c', 'import plistlib'], { encoding: 'utf8' }).status === 0;

let home: string;
let bin: string;
let env: Env;
let calls: string[][];
const exec = async (cmd: string, args: string[]) => {
  calls.push([cmd, ...args]);
  if (args[0] === 'print') return { code: 0, stdout: `gui/501/${args[1]!.split('/').pop()} = {\n\tstate = running\n\truns = 2\n\tpid = 4242\n\tlast exit code = 0\n}\n`, stderr: '' };
  return { code: 0, stdout: '', stderr: '' };
};

function tool(name: string, body = 'exit 0') {
  fs.writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

function writePlan(over: Partial<Plan> = {}) {
  const plan: Plan = {
    version: 1,
    mode: 'proxy',
    roles: {
      editor: { model: 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit', context: 32768, deployments: [{ host: '127.0.0.1', port: 8080 }, { host: '192.168.1.20', port: 8080 }] },
      architect: { model: 'mlx-community/QwQ-32B-4bit', context: 32768, deployments: [{ host: '127.0.0.1', port: 8081 }] },
    },
    proxy: { host: '127.0.0.1', port: 4000 },
    requestTimeout: 600,
    aider: { scope: 'profile', dir: configPaths(env).profile },
    ...over,
  };
  fs.mkdirSync(configPaths(env).dir, { recursive: true });
  fs.writeFileSync(configPaths(env).plan, planToYaml(plan));
}

function io(platform: NodeJS.Platform = 'darwin') {
  const o = { out: '', err: '' };
  return { o, io: { env, exec, uid: 501, platform, out: (s: string) => void (o.out += s), err: (s: string) => void (o.err += s) } };
}

beforeEach(() => {
  home = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-service-'));
  bin = join(home, 'bin');
  fs.mkdirSync(bin);
  tool('mlx_lm.server');
  tool('litellm', 'echo "LiteLLM: Current Version = 1.108.7"');
  env = { HOME: home, PATH: `${bin}:/usr/bin:/bin`, HF_HOME: join(home, 'hf'), HF_TOKEN: 'hf_secret_never_written' };
  calls = [];
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe('service on macOS', () => {
  it.skipIf(!hasPython)('install writes one valid agent per local server and one for the proxy, and loads them', async () => {
    writePlan();
    // The editor's config.json in the Hugging Face cache: 192 KiB of KV a token, so the prompt cache is
    // bounded to 2 entries (editor + weak) of 32768 tokens each.
    const snap = join(home, 'hf', 'hub', 'models--mlx-community--Qwen2.5-Coder-14B-Instruct-4bit', 'snapshots', 'abc123');
    fs.mkdirSync(snap, { recursive: true });
    fs.mkdirSync(join(home, 'hf', 'hub', 'models--mlx-community--Qwen2.5-Coder-14B-Instruct-4bit', 'refs'));
    fs.writeFileSync(join(home, 'hf', 'hub', 'models--mlx-community--Qwen2.5-Coder-14B-Instruct-4bit', 'refs', 'main'), 'abc123\n');
    fs.writeFileSync(join(snap, 'config.json'), JSON.stringify({ num_hidden_layers: 48, num_attention_heads: 40, num_key_value_heads: 8, hidden_size: 5120 }));
    const { o, io: i } = io();
    expect(await runService(['install'], i)).toBe(0);
    const dir = join(home, 'Library', 'LaunchAgents');
    expect(fs.readdirSync(dir).sort()).toEqual(['com.aider-mlx.proxy.plist', 'com.aider-mlx.server.8080.plist', 'com.aider-mlx.server.8081.plist']);
    const server = parsePlist(join(dir, 'com.aider-mlx.server.8080.plist')) as Record<string, unknown>;
    expect(server).toMatchObject({
      Label: 'com.aider-mlx.server.8080',
      ProgramArguments: [join(bin, 'mlx_lm.server'), '--model', 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit', '--host', '127.0.0.1', '--port', '8080', '--max-tokens', '8192', '--prompt-cache-size', '3', '--prompt-cache-bytes', String(2 * 192 * 1024 * 32768)],
      RunAtLoad: true,
      KeepAlive: true,
      ThrottleInterval: 10,
      StandardOutPath: join(home, 'Library', 'Logs', 'aider-mlx', 'com.aider-mlx.server.8080.log'),
      WorkingDirectory: join(home, '.local', 'share', 'aider-mlx', 'run'),
    });
    expect((server.EnvironmentVariables as Record<string, string>).HF_HOME).toBe(join(home, 'hf'));
    expect(fs.readFileSync(join(dir, 'com.aider-mlx.server.8080.plist'), 'utf8')).not.toContain('hf_secret');
    // The architect's model is not in the cache here: its bytes come from the curated list's KV hint (256 KiB a token).
    const arch = (parsePlist(join(dir, 'com.aider-mlx.server.8081.plist')) as { ProgramArguments: string[] }).ProgramArguments;
    expect(arch.slice(arch.indexOf('--prompt-cache-size'), arch.indexOf('--prompt-cache-size') + 4)).toEqual(['--prompt-cache-size', '3', '--prompt-cache-bytes', String(2 * 256 * 1024 * 32768)]);
    const proxy = parsePlist(join(dir, 'com.aider-mlx.proxy.plist')) as Record<string, unknown>;
    expect(proxy.ProgramArguments).toEqual([join(bin, 'litellm'), '--config', configPaths(env).litellm, '--host', '127.0.0.1', '--port', '4000']);
    expect(calls.filter((c) => c[1] === 'bootstrap')).toEqual([
      ['launchctl', 'bootstrap', 'gui/501', join(dir, 'com.aider-mlx.server.8080.plist')],
      ['launchctl', 'bootstrap', 'gui/501', join(dir, 'com.aider-mlx.server.8081.plist')],
      ['launchctl', 'bootstrap', 'gui/501', join(dir, 'com.aider-mlx.proxy.plist')],
    ]);
    // The Mac on the LAN is not started here, and serve never binds anything but loopback.
    expect(o.out).toContain('– editor + weak on 192.168.1.20:8080: another machine');
    expect(fs.readdirSync(dir).map((f) => fs.readFileSync(join(dir, f), 'utf8')).join('')).not.toContain('0.0.0.0');
  });

  it('a plan whose ports changed replaces the old agents; uninstall removes every one of ours only', async () => {
    writePlan();
    await runService(['install'], io().io);
    const dir = join(home, 'Library', 'LaunchAgents');
    fs.writeFileSync(join(dir, 'com.example.other.plist'), '<plist/>');
    writePlan({ mode: 'direct', roles: { editor: { model: 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit', context: 8192, deployments: [{ host: '127.0.0.1', port: 9090 }] } } });
    calls = [];
    const { o, io: i } = io();
    expect(await runService(['install'], i)).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['com.aider-mlx.server.9090.plist', 'com.example.other.plist']);
    expect(o.out).toContain('– com.aider-mlx.proxy: removed (no longer in the plan)');
    expect(calls).toContainEqual(['launchctl', 'bootout', 'gui/501/com.aider-mlx.server.8080']);

    const st = io();
    expect(await runService(['status'], st.io)).toBe(0);
    expect(st.o.out).toContain('✓ com.aider-mlx.server.9090: running (pid 4242), started 2 times');

    calls = [];
    expect(await runService(['uninstall'], io().io)).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(['com.example.other.plist']);
    expect(calls).toEqual([['launchctl', 'bootout', 'gui/501/com.aider-mlx.server.9090']]);
  });

  it('refuses a compromised litellm and writes nothing', async () => {
    writePlan();
    tool('litellm', 'echo "LiteLLM: Current Version = 1.82.7"');
    await expect(runService(['install'], io().io)).rejects.toThrow(/known-compromised/);
    expect(fs.existsSync(join(home, 'Library', 'LaunchAgents'))).toBe(false);
  });

  it('says how to install a missing mlx_lm.server', async () => {
    writePlan();
    fs.rmSync(join(bin, 'mlx_lm.server'));
    await expect(runService(['install'], io().io)).rejects.toThrow(/mlx_lm.server is not installed/);
  });
});

describe('service elsewhere', () => {
  it('on Linux says so and writes nothing', async () => {
    writePlan();
    for (const action of ['install', 'status', 'uninstall']) {
      const { o, io: i } = io('linux');
      expect(await runService([action], i)).toBe(0);
      expect(o.out).toMatch(/^Start-at-login agents are for macOS \(launchd\); this is linux, so nothing was written\./);
    }
    expect(fs.existsSync(join(home, 'Library'))).toBe(false);
    expect(calls).toEqual([]);
  });

  it('install off macOS says it needs macOS before asking for a plan (there is none yet)', async () => {
    const { o, io: i } = io('linux');
    expect(await runService(['install'], i)).toBe(0);
    expect(o.out).toMatch(/^Start-at-login agents are for macOS \(launchd\); this is linux/);
    expect(o.out + o.err).not.toMatch(/plan/);
  });
});

describe('plist', () => {
  it.skipIf(!hasPython)('escapes what XML must escape and round-trips through a real parser', () => {
    const path = join(home, 'x.plist');
    const value = { Label: 'a&b<c>', Args: ['--chat-template-args', '{"enable_thinking":true}', "it's"], N: 3, On: false, Empty: [], D: {} };
    fs.writeFileSync(path, toPlist(value));
    expect(parsePlist(path)).toEqual(value);
    expect(() => toPlist({ Bad: 'a\u0001b' })).toThrow(/control characters/);
  });

  it('reads launchctl print', () => {
    expect(parseLaunchctlPrint('\tstate = not running\n\truns = 5\n\tlast exit code = 1\n')).toEqual({ state: 'not running', runs: 5, lastExit: '1' });
  });
});
