import { UsageError } from '../errors.js';
import { run } from '../lib/exec.js';
import { configPaths, homeDir, type Env } from '../lib/paths.js';
import { DEFAULT_CONTEXT, PLAN_VERSION, type Plan, type Role } from '../config/plan.js';
import type { SetupInput } from './flags.js';
import { groupDeployment } from './split.js';

export interface PlanCaps {
  env: Env;
  cwd: string;
  /** The model's `max_position_embeddings`, when its config.json can be read (HF cache or local path). */
  maxContextOf?: (model: string) => Promise<number | undefined>;
  /** A model's default context when --context is not given (DEFAULT_CONTEXT without it). */
  defaultContextOf?: (model: string) => Promise<number> | number;
}

/** Where Aider files go for a scope. `project` is the git root of the cwd (the cwd outside git). */
export async function aiderDirFor(scope: Plan['aider']['scope'], caps: Pick<PlanCaps, 'env' | 'cwd'>): Promise<{ dir: string; note?: string; git?: boolean }> {
  if (scope === 'global') return { dir: homeDir(caps.env) };
  if (scope === 'profile') return { dir: configPaths(caps.env).profile };
  const r = await run('git', ['rev-parse', '--show-toplevel'], { cwd: caps.cwd, timeoutMs: 5000 }).catch(() => undefined);
  if (r && r.code === 0 && r.stdout.trim()) return { dir: r.stdout.trim(), git: true };
  return { dir: caps.cwd, git: false, note: `${caps.cwd} is not inside a git repository: the Aider files go into this folder.` };
}

export async function buildPlan(input: SetupInput, caps: PlanCaps): Promise<{ plan: Plan; notes: string[] }> {
  if (!input.editor) {
    throw new UsageError('--editor is required with --yes.', `For example: --editor ${input.architect ?? 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit'}`);
  }
  const notes: string[] = [];
  const role = async (model: string, port: number): Promise<Role> => {
    let context = input.context ?? (await caps.defaultContextOf?.(model)) ?? DEFAULT_CONTEXT;
    const max = await caps.maxContextOf?.(model).catch(() => undefined);
    if (max && max < context) {
      notes.push(`${model}: context capped at ${max} tokens (its max_position_embeddings).`);
      context = max;
    }
    return { model, context, deployments: [{ host: input.host, port }] };
  };
  const editor = await role(input.editor, input.editorPort);
  if (input.split) editor.deployments = [groupDeployment(input.split, input.editorPort)];
  // A model that serves several roles runs once: reuse its deployment.
  const same = (m: string | undefined, r: Role) => (m !== undefined && m === r.model ? r : undefined);
  const architect = input.architect ? (same(input.architect, editor) ?? (await role(input.architect, input.architectPort))) : undefined;
  const weak = input.weak
    ? (same(input.weak, editor) ?? (architect && same(input.weak, architect)) ?? (await role(input.weak, input.weakPort)))
    : undefined;
  const { dir, note } = await aiderDirFor(input.scope, caps);
  if (note) notes.push(note);
  const plan: Plan = {
    version: PLAN_VERSION,
    mode: input.mode,
    roles: {
      editor,
      ...(architect && architect.model !== editor.model ? { architect } : {}),
      ...(weak && weak.model !== editor.model ? { weak } : {}),
    },
    proxy: { host: '127.0.0.1', port: input.proxyPort },
    requestTimeout: input.requestTimeoutSec,
    aider: { scope: input.scope, dir },
  };
  checkPortClashes(plan);
  return { plan, notes };
}

/** Two different models cannot share one server: one mlx_lm.server serves one model. */
export function checkPortClashes(plan: Plan): void {
  const owner = new Map<string, string>();
  const roles = Object.entries(plan.roles) as Array<[string, Role | undefined]>;
  for (const [name, r] of roles) {
    if (!r) continue;
    for (const d of r.deployments) {
      const key = `${d.host}:${d.port}`;
      const prev = owner.get(key);
      if (prev && prev !== r.model) {
        throw new UsageError(
          `${name} model ${r.model} and ${prev} would share ${key}; one mlx_lm.server serves one model.`,
          `Give each model its own port (--editor-port, --architect-port, --weak-port).`,
        );
      }
      owner.set(key, r.model);
    }
  }
  if (plan.mode === 'proxy' && owner.has(`${plan.proxy.host}:${plan.proxy.port}`)) {
    throw new UsageError(`The proxy port ${plan.proxy.port} is also a model server's port.`, 'Pick another with --proxy-port.');
  }
}
