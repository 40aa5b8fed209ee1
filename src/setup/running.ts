/**
 * "Starts or finds": an mlx_lm.server already running on this Mac that serves the chosen model is
 * used where it listens, instead of planning a second one on another port. Found from the local
 * processes' command lines (--model, --port, as `setup --adopt` reads them), then confirmed by
 * asking the port (it must answer as an mlx_lm.server). `setup --yes` and the wizard's proposal
 * both ask this.
 */
import { localMlxServers, sameModel } from '../servers/ports.js';
import { identifyServer } from '../servers/probe.js';
import { isLoopback } from '../serve/remote.js';

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
