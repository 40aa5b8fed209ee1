/**
 * Installing the Python tools: `uv tool install`, else `pipx install`, else pip in a venv that
 * aider-mlx owns (~/.local/share/aider-mlx/venvs/<package>, console scripts linked into
 * ~/.local/bin). Always an exact pin, always with a constraint that forbids every known-compromised
 * release (the pin's own dependencies included), verified afterwards by running the tool.
 */
import { mkdtemp, mkdir, readlink, rm, symlink, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { AppError, CancelledError, UsageError } from '../errors.js';
import { run, spawnService, which } from '../lib/exec.js';
import { findToolBin } from '../lib/which.js';
import { compromisedVersions } from '../lib/compromised.js';
import { tildify, type Env } from '../lib/paths.js';
import { ownedLocations } from '../service/locations.js';
import { toolEnv } from '../serve/units.js';
import { requirementFor, type ToolSpec } from './pins.js';
import { addInstallRecord, type InstallRecord } from './record.js';

export type Method = 'uv' | 'pipx' | 'venv';
export const METHODS: Method[] = ['uv', 'pipx', 'venv'];

export interface InstallCaps {
  env: Env;
  platform: NodeJS.Platform;
  /** The installer's output, a line at a time (progress). */
  onLine?: (line: string) => void;
  /** Known-compromised releases by package; default: data/compromised.json. */
  compromised?: Record<string, string[]>;
  now?: Date;
  /** Stops the installer (and its children) when aborted. */
  signal?: AbortSignal;
}

export interface Installer {
  method: Method;
  /** uv, pipx, or the python3 that makes the venv (absolute path). */
  manager: string;
}

/** What can install here, in order of preference. */
export function availableInstallers(env: Env): Installer[] {
  const e = toolEnv(env);
  const out: Installer[] = [];
  const uv = which('uv', e);
  if (uv) out.push({ method: 'uv', manager: uv });
  const pipx = which('pipx', e);
  if (pipx) out.push({ method: 'pipx', manager: pipx });
  const python = which('python3', e) ?? which('python', e);
  if (python) out.push({ method: 'venv', manager: python });
  return out;
}

/** How an installer installs, in words: "uv (~/.local/bin/uv)". */
export function describeInstaller(inst: Installer, env: Env): string {
  return inst.method === 'venv' ? `pip in a venv of aider-mlx's (${tildify(inst.manager, env)})` : `${inst.method} (${tildify(inst.manager, env)})`;
}

export function pickInstaller(env: Env, wanted?: Method): Installer {
  const all = availableInstallers(env);
  if (wanted) {
    const hit = all.find((i) => i.method === wanted);
    if (!hit) throw new UsageError(`--method ${wanted}: ${wanted === 'venv' ? 'python3' : wanted} is not on PATH.`, `Use one of: ${all.map((i) => i.method).join(', ') || 'none (install uv: https://docs.astral.sh/uv/)'}.`);
    return hit;
  }
  const first = all[0];
  if (!first) throw new UsageError('Neither uv, pipx nor python3 is on PATH: nothing can install the Python tools.', 'Install uv (https://docs.astral.sh/uv/) or Python 3, then run this again.');
  return first;
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function compromisedMap(caps: InstallCaps): Record<string, string[]> {
  return caps.compromised ?? { litellm: compromisedVersions('litellm') };
}

/** Refuse a pin on the list before anything runs. */
export function assertNotCompromised(spec: Pick<ToolSpec, 'package' | 'version'>, compromised: Record<string, string[]>): void {
  const bad = Object.entries(compromised).find(([p]) => normalize(p) === normalize(spec.package))?.[1] ?? [];
  if (bad.includes(spec.version)) {
    throw new AppError(
      `Refusing to install ${spec.package} ${spec.version}: that release is on the known-compromised list (${bad.join(', ')}).`,
      'Nothing was installed. Pin another version.',
    );
  }
}

/** pip/uv constraint lines: every compromised release excluded, wherever it appears in the tree. */
export function constraintLines(compromised: Record<string, string[]>): string[] {
  return Object.entries(compromised)
    .filter(([, v]) => v.length > 0)
    .map(([p, v]) => `${p}${v.map((x) => `!=${x}`).join(',')}`);
}

/** The command lines an install runs (before verification), for the list shown before asking. */
export function installCommands(spec: ToolSpec, inst: Installer, caps: Pick<InstallCaps, 'env' | 'platform'>, constraintsFile: string): string[][] {
  const req = requirementFor(spec, caps.platform);
  if (inst.method === 'uv') {
    return [[inst.manager, 'tool', 'install', req, '--constraints', constraintsFile, ...(spec.python ? ['--python', spec.python] : [])]];
  }
  if (inst.method === 'pipx') {
    const py = spec.python ? which(`python${spec.python}`, toolEnv(caps.env)) : undefined;
    return [[inst.manager, 'install', req, '--pip-args', `--constraint ${constraintsFile}`, ...(py ? ['--python', py] : [])]];
  }
  const venv = join(ownedLocations(caps.env, caps.platform).venvs, spec.package);
  return [
    [inst.manager, '-m', 'venv', '--clear', venv],
    [join(venv, 'bin', 'python'), '-m', 'pip', 'install', '--disable-pip-version-check', '--constraint', constraintsFile, req],
  ];
}

/** Run one command, passing each output line on; resolves with the exit code and the last lines. */
async function stream(cmd: string[], env: Env, onLine?: (l: string) => void, signal?: AbortSignal): Promise<{ code: number; tail: string[] }> {
  const tail: string[] = [];
  if (signal?.aborted) throw new CancelledError();
  const { child, stop } = spawnService(cmd[0]!, cmd.slice(1), {
    env,
    onLine: (l) => {
      tail.push(l);
      if (tail.length > 30) tail.shift();
      onLine?.(l);
    },
  });
  // Ctrl-C stops the installer's whole process group: nothing keeps running behind the wizard.
  const onAbort = () => void stop();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const r = await child;
    if (signal?.aborted) throw new CancelledError();
    return { code: r.exitCode ?? 1, tail };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function binDirOf(inst: Installer, spec: ToolSpec, env: Env, platform: NodeJS.Platform): Promise<string> {
  if (inst.method === 'venv') return join(ownedLocations(env, platform).venvs, spec.package, 'bin');
  const args = inst.method === 'uv' ? ['tool', 'dir', '--bin'] : ['environment', '--value', 'PIPX_BIN_DIR'];
  const r = await run(inst.manager, args, { env, timeoutMs: 30_000 });
  const dir = r.stdout.trim().split('\n').pop()?.trim();
  if (r.code !== 0 || !dir) return ownedLocations(env, platform).localBin;
  return dir;
}

export async function readToolVersion(spec: ToolSpec, binDir: string, env: Env): Promise<string | undefined> {
  const [script, ...args] = spec.versionCommand;
  const r = await run(join(binDir, script!), args, { env, timeoutMs: 120_000 }).catch(() => undefined);
  if (!r || r.code !== 0) return undefined;
  return spec.versionPattern.exec(r.stdout + r.stderr)?.[1];
}

/** Link the venv's scripts into ~/.local/bin, never over a file that is not ours. */
async function linkScripts(spec: ToolSpec, binDir: string, env: Env, platform: NodeJS.Platform): Promise<{ linked: string[]; warnings: string[] }> {
  const loc = ownedLocations(env, platform);
  await mkdir(loc.localBin, { recursive: true });
  const linked: string[] = [];
  const warnings: string[] = [];
  for (const name of spec.links) {
    const link = join(loc.localBin, name);
    const target = join(binDir, name);
    const existing = await lstat(link).catch(() => undefined);
    if (existing) {
      const to = existing.isSymbolicLink() ? resolve(dirname(link), await readlink(link)) : undefined;
      if (!to || !to.startsWith(loc.venvs + '/')) {
        warnings.push(`${tildify(link, env)} already exists and is not aider-mlx's: left alone (the tool is at ${tildify(target, env)})`);
        continue;
      }
      await rm(link);
    }
    await symlink(target, link);
    linked.push(link);
  }
  if (!(env.PATH ?? '').split(delimiter).includes(loc.localBin)) {
    warnings.push(`${tildify(loc.localBin, env)} is not on your PATH: add it (e.g. in ~/.zshrc: export PATH="$HOME/.local/bin:$PATH")`);
  }
  return { linked, warnings };
}

export interface InstallResult {
  record: InstallRecord;
  linked: string[];
  warnings: string[];
}

export async function installTool(spec: ToolSpec, inst: Installer, caps: InstallCaps): Promise<InstallResult> {
  const compromised = compromisedMap(caps);
  assertNotCompromised(spec, compromised);
  const env = toolEnv(caps.env);
  const scratch = await mkdtemp(join(tmpdir(), 'aider-mlx-install-'));
  try {
    const constraints = join(scratch, 'constraints.txt');
    await writeFile(constraints, constraintLines(compromised).join('\n') + '\n');
    if (inst.method === 'venv') await mkdir(ownedLocations(caps.env, caps.platform).venvs, { recursive: true });
    for (const cmd of installCommands(spec, inst, caps, constraints)) {
      caps.onLine?.(`$ ${cmd.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}`);
      const r = await stream(cmd, env, caps.onLine, caps.signal);
      if (r.code !== 0) {
        const last = r.tail.filter((l) => l.trim()).slice(-3).join(' | ');
        // pip and uv both name our constraint when it is what made resolution impossible.
        const excluded = r.tail.some((l) => /\(constraint\)|constraints? .*!=|[Bb]ecause .*!=/.test(l));
        throw new AppError(
          `Installing ${spec.package} with ${inst.method} failed (exit ${r.code}): ${last}${excluded ? ' — what is left is on the known-compromised list' : ''}`,
          'Read the output above; nothing was recorded as installed.',
        );
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  const binDir = await binDirOf(inst, spec, env, caps.platform);
  const version = await readToolVersion(spec, binDir, env);
  const bad = Object.entries(compromised).find(([p]) => normalize(p) === normalize(spec.package))?.[1] ?? [];
  if (version === undefined || version !== spec.version || bad.includes(version)) {
    const why = version === undefined ? `\`${spec.versionCommand.join(' ')}\` did not answer` : bad.includes(version) ? `it reports ${version}, a known-compromised release` : `it reports ${version}, not ${spec.version}`;
    throw new AppError(`${spec.package} was installed but does not check out: ${why}.`, `Look at ${tildify(binDir, caps.env)}; reinstall with \`aider-mlx install ${spec.package}\`.`);
  }
  let linked: string[] = [];
  let warnings: string[] = [];
  if (inst.method === 'venv') ({ linked, warnings } = await linkScripts(spec, binDir, caps.env, caps.platform));
  const record: InstallRecord = {
    package: spec.package,
    requirement: requirementFor(spec, caps.platform),
    method: inst.method,
    version,
    bin: join(binDir, spec.bin),
    ...(inst.method === 'venv' ? { venv: dirname(binDir) } : { manager: inst.manager }),
    installedAt: (caps.now ?? new Date()).toISOString(),
  };
  await addInstallRecord(ownedLocations(caps.env, caps.platform).installed, record);
  return { record, linked, warnings };
}

/** The tool as found on PATH (plus ~/.local/bin, and the venv aider-mlx made for it), with its version. */
export async function findTool(spec: ToolSpec, env: Env): Promise<{ bin: string; version?: string } | undefined> {
  const bin = findToolBin(spec.bin, spec.package, toolEnv(env))?.bin;
  if (!bin) return undefined;
  const version = await readToolVersion(spec, dirname(bin), toolEnv(env));
  return { bin, ...(version ? { version } : {}) };
}
