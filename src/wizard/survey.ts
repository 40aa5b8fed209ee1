/**
 * Look around: the machine, the tools, what is already set up, cached models, ports in use.
 * Read-only; every external call is bounded. Runs after the first frame is on screen.
 */
import { readFile } from 'node:fs/promises';
import { arch, cpus, platform } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { run } from '../lib/exec.js';
import { findToolBin } from '../lib/which.js';
import { homeDir, tildify, type Env } from '../lib/paths.js';
import { readPlan } from '../config/plan-file.js';
import { DEFAULT_PORTS, type Plan } from '../config/plan.js';
import { findLitellm, type LitellmInstall } from '../servers/litellm.js';
import { identifyServer, type ServerKind as Answerer } from '../servers/probe.js';
import { portProcessLookup, servedModelAt } from '../servers/ports.js';
import type { Catalogue } from '../hub/catalogue.js';
import { formatGB, GPU_BUDGET_MEANS } from '../hub/fit.js';
import { aiderDirFor } from '../setup/build-plan.js';
import { readAiderConf, type AiderConfFacts } from '../setup/proposal.js';
import { MalformedFileError } from '../config/merge.js';
import { checkAiderConfReads } from '../config/write.js';

export type { AiderConfFacts };
import type { WizardContext } from './context.js';

export interface ToolInfo {
  bin: string;
  version?: string;
}

export interface Listener {
  host: string;
  port: number;
  kind: Answerer;
  /** What GET /v1/models listed (mlx_lm.server: every model in its cache, in no set order). */
  models?: string[];
  /** The model an mlx_lm.server serves, when known (its command line, or the only model it lists). */
  served?: string;
  looksLike?: string;
}

export interface Survey {
  os: string;
  arch: string;
  chip?: string;
  appleSilicon: boolean;
  tools: { mlx?: ToolInfo; litellm?: LitellmInstall; aider?: ToolInfo };
  /** Tools found where aider-mlx installed them (its venv, its ~/.local/bin links), not on PATH. */
  offPath?: string[];
  prevPlan?: Plan;
  aiderConf: {
    project?: AiderConfFacts;
    global?: AiderConfFacts;
    projectDir: string;
    /** False: the project folder is not inside a git repository (its Aider files go into the folder). */
    projectInGit?: boolean;
    /** A .aider.conf.yml Aider reads from here (home, git root, this folder) that does not parse: file, line and column. */
    broken?: string;
  };
  catalogue: Catalogue;
  listening: Listener[];
  /** One line each, for the summary. */
  lines: string[];
  warnings: string[];
}

async function chipName(env: Env): Promise<string | undefined> {
  if (platform() === 'darwin') {
    const r = await run('sysctl', ['-n', 'machdep.cpu.brand_string'], { env, timeoutMs: 3000 }).catch(() => undefined);
    if (r?.code === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return cpus()[0]?.model?.trim() || undefined;
}

/** `mlx_lm.server`'s package version, read by the Python that runs it (its shebang). */
async function mlxVersion(bin: string, env: Env): Promise<string | undefined> {
  const head = await readFile(bin, 'utf8').then((t) => t.slice(0, 300)).catch(() => '');
  const py = /^#!\s*(\S+)/.exec(head)?.[1];
  if (!py) return undefined;
  const r = await run(py, ['-c', "import importlib.metadata as m; print(m.version('mlx-lm'))"], { env, timeoutMs: 15_000 }).catch(() => undefined);
  return r?.code === 0 ? r.stdout.trim() || undefined : undefined;
}

async function aiderVersion(bin: string, env: Env): Promise<string | undefined> {
  const r = await run(bin, ['--version'], { env, timeoutMs: 20_000 }).catch(() => undefined);
  return r ? /(\d+\.\d+\.\d+\S*)/.exec(r.stdout + r.stderr)?.[1] : undefined;
}

/** Ports worth a look: the defaults, the previous plan's, the flags'. */
function portsToProbe(ctx: WizardContext, prev?: Plan): Array<{ host: string; port: number }> {
  const host = ctx.fixed.host ?? '127.0.0.1';
  const seen = new Map<string, { host: string; port: number }>();
  const add = (h: string, p: number | undefined) => p && seen.set(`${h}:${p}`, { host: h, port: p });
  // The demo's stand-ins take free ports: a server of the machine's on 8080 is none of its business.
  if (!ctx.demo) for (const p of Object.values(DEFAULT_PORTS)) add(host, p);
  for (const p of Object.values(ctx.fixed.ports)) add(host, p);
  if (prev) {
    for (const r of Object.values(prev.roles)) for (const d of r?.deployments ?? []) add(d.host, d.port);
    add(prev.proxy.host, prev.proxy.port);
  }
  return [...seen.values()];
}

export async function surveyMachine(ctx: WizardContext): Promise<Survey> {
  const env = ctx.hostEnv;
  // On PATH, else where `aider-mlx install` (or the wizard's offer) put them: found, not offered again.
  const found = { mlx: findToolBin('mlx_lm.server', 'mlx-lm', env), litellm: findToolBin('litellm', 'litellm', env), aider: findToolBin('aider', 'aider-chat', env) };
  const mlxBin = found.mlx?.bin;
  const aiderBin = found.aider?.bin;
  const offPath = Object.values(found).flatMap((f) => (f && !f.onPath ? [f.bin] : []));
  const withOwn: Env = offPath.length ? { ...env, PATH: [env.PATH, ...offPath.map((b) => dirname(b))].filter(Boolean).join(delimiter) } : env;
  const prevPlan = await readPlan(ctx.env);
  // One look at the processes holding the ports, for every server found.
  const lookup = portProcessLookup();
  const [chip, mlxVer, aiderVer, litellm, catalogue, project, listening] = await Promise.all([
    chipName(env),
    mlxBin ? mlxVersion(mlxBin, env) : undefined,
    aiderBin ? aiderVersion(aiderBin, env) : undefined,
    findLitellm(withOwn, 30_000).catch(() => undefined),
    // The Hub is asked only when the user searches: the first screen never waits on the network.
    ctx.deps.catalogue({ env, skipHub: true, signal: ctx.signal }),
    aiderDirFor('project', { env: ctx.env, cwd: ctx.cwd }),
    Promise.all(
      portsToProbe(ctx, prevPlan).map(async ({ host, port }): Promise<Listener> => {
        const id = await identifyServer(host, port, { timeoutMs: 1500, signal: ctx.signal });
        const served = id.kind === 'mlx_lm.server' ? (await servedModelAt(host, port, id.models, { lookup })).model : undefined;
        return { host, port, kind: id.kind, ...(id.models ? { models: id.models } : {}), ...(served ? { served } : {}), ...(id.looksLike ? { looksLike: id.looksLike } : {}) };
      }),
    ),
  ]);
  const [projectConf, globalConf, broken] = await Promise.all([
    readAiderConf(project.dir),
    readAiderConf(homeDir(ctx.env)),
    // The check setup's write makes (it refuses to write next to a broken one): said here already.
    checkAiderConfReads(ctx.env, ctx.cwd).then(
      () => undefined,
      (e: unknown) => (e instanceof MalformedFileError ? e.message : undefined),
    ),
  ]);

  const os = platform();
  const cpu = arch();
  const appleSilicon = os === 'darwin' && cpu === 'arm64';
  const s: Survey = {
    os,
    arch: cpu,
    ...(chip ? { chip } : {}),
    appleSilicon,
    tools: {
      ...(mlxBin ? { mlx: { bin: mlxBin, ...(mlxVer ? { version: mlxVer } : {}) } } : {}),
      ...(litellm ? { litellm } : {}),
      ...(aiderBin ? { aider: { bin: aiderBin, ...(aiderVer ? { version: aiderVer } : {}) } } : {}),
    },
    ...(offPath.length ? { offPath } : {}),
    ...(prevPlan ? { prevPlan } : {}),
    aiderConf: { projectDir: project.dir, projectInGit: project.git !== false, ...(projectConf ? { project: projectConf } : {}), ...(globalConf ? { global: globalConf } : {}), ...(broken ? { broken } : {}) },
    catalogue,
    listening: listening.filter((l) => l.kind !== 'none'),
    lines: [],
    warnings: [],
  };
  describeSurvey(s, ctx);
  return s;
}

/** The summary lines and warnings, from the facts (separate so tests can build a Survey by hand). */
export function describeSurvey(s: Survey, ctx: Pick<WizardContext, 'demo' | 'env'>): void {
  const mem = s.catalogue.memory.totalBytes;
  s.lines = [
    `${s.os === 'darwin' ? 'macOS' : s.os} ${s.arch}${s.chip ? `, ${s.chip}` : ''}, ${formatGB(mem)} memory; GPU budget ${formatGB(s.catalogue.budget.bytes)}, ${GPU_BUDGET_MEANS}`,
  ];
  s.warnings = [];
  const t = s.tools;
  const tool = (name: string, i?: { version?: string }) => (i ? `${name} ${i.version ?? '(version unknown)'}` : `${name} missing`);
  s.lines.push(`${tool('mlx_lm', t.mlx)} · ${tool('litellm', t.litellm)} · ${tool('aider', t.aider)}`);
  // Where an install of aider-mlx's is that PATH does not reach: used from there, said once per folder.
  const dirs = new Map<string, string[]>();
  for (const b of s.offPath ?? []) dirs.set(dirname(b), [...(dirs.get(dirname(b)) ?? []), basename(b)]);
  for (const [dir, bins] of dirs) {
    // ~/.local/bin is where uv and pipx link too: where it is, not whose.
    s.lines.push(`${bins.join(', ')} found in ${tildify(dir, ctx.env)}, where aider-mlx installs (not on PATH)`);
    s.warnings.push(`${tildify(dir, ctx.env)} is not on your PATH: setup uses ${bins.join(' and ')} from there; add it to your shell's profile so your terminal finds ${bins.length === 1 ? 'it' : 'them'} too.`);
  }
  if (t.litellm?.compromised) s.warnings.push(`litellm ${t.litellm.version} is a known-compromised release: remove it (${t.litellm.bin}).`);
  if (!t.mlx && !ctx.demo) {
    s.warnings.push(
      s.appleSilicon
        ? 'mlx_lm is not installed: install it with `uv tool install mlx-lm` (or pipx), or use a server that is already running.'
        : 'MLX needs a Mac with Apple silicon; use `--demo` to see the flow, or point at a server running elsewhere.',
    );
  }
  const cached = s.catalogue.cached.filter((c) => c.cached?.status === 'complete');
  s.lines.push(cached.length ? `${cached.length} model${cached.length === 1 ? '' : 's'} in the Hugging Face cache` : 'no models in the Hugging Face cache yet');
  for (const l of s.listening) {
    const what = l.kind === 'mlx_lm.server' ? `mlx_lm.server${l.served ? ` (${l.served})` : ''}` : l.kind === 'litellm' ? 'a LiteLLM proxy' : (l.looksLike ?? 'another server');
    s.lines.push(`port ${l.port}: ${what}`);
  }
  if (s.prevPlan) s.lines.push(`an earlier setup: editor ${s.prevPlan.roles.editor.model} (${s.prevPlan.mode} mode, ${s.prevPlan.aider.scope} scope)`);
}
