// Installs through the real installers into a temp prefix: pip in a venv always; uv and pipx when
// they can be set up (they are bootstrapped once into a cached venv). The package installed is a
// tiny pure-Python one built here, offered through a local find-links folder, so nothing is fetched.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Env } from '../lib/paths.js';
import { ownedLocations } from '../service/locations.js';
import { planUninstall, applyUninstall } from '../commands/uninstall.js';
import { assertNotCompromised, constraintLines, findTool, installTool, pickInstaller, type Installer } from './install.js';
import { requirementFor, TOOLS, type ToolSpec } from './pins.js';
import { readInstallRecord } from './record.js';

const PEERS_PINS = join(import.meta.dirname, '../../test/peers/pins.json');

const TINY: ToolSpec = {
  package: 'aidermlx-tiny-app',
  version: '1.0.0',
  extras: () => [],
  bin: 'aidermlx-tiny',
  links: ['aidermlx-tiny'],
  versionCommand: ['aidermlx-tiny', '--version'],
  versionPattern: /(\d+\.\d+\.\d+)/,
  purpose: 'a test tool',
};
/** The lib the app depends on (unpinned): 2.0.0 plays the compromised release. */
const COMPROMISED = { 'aidermlx-tiny-lib': ['2.0.0'] };

const BUILD_WHEELS = String.raw`
import base64, hashlib, sys, zipfile, os
out = sys.argv[1]
def wheel(name, version, files, requires=(), scripts=None):
    dist = name.replace('-', '_')
    info = f'{dist}-{version}.dist-info'
    meta = f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n' + ''.join(f'Requires-Dist: {r}\n' for r in requires)
    files = dict(files)
    files[f'{info}/METADATA'] = meta
    files[f'{info}/WHEEL'] = 'Wheel-Version: 1.0\nGenerator: aider-mlx-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n'
    if scripts:
        files[f'{info}/entry_points.txt'] = '[console_scripts]\n' + ''.join(f'{k} = {v}\n' for k, v in scripts.items())
    record = []
    for p, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()
        record.append(f'{p},sha256={digest},{len(text.encode())}')
    record.append(f'{info}/RECORD,,')
    files[f'{info}/RECORD'] = '\n'.join(record) + '\n'
    with zipfile.ZipFile(os.path.join(out, f'{dist}-{version}-py3-none-any.whl'), 'w') as z:
        for p, text in files.items():
            z.writestr(p, text)
for v in ('1.0.0', '2.0.0'):
    wheel('aidermlx-tiny-lib', v, {'aidermlx_tiny_lib/__init__.py': f'VERSION = "{v}"\n'})
wheel('aidermlx-tiny-app', '1.0.0', {'aidermlx_tiny_app/__init__.py':
    'import sys, aidermlx_tiny_lib\n'
    'def main():\n'
    '    print("aidermlx-tiny 1.0.0 (lib " + aidermlx_tiny_lib.VERSION + ")")\n'},
    requires=['aidermlx-tiny-lib'], scripts={'aidermlx-tiny': 'aidermlx_tiny_app:main'})
`;

let root: string;
let wheels: string;
let python: string | undefined;

beforeAll(() => {
  root = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-install-'));
  wheels = join(root, 'wheels');
  fs.mkdirSync(wheels);
  const exe = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  if (exe.status !== 0) return;
  python = exe.stdout.trim();
  const r = spawnSync(python, ['-c', BUILD_WHEELS, wheels], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function uvConfig(home: string): string {
  const path = join(home, 'uv.toml');
  fs.writeFileSync(path, `no-index = true\nfind-links = [${JSON.stringify(wheels)}]\n`);
  return path;
}

/** A fresh HOME and an environment where pip, uv and pipx see only the local wheels. */
function prefix(name: string, extraPath: string[] = []): Env {
  const home = join(root, name);
  fs.mkdirSync(home, { recursive: true });
  return {
    HOME: home,
    PATH: [...extraPath, dirname(python!), '/usr/bin', '/bin'].join(':'),
    PIP_CONFIG_FILE: os.devNull,
    PIP_NO_INDEX: '1',
    PIP_FIND_LINKS: wheels,
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    // uv has no environment variable for --no-index: a config file of the test's own says it.
    UV_CONFIG_FILE: uvConfig(home),
    UV_PYTHON_DOWNLOADS: 'never',
    UV_PYTHON: python!,
    UV_CACHE_DIR: join(home, 'uv-cache'),
    UV_TOOL_DIR: join(home, 'uv-tools'),
    UV_TOOL_BIN_DIR: join(home, '.local', 'bin'),
    PIPX_HOME: join(home, 'pipx'),
    PIPX_BIN_DIR: join(home, '.local', 'bin'),
    PIPX_MAN_DIR: join(home, 'pipx-man'),
    PIPX_DEFAULT_PYTHON: python!,
  };
}

/** uv and pipx, installed once with pip into a cached venv (skipped when that cannot be done). */
function installers(): { dir?: string; why?: string } {
  if (!python) return { why: 'no python3' };
  const base = process.env.AIDER_MLX_PEERS_DIR || join(os.homedir(), '.cache', 'aider-mlx-peers');
  const venv = join(base, 'installers-uv0.13.9-pipx1.18.4');
  const bin = join(venv, 'bin');
  if (fs.existsSync(join(bin, 'uv')) && fs.existsSync(join(bin, 'pipx'))) return { dir: bin };
  fs.mkdirSync(base, { recursive: true });
  const mk = spawnSync(python, ['-m', 'venv', '--clear', venv], { encoding: 'utf8' });
  const pip = mk.status === 0 ? spawnSync(join(bin, 'pip'), ['install', '-q', 'uv==0.13.9', 'pipx==1.18.4'], { encoding: 'utf8', timeout: 300_000 }) : mk;
  if (pip.status !== 0) return { why: `could not install uv and pipx: ${(pip.stderr ?? '').trim().split('\n').pop()}` };
  return { dir: bin };
}

function lines() {
  const all: string[] = [];
  return { all, onLine: (l: string) => void all.push(l) };
}

describe('pins and refusals', () => {
  it('pins exactly the versions the peer tests run against, with the [cpu] extra off macOS', () => {
    const peers = JSON.parse(fs.readFileSync(PEERS_PINS, 'utf8')) as Record<string, { requirement: string }>;
    expect(requirementFor(TOOLS['mlx-lm'], 'linux')).toBe(peers.mlx!.requirement);
    expect(requirementFor(TOOLS['mlx-lm'], 'darwin')).toBe('mlx-lm==0.32.2');
    expect(requirementFor(TOOLS.litellm, 'darwin')).toBe(peers.litellm!.requirement);
    expect(requirementFor(TOOLS['aider-chat'], 'darwin')).toBe(peers.aider!.requirement);
  });

  it('refuses a compromised litellm pin before running anything (data/compromised.json)', async () => {
    const env = prefix('refuse');
    const calls: string[] = [];
    const inst: Installer = { method: 'venv', manager: join(root, 'no-such-python') };
    await expect(
      installTool({ ...TOOLS.litellm, version: '1.82.7' }, inst, { env, platform: 'linux', onLine: (l) => calls.push(l) }),
    ).rejects.toThrow(/Refusing to install litellm 1\.82\.7: that release is on the known-compromised list/);
    expect(calls).toEqual([]);
    expect(fs.existsSync(ownedLocations(env, 'linux').data)).toBe(false);
    expect(() => assertNotCompromised({ package: 'LiteLLM', version: '1.82.8' }, { litellm: ['1.82.8'] })).toThrow();
    expect(constraintLines({ litellm: ['1.82.7', '1.82.8'], empty: [] })).toEqual(['litellm!=1.82.7,!=1.82.8']);
  });

  it('prefers uv, then pipx, then a venv of its own', () => {
    const dirFor = (names: string[]) => {
      const d = fs.mkdtempSync(join(root, 'path-'));
      for (const n of names) fs.writeFileSync(join(d, n), '#!/bin/sh\n', { mode: 0o755 });
      return d;
    };
    const env = (names: string[]) => ({ HOME: root, PATH: dirFor(names) });
    expect(pickInstaller(env(['uv', 'pipx', 'python3'])).method).toBe('uv');
    expect(pickInstaller(env(['pipx', 'python3'])).method).toBe('pipx');
    expect(pickInstaller(env(['python3'])).method).toBe('venv');
    expect(() => pickInstaller(env([]))).toThrow(/Neither uv, pipx nor python3/);
    expect(() => pickInstaller(env(['python3']), 'uv')).toThrow(/--method uv: uv is not on PATH/);
  });
});

describe('finding what is installed', () => {
  it("finds a tool in aider-mlx's own venv when neither PATH nor ~/.local/bin has it (no reinstall over it)", async () => {
    const env = prefix('find');
    const bin = join(ownedLocations(env).venvs, 'mlx-lm', 'bin');
    fs.mkdirSync(bin, { recursive: true });
    for (const n of ['mlx_lm.server', 'mlx_lm']) fs.writeFileSync(join(bin, n), `#!/bin/sh\necho ${TOOLS['mlx-lm'].version}\n`, { mode: 0o755 });
    expect(await findTool(TOOLS['mlx-lm'], { ...env, PATH: '/usr/bin:/bin' })).toEqual({ bin: join(bin, 'mlx_lm.server'), version: TOOLS['mlx-lm'].version });
    expect(await findTool(TOOLS.litellm, { ...env, PATH: '/usr/bin:/bin' })).toBeUndefined();
  });
});

describe('real installs in a temp prefix', () => {
  it(
    'pip in a venv of its own: pinned, compromised dependency excluded, verified, linked, recorded, and uninstalled',
    async (ctx) => {
      if (!python) return ctx.skip('no python3');
      const env = prefix('venv');
      const loc = ownedLocations(env, 'linux');
      const out = lines();
      const r = await installTool(TINY, { method: 'venv', manager: python }, { env, platform: 'linux', compromised: COMPROMISED, onLine: out.onLine });
      expect(out.all[0]).toMatch(/^\$ .*python\S* -m venv --clear .*\/venvs\/aidermlx-tiny-app$/);
      expect(out.all.some((l) => /Successfully installed aidermlx-tiny-app-1\.0\.0 aidermlx-tiny-lib-1\.0\.0/.test(l))).toBe(true);
      expect(r.record).toMatchObject({ package: 'aidermlx-tiny-app', method: 'venv', version: '1.0.0', requirement: 'aidermlx-tiny-app==1.0.0' });
      // The lib resolved to 1.0.0: 2.0.0 (newer, "compromised") was excluded by the constraint.
      const run = spawnSync(join(loc.localBin, 'aidermlx-tiny'), ['--version'], { encoding: 'utf8' });
      expect(run.stdout.trim()).toBe('aidermlx-tiny 1.0.0 (lib 1.0.0)');
      expect(r.linked).toEqual([join(loc.localBin, 'aidermlx-tiny')]);
      expect(r.warnings.join('\n')).toMatch(/~\/\.local\/bin is not on your PATH/);
      expect(await readInstallRecord(loc.installed)).toHaveLength(1);

      // A file of the user's in ~/.local/bin is never replaced.
      fs.rmSync(join(loc.localBin, 'aidermlx-tiny'));
      fs.writeFileSync(join(loc.localBin, 'aidermlx-tiny'), '#!/bin/sh\necho mine\n', { mode: 0o755 });
      const again = await installTool(TINY, { method: 'venv', manager: python }, { env, platform: 'linux', compromised: COMPROMISED });
      expect(again.linked).toEqual([]);
      expect(again.warnings[0]).toMatch(/already exists and is not aider-mlx's: left alone/);
      expect(fs.readFileSync(join(loc.localBin, 'aidermlx-tiny'), 'utf8')).toContain('echo mine');

      // uninstall removes the venv and its record, and leaves the user's file.
      const plan = await planUninstall({ env, platform: 'linux' });
      await applyUninstall(plan, { env, platform: 'linux' });
      expect(fs.existsSync(loc.data)).toBe(false);
      expect(fs.readdirSync(loc.localBin)).toEqual(['aidermlx-tiny']);
    },
    120_000,
  );

  it('a pin whose only candidate is compromised fails in the installer, and nothing is recorded', async (ctx) => {
    if (!python) return ctx.skip('no python3');
    const env = prefix('venv-bad');
    const loc = ownedLocations(env, 'linux');
    const onlyBad = { 'aidermlx-tiny-lib': ['1.0.0', '2.0.0'] };
    await expect(installTool(TINY, { method: 'venv', manager: python }, { env, platform: 'linux', compromised: onlyBad })).rejects.toThrow(
      /^Installing aidermlx-tiny-app with venv failed \(exit 1\): .*ResolutionImpossible.* — what is left is on the known-compromised list$/,
    );
    expect(await readInstallRecord(loc.installed)).toEqual([]);
  }, 120_000);

  it('uv tool install and pipx install, each verified by running the tool', async (ctx) => {
    const inst = installers();
    if (!inst.dir) return ctx.skip(inst.why!);
    for (const method of ['uv', 'pipx'] as const) {
      const env = prefix(method, [inst.dir]);
      const installer = pickInstaller(env, method);
      const out = lines();
      const r = await installTool(TINY, installer, { env, platform: 'linux', compromised: COMPROMISED, onLine: out.onLine });
      expect(out.all[0]).toMatch(method === 'uv' ? /^\$ \S+\/uv tool install aidermlx-tiny-app==1\.0\.0 --constraints / : /^\$ \S+\/pipx install aidermlx-tiny-app==1\.0\.0 --pip-args '--constraint /);
      expect(r.record).toMatchObject({ method, version: '1.0.0', bin: join(env.HOME!, '.local', 'bin', 'aidermlx-tiny') });
      expect(spawnSync(r.record.bin!, ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe('aidermlx-tiny 1.0.0 (lib 1.0.0)');
      // uninstall runs the installer's own uninstall.
      const plan = await planUninstall({ env, platform: 'linux' });
      const report = await applyUninstall(plan, { env, platform: 'linux' });
      expect(report.failed).toEqual([]);
      expect(fs.existsSync(r.record.bin!)).toBe(false);
    }
  }, 300_000);
});
