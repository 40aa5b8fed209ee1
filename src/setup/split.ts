/**
 * "Split it across Macs": one model served by a group (config/group.ts) when it does not fit this
 * Mac. The logic the wizard (Ink and --plain) and `setup --yes --split-hosts` share: reading the
 * hosts, checking each one (ssh, the same mlx and mlx-lm, the model's files there) and the fit split
 * over the hosts' budgets. The doctor's group checks use the same host checks.
 *
 * The literal host 127.0.0.1 is this Mac: no ssh, nothing to check (ranks started directly).
 */
import { dirname, join } from 'node:path';
import { groupIsLocal } from '../config/group.js';
import { groupHostSchema, groupShapeProblem, describeZodError, rankAddress, type Group, type GroupHost } from '../config/plan-schema.js';
import type { Deployment } from '../config/plan.js';
import { formatCheck, type Check } from '../lib/check.js';
import { run, which } from '../lib/exec.js';
import type { Env } from '../lib/paths.js';
import { estimateModelMemory, fitGroup, gpuBudget, GiB, type Budget, type GroupFit, type MemoryEstimate } from '../hub/fit.js';
import type { Catalogue } from '../hub/catalogue.js';
import { estimateInput, sizingIn } from '../hub/sizing.js';
import { groupParallel, readGroupModelFacts } from '../serve/group.js';

export type Exec = (cmd: string, args: string[], opts: { timeoutMs: number; env?: Env }) => Promise<{ code: number; stdout: string; stderr: string }>;

/** mlx and mlx-lm versions, one line: what every rank must share. */
export const VERSIONS_PY = 'import mlx.core as m, mlx_lm as l; print(m.__version__, l.__version__)';
/** Where the model's files are on a host (its own Hugging Face cache, or a folder), exit 3 when not complete. */
export const FILES_PY = [
  'import sys, os, glob',
  'm = sys.argv[1]',
  "if m.startswith(('/', '~', '.')):",
  '    p = os.path.expanduser(m)',
  'else:',
  '    from huggingface_hub import snapshot_download',
  '    p = snapshot_download(m, local_files_only=True)',
  "ok = os.path.isfile(os.path.join(p, 'config.json')) and glob.glob(os.path.join(p, '*.safetensors'))",
  'print(p)',
  'sys.exit(0 if ok else 3)',
].join('\n');

export const SSH_OPTS = ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5'];

/**
 * ssh joins its arguments into one line for the remote shell: each argument is quoted for it
 * (single quotes), so the remote side gets exactly this argv.
 */
export function remoteCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The ssh argv that runs `argv` on `host`. */
export function sshArgs(host: string, argv: readonly string[]): string[] {
  return [...SSH_OPTS, host, remoteCommand(argv)];
}

/**
 * `--split-hosts` (and the wizard's answer): comma-separated hosts, each `ssh-name` or
 * `ssh-name=address` (the IPv4 address the ranks talk on). Rank 0 first.
 */
export function parseHosts(raw: string): { hosts: GroupHost[] } | { problem: string } {
  const parts = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (!parts.length) return { problem: 'no hosts given: type ssh names, each with the address the ranks talk on (mac2.local=192.168.2.2)' };
  const hosts: GroupHost[] = [];
  for (const p of parts) {
    const [ssh, address, extra] = p.split('=').map((s) => s.trim());
    if (extra !== undefined || !ssh) return { problem: `"${p}": write a host as name or name=address` };
    const r = groupHostSchema.safeParse({ ssh, ...(address ? { address } : {}) });
    if (!r.success) return { problem: `"${p}": ${describeZodError(r.error).replace(/\.$/, '')}` };
    hosts.push(r.data);
  }
  return { hosts };
}

/** The whole group: this Mac first (rank 0, which answers HTTP), then the others. */
export function groupOf(hosts: GroupHost[]): { group: Group } | { problem: string } {
  if (hosts.length < 2) return { problem: 'a group needs at least two hosts: this Mac and one more' };
  const group: Group = { hosts };
  const problem = groupShapeProblem(group);
  return problem ? { problem } : { group };
}

/** The deployment of a group: rank 0 answers on its address (127.0.0.1 for ranks on this Mac). */
export function groupDeployment(group: Group, port: number): Deployment {
  const r0 = group.hosts[0]!;
  return { host: groupIsLocal(group) ? '127.0.0.1' : (r0.address ?? r0.ssh), port, group };
}

export interface HostChecks {
  checks: Check[];
  /** Each host's unified memory in bytes, when read (sysctl hw.memsize over ssh). */
  memory: Map<string, number>;
  ok: boolean;
}

function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).pop() ?? '';
}

/**
 * Each other host of the group, in turn: ssh answers (`true`, key-based: BatchMode), the same mlx
 * and mlx-lm as this Mac (the same venv path: mlx.launch runs one command on every host), the
 * model's files in that host's own cache. 127.0.0.1 is skipped (this Mac, no ssh).
 */
export async function checkHosts(o: { group: Group; model: string; env: Env; exec?: Exec; timeoutMs?: number; id?: string }): Promise<HostChecks> {
  const exec: Exec = o.exec ?? ((cmd, args, opts) => run(cmd, args, { timeoutMs: opts.timeoutMs, ...(opts.env ? { env: opts.env } : {}) }));
  const timeoutMs = o.timeoutMs ?? 15_000;
  const base = o.id ?? 'split';
  const checks: Check[] = [];
  const memory = new Map<string, number>();
  const hosts = sshHosts(o.group);
  if (!hosts.length) return { checks, memory, ok: true };

  const server = which('mlx_lm.server', o.env);
  const py = server ? join(dirname(server), 'python') : undefined;
  if (!py) {
    checks.push({ id: `${base}.mlx`, title: 'mlx_lm.server on this Mac', status: 'fail', observed: 'mlx_lm.server is not installed here', fix: 'Install mlx-lm first (`npx aider-mlx install mlx-lm`): the other Macs need the same venv at the same path.' });
    return { checks, memory, ok: false };
  }
  const here = await exec(py, ['-c', VERSIONS_PY], { timeoutMs, env: o.env }).catch(() => undefined);
  const mine = here?.code === 0 ? here.stdout.trim() : undefined;
  const ssh = (host: string, argv: string[]) =>
    exec('ssh', sshArgs(host, argv), { timeoutMs: timeoutMs + 5000, env: o.env }).catch((e: Error) => ({ code: 255, stdout: '', stderr: e.message }));

  for (const host of hosts) {
    const id = `${base}.host.${host}`;
    const reach = await ssh(host, ['true']);
    if (reach.code !== 0) {
      checks.push({ id: `${id}.ssh`, title: `${host}: ssh`, status: 'fail', observed: `ssh ${host} failed: ${lastLine(reach.stderr) || `exit code ${reach.code}`}`,
        fix: `Set up key-based ssh from this Mac to ${host} (ssh-copy-id ${host}; on ${host}: System Settings → General → Sharing → Remote Login).` });
      continue;
    }
    checks.push({ id: `${id}.ssh`, title: `${host}: ssh answers`, status: 'pass' });

    const v = await ssh(host, [py, '-c', VERSIONS_PY]);
    if (v.code !== 0) {
      checks.push({ id: `${id}.versions`, title: `${host}: mlx and mlx-lm`, status: 'fail', observed: `${py} on ${host} cannot import mlx and mlx_lm (${lastLine(v.stderr) || `exit code ${v.code}`})`,
        fix: `Install the same mlx and mlx-lm on ${host}, in a venv at ${dirname(dirname(py))} (the same path as here).` });
    } else if (mine && v.stdout.trim() !== mine) {
      checks.push({ id: `${id}.versions`, title: `${host}: mlx and mlx-lm`, status: 'fail', observed: `mlx, mlx-lm ${v.stdout.trim()} on ${host}; ${mine} here`, expected: 'the same versions on every host',
        fix: `Install mlx and mlx-lm ${mine.replace(' ', ' and ')} on ${host}.` });
    } else {
      checks.push({ id: `${id}.versions`, title: `${host}: mlx, mlx-lm ${v.stdout.trim()}${mine ? ' (as here)' : ''}`, status: mine ? 'pass' : 'warn',
        ...(mine ? {} : { observed: 'the versions on this Mac could not be read to compare' }) });
    }

    const f = await ssh(host, [py, '-c', FILES_PY, o.model]);
    if (f.code !== 0) {
      checks.push({ id: `${id}.files`, title: `${host}: the model's files`, status: 'fail', observed: `${o.model} is not ${f.code === 3 ? 'complete' : 'downloaded'} on ${host}`,
        fix: `On ${host}: \`hf download ${o.model}\` (or \`npx aider-mlx models pull ${o.model}\`); every host loads the model from its own disk.` });
    } else {
      checks.push({ id: `${id}.files`, title: `${host}: the model's files are there (${lastLine(f.stdout)})`, status: 'pass' });
    }

    const mem = await ssh(host, ['sysctl', '-n', 'hw.memsize']);
    const bytes = Number(mem.stdout.trim());
    if (mem.code === 0 && Number.isFinite(bytes) && bytes > 0) memory.set(host, bytes);
  }
  return { checks, memory, ok: checks.every((c) => c.status !== 'fail') };
}

/** The hosts of the group checked over ssh (every one but 127.0.0.1, this Mac). */
export function sshHosts(group: Group): string[] {
  return [...new Set(group.hosts.map((h) => h.ssh))].filter((h) => h !== '127.0.0.1');
}

/**
 * What the host checks found, for `setup --yes` / `--dry-run` (the wizard notes the same checks):
 * the failed ones, then one result line. None when no host is reached over ssh.
 */
export function hostCheckLines(group: Group, hc: HostChecks, o: { dryRun?: boolean } = {}): string[] {
  const hosts = sshHosts(group);
  if (!hosts.length) return [];
  const failed = hc.checks.filter((c) => c.status === 'fail').length;
  return [
    ...(o.dryRun ? ["Dry run: the host checks only read over ssh (the mlx and mlx-lm versions, the model's files, the memory); nothing is started or written on the other Macs."] : []),
    // The failures in full here (the run may stop before its summary); every check is in the summary.
    ...hc.checks.filter((c) => c.status === 'fail').map((c) => `  ${formatCheck(c).replace(/\n/g, '\n  ')}`),
    failed
      ? `Hosts: ${failed} check${failed === 1 ? '' : 's'} failed (✗ above): fix ${failed === 1 ? 'it' : 'them'} and run setup again; nothing is written while a check fails (unless --force).`
      : `Hosts: ${hosts.join(', ')} ready (ssh, the same mlx and mlx-lm, the model's files).`,
  ];
}

/**
 * The fit split over the hosts' GPU budgets: this Mac's, each other's from its memory (the plan's
 * memoryGB, else what sysctl said, else assumed like this Mac). Ranks on one host share its budget.
 */
export async function splitFit(o: { group: Group; model: string; estimate: MemoryEstimate; budgetHere: Budget; memory?: Map<string, number>; env: Env }): Promise<{ fit: GroupFit; parallelNote: string; assumed: string[] } | { problem: string }> {
  const choice = await groupParallel(o.model, o.group, o.env);
  if (!choice.ok) return { problem: choice.problem };
  const facts = await readGroupModelFacts(o.model, o.env);
  const assumed: string[] = [];
  const per = new Map<string, number>();
  for (const h of o.group.hosts) per.set(h.ssh, (per.get(h.ssh) ?? 0) + 1);
  const budgetOf = (h: GroupHost, rank: number): Budget => {
    let b: Budget;
    if (h.memoryGB) b = gpuBudget({ totalBytes: h.memoryGB * GiB });
    else if (h.ssh === '127.0.0.1' || rank === 0) b = o.budgetHere;
    else if (o.memory?.has(h.ssh)) b = gpuBudget({ totalBytes: o.memory.get(h.ssh)! });
    else {
      if (!assumed.includes(h.ssh)) assumed.push(h.ssh);
      b = o.budgetHere;
    }
    const n = per.get(h.ssh) ?? 1;
    return n > 1 ? { bytes: b.bytes / n, rule: `${b.rule}, shared by ${n} ranks` } : b;
  };
  const hosts = o.group.hosts.map((h, rank) => ({ host: rankAddress(h) && h.ssh !== rankAddress(h) ? `${h.ssh} (${rankAddress(h)})` : h.ssh, budget: budgetOf(h, rank) }));
  const fit = fitGroup(o.estimate, hosts, choice.parallel, facts?.layers);
  return { fit, parallelNote: choice.note, assumed };
}

export interface SplitFitReport {
  /** How the lines are shown: info (fits or tight), warn (too big even split), error (cannot split). */
  kind: 'info' | 'warn' | 'error';
  lines: string[];
  fit?: GroupFit;
  problem?: string;
}

/**
 * The split fit of `model` at `context` over the group, as the user sees it: the wizard's split
 * step and `setup --yes --split-hosts` show these same lines (per rank: its host, its share of the
 * weights, its KV, against that host's budget, fits / tight / too-big; then the whole group).
 */
export async function splitFitReport(o: {
  group: Group;
  model: string;
  context: number;
  catalogue: Pick<Catalogue, 'budget' | 'cached' | 'curated' | 'hub'>;
  memory?: Map<string, number>;
  env: Env;
}): Promise<SplitFitReport> {
  const estimate = estimateModelMemory(estimateInput(sizingIn(o.catalogue as Catalogue, o.model), o.context));
  const r = await splitFit({ group: o.group, model: o.model, estimate, budgetHere: o.catalogue.budget, ...(o.memory ? { memory: o.memory } : {}), env: o.env });
  if ('problem' in r) return { kind: 'error', lines: [r.problem], problem: r.problem };
  return { kind: r.fit.label === 'too-big' ? 'warn' : 'info', lines: splitFitLines(r), fit: r.fit };
}

/** The split fit as lines for the screen. */
export function splitFitLines(r: { fit: GroupFit; parallelNote: string; assumed: string[] }): string[] {
  return [
    `Split: ${r.parallelNote}.`,
    ...r.fit.ranks.map((k) => `  ${k.arithmetic}`),
    ...(r.assumed.length ? [`  (${r.assumed.join(', ')}: memory not read, taken as this Mac's; give memoryGB in plan.yaml to be exact)`] : []),
    `The group: ${r.fit.label === 'too-big' ? 'too big even split' : r.fit.label}.`,
  ];
}
