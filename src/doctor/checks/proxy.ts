/**
 * Hop 3, the LiteLLM proxy (proxy mode): alive, the key Aider sends is accepted, the running proxy
 * serves the names Aider asks for, and a 1-token completion goes through it for each model whose
 * server answered (SPEC §2.6, §4 #7, #8, #10–#12). The proxy's error texts are read with the same
 * parser as pasted errors.
 */
import { rootUrl } from '../../servers/probe.js';
import { identifyServer, probeChat, probeLitellm, probeTcp, seconds, type ChatProbe } from '../../servers/probe.js';
import { tildify, type Env } from '../../lib/paths.js';
import { UPSTREAM_DEFAULT_MODEL } from '../../config/names.js';
import type { DiskState } from '../files.js';
import type { Expectations } from '../expect.js';
import { parseErrorText } from '../error-text.js';
import { suspectsFromText } from '../causes.js';
import { mask, namesInUse } from './aider.js';
import type { ServerHealth } from './servers.js';
import { skipped, type DoctorCaps, type DoctorCheck, type DoctorOptions } from '../types.js';

const DOCS = { health: 'https://docs.litellm.ai/docs/proxy/health', keys: 'https://docs.litellm.ai/docs/proxy/virtual_keys' };

/** The key Aider sends: a per-model extra_params.api_key, else OPENAI_API_KEY after Aider's own loading. */
export function aiderKey(state: DiskState): string | undefined {
  for (const u of namesInUse(state)) {
    const e = state.aider.settings.get(u.name)?.value.extra_params as Record<string, unknown> | undefined;
    if (typeof e?.api_key === 'string' && e.api_key) return e.api_key;
  }
  return state.env.OPENAI_API_KEY?.value || undefined;
}

function errorText(r: ChatProbe): string {
  if (r.error && r.status === undefined) return r.error.message;
  return r.bodyHead;
}

export async function proxyChecks(
  state: DiskState,
  exp: Expectations,
  servers: Map<string, Promise<ServerHealth[]>>,
  opts: DoctorOptions,
  caps: DoctorCaps,
  env: Env,
): Promise<DoctorCheck[]> {
  const { host, port } = exp.plan.proxy;
  const root = rootUrl(host, port);
  const where = `${host}:${port}`;
  const g = 'proxy' as const;
  const popts = { timeoutMs: opts.timeoutMs, ...(caps.signal ? { signal: caps.signal } : {}), ...(caps.fetch ? { fetch: caps.fetch } : {}) };
  const key = aiderKey(state);
  const master = state.litellm.masterKey;
  const out: DoctorCheck[] = [];
  const names = exp.models.map((m) => m.served.modelName);
  const modelIds = names.map((n) => `proxy.model.${n}`);
  const skipAll = (ids: string[], why: string) => {
    for (const id of ids) out.push(skipped({ id, group: g, title: id.startsWith('proxy.model.') ? `${id.slice(12)} through the proxy` : id === 'proxy.auth' ? 'the proxy accepts Aider\'s key' : 'the proxy serves the names Aider uses' }, why));
  };
  const startCmd = `litellm --config ${tildify(exp.litellmPath, env)} --host 127.0.0.1 --port ${port}`;

  // One --timeout for the whole alive check: the TCP test runs alongside, and a proxy port that
  // already timed out is not asked again (identifying it would cost a second timeout).
  const deadline = performance.now() + opts.timeoutMs;
  const [first, tcp] = await Promise.all([
    probeLitellm(root, { ...popts, ...(key ? { apiKey: key } : {}) }),
    probeTcp(host, port, { timeoutMs: opts.timeoutMs, ...(caps.signal ? { signal: caps.signal } : {}) }),
  ]);
  let p = first;
  if (!p.liveliness.ok) {
    const refused = p.liveliness.error?.kind === 'refused';
    const timedOut = p.liveliness.error?.kind === 'timeout';
    const endless = timedOut && p.liveliness.status !== undefined;
    let held = '';
    let title = '';
    if (timedOut) {
      title = endless
        ? `LiteLLM proxy: ${where} answers HTTP ${p.liveliness.status} with a body that never ends (not LiteLLM's "I'm alive!")`
        : tcp.ok
          ? `LiteLLM proxy: ${where} accepted the connection, no HTTP answer within ${seconds(opts.timeoutMs)}`
          : `LiteLLM proxy: connections to ${where} time out`;
    } else if (!refused) {
      const left = Math.round(deadline - performance.now());
      const who = left >= 50 ? await identifyServer(host, port, { ...popts, timeoutMs: left }) : undefined;
      if (who?.kind === 'mlx_lm.server') held = 'an mlx_lm.server';
      else if (who?.kind === 'other') held = who.looksLike ?? (who.noHttpAnswer ? 'a process that accepts connections but sends no HTTP answer' : 'another server');
    }
    title ||= refused ? `LiteLLM proxy: nothing listens on ${where}` : held ? `LiteLLM proxy: ${where} is held by ${held}` : `LiteLLM proxy on ${where} does not answer /health/liveliness`;
    const lsof = `lsof -nP -iTCP:${port} -sTCP:LISTEN`;
    out.push({
      id: 'proxy.alive',
      group: g,
      title,
      status: 'fail',
      observed: p.liveliness.error?.message ?? `HTTP ${p.liveliness.status}: ${p.liveliness.bodyHead.slice(0, 120)}`,
      expected: `GET ${root}/health/liveliness → "I'm alive!"`,
      fix: refused
        ? `Start it: ${startCmd}`
        : endless
          ? `That is not a LiteLLM proxy's answer: stop what holds port ${port} (${lsof}), then: ${startCmd}`
          : timedOut
            ? `See what holds port ${port} (${lsof}): if it is your LiteLLM proxy, it is stuck or still starting (restart it: ${startCmd}); otherwise stop it.`
            : held
              ? `Stop what holds port ${port} (${lsof}), then: ${startCmd}`
              : `Check the proxy's log; restart it: ${startCmd}`,
      causes: refused ? ['C7', 'master-key'] : ['C8'],
      latencyMs: p.liveliness.latencyMs,
      docs: DOCS.health,
    });
    skipAll(['proxy.auth', 'proxy.names', ...modelIds], 'proxy.alive failed');
    return out;
  }
  out.push({ id: 'proxy.alive', group: g, title: `LiteLLM proxy answers on ${where}`, status: 'pass', latencyMs: p.liveliness.latencyMs, causes: ['C7', 'C8'] });

  // The key Aider sends (#10); when it is refused, go on with the file's master key to test the next hops.
  let chatKey = key;
  if (p.authFailed) {
    out.push({
      id: 'proxy.auth',
      group: g,
      title: 'the proxy refuses the key Aider sends',
      status: 'fail',
      observed: `${p.models.error?.message ?? `HTTP ${p.models.status}`}; Aider sends ${key ? mask(key) : 'no key'}${master ? `, the config's master_key is ${mask(master)}` : ''}`,
      expected: "Aider's openai-api-key equal to the proxy's general_settings.master_key",
      fix: 'Run `npx aider-mlx doctor --fix` (sets openai-api-key to the proxy\'s key); if the proxy runs an older config, restart it.',
      fixable: 'rewrite',
      causes: ['C10'],
      docs: DOCS.keys,
    });
    if (master && master !== key) {
      const again = await probeLitellm(root, { ...popts, apiKey: master });
      if (!again.authFailed) {
        p = again;
        chatKey = master;
      }
    }
    if (p.authFailed) {
      skipAll(['proxy.names', ...modelIds], 'proxy.auth failed');
      return out;
    }
  } else {
    out.push({ id: 'proxy.auth', group: g, title: "the proxy accepts Aider's key", status: 'pass', observed: key ? `key ${mask(key)}` : 'no key needed', causes: ['C10'] });
  }

  // The names the running proxy serves (#11): a proxy started from an older config does not know new names.
  const missing = names.filter((n) => !p.names.includes(n));
  if (!p.models.ok) {
    out.push({ id: 'proxy.names', group: g, title: 'the proxy does not list its models', status: 'fail', observed: p.models.error?.message ?? `HTTP ${p.models.status}`, expected: 'GET /v1/models → a list', fix: `Restart it: ${startCmd}`, causes: ['C11'] });
  } else if (missing.length) {
    const inFile = missing.filter((n) => state.litellm.entries.some((e) => e.modelName === n));
    out.push({
      id: 'proxy.names',
      group: g,
      title: `the running proxy does not serve ${missing.join(', ')} (400 Invalid model name)`,
      status: 'fail',
      observed: `it serves ${p.names.join(', ') || 'nothing'}`,
      expected: `model_names ${names.join(', ')}`,
      fix: inFile.length === missing.length ? `The config has them: the proxy runs an older one. Restart it: ${startCmd}` : `Run \`npx aider-mlx doctor --fix\` to add them to the config, then restart the proxy: ${startCmd}`,
      ...(inFile.length === missing.length ? {} : { fixable: 'rewrite' as const }),
      causes: ['C11'],
    });
  } else {
    out.push({ id: 'proxy.names', group: g, title: `the proxy serves ${names.join(', ')}`, status: 'pass', observed: p.names.join(', '), causes: ['C11'] });
  }

  // A completion through the proxy per model, once that model's servers answered (#12 and the rest, as the proxy reports them).
  await Promise.all(
    exp.models.map(async (m) => {
      const id = `proxy.model.${m.served.modelName}`;
      const title = `${m.served.modelName} answers through the proxy`;
      if (missing.includes(m.served.modelName)) return void out.push(skipped({ id, group: g, title }, 'proxy.names failed'));
      // The proxy forwards litellm_params.model: any name but default_model / the --model could make the server download a model.
      const unsafe = state.litellm.entries
        .filter((e) => e.modelName === m.served.modelName && e.model)
        .map((e) => e.model!.replace(/^[\w-]+\//, ''))
        .filter((u) => u !== UPSTREAM_DEFAULT_MODEL && u !== m.served.model);
      if (unsafe.length) {
        return void out.push(skipped({ id, group: g, title }, `the proxy would send "${unsafe[0]}" to the server, which may make it download a model (see config.litellm.upstream)`));
      }
      const outcomes = (await servers.get(m.served.modelName)) ?? [];
      if (outcomes.length && outcomes.every((o) => !o.healthy)) {
        return void out.push(skipped({ id, group: g, title }, `its server failed first (${outcomes.map((o) => `server.${o.label}`).join(', ')})`));
      }
      const r = await probeChat(`${root}/v1`, m.served.modelName, { ...popts, ...(chatKey ? { apiKey: chatKey } : {}), maxTokens: 1 });
      if (r.ok) return void out.push({ id, group: g, title, status: 'pass', latencyMs: r.latencyMs, causes: ['C1', 'C2', 'C12'] });
      const parsed = parseErrorText(errorText(r));
      const suspects = suspectsFromText(parsed);
      const cooldown = parsed.signals.includes('no-deployments');
      const wait = /Try again in (\d+) seconds/i.exec(r.bodyHead)?.[1];
      out.push({
        id,
        group: g,
        title: cooldown ? `${m.served.modelName}: the proxy put its servers on cooldown ("No deployments available")` : r.error?.kind === 'timeout' ? `${m.served.modelName}: no answer through the proxy within ${Math.round(opts.timeoutMs / 1000)} s` : `${m.served.modelName} fails through the proxy`,
        status: 'fail',
        observed: r.status !== undefined ? `HTTP ${r.status}: ${parsed.summary}` : (r.error?.message ?? 'no answer'),
        expected: 'HTTP 200 chat.completion through the proxy',
        fix: cooldown
          ? `The servers answer now, but the proxy still remembers earlier failures: ${wait ? `wait ${wait} s, or ` : ''}restart it (${startCmd}); router_settings.num_retries: 0 and allowed_fails keep it from cooling down for long.`
          : suspects[0]
            ? `Most likely: ${suspects[0].why[0]}. The checks above show where; \`aider-mlx doctor --error '<the text>'\` explains it.`
            : `Check the proxy's log; restart it: ${startCmd}`,
        causes: cooldown ? ['C12'] : suspects.map((s) => s.cause),
        latencyMs: r.latencyMs,
      });
    }),
  );
  out.sort((a, b) => order(a.id) - order(b.id) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out;
}

function order(id: string): number {
  return ['proxy.alive', 'proxy.auth', 'proxy.names'].indexOf(id) >= 0 ? ['proxy.alive', 'proxy.auth', 'proxy.names'].indexOf(id) : 3;
}
