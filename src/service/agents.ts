/**
 * The launchd agents for a plan: one per mlx_lm.server this Mac serves, one for the LiteLLM proxy.
 * Each runs the tool itself by absolute path (not aider-mlx: an npx copy can vanish from the npm
 * cache), and launchd is the supervisor: KeepAlive restarts it, ThrottleInterval spaces restarts.
 */
import { join } from 'node:path';
import { servedModels } from '../config/names.js';
import type { Plan } from '../config/plan.js';
import { maxOutputTokens } from '../config/render.js';
import { configPaths, type Env } from '../lib/paths.js';
import { serverArgs } from '../servers/launch.js';
import { promptCacheFor } from '../hub/prompt-cache.js';
import { bindHost, isLoopback } from '../serve/remote.js';
import { AGENT_PREFIX, type OwnedLocations } from './locations.js';
import { toPlist } from './plist.js';

export interface Agent {
  label: string;
  /** What it runs: "editor + weak: <model> on 127.0.0.1:8080" or "LiteLLM proxy on 127.0.0.1:4000". */
  title: string;
  plistPath: string;
  logPath: string;
  programArguments: string[];
  plist: string;
}

/** Environment passed on to the agents: what finds the models and the tools, never a token. */
const PASS_ENV = ['HF_HOME', 'HF_HUB_CACHE', 'HF_ENDPOINT', 'HF_HUB_OFFLINE', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME'];

export interface AgentTools {
  /** Absolute path of mlx_lm.server (needed when the plan has a deployment on this Mac). */
  mlxServer?: string;
  /** Absolute path of litellm (proxy mode). */
  litellm?: string;
}

export function agentLabel(kind: 'server' | 'proxy', port?: number): string {
  return kind === 'proxy' ? `${AGENT_PREFIX}proxy` : `${AGENT_PREFIX}server.${port}`;
}

export function agentsForPlan(plan: Plan, tools: AgentTools, env: Env, loc: OwnedLocations): { agents: Agent[]; skipped: string[] } {
  const agents: Agent[] = [];
  const skipped: string[] = [];
  const baseEnv: Record<string, string> = { PATH: env.PATH ?? '/usr/bin:/bin', HOME: env.HOME ?? '' };
  for (const k of PASS_ENV) if (env[k]) baseEnv[k] = env[k]!;
  const make = (label: string, title: string, args: string[], extraEnv: Record<string, string> = {}): Agent => {
    const logPath = join(loc.logs, `${label}.log`);
    const plist = toPlist({
      Label: label,
      ProgramArguments: args,
      EnvironmentVariables: { ...baseEnv, ...extraEnv },
      WorkingDirectory: loc.run,
      RunAtLoad: true,
      KeepAlive: true,
      // Seconds between restarts: a crash loop must not spin the fans.
      ThrottleInterval: 10,
      // Inference is foreground work: keep launchd from throttling it like a background job.
      ProcessType: 'Interactive',
      StandardOutPath: logPath,
      StandardErrorPath: logPath,
    });
    return { label, title, plistPath: join(loc.launchAgents, `${label}.plist`), logPath, programArguments: args, plist };
  };

  for (const m of servedModels(plan)) {
    for (const d of m.deployments) {
      if (!isLoopback(d.host)) {
        skipped.push(`${m.roles.join(' + ')} on ${d.host}:${d.port}: another machine (install the agent there)`);
        continue;
      }
      if (!tools.mlxServer) throw new Error('mlx_lm.server is not installed');
      const args = [tools.mlxServer, ...serverArgs({ model: m.model, port: d.port, host: bindHost(d.host), maxTokens: maxOutputTokens(m), promptCache: promptCacheFor(m, env) })];
      agents.push(make(agentLabel('server', d.port), `${m.roles.join(' + ')}: ${m.model} on ${bindHost(d.host)}:${d.port}`, args));
    }
  }
  if (plan.mode === 'proxy') {
    if (!isLoopback(plan.proxy.host)) skipped.push(`proxy on ${plan.proxy.host}: not this machine`);
    else {
      if (!tools.litellm) throw new Error('litellm is not installed');
      const args = [tools.litellm, '--config', configPaths(env).litellm, '--host', '127.0.0.1', '--port', String(plan.proxy.port)];
      agents.push(
        make(agentLabel('proxy'), `LiteLLM proxy on 127.0.0.1:${plan.proxy.port}`, args, {
          LITELLM_TELEMETRY: 'False',
          LITELLM_LOCAL_MODEL_COST_MAP: 'True',
          DISABLE_ADMIN_UI: 'True',
        }),
      );
    }
  }
  return { agents, skipped };
}
