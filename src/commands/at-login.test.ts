import { selfCommand } from '../lib/paths.js';
/**
 * "Keep the servers up at login": the choice (only where launchd is), the agents' plists for a
 * plan, and the wizard's follow-up to "Start Aider now?" with a stand-in `launchctl` on PATH that
 * records its argv. The test plays launchd: when an agent is bootstrapped, its server starts.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { standInAider, type Sandbox } from '../../test/e2e/helpers.js';
import type { Plan } from '../config/plan.js';
import { configPaths } from '../lib/paths.js';
import { launchAfterWizard } from './launch.js';
import { readBackground, stopBackground } from '../serve/background.js';
import { agentsForPlan } from '../service/agents.js';
import { loginServiceOffer } from '../service/launchd.js';
import { ownedLocations } from '../service/locations.js';
import { startFakeMlxServer, type FakeMlxServer } from '../servers/fake-mlx-server.js';
import { isPortFree } from '../servers/ports.js';
import { runWizard } from '../wizard/run.js';
import { surveyMachine } from '../wizard/survey.js';
import { makeTestCtx, type TestCtx } from '../wizard/test-helpers.js';

const hasPython = spawnSync('python3', ['-c', 'import plistlib'], { encoding: 'utf8' }).status === 0;
function parsePlist(path: string): Record<string, unknown> {
  const r = spawnSync('python3', ['-c', 'import json,plistlib,sys; print(json.dumps(plistlib.load(open(sys.argv[1],"rb"))))', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`plistlib could not read ${path}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('the choice', () => {
  it('offered on macOS with launchctl found; elsewhere one line saying it needs launchd', () => {
    expect(loginServiceOffer({ platform: 'darwin', launchctl: '/bin/launchctl' })).toEqual({ offered: true });
    for (const platform of ['linux', 'win32', 'freebsd'] as const) {
      const o = loginServiceOffer({ platform, launchctl: '/usr/bin/launchctl' });
      expect(o.offered).toBe(false);
      const reason = (o as { reason: string }).reason;
      expect(reason).toContain("needs macOS's launchd");
      expect(reason).toContain(`this is ${platform}`);
      expect(reason).not.toContain('\n');
    }
    const noCtl = loginServiceOffer({ platform: 'darwin', launchctl: undefined });
    expect(noCtl.offered).toBe(false);
    expect((noCtl as { reason: string }).reason).toMatch(/launchctl is not on PATH/);
  });
});

describe('the plists for a plan', () => {
  it.skipIf(!hasPython)('ProgramArguments an array, 127.0.0.1, the log paths, the prompt cache bounded in bytes', () => {
    const home = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-plist-'));
    try {
      const env = { HOME: home, PATH: '/usr/bin:/bin', HF_HUB_CACHE: join(home, 'hf') };
      const model = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
      const repo = join(home, 'hf', `models--${model.replace('/', '--')}`);
      fs.mkdirSync(join(repo, 'snapshots', 'abc'), { recursive: true });
      fs.mkdirSync(join(repo, 'refs'));
      fs.writeFileSync(join(repo, 'refs', 'main'), 'abc\n');
      fs.writeFileSync(join(repo, 'snapshots', 'abc', 'config.json'), JSON.stringify({ num_hidden_layers: 28, num_attention_heads: 28, num_key_value_heads: 4, hidden_size: 3584 }));
      const plan: Plan = {
        version: 1,
        mode: 'proxy',
        roles: { editor: { model, context: 16384, deployments: [{ host: '127.0.0.1', port: 8080 }] } },
        proxy: { host: '127.0.0.1', port: 4000 },
        requestTimeout: 600,
        aider: { scope: 'project', dir: join(home, 'project') },
      };
      const loc = ownedLocations(env, 'darwin');
      const { agents } = agentsForPlan(plan, { mlxServer: '/opt/venv/bin/mlx_lm.server', litellm: '/opt/venv/bin/litellm' }, env, loc);
      expect(agents.map((a) => a.label)).toEqual(['com.aider-mlx.server.8080', 'com.aider-mlx.proxy']);
      for (const a of agents) fs.mkdirSync(join(home, 'Library', 'LaunchAgents'), { recursive: true }), fs.writeFileSync(a.plistPath, a.plist);
      const server = parsePlist(agents[0]!.plistPath);
      const args = server.ProgramArguments as string[];
      expect(Array.isArray(args)).toBe(true);
      expect(args[0]).toBe('/opt/venv/bin/mlx_lm.server');
      expect(args.slice(args.indexOf('--host'), args.indexOf('--host') + 2)).toEqual(['--host', '127.0.0.1']);
      // 28 layers × 4 KV heads × 128 dims × 2 (K and V) × 2 bytes = 56 KiB a token; 2 entries of 16384 tokens.
      expect(args[args.indexOf('--prompt-cache-bytes') + 1]).toBe(String(2 * 56 * 1024 * 16384));
      expect(server.StandardOutPath).toBe(join(home, 'Library', 'Logs', 'aider-mlx', 'com.aider-mlx.server.8080.log'));
      expect(server.StandardErrorPath).toBe(server.StandardOutPath);
      const proxy = parsePlist(agents[1]!.plistPath);
      expect(proxy.ProgramArguments).toEqual(['/opt/venv/bin/litellm', '--config', configPaths(env).litellm, '--host', '127.0.0.1', '--port', '4000']);
      expect(proxy.StandardOutPath).toBe(join(home, 'Library', 'Logs', 'aider-mlx', 'com.aider-mlx.proxy.log'));
      expect(agents.map((a) => a.plist).join('')).not.toContain('0.0.0.0');
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

let t: TestCtx | undefined;
let bin: string | undefined;
let launchd: { stop(): Promise<void> } | undefined;
afterEach(async () => {
  await launchd?.stop();
  if (t) await stopBackground(t.env);
  await t?.cleanup();
  if (bin) await rm(bin, { recursive: true, force: true });
  t = bin = launchd = undefined;
});

/** launchctl as a script: each call's argv on one line (tab-separated) in `log`. */
function standInLaunchctl(dir: string): { log: string; calls(): string[][] } {
  const log = join(dir, 'launchctl.log');
  fs.writeFileSync(join(dir, 'launchctl'), `#!/bin/sh\n(IFS='\t'; printf '%s\\n' "$*") >> '${log}'\nexit 0\n`, { mode: 0o755 });
  return { log, calls: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t')) : []) };
}

/** What launchd would do: a bootstrapped server agent's server starts (here, an in-process stand-in). */
function playLaunchd(ctl: { calls(): string[][] }): { stop(): Promise<void> } {
  const servers: FakeMlxServer[] = [];
  const seen = new Set<string>();
  const timer = setInterval(() => {
    for (const c of ctl.calls()) {
      const plist = c[0] === 'bootstrap' ? c[2] : undefined;
      if (!plist || seen.has(plist)) continue;
      seen.add(plist);
      const text = fs.readFileSync(plist, 'utf8');
      const args = [...text.matchAll(/<string>([^<]*)<\/string>/g)].map((m) => m[1]!);
      const port = Number(args[args.indexOf('--port') + 1]);
      if (/server\.\d+\.plist$/.test(plist)) void startFakeMlxServer({ host: '127.0.0.1', port, model: args[args.indexOf('--model') + 1]! }).then((s) => servers.push(s));
    }
  }, 50);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

async function wizardOn(platform: NodeJS.Platform, script: Parameters<typeof makeTestCtx>[0], o: { launchctl?: boolean; atLogin?: boolean } = {}) {
  bin = await mkdtemp(join(tmpdir(), 'aider-mlx-atlogin-'));
  const aider = standInAider({ root: bin, env: { PATH: '/usr/bin:/bin' } } as unknown as Sandbox);
  const ctl = standInLaunchctl(bin);
  if (o.launchctl === false) fs.rmSync(join(bin, 'launchctl'));
  fs.writeFileSync(join(bin, 'mlx_lm.server'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  t = await makeTestCtx(script, {
    face: 'plain',
    env: { PATH: `${bin}:${aider.path}` },
    ...(o.atLogin ? { fixed: { atLogin: true } } : {}),
    // The platform as the look-around step reports it.
    deps: { survey: async (c) => ({ ...(await surveyMachine(c)), os: platform }) },
  });
  t.env.STANDIN_PROBE = `http://127.0.0.1:${t.ports.editor}/v1/models`;
  return { aider, ctl };
}

const agentsDir = () => join(t!.home, 'Library', 'LaunchAgents');

describe('"Keep the servers up at login too?"', () => {
  it('on macOS, yes: the wizard\'s server stopped, the agents installed and loaded, no background serve, then Aider runs', async () => {
    const { aider, ctl } = await wizardOn('darwin', [['launch', true], ['launch.at-login', true]]);
    launchd = playLaunchd(ctl);
    const r = await runWizard(t!.ctx);
    expect(r.code).toBe(0);
    expect(t!.prompter.rec.asked.map((a) => a.id).slice(-2)).toEqual(['launch', 'launch.at-login']);
    expect(t!.prompter.rec.questions.get('launch.at-login')).toMatchObject({ default: false, flag: '--at-login' });
    expect(t!.launched[0]!.stopped).toBe(true);
    expect(await readBackground(t!.env)).toBeUndefined();

    const port = t!.ctx.plan!.roles.editor.deployments[0]!.port;
    const plist = join(agentsDir(), `com.aider-mlx.server.${port}.plist`);
    expect(fs.existsSync(plist)).toBe(true);
    expect(fs.readFileSync(plist, 'utf8')).toContain(`<string>${join(bin!, 'mlx_lm.server')}</string>`);
    const uid = process.getuid!();
    const calls = ctl.calls();
    expect(calls).toContainEqual(['bootout', `gui/${uid}/com.aider-mlx.server.${port}`]);
    expect(calls).toContainEqual(['bootstrap', `gui/${uid}`, plist]);
    expect(calls.findIndex((c) => c[0] === 'bootout' && c[1]!.endsWith(`server.${port}`))).toBeLessThan(calls.findIndex((c) => c[0] === 'bootstrap' && c[2] === plist));

    expect(r.launch).toBeDefined();
    const next = t!.prompter.rec.summary!.sections.find((s) => s.title === 'Next steps')!.lines.join('\n');
    expect(next).toContain('launchd keeps the servers');
    expect(next).toContain(`${selfCommand()} service status`);
    expect(next).not.toMatch(/aider-mlx stop/);

    const before = aider.runs().length;
    let said = '';
    expect(await launchAfterWizard(r.launch!, { err: (s) => void (said += s), stdio: 'ignore' })).toBe(0);
    expect(aider.runs()).toHaveLength(before + 1);
    // Its commands run from this copy; `stop` does not stop what launchd keeps up, so it is not offered.
    expect(said).toContain(`launchd runs the servers (\`${selfCommand()} service status\` shows them)`);
    expect(said).toContain(`\`${selfCommand()} service uninstall\` stops them for good`);
    expect(said).not.toMatch(/aider-mlx (?:service|stop)/);
    expect(said).not.toContain(' stop`');
    expect(aider.runs().at(-1)!.answers[0]).toMatchObject({ status: 200 });
    // launch saw the agents: it waited for launchd's server and started no serve of its own.
    expect(await readBackground(t!.env)).toBeUndefined();
  });

  it('on macOS, the default (no): the background serve as before, no agent', async () => {
    const { ctl } = await wizardOn('darwin', [['launch', true]]);
    const r = await runWizard(t!.ctx);
    expect(t!.prompter.rec.asked.map((a) => a.id).at(-1)).toBe('launch.at-login');
    expect(r.launch).toBeDefined();
    expect((await readBackground(t!.env))?.running).toBe(true);
    expect(fs.existsSync(agentsDir())).toBe(false);
    expect(ctl.calls()).toEqual([]);
  });

  it('on macOS without launchctl, and on Linux: not asked', async () => {
    for (const [platform, launchctl] of [['darwin', false], ['linux', true]] as const) {
      const { ctl } = await wizardOn(platform, [['launch', true]], { launchctl });
      const r = await runWizard(t!.ctx);
      expect(t!.prompter.rec.asked.map((a) => a.id)).not.toContain('launch.at-login');
      expect(r.launch).toBeDefined();
      expect(ctl.calls()).toEqual([]);
      await stopBackground(t!.env);
      await t!.cleanup();
      await rm(bin!, { recursive: true, force: true });
      t = bin = undefined;
    }
  });

  it('--at-login on Linux: one line saying it needs launchd, and the background serve as before', async () => {
    const { ctl } = await wizardOn('linux', [['launch', true]], { atLogin: true });
    const r = await runWizard(t!.ctx);
    expect(r.launch).toBeDefined();
    const warn = t!.prompter.rec.notes.filter((n) => n.text.includes('launchd'));
    expect(warn).toHaveLength(1);
    expect(warn[0]!.text).toMatch(/^Keeping the servers up at login needs macOS's launchd; this is linux/);
    expect((await readBackground(t!.env))?.running).toBe(true);
    expect(ctl.calls()).toEqual([]);
    expect(await isPortFree('127.0.0.1', t!.ports.editor)).toBe(false);
  });
});

describe('setup --yes --at-login', () => {
  it('on Linux: one line that it needs launchd, nothing written; on macOS: the agents, as `service install`', async () => {
    const { installAtLoginAfterSetup } = await import('./setup.js');
    const home = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-yes-login-'));
    try {
      fs.mkdirSync(join(home, 'bin'));
      fs.writeFileSync(join(home, 'bin', 'mlx_lm.server'), '#!/bin/sh\n', { mode: 0o755 });
      const env = { HOME: home, PATH: `${join(home, 'bin')}:/usr/bin:/bin` };
      const plan: Plan = {
        version: 1,
        mode: 'direct',
        roles: { editor: { model: 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', context: 16384, deployments: [{ host: '127.0.0.1', port: 8080 }] } },
        proxy: { host: '127.0.0.1', port: 4000 },
        requestTimeout: 600,
        aider: { scope: 'project', dir: join(home, 'project') },
      };
      const calls: string[][] = [];
      const exec = async (cmd: string, args: string[]) => (calls.push([cmd, ...args]), { code: 0, stdout: '', stderr: '' });
      let out = '';
      expect(await installAtLoginAfterSetup(plan, { env, platform: 'linux', json: false, out: (s) => void (out += s), exec, uid: 501 })).toBeUndefined();
      expect(out.trim().split('\n')).toEqual([expect.stringMatching(/^Keeping the servers up at login needs macOS's launchd; this is linux/)]);
      expect(calls).toEqual([]);
      expect(fs.existsSync(join(home, 'Library'))).toBe(false);

      // macOS: launchctl must be found (a stand-in here); exec records what it would run.
      fs.writeFileSync(join(home, 'bin', 'launchctl'), '#!/bin/sh\n', { mode: 0o755 });
      out = '';
      expect(await installAtLoginAfterSetup(plan, { env, platform: 'darwin', json: false, out: (s) => void (out += s), exec, uid: 501 })).toBeUndefined();
      const plist = join(home, 'Library', 'LaunchAgents', 'com.aider-mlx.server.8080.plist');
      expect(out).toContain('✓ com.aider-mlx.server.8080: editor + weak: mlx-community/Qwen2.5-Coder-7B-Instruct-4bit on 127.0.0.1:8080');
      expect(calls).toContainEqual(['launchctl', 'bootstrap', 'gui/501', plist]);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('aider-mlx launch with start-at-login agents', () => {
  it('waits for launchd\'s servers and starts no serve of its own', async () => {
    const [{ runLaunch }, { planToYaml }, { findFreePort }] = await Promise.all([import('./launch.js'), import('../config/plan-file.js'), import('../servers/ports.js')]);
    const home = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-launch-agents-'));
    try {
      fs.mkdirSync(join(home, 'bin'));
      fs.writeFileSync(join(home, 'bin', 'aider'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      const env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), PATH: `${join(home, 'bin')}:/usr/bin:/bin` };
      const port = await findFreePort('127.0.0.1', 20_000 + Math.floor(Math.random() * 20_000));
      const plan: Plan = {
        version: 1,
        mode: 'direct',
        roles: { editor: { model: 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', context: 16384, deployments: [{ host: '127.0.0.1', port }] } },
        proxy: { host: '127.0.0.1', port: 4000 },
        requestTimeout: 600,
        aider: { scope: 'project', dir: join(home, 'project') },
      };
      fs.mkdirSync(configPaths(env).dir, { recursive: true });
      fs.writeFileSync(configPaths(env).plan, planToYaml(plan));
      fs.mkdirSync(join(home, 'Library', 'LaunchAgents'), { recursive: true });
      fs.writeFileSync(join(home, 'Library', 'LaunchAgents', `com.aider-mlx.server.${port}.plist`), '<plist/>');
      let err = '';
      await expect(runLaunch(['--stand-in', '--timeout', '1'], { env, cwd: home, err: (s) => void (err += s), stdio: 'ignore' })).rejects.toThrow(/Not answering after 1 s/);
      expect(err).toContain('launchd runs the servers');
      expect(await readBackground(env)).toBeUndefined();
      expect(await isPortFree('127.0.0.1', port)).toBe(true);
    } finally {
      await stopBackground({ HOME: home, XDG_CONFIG_HOME: join(home, '.config') });
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
