import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { LineCounter, parseDocument, stringify } from 'yaml';
import { AppError, UsageError } from '../errors.js';
import { configPaths, tildify, type Env } from '../lib/paths.js';
import { danglingTarget, MAX_CONFIG_BYTES, readBounded } from '../lib/read-bounded.js';
import { assertTrusted } from '../lib/trust.js';
import type { Plan } from './plan.js';
import { yamlProblem } from './yaml-error.js';

const HEADER = '# aider-mlx plan: which model serves which role on which port. Written by `aider-mlx setup`;\n# `aider-mlx reconfigure`, `status`, `doctor` and `serve` read it.\n';

export function planToYaml(plan: Plan): string {
  return HEADER + stringify(plan, { lineWidth: 0 });
}

/** A hand-written plan may use a few YAML aliases; a "billion laughs" file is refused, not expanded. */
export const MAX_YAML_ALIASES = 100;

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
  // The plan decides where aider-mlx writes (the master key too): only its owner may be able to change it.
  assertTrusted([{ path: dirname(path) }, { path }]);
  // No plan (a setup aider-mlx did not write, or none yet): said without the async file machinery.
  if (!existsSync(path)) {
    // A symlink to nothing (a dotfiles link whose target moved) is not "no plan": setup would write over the link.
    const target = danglingTarget(path);
    if (target !== undefined) {
      throw new UsageError(`The plan ${tildify(path, env)} is a symlink to ${tildify(target, env)}, which does not exist.`, 'Point the link at your plan again, or remove it and run `aider-mlx setup` again.');
    }
    return undefined;
  }
  try {
    text = (await readBounded(path, { what: 'The plan', maxBytes: MAX_CONFIG_BYTES, over: 'refuse', tryThis: 'Move it away and run `aider-mlx setup` again.' })).text;
  } catch (e) {
    if (e instanceof AppError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`Cannot read ${tildify(path, env)}: ${(e as Error).message}.`, 'Fix its permissions, or run `aider-mlx setup` again.');
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length) {
    const { line, col, reason } = yamlProblem(doc.errors[0]!, lineCounter);
    throw new UsageError(
      `${tildify(path, env)} line ${line}, column ${col} is not valid YAML: ${reason}.`,
      'Fix that line, or move the file away and run `aider-mlx setup` again; nothing was written.',
    );
  }
  try {
    return { data: doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) as unknown };
  } catch (e) {
    throw new UsageError(
      `${tildify(path, env)} cannot be read: ${(e as Error).message.split('\n')[0]} (more than ${MAX_YAML_ALIASES} YAML aliases, or a loop of them).`,
      'Write the values out instead of using * aliases, or move the file away and run `aider-mlx setup` again.',
    );
  }
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
