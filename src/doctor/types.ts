import type { Check } from '../lib/check.js';
import type { Env } from '../lib/paths.js';

/** The hops, in the order a request travels them (and the report prints them). */
export const GROUPS = ['uses', 'error', 'env', 'config', 'server', 'proxy', 'aider'] as const;
export type Group = (typeof GROUPS)[number];

export const GROUP_TITLES: Record<Group, string> = {
  uses: 'What Aider will use',
  error: 'Your error',
  env: 'Environment',
  config: 'Config files',
  server: 'MLX servers',
  proxy: 'LiteLLM proxy',
  aider: 'Aider',
};

/** What `doctor --fix` can repair by rewriting files (everything else names a command to run). */
export type FixKind =
  /** Re-render our files from the plan and merge them in (api_base, names, settings, metadata, max_tokens, keys). */
  | 'rewrite'
  /** Set the managed keys in an Aider config file outside the plan's folder that overrides ours. */
  | 'align-override'
  /** Set keys in the user's own files (no plan needed): see `edits`. */
  | 'edit';

/** One change to a file the user wrote: a YAML key path, or a KEY=value line of a .env file. */
export interface UserEdit {
  path: string;
  format: 'yaml' | 'dotenv';
  /** YAML: keys and list indexes (`['model_list', 1, 'litellm_params', 'model']`); dotenv: `[NAME]`. */
  keyPath: Array<string | number>;
  old?: unknown;
  /** undefined: remove the key. */
  new: unknown;
  /** The new value is a key: never printed (the report and the diff redact it). */
  secret?: boolean;
}

/** The same change of the same value (two checks can ask for it: two roles with one name). */
export const sameEdit = (a: UserEdit, b: UserEdit): boolean => a.path === b.path && JSON.stringify([a.keyPath, a.old, a.new]) === JSON.stringify([b.keyPath, b.old, b.new]);

export interface DoctorCheck extends Check {
  group: Group;
  /** SPEC §4 causes this check confirms or rules out (cause ids, see causes.ts). */
  causes?: string[];
  /** Set when `--fix` can repair this failure. */
  fixable?: FixKind;
  /** For align-override: the files outside the plan's folder and the keys to set in each. */
  fixTargets?: Array<{ path: string; keys: Record<string, unknown> }>;
  /** For edit: the exact changes, in the user's own files. */
  edits?: UserEdit[];
  /** What to restart after the fix, as a command to run (a process aider-mlx did not start is not restarted for the user). */
  restart?: string;
  /** What to start after the fix (nothing runs there now), as a command to run. */
  start?: string;
  /**
   * The checks saw the hop that really answers Aider is not the one meant (a base past the proxy, an
   * upstream that is not mlx_lm.server): whatever error text was pasted came from there, so this
   * check's first cause leads over what the text suggests.
   */
  explainsError?: boolean;
  /** For edit: files aider-mlx writes that went missing, written again from its template. */
  restore?: Array<{ path: string; file: 'usage-callback' }>;
}

export interface DoctorCaps {
  env: Env;
  cwd: string;
  /** Defaults to the global fetch; tests pass their own. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** process.platform / process.arch, os.release(), os.cpus()[0].model: injectable for tests. */
  platform?: NodeJS.Platform;
  arch?: string;
  osRelease?: string;
  cpuModel?: string;
  /** Runs a command (argument array). Only `--deep` uses it; loaded lazily otherwise. */
  exec?: (cmd: string, args: string[], opts: { timeoutMs: number; cwd?: string; env?: Env }) => Promise<{ code: number; stdout: string; stderr: string }>;
  /** The local process listening on a port (argv, cwd): /proc or lsof by default; tests pass their own. */
  portProcess?: (port: number) => Promise<{ pid: number; argv: string[]; cwd?: string } | undefined>;
  /** The local processes' command lines and folders (to find the mlx_lm.server serving a model, the LiteLLM proxy with a model group): /proc or ps by default. */
  processes?: () => Promise<Array<{ pid: number; argv: string[]; cwd?: string }>>;
}

export interface DoctorOptions {
  /** Bound on every probe. */
  timeoutMs: number;
  /** Run the checks that cost a generation (the 512 cap, the chat template, a real Aider call). */
  deep: boolean;
  /** Pasted error text, if any. */
  errorText?: string;
  /** The Aider command line the user runs (`doctor -- <aider args>`). */
  aiderArgs?: string[];
  /** The LiteLLM config the proxy runs with (`--litellm-config FILE`). */
  litellmConfig?: string;
}

export const skipped = (c: Omit<DoctorCheck, 'status'>, why: string): DoctorCheck => ({
  ...c,
  status: 'skip',
  observed: `not checked: ${why}`,
});
