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
);

export const hostSchema = z.string().check(
  z.minLength(1),
  z.refine((h) => !/[\s/]/.test(h) && !h.includes('://'), 'a host is a name or an address, like 127.0.0.1'),
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
