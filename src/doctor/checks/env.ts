/**
 * Hop 0, the machine: OS and architecture (Rosetta), the Python tools and their versions, a
 * known-compromised LiteLLM, free disk. No process is spawned (a compromised LiteLLM runs its payload
 * on any Python start): versions come from the installed packages' dist-info folders, found through
 * each tool's script interpreter.
 */
import { closeSync, openSync, readdirSync, readSync, realpathSync, statfsSync } from 'node:fs';
import { homedir, arch as osArch, cpus, platform as osPlatform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { compromisedVersions } from '../../lib/compromised.js';
import { tildify, type Env } from '../../lib/paths.js';
import { findToolBin, which } from '../../lib/which.js';
import type { Plan } from '../../config/plan.js';
import type { DoctorCaps, DoctorCheck } from '../types.js';

const DOCS = {
  mlx: 'https://github.com/ml-explore/mlx-lm/blob/main/mlx_lm/SERVER.md',
  litellm: 'https://docs.litellm.ai/docs/proxy/quick_start',
  aider: 'https://aider.chat/docs/install.html',
  mlxRequirements: 'https://ml-explore.github.io/mlx/build/html/install.html',
};

function readHead(path: string, bytes: number): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The interpreter of a Python console script (`#!/…/venv/bin/python`), resolved through links. */
export function scriptInterpreter(bin: string, env: Env): string | undefined {
  let real: string;
  try {
    real = realpathSync(bin);
  } catch {
    return undefined;
  }
  const head = readHead(real, 512)?.toString('utf8');
  if (!head?.startsWith('#!')) return undefined;
  let line = head.slice(2).split('\n')[0]!.trim();
  // pip writes `#!/bin/sh` + `'''exec' "/path/python" "$0" "$@"` for long paths.
  if (/^\/bin\/sh\b/.test(line)) line = /exec'?\s+"?([^"\s]+python[^"\s]*)"?/.exec(head)?.[1] ?? '';
  const parts = line.split(/\s+/);
  const interp = parts[0] === '/usr/bin/env' ? which(parts[1] ?? '', env) : parts[0];
  return interp || undefined;
}

/** `litellm` → `litellm-1.2.3.dist-info` in the interpreter's site-packages. */
export function distVersion(python: string, pkg: string, home: string = homedir()): string | undefined {
  const want = pkg.toLowerCase().replace(/[-_.]+/g, '_');
  const roots = new Set<string>([dirname(dirname(python))]);
  try {
    roots.add(dirname(dirname(realpathSync(python))));
  } catch {
    /* keep the unresolved root */
  }
  // `pip install --user`: ~/Library/Python/3.X (macOS) and ~/.local (Linux).
  const minor = /python(\d+\.\d+)$/.exec(python)?.[1];
  if (minor) roots.add(join(home, 'Library', 'Python', minor));
  roots.add(join(home, '.local'));
  for (const root of roots) {
    for (const lib of ['lib', 'Lib']) {
      let pys: string[];
      try {
        pys = readdirSync(join(root, lib)).filter((d) => /^python(\d|$)/.test(d));
      } catch {
        continue;
      }
      for (const py of pys) {
        let entries: string[];
        try {
          entries = readdirSync(join(root, lib, py, 'site-packages'));
        } catch {
          continue;
        }
        for (const e of entries) {
          const m = /^(.+?)-(\d[^-]*)\.dist-info$/.exec(e);
          if (m && m[1]!.toLowerCase().replace(/[-_.]+/g, '_') === want) return m[2];
        }
      }
    }
  }
  return undefined;
}

/** Mach-O CPU types of a binary: arm64 and/or x86_64 (fat binaries list both). */
export function machOArchs(path: string): string[] | undefined {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return undefined;
  }
  const b = readHead(real, 4096);
  if (!b || b.length < 8) return undefined;
  const name = (cpu: number) => (cpu === 0x0100000c ? 'arm64' : cpu === 0x01000007 ? 'x86_64' : `cpu ${cpu.toString(16)}`);
  const magicBE = b.readUInt32BE(0);
  if (magicBE === 0xcafebabe || magicBE === 0xcafebabf) {
    const n = b.readUInt32BE(4);
    const size = magicBE === 0xcafebabf ? 32 : 20;
    const out: string[] = [];
    for (let i = 0; i < n && 8 + i * size + 4 <= b.length && i < 16; i++) out.push(name(b.readUInt32BE(8 + i * size)));
    return out;
  }
  const magicLE = b.readUInt32LE(0);
  if (magicLE === 0xfeedfacf || magicLE === 0xfeedface) return [name(b.readUInt32LE(4))];
  return undefined;
}

/** Darwin kernel major → macOS version: 20→11 … 24→15, then 25→26 (the year numbering). */
export function macosFromDarwin(rel: string): number | undefined {
  const major = Number(/^(\d+)\./.exec(rel)?.[1]);
  if (!Number.isFinite(major) || major < 20) return undefined;
  return major >= 25 ? major + 1 : major - 9;
}

export function hubCacheDir(env: Env): string {
  const home = env.HOME || homedir();
  const explicit = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (explicit) return explicit.startsWith('~/') ? join(home, explicit.slice(2)) : explicit;
  const hfHome = env.HF_HOME || join(env.XDG_CACHE_HOME || join(home, '.cache'), 'huggingface');
  return join(hfHome.startsWith('~/') ? join(home, hfHome.slice(2)) : hfHome, 'hub');
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}

function osCheck(caps: DoctorCaps): DoctorCheck {
  const platform = caps.platform ?? osPlatform();
  const arch = caps.arch ?? osArch();
  const cpu = caps.cpuModel ?? cpus()[0]?.model ?? '';
  const base = { id: 'env.os', group: 'env' as const, expected: 'macOS 14 or newer on Apple Silicon (arm64), not under Rosetta', docs: DOCS.mlxRequirements };
  if (platform !== 'darwin') {
    return {
      ...base,
      title: `${platform} on ${arch}: not macOS`,
      status: platform === 'linux' ? 'warn' : 'fail',
      observed: `${platform} ${arch}`,
      fix:
        platform === 'linux'
          ? 'MLX runs on Linux on the CPU only (mlx[cpu]): fine for trying things, slow for real models. Use a Mac with Apple Silicon for real work.'
          : 'Run aider-mlx on a Mac with Apple Silicon.',
    };
  }
  const mac = macosFromDarwin(caps.osRelease ?? release());
  const appleCpu = /Apple/i.test(cpu);
  if (arch !== 'arm64' && appleCpu) {
    return {
      ...base,
      title: 'Node runs under Rosetta (x86_64 on Apple Silicon)',
      status: 'warn',
      observed: `Node ${arch} on ${cpu}`,
      fix: 'Your terminal or Node is x86_64 (Rosetta); Python tools started from it would be too, and MLX needs arm64. Install an arm64 Node (https://nodejs.org) and open a native terminal.',
    };
  }
  if (arch !== 'arm64') {
    return { ...base, title: 'Intel Mac: MLX needs Apple Silicon', status: 'fail', observed: `macOS on ${arch} (${cpu || 'Intel'})`, fix: 'MLX runs only on Apple Silicon (M1 or newer).' };
  }
  if (mac !== undefined && mac < 14) {
    return { ...base, title: `macOS ${mac} on Apple Silicon`, status: 'warn', observed: `macOS ${mac}`, fix: 'Update macOS: current MLX wheels target macOS 14 and newer.' };
  }
  return { ...base, title: `macOS ${mac ?? '?'} on Apple Silicon (arm64)`, status: 'pass', observed: `macOS ${mac ?? '?'} arm64 ${cpu}`.trim() };
}

interface Tool {
  bin?: string;
  /** Found where aider-mlx installs it (its venv, ~/.local/bin), not on PATH. */
  offPath?: boolean;
  python?: string;
  version?: string;
  archs?: string[];
}

function tool(cmd: string, pkg: string, env: Env, darwin: boolean): Tool {
  const found = findToolBin(cmd, pkg, env);
  if (!found) return {};
  const bin = found.bin;
  const python = scriptInterpreter(bin, env);
  const version = python ? distVersion(python, pkg, env.HOME || homedir()) : undefined;
  const archs = darwin && python ? machOArchs(python) : undefined;
  return { bin, ...(found.onPath ? {} : { offPath: true }), ...(python ? { python } : {}), ...(version ? { version } : {}), ...(archs ? { archs } : {}) };
}

/** A tool aider-mlx installed where the shell does not look: said, with the folder to add to PATH. */
function offPathCheck(id: string, t: Tool, name: string, expected: string, docs: string | undefined, env: Env): DoctorCheck {
  const dir = dirname(t.bin!);
  return {
    id,
    group: 'env',
    title: `${name}${t.version ? ` ${t.version}` : ''} is installed at ${tildify(t.bin!, env)}, which is not on PATH`,
    status: 'warn',
    observed: `${tildify(t.bin!, env)} (where aider-mlx installs it); not found on PATH`,
    expected,
    fix: `Add ${tildify(dir, env)} to PATH (e.g. in ~/.zshrc: export PATH="${dir}:$PATH"), so a shell finds it too.`,
    ...(docs ? { docs } : {}),
  };
}

export function cmpVersion(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.+-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

const SAFE_LITELLM = (bad: string[]) => `uv tool install 'litellm[proxy]${bad.map((v) => `!=${v}`).join(',')}'`;

/** The three tools as this machine has them (PATH, their Python, their dist-info): files only, nothing spawned. */
export interface EnvTools {
  mlx: Tool;
  lite: Tool;
  aider: Tool;
}

export function envTools(caps: DoctorCaps): EnvTools {
  const darwin = (caps.platform ?? osPlatform()) === 'darwin';
  return { mlx: tool('mlx_lm.server', 'mlx-lm', caps.env, darwin), lite: tool('litellm', 'litellm', caps.env, darwin), aider: tool('aider', 'aider-chat', caps.env, darwin) };
}

/**
 * Environment checks. Nothing is spawned: a tool's version comes from its dist-info folder.
 * `direct`: no plan, and the hand-written chain has no proxy (Aider straight at mlx_lm.server).
 * `tools`: envTools() read earlier (while the probes were out), else read now.
 */
export function envChecks(plan: Plan | undefined, caps: DoctorCaps, o: { direct?: boolean; tools?: EnvTools } = {}): DoctorCheck[] {
  const checks: DoctorCheck[] = [osCheck(caps)];
  const { mlx, lite, aider } = o.tools ?? envTools(caps);

  const mlxBase = { id: 'env.mlx_lm', group: 'env' as const, expected: 'mlx_lm.server on PATH, from an arm64 Python', docs: DOCS.mlx };
  if (mlx.offPath && !(mlx.archs && !mlx.archs.includes('arm64'))) checks.push(offPathCheck('env.mlx_lm', mlx, 'mlx-lm', mlxBase.expected, mlxBase.docs, caps.env));
  else if (!mlx.bin) {
    checks.push({
      ...mlxBase,
      title: 'mlx_lm.server is not on PATH',
      status: 'warn',
      observed: 'not found on PATH (fine if your servers run from a venv you activate elsewhere)',
      fix: 'Install it: uv tool install mlx-lm   (or: pipx install mlx-lm)',
    });
  } else if (mlx.archs && !mlx.archs.includes('arm64')) {
    checks.push({
      ...mlxBase,
      title: 'mlx_lm.server runs on an x86_64 Python (Rosetta)',
      status: 'fail',
      observed: `${mlx.python} is ${mlx.archs.join('+')}`,
      fix: 'Reinstall mlx-lm with an arm64 Python (e.g. uv tool install --python-preference only-managed mlx-lm from a native terminal).',
      causes: ['C7'],
    });
  } else {
    checks.push({ ...mlxBase, title: `mlx-lm ${mlx.version ?? '(version unknown)'} at ${mlx.bin}`, status: 'pass', observed: `${mlx.bin}${mlx.python ? ` (python ${mlx.python})` : ''}` });
  }

  const needProxy = plan ? plan.mode !== 'direct' : !o.direct;
  const bad = compromisedVersions('litellm');
  const liteBase = { id: 'env.litellm', group: 'env' as const, expected: 'litellm (with the proxy extra) on PATH', docs: DOCS.litellm };
  if (lite.offPath) checks.push(offPathCheck('env.litellm', lite, 'litellm', liteBase.expected, liteBase.docs, caps.env));
  else if (!lite.bin) {
    checks.push({
      ...liteBase,
      ...(needProxy
        ? { title: 'litellm is not on PATH', status: 'warn' as const, observed: 'not found on PATH', fix: `Install it: ${SAFE_LITELLM(bad)}` }
        : { title: 'litellm: not needed for a direct setup', status: 'skip' as const, observed: 'not checked: Aider talks straight to mlx_lm.server, no LiteLLM proxy in between (litellm is not on PATH, and need not be)' }),
    });
  } else {
    checks.push({ ...liteBase, title: `litellm ${lite.version ?? '(version unknown)'} at ${lite.bin}`, status: 'pass', observed: lite.bin });
  }
  const relBase = {
    id: 'env.litellm_release',
    group: 'env' as const,
    expected: `a litellm release not on the known-compromised list (${bad.join(', ')})`,
    docs: DOCS.litellm,
  };
  if (!lite.bin) checks.push({ ...relBase, title: 'litellm release: not installed', status: 'skip', observed: 'not checked: litellm is not on PATH' });
  else if (!lite.version) {
    // Never run it to ask: a compromised release executes its payload on any Python start.
    checks.push({
      ...relBase,
      title: 'litellm release: version unknown',
      status: 'warn',
      observed: `no litellm-*.dist-info found for ${lite.bin}${lite.python ? ` (python ${lite.python})` : ''}`,
      fix: `Check it yourself: ${lite.python ?? 'python3'} -m pip show litellm — and reinstall if it is ${bad.join(' or ')}: ${SAFE_LITELLM(bad)}`,
    });
  } else if (bad.includes(lite.version)) {
    checks.push({
      ...relBase,
      title: `litellm ${lite.version} is a known-compromised release`,
      status: 'fail',
      observed: `${lite.bin} is litellm ${lite.version}`,
      fix: `Remove it now (uv tool uninstall litellm / pipx uninstall litellm), rotate any keys it could read, then: ${SAFE_LITELLM(bad)}`,
    });
  } else checks.push({ ...relBase, title: `litellm ${lite.version} is not a known-compromised release`, status: 'pass', observed: lite.version });

  checks.push(
    aider.offPath
      ? offPathCheck('env.aider', aider, 'aider', 'aider on PATH', DOCS.aider, caps.env)
      : aider.bin
      ? { id: 'env.aider', group: 'env', title: `aider ${aider.version ?? '(version unknown)'} at ${aider.bin}`, status: 'pass', observed: aider.bin, expected: 'aider on PATH' }
      : {
          id: 'env.aider',
          group: 'env',
          title: 'aider is not on PATH',
          status: 'warn',
          observed: 'not found on PATH',
          expected: 'aider on PATH',
          fix: 'Install it: uv tool install aider-chat   (or: pipx install aider-chat)',
          docs: DOCS.aider,
        },
  );

  checks.push(diskCheck(caps.env));
  return checks;
}

function diskCheck(env: Env): DoctorCheck {
  let dir = hubCacheDir(env);
  const base = { id: 'env.disk', group: 'env' as const, expected: 'room for the models: 20 GB or more free where the Hugging Face cache lives' };
  for (let i = 0; i < 20; i++) {
    try {
      const s = statfsSync(dir);
      const free = Number(s.bavail) * Number(s.bsize);
      const status = free < 1024 ** 3 ? 'fail' : free < 20 * 1024 ** 3 ? 'warn' : 'pass';
      return {
        ...base,
        title: `${gib(free)} free for the model cache`,
        status,
        observed: `${gib(free)} free at ${dir}`,
        ...(status !== 'pass' ? { fix: 'Free some space, or point HF_HUB_CACHE at a bigger disk (a 32B 4-bit model is about 18 GB; `mlx_lm.manage --scan` lists what is cached).' } : {}),
      };
    } catch {
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return { ...base, title: 'free disk: unknown', status: 'skip', observed: 'not checked: cannot read the file system' };
}
