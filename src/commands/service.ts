/** `aider-mlx service install|uninstall|status [--json]`: start the servers and proxy at login (macOS). */
import { parseFlags } from '../lib/args.js';
import { EXIT, UsageError } from '../errors.js';
import { run } from '../lib/exec.js';
import { configPaths, tildify, type Env, selfCommand } from '../lib/paths.js';
import { readPlan } from '../config/plan-file.js';
import type { Exec } from '../servers/ports.js';
import { agentStatus, formatAgentStatus, installAgents, installReportLines, NotMacError, uninstallAgents } from '../service/launchd.js';
import { ownedLocations } from '../service/locations.js';

const USAGE = 'Usage: aider-mlx service install|uninstall|status [--json]';

export interface ServiceIo {
  env: Env;
  out: (s: string) => void;
  err: (s: string) => void;
  exec?: Exec;
  uid?: number;
  platform?: NodeJS.Platform;
}

export async function runService(args: string[], io: ServiceIo): Promise<number> {
  const parsed = parseFlags(args, { json: { type: 'boolean' } }, { command: 'service', usage: USAGE, allowPositionals: true });
  const values = parsed.values as { json?: boolean };
  const { positionals } = parsed;
  const [action, ...rest] = positionals;
  if (!action || rest.length || !['install', 'uninstall', 'status'].includes(action)) {
    throw new UsageError(action ? `Unknown service action "${[action, ...rest].join(' ')}".` : 'service needs an action.', USAGE);
  }
  const { env } = io;
  const caps = { env, exec: io.exec ?? run, uid: io.uid ?? process.getuid?.() ?? 501, platform: io.platform ?? process.platform };
  const loc = ownedLocations(env, caps.platform);
  try {
    if (action === 'install') {
      // Off macOS the answer is the same with or without a plan: say that first.
      if (caps.platform !== 'darwin') throw new NotMacError(caps.platform);
      const plan = await readPlan(env);
      if (!plan) throw new UsageError(`No plan yet at ${tildify(configPaths(env).plan, env)}.`, `Run \`${selfCommand()} setup\` first.`);
      const r = await installAgents(plan, caps);
      if (values.json) {
        io.out(JSON.stringify({ ok: r.failed.length === 0, ...r, installed: r.installed.map(({ plist: _p, ...a }) => a) }, null, 2) + '\n');
      } else {
        const lines = installReportLines(r, env);
        lines.push(
          r.failed.length
            ? 'Some agents did not load (above).'
            : 'They run now and start again at every login; launchd restarts one that exits (10 s apart). `aider-mlx service status` shows them.',
        );
        if (r.installed.length) lines.push('Stop `aider-mlx serve` if it runs: both would want the same ports.');
        io.out(lines.join('\n') + '\n');
      }
      return r.failed.length ? EXIT.verify : EXIT.ok;
    }
    if (action === 'uninstall') {
      const removed = await uninstallAgents(caps);
      if (values.json) io.out(JSON.stringify({ ok: true, removed }, null, 2) + '\n');
      else io.out(removed.length ? removed.map((l) => `✓ ${l}: stopped and removed`).join('\n') + '\n' : 'No aider-mlx agents were installed.\n');
      return EXIT.ok;
    }
    const list = await agentStatus(caps);
    if (values.json) io.out(JSON.stringify({ ok: list.every((a) => a.loaded && a.pid), agents: list, logs: loc.logs }, null, 2) + '\n');
    else io.out(formatAgentStatus(list, env, loc.logs));
    return list.every((a) => a.loaded && a.pid) ? EXIT.ok : EXIT.verify;
  } catch (e) {
    if (e instanceof NotMacError) {
      if (values.json) io.out(JSON.stringify({ ok: false, supported: false, message: e.message }) + '\n');
      else io.out(`${e.message}\n  → ${e.tryThis}\n`);
      return EXIT.ok;
    }
    throw e;
  }
}

export async function runServiceCommand(args: string[]): Promise<number> {
  return runService(args, { env: process.env, out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) });
}
