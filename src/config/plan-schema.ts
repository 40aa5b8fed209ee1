import * as z from 'zod/mini';
import { isLocalPath, PLAN_VERSION } from './plan.js';

/**
 * The zod schemas of the plan (see plan.ts). Kept apart so that importing the plan's constants
 * and types does not load zod: only validation does (readPlan imports this module lazily). On
 * zod/mini: its bundle is ~19 KB against ~450 KB for the chained API, which every command that
 * reads the plan (status, doctor --json) would pay for at startup (≈17 ms measured).
 */

const PORT = 'a port must be a whole number from 1 to 65535';
export const portSchema = z.int({ error: PORT }).check(z.minimum(1, PORT), z.maximum(65535, PORT));

/** A Hugging Face repo id (`org/name`) or a local path to a model folder. */
export const modelRefSchema = z.string().check(
  z.minLength(1, 'a model must be a Hugging Face repo id like mlx-community/Qwen2.5-Coder-7B-Instruct-4bit, or a local folder'),
  z.refine((s) => !/\s/.test(s), 'a model id cannot contain spaces'),
  z.refine((s) => !s.split(/[\\/]/).includes('..'), 'a model id cannot contain ".."'),
  z.refine(
    (s) => isLocalPath(s) || /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(s),
    'a Hugging Face repo id looks like org/name (letters, digits, ".", "-", "_"); a local path starts with / ~ or .',
  ),
  z.superRefine((s, ctx) => {
    const problem = modelRefLengthProblem(s);
    if (problem) ctx.issues.push({ code: 'custom', message: problem, input: s });
  }),
);

/** Hugging Face's limit on a repo name (and on a user or organisation name). */
export const MAX_REPO_NAME = 96;
/** The longest file or folder name macOS and Linux allow, in bytes. */
export const MAX_PATH_COMPONENT_BYTES = 255;

/** Why a model reference is too long, or undefined. */
export function modelRefLengthProblem(s: string): string | undefined {
  if (isLocalPath(s)) {
    const long = s.split(/[\\/]/).find((c) => Buffer.byteLength(c, 'utf8') > MAX_PATH_COMPONENT_BYTES);
    return long === undefined
      ? undefined
      : `a folder name in a path is at most ${MAX_PATH_COMPONENT_BYTES} bytes (one here is ${Buffer.byteLength(long, 'utf8')})`;
  }
  const [owner = '', name = ''] = s.split('/');
  if (name.length > MAX_REPO_NAME) return `a Hugging Face repo name is at most ${MAX_REPO_NAME} characters (this one is ${name.length})`;
  if (owner.length > MAX_REPO_NAME) return `a Hugging Face user or organisation name is at most ${MAX_REPO_NAME} characters (this one is ${owner.length})`;
  return undefined;
}

/**
 * Why a host is not one aider-mlx can put in a URL (http://HOST:PORT/v1), or undefined. A name or
 * an IPv4 address only: no port, user, query or fragment; IPv6 is not supported.
 */
export function hostProblem(h: string): string | undefined {
  if (!h) return 'a host cannot be empty';
  if (h.startsWith('[') || (h.match(/:/g) ?? []).length > 1) return 'IPv6 addresses are not supported: use 127.0.0.1 (or a host name)';
  if (/^[^:]*:\d*$/.test(h)) return 'a host has no port: give the port with --editor-port, --architect-port, --weak-port or --proxy-port';
  if (h.includes('://') || h.includes('/')) return 'a host is a name or an address, like 127.0.0.1, not a URL';
  if (h.includes('@')) return 'a host has no user@ part: give the name or address alone, like 127.0.0.1';
  if (h.length > 253 || !/^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/.test(h)) {
    return 'a host is a name or an IPv4 address, like 127.0.0.1 (letters, digits, "-" and "." only)';
  }
  return undefined;
}

export const hostSchema = z.string().check(
  z.superRefine((h, ctx) => {
    const problem = hostProblem(h);
    if (problem) ctx.issues.push({ code: 'custom', message: problem, input: h });
  }),
);

export const deploymentSchema = z.object({ host: hostSchema, port: portSchema });
export type Deployment = z.infer<typeof deploymentSchema>;

export const roleSchema = z.object({
  model: modelRefSchema,
  context: z.int().check(z.minimum(512), z.maximum(10_000_000)),
  deployments: z.array(deploymentSchema).check(z.minLength(1)),
});
export type Role = z.infer<typeof roleSchema>;

export const scopeSchema = z.enum(['project', 'global', 'profile']);
export type Scope = z.infer<typeof scopeSchema>;
export const modeSchema = z.enum(['proxy', 'direct']);
export type Mode = z.infer<typeof modeSchema>;

export const planSchema = z.object({
  version: z.literal(PLAN_VERSION),
  mode: modeSchema,
  roles: z.object({
    editor: roleSchema,
    architect: z.optional(roleSchema),
    weak: z.optional(roleSchema),
  }),
  proxy: deploymentSchema,
  requestTimeout: z.number().check(z.positive()),
  aider: z.object({
    scope: scopeSchema,
    /** Folder the Aider files were written into. */
    dir: z.string().check(z.minLength(1)),
  }),
});
export type Plan = z.infer<typeof planSchema>;

/** First zod issue as one line: `roles.editor.model: a model id cannot contain spaces`. */
export function describeZodError(err: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
