/**
 * Deployments on other machines. mlx_lm.server has no authentication, so a server reached over
 * the network is open to anyone who can reach that address; the safe way is an SSH tunnel to a
 * server bound to 127.0.0.1 on the other Mac. serve never starts or binds anything for them.
 */
import type { Deployment } from '../config/plan.js';
import { promptCacheArgs, type PromptCacheBound } from '../hub/prompt-cache.js';

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Address to bind a server we start for a loopback deployment (never 0.0.0.0). */
export function bindHost(host: string): string {
  const h = host.replace(/^\[|\]$/g, '');
  return h.toLowerCase() === 'localhost' ? '127.0.0.1' : h;
}

/** The command that makes a remote server reachable here on 127.0.0.1:`localPort`. */
export function tunnelCommand(d: Deployment, localPort: number, user = '<you>'): string {
  return `ssh -N -L ${localPort}:127.0.0.1:${d.port} ${user}@${d.host}`;
}

/** The local end of the tunnel exposureWarning suggests for `d`. */
export function tunnelPort(d: Deployment): number {
  return 10000 + (d.port % 10000);
}

/**
 * How to start (or restart) the mlx_lm.server of a deployment, in words. Never `--host` with a
 * network address: a remote server stays on its own 127.0.0.1, reached here through a tunnel.
 */
export function serverStartAdvice(model: string, d: Deployment, o: { verb?: string; portFlag?: string; promptCache?: PromptCacheBound } = {}): string {
  const verb = o.verb ?? 'Start it in another terminal';
  const cmd = `mlx_lm.server --model ${model} --port ${d.port}${promptCacheFlags(o.promptCache)}`;
  if (isLoopback(d.host)) return `${verb}: ${cmd}${d.host === '127.0.0.1' || d.host.toLowerCase() === 'localhost' ? '' : ` --host ${bindHost(d.host)}`}`;
  const local = tunnelPort(d);
  return (
    `${verb} on ${d.host}, on that Mac's 127.0.0.1: ${cmd} (it has no authentication: keep it off the network). ` +
    `Here, open a tunnel: ${tunnelCommand(d, local)}, and run setup again with --host 127.0.0.1${o.portFlag ? ` ${o.portFlag} ${local}` : ''}.`
  );
}

/** ` --prompt-cache-size N --prompt-cache-bytes B` for a command line in words ('' without a bound). */
export function promptCacheFlags(b: PromptCacheBound | undefined): string {
  const a = promptCacheArgs(b);
  return a.length ? ` ${a.join(' ')}` : '';
}

/** What is exposed, in plain words, and how to avoid it. */
export function exposureWarning(d: Deployment, localPort = tunnelPort(d)): string {
  return (
    `${d.host}:${d.port} is reached over the network, and mlx_lm.server has no authentication: anyone who can reach ` +
    `that address can use the model (and make it download others). Safer: on that Mac keep the server on 127.0.0.1, ` +
    `open a tunnel here with \`${tunnelCommand(d, localPort)}\`, and list the deployment as 127.0.0.1:${localPort}.`
  );
}

/** A tunnel looks like a local port held by `ssh`: what a deployment on 127.0.0.1 may really be. */
export function looksLikeTunnel(commandLine: string | undefined): boolean {
  return commandLine !== undefined && /(^|\/)ssh\s.*-L\s*\S+/.test(commandLine);
}
