import { z } from 'zod';
import { isLocalPath, PLAN_VERSION } from './plan.js';

/**
 * The zod schemas of the plan (see plan.ts). Kept apart so that importing the plan's constants
 * and types does not load zod: only validation does (readPlan imports this module lazily).
 */

export const portSchema = z
  .number({ error: 'a port must be a whole number from 1 to 65535' })
  .int('a port must be a whole number from 1 to 65535')
  .min(1, 'a port must be a whole number from 1 to 65535')
  .max(65535, 'a port must be a whole number from 1 to 65535');

/** A Hugging Face repo id (`org/name`) or a local path to a model folder. */
export const modelRefSchema = z
  .string()
  .min(1, 'a model must be a Hugging Face repo id like mlx-community/Qwen2.5-Coder-7B-Instruct-4bit, or a local folder')
  .refine((s) => !/\s/.test(s), 'a model id cannot contain spaces')
  .refine((s) => !s.split(/[\\/]/).includes('..'), 'a model id cannot contain ".."')
  .refine(
    (s) => isLocalPath(s) || /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(s),
    'a Hugging Face repo id looks like org/name (letters, digits, ".", "-", "_"); a local path starts with / ~ or .',
  );

export const hostSchema = z
  .string()
  .min(1)
  .refine((h) => !/[\s/]/.test(h) && !h.includes('://'), 'a host is a name or an address, like 127.0.0.1');

export const deploymentSchema = z.object({ host: hostSchema, port: portSchema });
export type Deployment = z.infer<typeof deploymentSchema>;

export const roleSchema = z.object({
  model: modelRefSchema,
  context: z.number().int().min(512).max(10_000_000),
  deployments: z.array(deploymentSchema).min(1),
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
    architect: roleSchema.optional(),
    weak: roleSchema.optional(),
  }),
  proxy: deploymentSchema,
  requestTimeout: z.number().positive(),
  aider: z.object({
    scope: scopeSchema,
    /** Folder the Aider files were written into. */
    dir: z.string().min(1),
  }),
});
export type Plan = z.infer<typeof planSchema>;

/** First zod issue as one line: `roles.editor.model: a model id cannot contain spaces`. */
export function describeZodError(err: z.ZodError): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
