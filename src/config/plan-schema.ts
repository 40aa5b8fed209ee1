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

/**
 * A host of a group (one rank each, in order: the first is rank 0, which serves HTTP). `ssh` is the
 * name mlx.launch logs into (127.0.0.1: this Mac, no ssh); `address` the IPv4 address the ranks
 * talk on (the ring backend needs an address, not a name: a Thunderbolt bridge IP between Macs).
 */
export function groupHostNameProblem(h: string): string | undefined {
  if (/^localhost\.?$/i.test(h)) {
    return '"localhost" is not accepted for a host of a group: mlx.launch treats it as another machine (it tries ssh and the ring needs an address); write 127.0.0.1 for this Mac';
  }
  const p = hostProblem(h);
  return p && /give the port with/.test(p) ? 'a host of a group has no port: the ring ports are set with ringPort' : p;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
export const isIPv4 = (s: string): boolean => IPV4.test(s);

const groupHostNameSchema = z.string().check(
  z.superRefine((h, ctx) => {
    const problem = groupHostNameProblem(h);
    if (problem) ctx.issues.push({ code: 'custom', message: problem, input: h });
  }),
);

export const groupHostSchema = z.object({
  ssh: groupHostNameSchema,
  address: z.optional(z.string().check(z.refine(isIPv4, 'a rank\'s address is an IPv4 address, like 192.168.2.1 (the ring backend cannot use a name)'))),
  /** jaccl only: the RDMA device towards each rank, null towards itself (mlx.launch's hostfile "rdma"). */
  rdma: z.optional(z.array(z.nullable(z.string()))),
  /** The host's unified memory in GB, for the fit split (this Mac's is read; others are given). */
  memoryGB: z.optional(z.number().check(z.positive())),
});
export type GroupHost = z.infer<typeof groupHostSchema>;

export const GROUP_BACKENDS = ['ring', 'jaccl'] as const;
export const PARALLEL_MODES = ['tensor', 'pipeline'] as const;

export const groupSchema = z
  .object({
    hosts: z.array(groupHostSchema).check(z.minLength(2, 'a group has at least two hosts (one host is a plain deployment: drop "group")')),
    /** ring (TCP, default) or jaccl (RDMA over Thunderbolt 5, macOS 26.2+). */
    backend: z.optional(z.enum(GROUP_BACKENDS)),
    /** Default: tensor where the model supports it, else pipeline (see config/group.ts). */
    parallel: z.optional(z.enum(PARALLEL_MODES)),
    /** The first ring port; one more per rank. Default: free ports on this Mac, mlx.launch's 32323 across Macs. */
    ringPort: z.optional(portSchema),
  })
  .check(
    z.superRefine((g, ctx) => {
      const problem = groupShapeProblem(g);
      if (problem) ctx.issues.push({ code: 'custom', message: problem, input: g });
    }),
  );
export type Group = z.infer<typeof groupSchema>;

/** The address rank `h` talks on. */
export function rankAddress(h: GroupHost): string | undefined {
  return h.address ?? (isIPv4(h.ssh) ? h.ssh : undefined);
}

/** What is wrong with a group on its own (no model facts needed), or undefined. */
export function groupShapeProblem(g: Group): string | undefined {
  const n = g.hosts.length;
  const loop = g.hosts.filter((h) => h.ssh === '127.0.0.1' || h.address === '127.0.0.1').length;
  if (loop > 0 && loop < n) {
    return 'a group mixes 127.0.0.1 with other machines: they cannot reach this Mac on 127.0.0.1; give this Mac\'s own address (its Thunderbolt bridge IP) for ssh and address';
  }
  const nameOnly = g.hosts.find((h) => rankAddress(h) === undefined);
  if (nameOnly && (g.backend ?? 'ring') === 'ring') {
    return `host ${nameOnly.ssh} has no address: the ring backend needs each rank's IPv4 address (add address: <its Thunderbolt bridge IP>)`;
  }
  if (g.backend === 'jaccl') {
    if (loop) return 'jaccl needs a Thunderbolt 5 link between Macs: two ranks on 127.0.0.1 use the ring backend';
    for (const [i, h] of g.hosts.entries()) {
      if (!h.rdma || h.rdma.length !== n) return `jaccl: host ${h.ssh} needs rdma, a list of ${n} device names (one per rank, null for itself), as \`mlx.distributed_config\` prints`;
      if (h.rdma[i] !== null) return `jaccl: host ${h.ssh}'s rdma entry for itself (position ${i + 1}) must be null`;
      const missing = h.rdma.findIndex((d, j) => j !== i && !d);
      if (missing >= 0) return `jaccl: host ${h.ssh} has no RDMA device towards ${g.hosts[missing]!.ssh}`;
    }
  }
  if (g.ringPort !== undefined && g.ringPort + n - 1 > 65535) return `ringPort ${g.ringPort} leaves no room for ${n} ranks (one port each): pick one at most ${65536 - n}`;
  return undefined;
}

export const deploymentSchema = z
  .object({
    host: hostSchema,
    port: portSchema,
    /** Several Macs serving one copy of the model together (mlx_lm.server distributed); rank 0 answers on host:port. */
    group: z.optional(groupSchema),
  })
  .check(
    z.superRefine((d, ctx) => {
      const g = d.group;
      if (!g || !g.hosts[0]) return;
      const r0 = g.hosts[0];
      const loopGroup = r0.ssh === '127.0.0.1';
      const same = loopGroup ? d.host === '127.0.0.1' : d.host === r0.ssh || d.host === r0.address;
      if (!same) {
        ctx.issues.push({
          code: 'custom',
          path: ['host'],
          message: `a group answers on its first host (rank 0): host must be ${loopGroup ? '127.0.0.1' : `${r0.ssh}${r0.address ? ` or ${r0.address}` : ''}`}, not ${d.host}`,
          input: d.host,
        });
      }
    }),
  );
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

/**
 * A chain the user wrote by hand, adopted as it is (`aider-mlx setup --adopt`): where its files are
 * (never rewritten by the adoption) and the proxy model group each role's Aider model asks for.
 */
export const adoptedSchema = z.object({
  /** The user's own LiteLLM config (proxy mode): serve starts the proxy from it, status reads its key. */
  litellmConfig: z.optional(z.string().check(z.minLength(1))),
  /** The Aider files Aider reads, as found (recorded, not managed). */
  aiderFiles: z.array(z.string()),
  /** Proxy mode: the model_name Aider asks the proxy for, per role (instead of mlx-<repo>). */
  names: z.optional(z.object({ editor: z.optional(z.string()), architect: z.optional(z.string()), weak: z.optional(z.string()) })),
});
export type Adopted = z.infer<typeof adoptedSchema>;

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
  adopted: z.optional(adoptedSchema),
});
export type Plan = z.infer<typeof planSchema>;

/** First zod issue as one line: `roles.editor.model: a model id cannot contain spaces`. */
export function describeZodError(err: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): string {
  const issue = err.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
