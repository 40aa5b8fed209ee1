/**
 * What the servers' own logs say since they last started, for the servers aider-mlx runs (`serve`,
 * `service`): a request path they do not serve (SPEC §4 #2), a model name looked up on the Hub
 * (#19, the log side of #1), a download (#6), a port taken (#8), dropped requests (#16), LiteLLM
 * refusing to start. Read-only, the tail of each file.
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ownedLocations } from '../../service/locations.js';
import { tildify, type Env } from '../../lib/paths.js';
import { parseErrorText, type ErrorSignal } from '../error-text.js';
import { suspectsFromText } from '../causes.js';
import type { DoctorCheck } from '../types.js';
import type { Plan } from '../../config/plan.js';

const TAIL = 256 * 1024;

/** Lines that mark a (re)start: what came before belongs to an earlier run. */
const START = /Starting httpd at|Uvicorn running on|LiteLLM: Proxy initialized|Application startup complete/;

const SAY: Partial<Record<ErrorSignal, string>> = {
  'server-log-bad-path': 'a request to a path mlx_lm.server does not serve got 404',
  'server-log-hub-lookup': 'the server looked a model name up on the Hub (a name that is not its --model)',
  'hf-repo-not-found': 'a model name was not found on the Hub',
  'repo-id-invalid': 'a model name that is not even a repo id reached the server',
  'model-download': 'the server downloaded a model (a request named a different repo)',
  'address-in-use': 'the port was already taken at start',
  'proxy-needs-master-key': 'LiteLLM refused to start without a master key',
  'remote-closed': 'requests were dropped without a response',
  'bad-parameter': 'a request parameter failed validation',
  'no-deployments': 'the proxy put a model on cooldown',
  'invalid-model-name': 'the proxy got a model name it does not serve',
  'auth-rejected': 'the proxy refused a key',
  'timeout': 'requests timed out',
};

function tail(path: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const len = Math.min(size, TAIL);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function sinceLastStart(text: string): string {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) if (START.test(lines[i]!)) return lines.slice(i).join('\n');
  return text;
}

export function logChecks(env: Env): DoctorCheck[] {
  const dir = ownedLocations(env).logs;
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.log'));
  } catch {
    files = [];
  }
  const c = { id: 'server.logs', group: 'server' as const, title: 'server and proxy logs since their last start' };
  if (!files.length) return [{ ...c, status: 'skip', observed: `not checked: no logs in ${tildify(dir, env)} (servers not started by \`aider-mlx serve\` or \`service\`)` }];
  const rows: string[] = [];
  const causes = new Set<string>();
  for (const f of files.sort()) {
    const p = parseErrorText(sinceLastStart(tail(join(dir, f))));
    const said = p.signals.map((s) => SAY[s]).filter((x): x is string => !!x);
    if (!said.length) continue;
    rows.push(`${f}: ${[...new Set(said)].join('; ')}${p.requestPath ? ` (${p.requestPath})` : ''}${p.upstreamModel ? ` ("${p.upstreamModel}")` : ''}`);
    for (const s of suspectsFromText(p)) causes.add(s.cause);
    if (p.signals.includes('server-log-hub-lookup')) causes.add('C19');
  }
  if (!rows.length) return [{ ...c, status: 'pass', observed: `${files.length} log${files.length === 1 ? '' : 's'} in ${tildify(dir, env)}: nothing wrong since the last start` }];
  return [
    {
      ...c,
      title: 'the server logs show failures since the last start',
      status: 'warn',
      observed: rows.join('; '),
      expected: 'no failed requests',
      fix: `Read the lines in ${tildify(dir, env)}; the checks above say which setting sent them. \`aider-mlx doctor --error-file <log>\` weighs them.`,
      causes: [...causes],
    },
  ];
}

/**
 * The prompt cache of each server (proxy mode): the hit rate of recent turns from the proxy's
 * turns log, and for the last miss why. A miss that moving a conversation or a full cache caused
 * is a warning: those are what make follow-up turns re-process the whole prompt.
 */
export async function promptCacheCheck(plan: Plan | undefined, env: Env): Promise<DoctorCheck> {
  const c = { id: 'server.prompt_cache', group: 'server' as const, title: "servers' prompt cache over recent turns" };
  if (!plan) return { ...c, status: 'skip', observed: 'not checked: no plan' };
  if (plan.mode !== 'proxy') return { ...c, status: 'skip', observed: 'not checked: in direct mode Aider talks to the servers itself, and no proxy notes the turns' };
  const loc = ownedLocations(env);
  const none = { ...c, status: 'skip' as const, observed: `not checked: no turns noted yet in ${tildify(loc.turns, env)} (the proxy notes each answer once it runs the config aider-mlx wrote)` };
  // No turns log, no turns: the status code that reads it (and the process helpers it brings) is not loaded.
  if (!existsSync(loc.turns)) return none;
  const { promptCaches } = await import('../../serve/metrics.js');
  const rows = (promptCaches(plan, env) ?? []).filter((r) => r.report);
  if (!rows.some((r) => r.report!.turns > 0)) return none;
  const lines = rows.map((r) => [`${r.roles.join(' + ')} on ${r.host}:${r.port}: ${r.report!.line}`, ...(r.report!.lastMiss ? [`last miss: ${r.report!.lastMiss.reason}`] : []), ...(r.report!.cacheNow ? [r.report!.cacheNow] : [])].join('; '));
  const hits = rows.reduce((n, r) => n + r.report!.hits, 0);
  const turns = rows.reduce((n, r) => n + r.report!.turns, 0);
  const title = `servers' prompt cache: ${hits} of ${turns} recent turn${turns === 1 ? '' : 's'} hit${rows.length > 1 ? ` on ${rows.length} servers` : ''}`;
  const kinds = new Set(rows.map((r) => r.report!.lastMiss?.kind));
  const fixes: string[] = [];
  if (kinds.has('other-server')) fixes.push('keep each conversation on one server: run `aider-mlx setup` again (it routes a session to the server holding its cache) and start Aider with `aider-mlx aider`');
  if (kinds.has('cache-full')) fixes.push('the cache is at its bound: give that server fewer roles or a smaller context in `aider-mlx reconfigure`, or more memory for --prompt-cache-bytes');
  return fixes.length
    ? { ...c, title, status: 'warn', observed: lines.join(' | '), expected: 'follow-up turns find their conversation in the cache', fix: fixes.join('; ') }
    : { ...c, title, status: 'pass', observed: lines.join(' | ') };
}
