import { UsageError } from '../errors.js';
import { parseFlags } from '../lib/args.js';
import { DEFAULT_CONTEXT, DEFAULT_HOST, DEFAULT_PORTS, DEFAULT_REQUEST_TIMEOUT, type Mode, type Scope } from '../config/plan.js';
import { describeZodError, hostProblem, modelRefSchema, modeSchema, scopeSchema, type Group } from '../config/plan-schema.js';
import { groupOf, parseHosts } from './split.js';

/** A default that fits most Macs; named in the error when --editor is missing. */
export const SUGGESTED_EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
/** Default probe bound: a large model's first load (download + load into memory) takes minutes. */
export const DEFAULT_PROBE_TIMEOUT = 600;

export interface SetupInput {
  yes: boolean;
  editor?: string;
  editorPort: number;
  architect?: string;
  architectPort: number;
  weak?: string;
  weakPort: number;
  proxyPort: number;
  host: string;
  mode: Mode;
  scope: Scope;
  /** Given with --context; otherwise each model gets its own default (src/setup/context-fit.ts). */
  context?: number;
  timeoutSec: number;
  requestTimeoutSec: number;
  force: boolean;
  dryRun: boolean;
  json: boolean;
  /** --split-hosts: the editor's model served by a group over these hosts (rank 0 first). */
  split?: Group;
  /** --at-login: keep the servers up at login (launchd agents, macOS). */
  atLogin: boolean;
}

const options = {
  yes: { type: 'boolean', short: 'y' },
  editor: { type: 'string' },
  'editor-port': { type: 'string' },
  architect: { type: 'string' },
  'architect-port': { type: 'string' },
  weak: { type: 'string' },
  'weak-port': { type: 'string' },
  'proxy-port': { type: 'string' },
  host: { type: 'string' },
  mode: { type: 'string' },
  scope: { type: 'string' },
  context: { type: 'string' },
  timeout: { type: 'string' },
  'request-timeout': { type: 'string' },
  force: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  'split-hosts': { type: 'string' },
  'at-login': { type: 'boolean' },
} as const;

function int(flag: string, raw: string | undefined, dflt: number, min: number, max: number, what: string): number {
  if (raw === undefined) return dflt;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be ${what} (got "${raw}").`, `For example: --${flag} ${dflt}`);
  }
  return n;
}

const port = (flag: string, raw: string | undefined, dflt: number) =>
  int(flag, raw, dflt, 1, 65535, 'a whole number from 1 to 65535');

function model(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const r = modelRefSchema.safeParse(raw);
  if (!r.success) throw new UsageError(`--${flag} "${raw}": ${describeZodError(r.error).replace(/\.$/, '')}.`, `For example: --${flag} ${SUGGESTED_EDITOR}`);
  return raw;
}

export function parseSetupFlags(args: string[]): SetupInput {
  const { values } = parseFlags(args, options, { command: 'setup', usage: 'Run `aider-mlx setup --help` for the setup flags.' });
  const s = (k: string) => values[k] as string | undefined;
  const mode = s('mode') ?? 'proxy';
  if (!modeSchema.safeParse(mode).success) throw new UsageError(`--mode must be proxy or direct (got "${mode}").`);
  const scope = s('scope') ?? 'project';
  if (!scopeSchema.safeParse(scope).success) throw new UsageError(`--scope must be project, global or profile (got "${scope}").`);
  const host = s('host') ?? DEFAULT_HOST;
  const hostErr = hostProblem(host);
  if (hostErr) throw new UsageError(`--host "${host}": ${hostErr}.`, 'For example: --host 127.0.0.1');
  const input: SetupInput = {
    yes: Boolean(values.yes),
    editor: model('editor', s('editor')),
    editorPort: port('editor-port', s('editor-port'), DEFAULT_PORTS.editor),
    architect: model('architect', s('architect')),
    architectPort: port('architect-port', s('architect-port'), DEFAULT_PORTS.architect),
    weak: model('weak', s('weak')),
    weakPort: port('weak-port', s('weak-port'), DEFAULT_PORTS.weak),
    proxyPort: port('proxy-port', s('proxy-port'), DEFAULT_PORTS.proxy),
    host,
    mode: mode as Mode,
    scope: scope as Scope,
    ...(s('context') !== undefined ? { context: int('context', s('context'), DEFAULT_CONTEXT, 512, 10_000_000, 'a number of tokens from 512 up') } : {}),
    timeoutSec: int('timeout', s('timeout'), DEFAULT_PROBE_TIMEOUT, 1, 86_400, 'a number of seconds'),
    requestTimeoutSec: int('request-timeout', s('request-timeout'), DEFAULT_REQUEST_TIMEOUT, 1, 86_400, 'a number of seconds'),
    force: Boolean(values.force),
    dryRun: Boolean(values['dry-run']),
    json: Boolean(values.json),
    atLogin: Boolean(values['at-login']),
  };
  const split = s('split-hosts');
  if (split !== undefined) {
    const hosts = parseHosts(split);
    const g = 'hosts' in hosts ? groupOf(hosts.hosts) : hosts;
    if ('problem' in g) {
      throw new UsageError(`--split-hosts "${split}": ${g.problem}.`, 'For example: --split-hosts mac1.local=192.168.2.1,mac2.local=192.168.2.2 (this Mac first), or 127.0.0.1,127.0.0.1 for two ranks on this Mac.');
    }
    input.split = g.group;
  }
  if (input.architect && input.architect !== input.editor && input.architectPort === input.editorPort) {
    throw new UsageError(
      `The editor and the architect are different models but both use port ${input.editorPort}.`,
      'Give the architect its own port, e.g. --architect-port 8081 (one mlx_lm.server serves one model).',
    );
  }
  if (input.mode === 'proxy' && (input.proxyPort === input.editorPort || (input.architect && input.proxyPort === input.architectPort))) {
    throw new UsageError(`--proxy-port ${input.proxyPort} is also a model server's port.`, 'Pick another, e.g. --proxy-port 4000.');
  }
  return input;
}
