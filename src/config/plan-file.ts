import { readFile } from 'node:fs/promises';
import { parseDocument, stringify } from 'yaml';
import { UsageError } from '../errors.js';
import { configPaths, tildify, type Env } from '../lib/paths.js';
import { describeZodError, planSchema, type Plan } from './plan.js';

const HEADER = '# aider-mlx plan: which model serves which role on which port. Written by `aider-mlx setup`;\n# `aider-mlx reconfigure`, `status`, `doctor` and `serve` read it.\n';

export function planToYaml(plan: Plan): string {
  return HEADER + stringify(plan, { lineWidth: 0 });
}

/** The saved plan, or undefined when there is none. A broken one is an error that says what to do. */
export async function readPlan(env: Env = process.env, path = configPaths(env).plan): Promise<Plan | undefined> {
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
  const r = planSchema.safeParse(doc.toJS());
  if (!r.success) {
    throw new UsageError(`${tildify(path, env)} is not a valid plan: ${describeZodError(r.error)}.`, 'Fix it, or move it away and run `aider-mlx setup` again.');
  }
  return r.data;
}
