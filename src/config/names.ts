import { basename } from 'node:path';
import { effectiveRoles, isLocalPath, type Deployment, type Mode, type Plan, type RoleName } from './plan.js';

/**
 * The string LiteLLM sends upstream in proxy mode. `default_model` is the one name every
 * mlx_lm.server since mid-2024 maps to its `--model` without a reload or a Hub lookup (SPEC §1.4);
 * the exact --model string reloads on ≤0.26 and was lower-cased on 0.27.0–0.27.1.
 */
export const UPSTREAM_DEFAULT_MODEL = 'default_model';

/**
 * Not a secret: mlx_lm.server has no auth and the proxy binds 127.0.0.1 without a master key.
 * The OpenAI SDK only needs a non-empty key (SPEC §2.2).
 */
export const LOCAL_API_KEY = 'sk-aider-mlx-local';

/** LiteLLM model_name for a model: `mlx-<repo basename, lower-case>`. */
export function litellmModelName(model: string): string {
  const base = basename(model.replace(/[\\/]+$/, ''));
  const slug = base.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  return `mlx-${slug || 'model'}`;
}

export function apiBase(d: Deployment): string {
  const host = d.host.includes(':') && !d.host.startsWith('[') ? `[${d.host}]` : d.host;
  return `http://${host}:${d.port}/v1`;
}

/** One entry per distinct model: a model serving several roles runs once. */
export interface ServedModel {
  model: string;
  roles: RoleName[];
  /** LiteLLM model_name (proxy mode). */
  modelName: string;
  /** The name Aider uses (`openai/…`). */
  aiderName: string;
  /** The `model` string that reaches mlx_lm.server. */
  upstream: string;
  deployments: Deployment[];
  context: number;
}

export function servedModels(plan: Plan): ServedModel[] {
  const roles = effectiveRoles(plan);
  const byModel = new Map<string, ServedModel>();
  const taken = new Set<string>();
  for (const roleName of ['editor', 'architect', 'weak'] as const) {
    const role = roles[roleName];
    if (!role) continue;
    const existing = byModel.get(role.model);
    if (existing) {
      existing.roles.push(roleName);
      existing.context = Math.max(existing.context, role.context);
      for (const d of role.deployments) {
        if (!existing.deployments.some((e) => e.host === d.host && e.port === d.port)) existing.deployments.push(d);
      }
      continue;
    }
    // An adopted chain keeps the user's own model group names.
    const own = plan.adopted?.names?.[roleName];
    let modelName = own ?? litellmModelName(role.model);
    for (let i = 2; !own && taken.has(modelName); i++) modelName = `${litellmModelName(role.model)}-${i}`;
    taken.add(modelName);
    byModel.set(role.model, {
      model: role.model,
      roles: [roleName],
      modelName,
      aiderName: aiderNameFor(plan.mode, role.model, modelName),
      upstream: upstreamFor(plan.mode, role.model),
      deployments: [...role.deployments],
      context: role.context,
    });
  }
  return [...byModel.values()];
}

export function aiderNameFor(mode: Mode, model: string, modelName: string): string {
  return mode === 'proxy' ? `openai/${modelName}` : `openai/${model}`;
}

/** Direct mode: Aider strips `openai/` and sends the exact --model string (needs mlx-lm ≥0.27). */
export function upstreamFor(mode: Mode, model: string): string {
  return mode === 'proxy' ? UPSTREAM_DEFAULT_MODEL : model;
}

export function roleModel(plan: Plan, role: RoleName): ServedModel | undefined {
  return servedModels(plan).find((m) => m.roles.includes(role));
}

export { isLocalPath };
