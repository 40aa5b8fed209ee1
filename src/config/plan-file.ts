import { readFile } from 'node:fs/promises';
import { parseDocument, stringify } from 'yaml';
import { UsageError } from '../errors.js';
import { configPaths, tildify, type Env } from '../lib/paths.js';
import type { Plan } from './plan.js';

const HEADER = '# aider-mlx plan: which model serves which role on which port. Written by `aider-mlx setup`;\n# `aider-mlx reconfigure`, `status`, `doctor` and `serve` read it.\n';

export function planToYaml(plan: Plan): string {
  return HEADER + stringify(plan, { lineWidth: 0 });
}

/** The saved plan, or undefined when there is none. A broken one is an error that says what to do. */
export async function readPlan(env: Env = process.env, path = configPaths(env).plan): Promise<Plan | undefined> {
  const raw = await readPlanRaw(env, path);
  return raw === undefined ? undefined : validatePlan(raw.data, env, path);
}

/**
 * The saved plan's YAML, parsed but not validated (`{ data }`), or undefined when there is none.
 * A file that cannot be read or does not parse is the same error as readPlan's. Fast: no zod.
 */
export async function readPlanRaw(env: Env = process.env, path = configPaths(env).plan): Promise<{ data: unknown } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`Cannot read ${tildify(path, env)}: ${(e as Error).message}.`, 'Fix its permissions, or run `aider-mlx setup` again.');
  }
  const doc = parseDocument(text);
  if (doc.errors.length) {
    const err = doc.errors[0]!;
    const pos = err.linePos?.[0];
    throw new UsageError(
      `${tildify(path, env)}${pos ? ` line ${pos.line}, column ${pos.col}` : ''}: ${err.message.split('\n')[0]}`,
      'Fix that line, or move the file away and run `aider-mlx setup` again.',
    );
  }
  return { data: doc.toJS() as unknown };
}

/** Check a raw plan (readPlanRaw's data) against the schema; zod loads here, on first use. */
export async function validatePlan(data: unknown, env: Env = process.env, path = configPaths(env).plan): Promise<Plan> {
  const { describeZodError, planSchema } = await import('./plan-schema.js');
  const r = planSchema.safeParse(data);
  if (!r.success) {
    throw new UsageError(`${tildify(path, env)} is not a valid plan: ${describeZodError(r.error)}.`, 'Fix it, or move it away and run `aider-mlx setup` again.');
  }
  return r.data;
}
