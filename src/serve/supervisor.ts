/**
 * Keeps a set of processes up: start each one, wait until it really answers, watch it, restart it
 * with backoff when it crashes or stops answering, give up (and say why) when it keeps failing.
 * A unit whose port already answers with the right thing is adopted: watched, never started,
 * never stopped. Knows nothing about MLX or LiteLLM: `units.ts` describes those.
 */
import { sleep } from '../lib/sleep.js';

export type UnitState =
  /** Not looked at yet, or waiting for the units it depends on. */
  | 'waiting'
  | 'starting'
  | 'ready'
  /** Something we did not start answers correctly on the port: used as is. */
  | 'adopted'
  /** Another machine's server: watched only. */
  | 'remote'
  /** An adopted or remote server that stopped answering. */
  | 'down'
  /** Crashed or failed to start: a restart is scheduled. */
  | 'backoff'
  /** Gave up after too many failures in a row. */
  | 'failed'
  /** The port is held by something else; nothing was started. */
  | 'blocked'
  | 'stopping'
  | 'stopped';

export interface UnitProcess {
  pid: number | undefined;
  /** A unit of several processes (a group's ranks): every one's pid, each its own process group. */
  pids?: number[];
  /** Resolves with the exit code (null: killed by a signal). */
  exited: Promise<number | null>;
  /** Recent output lines. */
  log: string[];
  /** SIGTERM to the process group, SIGKILL after a grace period. */
  stop(): Promise<void>;
}

export type Inspection =
  | { action: 'start'; note?: string }
  | { action: 'adopt'; note: string; pid?: number }
  | { action: 'remote'; note: string }
  | { action: 'blocked'; reason: string };

export interface ReadyResult {
  ok: boolean;
  message: string;
}

export interface UnitSpec {
  id: string;
  kind: 'server' | 'proxy';
  /** e.g. "editor + weak" or "proxy". */
  label: string;
  model?: string;
  host: string;
  port: number;
  /** Ids of units that must be up (or given up on) before this one starts. */
  after?: string[];
  /** Who answers on the port now: start, adopt, watch remotely, or report and leave alone. */
  inspect(signal: AbortSignal): Promise<Inspection>;
  start(onLine: (line: string) => void): Promise<UnitProcess>;
  /** A real request through the unit (a 1-token completion); `signal` aborts when the process dies. */
  ready(signal: AbortSignal, timeoutMs: number): Promise<ReadyResult>;
  /**
   * Cheap liveness: any HTTP answer within the timeout. Must not generate. `broken`: it answers
   * but says it cannot work (restart now, no more checks).
   */
  alive(signal: AbortSignal, timeoutMs: number): Promise<boolean | { broken: string }>;
  /**
   * Read the output of a process that exited while starting: a cause no restart can fix (its port
   * cannot be bound), in words, or undefined. The unit then fails at once instead of backing off.
   */
  fatal?(log: string[]): Promise<string | undefined> | string | undefined;
}

export interface RestartPolicy {
  /** Wait before restart n (the last one repeats). */
  delaysMs: number[];
  /** Failures in a row before giving up. */
  maxFailures: number;
  /** Up this long and the failure count starts again from zero. */
  stableMs: number;
}

export const DEFAULT_POLICY: RestartPolicy = {
  delaysMs: [1000, 2000, 4000, 8000, 16000, 30000],
  maxFailures: 6,
  stableMs: 60_000,
};

export interface SupervisorOptions {
  policy?: RestartPolicy;
  /** How long a start may take to answer a completion (a first download can take many minutes). */
  readyTimeoutMs: number;
  /** Liveness probe period and timeout. */
  checkEveryMs?: number;
  checkTimeoutMs?: number;
  /** Failed liveness probes in a row that count as "hung". */
  hungAfter?: number;
  onEvent?: (e: SupervisorEvent) => void;
}

export interface UnitStatus {
  id: string;
  kind: UnitSpec['kind'];
  label: string;
  model?: string;
  host: string;
  port: number;
  state: UnitState;
  /** Why it is in that state, in a line. */
  message: string;
  pid?: number;
  /** Every process of the unit (a group's ranks). */
  pids?: number[];
  /** We started it (and so stop it). */
  owned: boolean;
  restarts: number;
  failures: number;
  since: number;
  logTail: string[];
}

export type SupervisorEvent =
  | { type: 'state'; at: number; unit: UnitStatus; previous: UnitState }
  | { type: 'log'; at: number; unitId: string; line: string };

const LOG_TAIL = 50;

export class Supervisor {
  private readonly units: UnitSpec[];
  private readonly status = new Map<string, UnitStatus>();
  private readonly procs = new Map<string, UnitProcess>();
  private readonly settled = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  private readonly stopCtl = new AbortController();
  private readonly policy: RestartPolicy;
  private loops: Array<Promise<void>> = [];

  constructor(units: UnitSpec[], private readonly opts: SupervisorOptions) {
    this.units = units;
    this.policy = opts.policy ?? DEFAULT_POLICY;
    for (const u of units) {
      this.status.set(u.id, {
        id: u.id, kind: u.kind, label: u.label, ...(u.model ? { model: u.model } : {}), host: u.host, port: u.port,
        state: 'waiting', message: 'waiting', owned: false, restarts: 0, failures: 0, since: Date.now(), logTail: [],
      });
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.settled.set(u.id, { promise, resolve });
    }
  }

  /** Start every unit; resolves once each has reached its first steady state (up, failed, blocked…). */
  async start(): Promise<UnitStatus[]> {
    this.loops = this.units.map((u) => this.runUnit(u));
    await Promise.all([...this.settled.values()].map((s) => s.promise));
    return this.snapshot();
  }

  snapshot(): UnitStatus[] {
    return this.units.map((u) => ({ ...this.status.get(u.id)!, logTail: [...this.status.get(u.id)!.logTail] }));
  }

  /** Stop what we started (never an adopted or remote server) and wait for it to exit. */
  async stop(): Promise<void> {
    this.stopCtl.abort();
    await Promise.all(
      [...this.procs.entries()].map(async ([id, p]) => {
        this.set(id, 'stopping', 'stopping');
        await p.stop();
      }),
    );
    await Promise.all(this.loops);
    for (const u of this.units) {
      const s = this.status.get(u.id)!;
      if (s.owned && s.state !== 'stopped') this.set(u.id, 'stopped', 'stopped', { pid: undefined });
    }
  }

  get stopping(): boolean {
    return this.stopCtl.signal.aborted;
  }

  private set(id: string, state: UnitState, message: string, extra: Partial<UnitStatus> = {}): void {
    const s = this.status.get(id)!;
    const previous = s.state;
    Object.assign(s, extra, { state, message, since: Date.now() });
    if ('pid' in extra && extra.pid === undefined) {
      delete s.pid;
      delete s.pids;
    }
    this.opts.onEvent?.({ type: 'state', at: Date.now(), unit: { ...s, logTail: [...s.logTail] }, previous });
  }

  private settle(id: string): void {
    this.settled.get(id)!.resolve();
  }

  private onLine(id: string, line: string): void {
    const s = this.status.get(id)!;
    s.logTail.push(line);
    if (s.logTail.length > LOG_TAIL) s.logTail.shift();
    this.opts.onEvent?.({ type: 'log', at: Date.now(), unitId: id, line });
  }

  private async runUnit(u: UnitSpec): Promise<void> {
    const stop = this.stopCtl.signal;
    try {
      for (const dep of u.after ?? []) await Promise.race([this.settled.get(dep)?.promise, aborted(stop)]);
      let upSince: number | undefined;
      while (!stop.aborted) {
        const seen = await u.inspect(stop);
        if (stop.aborted) break;
        if (seen.action === 'blocked') {
          this.set(u.id, 'blocked', seen.reason);
          this.settle(u.id);
          return;
        }
        if (seen.action === 'remote' || seen.action === 'adopt') {
          const state = seen.action === 'remote' ? 'remote' : 'adopted';
          // Another machine's server is not ours to wait minutes for: the proxy waits on it.
          const up = await u.ready(stop, seen.action === 'remote' ? Math.min(this.opts.readyTimeoutMs, 15_000) : this.opts.readyTimeoutMs);
          if (stop.aborted) break;
          this.set(u.id, up.ok ? state : 'down', up.ok ? seen.note : `${seen.note}; ${up.message}`, {
            owned: false, ...(seen.action === 'adopt' && seen.pid ? { pid: seen.pid } : {}),
          });
          this.settle(u.id);
          const lost = await this.watch(u, undefined);
          if (stop.aborted) break;
          if (seen.action === 'remote') {
            this.set(u.id, 'down', `${seen.note}; not answering`);
            await this.waitUntilAlive(u);
            continue;
          }
          this.set(u.id, 'down', `the server we adopted ${lost}; starting our own`, { pid: undefined });
          continue;
        }

        // Start our own.
        const status = this.status.get(u.id)!;
        this.set(u.id, 'starting', status.restarts ? `restart ${status.restarts}` : (seen.note ?? 'starting'), { owned: true });
        let proc: UnitProcess;
        try {
          proc = await u.start((l) => this.onLine(u.id, l));
        } catch (e) {
          // Not installed, no config: restarting will not help.
          this.set(u.id, 'failed', (e as Error).message, { owned: false });
          this.settle(u.id);
          return;
        }
        if (stop.aborted) {
          await proc.stop();
          break;
        }
        this.procs.set(u.id, proc);
        this.status.get(u.id)!.pid = proc.pid;
        if (proc.pids) this.status.get(u.id)!.pids = [...proc.pids];
        let exitCode: number | null | undefined;
        void proc.exited.then((c) => (exitCode = c));
        const died = new AbortController();
        void proc.exited.then(() => died.abort());
        const started = Date.now();
        const r = await u.ready(AbortSignal.any([stop, died.signal]), this.opts.readyTimeoutMs);
        if (stop.aborted) break;

        let why: string;
        if (r.ok) {
          upSince = Date.now();
          const took = `ready in ${((upSince - started) / 1000).toFixed(1)} s${status.restarts ? ` (restart ${status.restarts})` : ''}`;
          this.set(u.id, 'ready', r.message ? `${took}: ${r.message}` : took, { pid: proc.pid, ...(proc.pids ? { pids: [...proc.pids] } : {}) });
          this.settle(u.id);
          why = await this.watch(u, proc);
          if (stop.aborted) break;
        } else if (died.signal.aborted) {
          await proc.exited;
          why = `exited while starting (${describeExit(exitCode)})`;
          const cause = await u.fatal?.(proc.log.length ? proc.log : this.status.get(u.id)!.logTail);
          if (cause) {
            await this.kill(proc);
            this.procs.delete(u.id);
            if (stop.aborted) break;
            this.status.get(u.id)!.failures++;
            this.set(u.id, 'failed', `${why}: ${cause}; not restarted (a restart would fail the same way)`, { pid: undefined });
            this.settle(u.id);
            return;
          }
        } else {
          why = `did not answer a completion: ${r.message}`;
        }
        await this.kill(proc);
        this.procs.delete(u.id);
        if (stop.aborted) break;

        // Backoff: failures in a row, forgiven after a stable run.
        const s = this.status.get(u.id)!;
        if (upSince !== undefined && Date.now() - upSince >= this.policy.stableMs) s.failures = 0;
        upSince = undefined;
        s.failures++;
        const tail = s.logTail.slice(-3).join(' | ');
        if (s.failures >= this.policy.maxFailures) {
          this.set(u.id, 'failed', `${why}; gave up after ${s.failures} failures in a row${tail ? ` — last output: ${tail}` : ''}`, { pid: undefined });
          this.settle(u.id);
          return;
        }
        const delay = this.policy.delaysMs[Math.min(s.failures - 1, this.policy.delaysMs.length - 1)] ?? 1000;
        this.set(u.id, 'backoff', `${why}; restarting in ${formatDelay(delay)} (${s.failures} of ${this.policy.maxFailures})`, {
          pid: undefined, restarts: s.restarts + 1,
        });
        if (!(await sleep(delay, stop))) break;
      }
    } finally {
      this.settle(u.id);
    }
  }

  /**
   * Until the process exits or stops answering (or, without a process, until the adopted server
   * stops answering): resolves with what happened, in words.
   */
  private async watch(u: UnitSpec, proc: UnitProcess | undefined): Promise<string> {
    const stop = this.stopCtl.signal;
    const every = this.opts.checkEveryMs ?? 5000;
    const timeout = this.opts.checkTimeoutMs ?? 5000;
    const hungAfter = this.opts.hungAfter ?? 3;
    let exit: number | null | undefined;
    let exited = false;
    const died = new AbortController();
    void proc?.exited.then((c) => {
      exit = c;
      exited = true;
      died.abort();
    });
    const signal = AbortSignal.any([stop, died.signal]);
    let misses = 0;
    while (!signal.aborted) {
      if (!(await sleep(every, signal))) break;
      const ok = await u.alive(signal, timeout);
      if (signal.aborted) break;
      if (typeof ok === 'object') return ok.broken;
      misses = ok ? 0 : misses + 1;
      if (misses >= hungAfter) {
        return proc ? `stopped answering (${misses} checks in a row)` : 'stopped answering';
      }
    }
    if (exited) return `crashed (${describeExit(exit)})`;
    return 'stopped';
  }

  private async waitUntilAlive(u: UnitSpec): Promise<void> {
    const stop = this.stopCtl.signal;
    while (!stop.aborted) {
      if (!(await sleep(this.opts.checkEveryMs ?? 5000, stop))) return;
      if ((await u.alive(stop, this.opts.checkTimeoutMs ?? 5000)) === true) return;
    }
  }

  /** A hung process may ignore SIGTERM (or be stopped): the group gets SIGKILL at once. */
  private async kill(proc: UnitProcess): Promise<void> {
    for (const pid of proc.pids ?? (proc.pid !== undefined ? [proc.pid] : [])) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await proc.stop();
  }
}

export function describeExit(code: number | null | undefined): string {
  if (code === null) return 'killed by a signal';
  if (code === undefined) return 'still running';
  return `exit code ${code}`;
}

export function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
