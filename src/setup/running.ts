/**
 * "Starts or finds": an mlx_lm.server already running on this Mac that serves the chosen model is
 * used where it listens, instead of planning a second one on another port. Found from the local
 * processes' command lines (--model, --port, as `setup --adopt` reads them), then confirmed by
 * asking the port (it must answer as an mlx_lm.server). `setup --yes` and the wizard's proposal
 * both ask this.
 */
import type { RoleName } from '../config/plan.js';
import { describePortHolder, findFreePort, isPortFree, localMlxServers, sameModel, servedModelAt } from '../servers/ports.js';
import { identifyServer } from '../servers/probe.js';
import { isLoopback } from '../serve/remote.js';
import { redact } from '../lib/redact.js';

export interface RunningServer {
  pid: number;
  host: string;
  port: number;
}

export interface FindRunningOptions {
  /** Where the plan's servers listen: only a loopback host can reuse a local process. */
  host: string;
  home?: string;
  signal?: AbortSignal;
  /** The local processes (tests); default: /proc, else ps. */
  processes?: () => Promise<Array<{ pid: number; argv: string[] }>>;
}

/** For each model, a local mlx_lm.server serving it that answers on its port (first found). */
export async function findRunningServers(models: string[], o: FindRunningOptions): Promise<Map<string, RunningServer>> {
  const found = new Map<string, RunningServer>();
  if (!models.length || !isLoopback(o.host)) return found;
  const procs = await localMlxServers(o.processes).catch(() => []);
  for (const model of new Set(models)) {
    for (const p of procs.filter((x) => sameModel(x.model, model, o.home))) {
      // A server bound to all addresses answers on the loopback too.
      if (!isLoopback(p.host) && p.host !== '0.0.0.0') continue;
      if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) continue;
      const who = await identifyServer(o.host, p.port, { timeoutMs: 2000, ...(o.signal ? { signal: o.signal } : {}) }).catch(() => undefined);
      if (who?.kind !== 'mlx_lm.server') continue;
      found.set(model, { pid: p.pid, host: o.host, port: p.port });
      break;
    }
  }
  return found;
}

/** The line that says so (the proposal's "ports:" notes). */
export function reusedLine(role: string, model: string, r: RunningServer): string {
  return `the ${role}'s ${model} is already served by mlx_lm.server (pid ${r.pid}) on ${r.host}:${r.port}: reused`;
}

// ---- ports held by others ------------------------------------------------------------------

export type PortKey = RoleName | 'proxy';

export interface PortSlot {
  key: PortKey;
  /** The model that will listen there (none for the proxy). */
  model?: string;
  port: number;
  fixed: boolean;
  state: 'free' | 'ours' | 'taken';
  /** Who holds it, in words. */
  holder?: string;
  /** A free port to use instead (not for ports a flag gave). */
  instead?: number;
  /** Held by an mlx_lm.server whose model could not be read (it may be the right one). */
  unsure?: boolean;
}

/**
 * checkPorts for any list of ports (`setup --yes` too): a held port not given by a flag gets the
 * next free one as `instead`; `started`: what this run itself started on a port.
 */
export async function checkPortSlots(
  slots: Array<Pick<PortSlot, 'key' | 'model' | 'port' | 'fixed'>>,
  o: { host: string; signal?: AbortSignal; home?: string; started?: (port: number) => { model?: string } | undefined; avoid?: number[] },
): Promise<PortSlot[]> {
  const { host, signal } = o;
  // `avoid`: ports promised to others that are not checked here (a flag's, say).
  const promised = [...slots.map((s) => s.port), ...(o.avoid ?? [])];
  const out: PortSlot[] = [];
  for (const s of slots) {
    const started = o.started?.(s.port);
    if (started && started.model === s.model) {
      out.push({ ...s, state: 'ours', holder: 'started by this wizard' });
      continue;
    }
    const clash = out.some((o) => o.port === s.port);
    if (!clash && (await isPortFree(host, s.port))) {
      out.push({ ...s, state: 'free' });
      continue;
    }
    let holder: string | undefined;
    let ours = false;
    let unsure = false;
    if (clash) holder = `also the ${out.find((o) => o.port === s.port)!.key}'s port`;
    else {
      const who = await identifyServer(host, s.port, { timeoutMs: 3000, ...(signal ? { signal } : {}) });
      if (who.kind === 'mlx_lm.server') {
        // Reused only when it is known to serve this model: its command line, not its cache listing.
        const served = await servedModelAt(host, s.port, who.models);
        ours = s.model !== undefined && served.model !== undefined && sameModel(served.model, s.model, o.home);
        holder = `mlx_lm.server${served.model ? ` serving ${served.model}` : ' (which model it serves could not be read)'}`;
        unsure = served.model === undefined;
      } else if (who.kind === 'litellm') {
        ours = s.key === 'proxy';
        holder = 'a LiteLLM proxy';
      } else {
        const p = await describePortHolder(s.port).catch(() => undefined);
        // Its command line may carry a key (--api-key …): redacted before it is shown.
        holder = p ? `${p.command} (pid ${p.pid}${p.commandLine ? `: ${redact(p.commandLine).slice(0, 60)}` : ''})` : (who.looksLike ?? 'another program');
      }
    }
    if (ours) {
      out.push({ ...s, state: 'ours', holder });
      continue;
    }
    const slot: PortSlot = { ...s, state: 'taken', holder, ...(unsure ? { unsure } : {}) };
    if (!s.fixed) {
      slot.instead = await findFreePort(host, s.port + 1, { avoid: [...promised, ...out.map((o) => o.instead ?? o.port)] });
    }
    out.push(slot);
  }
  return out;
}

