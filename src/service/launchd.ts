/**
 * Install, remove and inspect our launchd agents (`launchctl bootstrap|bootout|print` in the
 * user's GUI domain). Every capability is a parameter: tests run the macOS path on any system
 * with a recording launchctl.
 */
import * as fsp from 'node:fs/promises';
import { which } from '../lib/exec.js';
import { atomicWriteFile } from '../lib/fs.js';
import { tildify, type Env } from '../lib/paths.js';
import type { Plan } from '../config/plan.js';
import { findLitellm } from '../servers/litellm.js';
import { safeLitellmInstall } from '../lib/compromised.js';
import type { Exec } from '../servers/ports.js';
import { toolEnv } from '../serve/units.js';
import { isLoopback } from '../serve/remote.js';
import { AppError, UsageError } from '../errors.js';
import { agentsForPlan, type Agent } from './agents.js';
import { AGENT_PREFIX, ownedLocations } from './locations.js';

export interface LaunchdCaps {
  env: Env;
  exec: Exec;
  uid: number;
  platform: NodeJS.Platform;
}

export class NotMacError extends AppError {
  constructor(platform: string) {
    super(
      `Start-at-login agents are for macOS (launchd); this is ${platform}, so nothing was written.`,
      'Run `aider-mlx serve` in a terminal, or wrap it in your own service manager (systemd --user, for example).',
      0,
    );
    this.name = 'NotMacError';
  }
}

const domain = (uid: number) => `gui/${uid}`;

export type LoginServiceOffer = { offered: true } | { offered: false; reason: string };

/**
 * "Keep the servers up at login": offered only where launchd is (macOS, with launchctl found).
 * Elsewhere the reason is one line, said when the user asked for it (--at-login).
 */
export function loginServiceOffer(o: { platform: NodeJS.Platform | string; launchctl: string | undefined }): LoginServiceOffer {
  if (o.platform !== 'darwin') {
    return { offered: false, reason: `Keeping the servers up at login needs macOS's launchd; this is ${o.platform}: run \`aider-mlx serve\` from your own service manager instead (systemd --user, for example).` };
  }
  if (!o.launchctl) return { offered: false, reason: "Keeping the servers up at login needs macOS's launchd, and launchctl is not on PATH (it is /bin/launchctl on a Mac): add /bin to PATH and run `aider-mlx service install`." };
  return { offered: true };
}

/** What `service install` prints: one line per agent installed, refused, removed or skipped. */
export function installReportLines(r: InstallReport, env: Env): string[] {
  const lines = r.installed.map((a) => `✓ ${a.label}: ${a.title}\n    ${tildify(a.plistPath, env)}, log ${tildify(a.logPath, env)}`);
  for (const f of r.failed) lines.push(`✗ ${f.label}: launchctl refused it: ${f.message}`);
  for (const l of r.removed) lines.push(`– ${l}: removed (no longer in the plan)`);
  for (const s of r.skipped) lines.push(`– ${s}`);
  return lines;
}

/** Our agent files now in ~/Library/LaunchAgents (label → path). */
export async function installedAgents(env: Env, platform: NodeJS.Platform): Promise<Map<string, string>> {
  const dir = ownedLocations(env, platform).launchAgents;
  const out = new Map<string, string>();
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(AGENT_PREFIX) && name.endsWith('.plist')) out.set(name.slice(0, -6), `${dir}/${name}`);
  }
  return out;
}

export interface InstallReport {
  installed: Agent[];
  removed: string[];
  skipped: string[];
  /** launchctl refused these (label → its words). */
  failed: Array<{ label: string; message: string }>;
}

export async function installAgents(plan: Plan, caps: LaunchdCaps): Promise<InstallReport> {
  if (caps.platform !== 'darwin') throw new NotMacError(caps.platform);
  const env = toolEnv(caps.env);
  const loc = ownedLocations(caps.env, caps.platform);
  const needsServer = Object.values(plan.roles).some((r) => r?.deployments.some((d) => isLoopback(d.host)));
  const mlxServer = which('mlx_lm.server', env);
  if (needsServer && !mlxServer) throw new UsageError('mlx_lm.server is not installed (not on PATH).', 'Install it with `aider-mlx install mlx-lm`, then run this again.');
  let litellm: string | undefined;
  if (plan.mode === 'proxy') {
    const lite = await findLitellm(env);
    if (!lite) throw new UsageError('litellm is not installed (not on PATH).', `Install it with \`aider-mlx install litellm\` or ${safeLitellmInstall()}.`);
    if (lite.compromised) throw new UsageError(`${lite.bin} is litellm ${lite.version}, a known-compromised release; no agent will run it.`, `Remove it and reinstall: ${safeLitellmInstall()}`);
    litellm = lite.bin;
  }
  const { agents, skipped } = agentsForPlan(plan, { ...(mlxServer ? { mlxServer } : {}), ...(litellm ? { litellm } : {}) }, env, loc);

  await fsp.mkdir(loc.launchAgents, { recursive: true });
  await fsp.mkdir(loc.logs, { recursive: true, mode: 0o700 });
  await fsp.mkdir(loc.run, { recursive: true, mode: 0o700 });
  const report: InstallReport = { installed: [], removed: [], skipped, failed: [] };

  // Agents of an earlier plan that this one no longer has (a port changed): stopped and removed.
  const wanted = new Set(agents.map((a) => a.label));
  for (const [label, path] of await installedAgents(caps.env, caps.platform)) {
    if (wanted.has(label)) continue;
    await caps.exec('launchctl', ['bootout', `${domain(caps.uid)}/${label}`], { timeoutMs: 15_000 });
    await fsp.rm(path, { force: true });
    report.removed.push(label);
  }
  for (const a of agents) {
    // Unload the old definition first: bootstrap refuses a label that is already loaded.
    await caps.exec('launchctl', ['bootout', `${domain(caps.uid)}/${a.label}`], { timeoutMs: 15_000 });
    await atomicWriteFile(a.plistPath, a.plist, 0o644);
    const r = await caps.exec('launchctl', ['bootstrap', domain(caps.uid), a.plistPath], { timeoutMs: 15_000 });
    if (r.code !== 0) report.failed.push({ label: a.label, message: (r.stderr || r.stdout).trim() || `launchctl exit ${r.code}` });
    else report.installed.push(a);
  }
  return report;
}

export async function uninstallAgents(caps: LaunchdCaps): Promise<string[]> {
  if (caps.platform !== 'darwin') throw new NotMacError(caps.platform);
  const removed: string[] = [];
  for (const [label, path] of await installedAgents(caps.env, caps.platform)) {
    await caps.exec('launchctl', ['bootout', `${domain(caps.uid)}/${label}`], { timeoutMs: 15_000 });
    await fsp.rm(path, { force: true });
    removed.push(label);
  }
  return removed;
}

export interface AgentStatus {
  label: string;
  path: string;
  loaded: boolean;
  state?: string;
  pid?: number;
  lastExit?: string;
  runs?: number;
}

/** Fields of `launchctl print gui/<uid>/<label>` (its format is for people, so read leniently). */
export function parseLaunchctlPrint(text: string): Omit<AgentStatus, 'label' | 'path' | 'loaded'> {
  const field = (name: string) => new RegExp(`^\\s*${name} = (.+)$`, 'm').exec(text)?.[1]?.trim();
  const pid = field('pid');
  const runs = field('runs');
  return {
    ...(field('state') ? { state: field('state')! } : {}),
    ...(pid && /^\d+$/.test(pid) ? { pid: Number(pid) } : {}),
    ...(field('last exit code') ? { lastExit: field('last exit code')! } : {}),
    ...(runs && /^\d+$/.test(runs) ? { runs: Number(runs) } : {}),
  };
}

export async function agentStatus(caps: LaunchdCaps): Promise<AgentStatus[]> {
  if (caps.platform !== 'darwin') throw new NotMacError(caps.platform);
  const out: AgentStatus[] = [];
  for (const [label, path] of await installedAgents(caps.env, caps.platform)) {
    const r = await caps.exec('launchctl', ['print', `${domain(caps.uid)}/${label}`], { timeoutMs: 15_000 });
    out.push({ label, path, loaded: r.code === 0, ...(r.code === 0 ? parseLaunchctlPrint(r.stdout) : {}) });
  }
  return out;
}

export function formatAgentStatus(list: AgentStatus[], env: Env, logsDir: string): string {
  if (list.length === 0) return 'No aider-mlx agents are installed. `aider-mlx service install` adds them.\n';
  const lines = list.map((a) => {
    const what = !a.loaded ? 'not loaded' : a.pid ? `running (pid ${a.pid})` : `${a.state ?? 'loaded'}${a.lastExit ? `, last exit ${a.lastExit}` : ''}`;
    return `${a.loaded && a.pid ? '✓' : '✗'} ${a.label}: ${what}${a.runs !== undefined ? `, started ${a.runs} time${a.runs === 1 ? '' : 's'}` : ''}`;
  });
  lines.push(`Logs: ${tildify(logsDir, env)}/<label>.log`);
  return lines.join('\n') + '\n';
}
