import type { Plan, Role } from './plan-schema.js';

/**
 * The plan: which model serves which role on which port, one per machine at
 * `${XDG_CONFIG_HOME:-~/.config}/aider-mlx/plan.yaml`. Everything else (configs, doctor, status,
 * serve) is derived from it. Its zod schemas live in plan-schema.ts, so importing this module
 * (constants, types) does not load zod.
 */
export type { Adopted, Deployment, Group, GroupHost, Mode, Plan, Role, Scope } from './plan-schema.js';

export const PLAN_VERSION = 1;

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORTS = { editor: 8080, architect: 8081, weak: 8082, proxy: 4000 } as const;
export const DEFAULT_CONTEXT = 32768;
export const DEFAULT_REQUEST_TIMEOUT = 600;

export function isLocalPath(model: string): boolean {
  return model.startsWith('/') || model.startsWith('~') || model.startsWith('./') || model.startsWith('../');
}

export const ROLE_NAMES = ['editor', 'architect', 'weak'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** The weak role defaults to the editor's model. */
export function effectiveRoles(plan: Plan): Record<RoleName, Role> & { architect?: Role } {
  const { editor, architect, weak } = plan.roles;
  return { editor, architect, weak: weak ?? editor } as Record<RoleName, Role>;
}
