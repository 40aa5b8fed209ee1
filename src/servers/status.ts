/** What answers on each hop of a plan right now: the cheap probes behind `status` and reconfigure. */
import type { Env } from '../lib/paths.js';
import { servedModels } from '../config/names.js';
import { proxyKeyOf } from '../config/secrets.js';
import type { Plan } from '../config/plan.js';
import type { TrustProblem } from '../lib/trust.js';
import { identifyServer, probeLitellm, rootUrl } from './probe.js';

export interface HopStatus {
  kind: 'deployment' | 'proxy';
  roles: string[];
  model?: string;
  modelName?: string;
  host: string;
  port: number;
  up: boolean;
  /** What answers on the port: mlx_lm.server, litellm, other, none. */
  answers: string;
  latencyMs: number;
  detail: string[];
}

/** Every deployment and the proxy, probed in parallel: cheap checks only (no generation). */
export async function collectStatus(plan: Plan, opts: { timeoutMs: number; env?: Env; readable?: (p: TrustProblem) => void }): Promise<HopStatus[]> {
  const jobs: Array<Promise<HopStatus>> = [];
  for (const m of servedModels(plan)) {
    for (const d of m.deployments) {
      jobs.push(
        identifyServer(d.host, d.port, { timeoutMs: opts.timeoutMs }).then((id) => ({
          kind: 'deployment' as const,
          roles: m.roles,
          model: m.model,
          modelName: m.modelName,
          host: d.host,
          port: d.port,
          up: id.kind === 'mlx_lm.server',
          answers: id.kind === 'other' && id.looksLike ? `other (${id.looksLike})` : id.kind,
          latencyMs: id.latencyMs,
          detail: id.evidence,
        })),
      );
    }
  }
  if (plan.mode === 'proxy') {
    const { host, port } = plan.proxy;
    const started = performance.now();
    jobs.push(
      proxyKeyOf(plan, opts.env ?? process.env, opts.readable ? { readable: opts.readable } : {}).then((apiKey) => probeLitellm(rootUrl(host, port), { timeoutMs: opts.timeoutMs, apiKey })).then((p) => {
        const missing = servedModels(plan).map((m) => m.modelName).filter((n) => !p.names.includes(n));
        return {
          kind: 'proxy' as const,
          roles: [],
          host,
          port,
          up: p.ok && missing.length === 0,
          answers: p.liveliness.ok ? 'litellm' : p.liveliness.error?.kind === 'refused' ? 'none' : 'other',
          latencyMs: Math.round(performance.now() - started),
          detail: p.ok
            ? missing.length ? [`does not serve ${missing.join(', ')}: it runs another config`] : [`serves ${p.names.join(', ')}`]
            : [p.liveliness.error?.message ?? p.models.error?.message ?? 'not answering'],
        };
      }),
    );
  }
  return Promise.all(jobs);
}

/** What the probe found, in plain words: "running, answered in 26 ms", "not running: nothing listens on that port". */
export function hopWords(h: HopStatus): string {
  if (h.up) return `running, answered in ${h.latencyMs} ms`;
  if (h.answers === 'none') return 'not running: nothing listens on that port';
  if (h.answers === 'litellm') return h.kind === 'proxy' ? "running, but not with this setup's config" : 'the LiteLLM proxy answers there, not mlx_lm.server';
  if (h.answers === 'mlx_lm.server') return h.kind === 'proxy' ? 'an mlx_lm.server answers there, not the LiteLLM proxy' : 'mlx_lm.server answers, but not as expected';
  const like = /^other \((.+)\)$/.exec(h.answers)?.[1];
  return `another program holds the port${like ? `: it looks like ${like}` : ''}`;
}
