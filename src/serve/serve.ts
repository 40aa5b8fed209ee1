/**
 * `serve` without the terminal: the plan's units under one supervisor, each started process's
 * output appended to its log file. The command (and tests) decide how to show events.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { servedModels } from '../config/names.js';
import type { Plan } from '../config/plan.js';
import type { Env } from '../lib/paths.js';
import { envSecrets, redact } from '../lib/redact.js';
import type { ServerKind } from '../servers/launch.js';
import type { Exec } from '../servers/ports.js';
import { buildUnits } from './units.js';
import { logFileName } from './metrics.js';
import { Supervisor, type RestartPolicy, type SupervisorEvent, type UnitSpec, type UnitStatus } from './supervisor.js';

export interface ServeCaps {
  env: Env;
  kind?: ServerKind;
  exec?: Exec;
  proxyKey?: string;
  readyTimeoutMs: number;
  policy?: RestartPolicy;
  checkEveryMs?: number;
  checkTimeoutMs?: number;
  hungAfter?: number;
  onEvent?: (e: SupervisorEvent) => void;
  /** One `<unit>.log` per unit here; undefined: no log files. */
  logDir?: string;
}

export interface Serving {
  supervisor: Supervisor;
  units: UnitSpec[];
  /** Each unit's first steady state. */
  initial: UnitStatus[];
  /** Paths of the log files, by unit id. */
  logFiles: Map<string, string>;
  stop(): Promise<void>;
}

/** Units and supervisor, not started yet: the caller can hook Ctrl-C before the slow part. */
export interface PreparedServing extends Omit<Serving, 'initial'> {
  start(): Promise<UnitStatus[]>;
}

export async function startServing(plan: Plan, caps: ServeCaps): Promise<Serving> {
  const p = prepareServing(plan, caps);
  const initial = await p.start();
  return { ...p, initial };
}

export { logFileName } from './metrics.js';

export function prepareServing(plan: Plan, caps: ServeCaps): PreparedServing {
  const nameOf = new Map(servedModels(plan).map((m) => [m.model, m.modelName]));
  let supervisor: Supervisor | undefined;
  const modelsUp = () =>
    (supervisor?.snapshot() ?? [])
      .filter((s) => s.kind === 'server' && ['ready', 'adopted', 'remote'].includes(s.state) && s.model)
      .map((s) => nameOf.get(s.model!)!)
      .filter(Boolean);
  const units = buildUnits(plan, {
    env: caps.env,
    ...(caps.kind ? { kind: caps.kind } : {}),
    ...(caps.exec ? { exec: caps.exec } : {}),
    ...(caps.proxyKey ? { proxyKey: caps.proxyKey } : {}),
    modelsUp,
  });

  // What the children print is redacted line by line before it reaches a log file, the
  // dashboard, --verbose or a unit's last words: the proxy's key, the environment's keys, key shapes.
  const secrets = [caps.proxyKey, ...envSecrets(caps.env)];
  for (const u of units) {
    const start = u.start.bind(u);
    u.start = (onLine) => start((line) => onLine(redact(line, secrets)));
  }

  const streams = new Map<string, WriteStream>();
  const logFiles = new Map<string, string>();
  if (caps.logDir) {
    mkdirSync(caps.logDir, { recursive: true, mode: 0o700 });
    for (const u of units) logFiles.set(u.id, join(caps.logDir, logFileName(u.id)));
  }
  const logTo = (id: string, text: string) => {
    const path = logFiles.get(id);
    if (!path) return;
    let s = streams.get(id);
    if (!s) {
      s = createWriteStream(path, { flags: 'a', mode: 0o600 });
      streams.set(id, s);
    }
    s.write(text);
  };

  supervisor = new Supervisor(units, {
    readyTimeoutMs: caps.readyTimeoutMs,
    ...(caps.policy ? { policy: caps.policy } : {}),
    ...(caps.checkEveryMs ? { checkEveryMs: caps.checkEveryMs } : {}),
    ...(caps.checkTimeoutMs ? { checkTimeoutMs: caps.checkTimeoutMs } : {}),
    ...(caps.hungAfter ? { hungAfter: caps.hungAfter } : {}),
    onEvent: (e) => {
      if (e.type === 'log') logTo(e.unitId, `${e.line}\n`);
      else if (e.unit.owned || e.unit.state === 'starting') {
        logTo(e.unit.id, `[aider-mlx ${new Date(e.at).toISOString()}] ${e.unit.state}: ${e.unit.message}\n`);
      }
      caps.onEvent?.(e);
    },
  });
  const sup = supervisor;
  return {
    supervisor: sup,
    units,
    logFiles,
    start: () => sup.start(),
    async stop() {
      await supervisor!.stop();
      await Promise.all([...streams.values()].map((s) => new Promise<void>((r) => s.end(() => r()))));
    },
  };
}
