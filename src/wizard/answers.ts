/**
 * `--answers FILE`: a YAML or JSON file with the plan's keys (a plan.yaml from another Mac works
 * as is). It becomes setup flags, so it is validated exactly like them; flags on the command line
 * win over the file.
 */
import { parse, YAMLError } from 'yaml';
import { yamlReason } from '../config/yaml-error.js';
import { AppError, UsageError } from '../errors.js';
import { ROLE_NAMES } from '../config/plan.js';
import { MAX_CONFIG_BYTES, readBounded } from '../lib/read-bounded.js';

interface RoleAnswers {
  model?: unknown;
  context?: unknown;
  port?: unknown;
  host?: unknown;
  deployments?: Array<{ host?: unknown; port?: unknown }>;
}

export async function answersToArgs(path: string): Promise<string[]> {
  let text: string;
  try {
    text = (await readBounded(path, { what: 'The answers file', maxBytes: MAX_CONFIG_BYTES, over: 'refuse', tryThis: 'Give --answers a YAML or JSON file with the plan\'s keys (a plan.yaml works).' })).text;
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new UsageError(`Cannot read the answers file ${path}: ${(e as Error).message}.`);
  }
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 100 });
  } catch (e) {
    // A parse error names its place once (the library's own message repeats it and ends in ":").
    const pos = e instanceof YAMLError ? e.linePos?.[0] : undefined;
    const why = e instanceof YAMLError ? yamlReason(e) : (e as Error).message.split('\n')[0];
    throw new UsageError(`${path}${pos ? ` line ${pos.line}, column ${pos.col}` : ''} is not YAML or JSON: ${why}.`, 'Fix that line, or use the keys of plan.yaml: mode, roles.editor.model, roles.editor.port, aider.scope…');
  }
  if (!doc || typeof doc !== 'object') throw new UsageError(`${path} holds no answers.`, 'For example:  roles: { editor: { model: mlx-community/Qwen2.5-Coder-7B-Instruct-4bit } }');
  return planToArgs(doc, path);
}

/** Plan-shaped answers (a whole plan, or some of its keys) as setup flags. */
export function planToArgs(doc: object, source = 'the plan'): string[] {
  const path = source;
  const a = doc as { mode?: unknown; roles?: Record<string, RoleAnswers>; proxy?: { port?: unknown }; requestTimeout?: unknown; aider?: { scope?: unknown }; host?: unknown; scope?: unknown };
  const args: string[] = [];
  const push = (flag: string, v: unknown) => {
    if (v === undefined || v === null) return;
    if (typeof v === 'object') throw new UsageError(`${path}: "${flag.slice(2)}" must be a single value.`);
    args.push(flag, String(v));
  };
  push('--mode', a.mode);
  push('--scope', a.aider?.scope ?? a.scope);
  push('--proxy-port', a.proxy?.port);
  push('--request-timeout', a.requestTimeout);
  let host = a.host;
  const contexts: number[] = [];
  const roles: unknown = a.roles;
  if (roles !== undefined && roles !== null && (typeof roles !== 'object' || Array.isArray(roles))) {
    throw new UsageError(
      `${path}: "roles" must be a list of roles by name (editor, architect, weak), each with its model (got ${Array.isArray(roles) ? 'a YAML list' : JSON.stringify(roles)}).`,
      'For example:  roles: { editor: { model: mlx-community/Qwen2.5-Coder-7B-Instruct-4bit, port: 8080 } }',
    );
  }
  for (const [name, role] of Object.entries(a.roles ?? {})) {
    if (!(ROLE_NAMES as readonly string[]).includes(name)) throw new UsageError(`${path}: unknown role "${name}".`, `Roles are ${ROLE_NAMES.join(', ')}.`);
    if (!role || typeof role !== 'object') continue;
    push(`--${name}`, role.model);
    const d = role.deployments?.[0];
    push(`--${name}-port`, role.port ?? d?.port);
    host ??= role.host ?? d?.host;
    if (typeof role.context === 'number') contexts.push(role.context);
  }
  push('--host', host);
  if (contexts.length) push('--context', Math.max(...contexts));
  return args;
}
