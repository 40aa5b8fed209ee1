// Follow-up turns over two deployments of one model, with the REAL mlx_lm.server (CPU) and the REAL
// LiteLLM proxy, side by side in one run:
//   ours     the litellm.yaml aider-mlx renders (router_settings: session_affinity) + the
//            x-litellm-session-id header its Aider model settings send (extra_params.extra_headers);
//   default  a hand-written litellm.yaml for the same two servers: no router_settings, no header.
// Each side gets BENCH_TURNS (20) Aider-shaped turns (system prompt + repo map + files + growing
// history, each reply kept with a ~500-token edit), BENCH_CONVERSATIONS (2) conversations
// interleaved round robin, streamed. Reported: the
// median follow-up time to first token, the share of follow-ups whose whole previous prompt was
// reused (usage.prompt_tokens_details.cached_tokens ≥ the previous turn's prompt_tokens), and the
// ratio. Then one server is stopped and a conversation that lived there is answered through ours.
// Both sides hit the same two servers; their conversations differ from the first token, so no
// side can reuse the other's cache. The servers get the prompt-cache bound aider-mlx gives them
// (src/hub/prompt-cache.ts). Needs the peers (test/peers/README.md). Run: node bench/turns.mjs
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { bundle, median, streamChat } from './lib.mjs';

const TURNS = Number(process.env.BENCH_TURNS ?? 20);
const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 2);
const CONTEXT = 16384;
const MODEL = 'aider-mlx-bench/qwen2-h128-l2';
// Big enough that a ~6k-token prefill takes seconds on CPU (≈11 s measured on 2 busy cores).
const SHAPE = ['--hidden', '128', '--layers', '2', '--heads', '4', '--kv-heads', '2', '--intermediate', '256', '--dtype', 'float16'];

const m = await bundle('turns', {
  'renderFiles, renderUsageCallback, usageCallbackPath': 'src/config/render.ts',
  'litellmModelName, LOCAL_API_KEY': 'src/config/names.ts',
  newProxyKey: 'src/config/secrets.ts',
  PLAN_VERSION: 'src/config/plan.ts',
  'promptCacheFor, promptCacheArgs': 'src/hub/prompt-cache.ts',
  'ensurePeers': 'test/peers/bootstrap.ts',
  'startMlxServer, startLitellm, runChild, childEnv, tempDir, freePort, cleanupTemp, TINY_MODEL_SCRIPT': 'test/peers/harness.ts',
});

const peers = await m.ensurePeers();
if (!peers.mlx || !peers.litellm) throw new Error(`the peers are not installed: ${JSON.stringify(peers.errors)}`);
const dir = m.tempDir('bench-turns');
const hfHome = join(dir, 'hf');

/** A bigger random-weight model, written by the peers' own generator. */
export async function makeBenchModel(python, hfHome, repoId, shape) {
  const r = await m.runChild(python, [m.TINY_MODEL_SCRIPT, '--hf-home', hfHome, '--repo-id', repoId, '--seed', '7', '--answer', 'bench reply ok', ...shape], { env: m.childEnv({ HF_HOME: hfHome }), timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`make_tiny_model.py failed: ${r.output}`);
}
await makeBenchModel(peers.mlx.python, hfHome, MODEL, SHAPE);

// --- Aider-shaped conversations -------------------------------------------------------------
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}
const WORDS = ['parse', 'render', 'config', 'server', 'cache', 'route', 'token', 'model', 'proxy', 'stream', 'retry', 'plan', 'merge', 'write', 'read', 'check'];
function project(tag, seed) {
  const r = rng(seed);
  const w = () => WORDS[Math.floor(r() * WORDS.length)];
  const system =
    `Act as an expert software developer (${tag}). Always use best practices when coding. Respect and use existing conventions, libraries, etc that are already present in the code base.\n` +
    'Take requests for changes to the supplied code. If the request is ambiguous, ask questions.\n' +
    'Once you understand the request you MUST: 1. Decide if you need to propose *SEARCH/REPLACE* edits to any files that haven\'t been added to the chat. 2. Think step-by-step and explain the needed changes in a few short sentences. 3. Describe each change with a *SEARCH/REPLACE block* per the examples below.\n'.repeat(3) +
    '# *SEARCH/REPLACE block* Rules:\nEvery *SEARCH/REPLACE block* must use this format: the file path alone on a line, the opening fence, <<<<<<< SEARCH, a contiguous chunk of lines to search for in the existing source code, =======, the lines to replace into the source code, >>>>>>> REPLACE, the closing fence.\n'.repeat(2);
  let map = 'Here are summaries of some files present in my git repository.\nDo not propose changes to these files, treat them as *read-only*.\n';
  for (let f = 0; map.length < 3000; f++) {
    map += `\nsrc/${w()}_${w()}_${f}.py:\n│class ${w()[0].toUpperCase()}${w()}${f}:\n│    def ${w()}_${w()}(self, ${w()}):\n│def ${w()}_${w()}_${f}(${w()}, ${w()}):\n`;
  }
  let files = 'I have *added these files to the chat* so you can go ahead and edit them.\n\nsrc/main.py\n```\n';
  for (let f = 0; files.length < 1600; f++) files += `def ${w()}_${f}(${w()}):\n    return ${w()}_${w()}(${w()}) + ${f}\n\n`;
  files += '```\n';
  // What Aider keeps of a reply: the model's words and its SEARCH/REPLACE edit (~500 tokens here;
  // the model itself answers a few tokens, so the edit is added the way a real reply would be).
  const edit = (n) => {
    let e = `\n\nsrc/main.py\n\`\`\`python\n<<<<<<< SEARCH\n`;
    for (let k = 0; e.length < 260; k++) e += `def ${w()}_${n}_${k}(${w()}):\n    return ${w()}(${k})\n`;
    e += '=======\n';
    for (let k = 0; e.length < 520; k++) e += `def ${w()}_${n}_${k}(${w()}, ${w()}=None):\n    return ${w()}(${k}, ${w()})\n`;
    return `${e}>>>>>>> REPLACE\n\`\`\`\n`;
  };
  return { system, map, files, edit, ask: (n) => `Turn ${n}: please change ${w()}_${w()} so that it handles the ${w()} of the ${w()} too, and update its callers.` };
}
/** Aider's message layout: system, repo map + "Ok", files + "Ok", the history, the new request. */
function messages(p, history, ask) {
  return [
    { role: 'system', content: p.system },
    { role: 'user', content: p.map },
    { role: 'assistant', content: 'Ok, I won\'t try and edit those files without asking first.' },
    { role: 'user', content: p.files },
    { role: 'assistant', content: 'Ok, any changes I propose will be to those files.' },
    ...history,
    { role: 'user', content: ask },
  ];
}

// --- two servers with aider-mlx's prompt-cache bound ----------------------------------------
const bound = m.promptCacheFor({ model: MODEL, roles: ['editor'], context: CONTEXT }, { HF_HOME: hfHome, HOME: dir });
const cacheArgs = m.promptCacheArgs(bound);
const servers = [];
for (let i = 0; i < 2; i++) {
  servers.push(await m.startMlxServer({ model: MODEL, hfHome, extraArgs: cacheArgs, logPath: join(dir, `mlx-${i}.log`) }));
}
const name = m.litellmModelName(MODEL);

// ours: the files aider-mlx writes for a plan with two deployments of the editor
const plan = {
  version: m.PLAN_VERSION,
  mode: 'proxy',
  roles: { editor: { model: MODEL, context: CONTEXT, deployments: servers.map((s) => ({ host: '127.0.0.1', port: s.port })) } },
  proxy: { host: '127.0.0.1', port: await m.freePort() },
  requestTimeout: 600,
  aider: { scope: 'profile', dir: join(dir, 'aider') },
};
const key = m.newProxyKey();
const oursPath = join(dir, 'litellm-ours.yaml');
const files = m.renderFiles(plan, { litellmConfig: oursPath, aiderDir: plan.aider.dir, proxyKey: key });
writeFileSync(oursPath, files.litellm, { mode: 0o600 });
// As setup writes it: the usage callback the config names, next to it.
writeFileSync(m.usageCallbackPath(oursPath), m.renderUsageCallback(join(dir, 'turns.jsonl')), { mode: 0o600 });
const { parse } = await import('yaml');
const sentHeaders = parse(files.settings)[0].extra_params?.extra_headers ?? {};
if (!Object.keys(sentHeaders).length) throw new Error('the rendered model settings carry no session header');

// default: what someone writes by hand from LiteLLM's docs
const defaultPath = join(dir, 'litellm-default.yaml');
writeFileSync(
  defaultPath,
  stringify({
    model_list: servers.map((s) => ({ model_name: name, litellm_params: { model: 'openai/default_model', api_base: s.baseUrl, api_key: 'none', timeout: 600 } })),
    general_settings: { master_key: key },
  }),
);
const [ours, dflt] = await Promise.all([m.startLitellm(oursPath, {}, { port: plan.proxy.port, logPath: join(dir, 'litellm-ours.log') }), m.startLitellm(defaultPath, {}, { logPath: join(dir, 'litellm-default.log') })]);

const uptime = () => Number((process.uptime()).toFixed(0));
const answered = () => servers.map((s) => (s.log().match(/"POST \/v1\/chat\/completions HTTP\/1\.[01]" 200/g) ?? []).length);
/** Which server answered the turn that just ended (its access-log line may lag the stream's end a little). */
async function whoAnswered(before) {
  for (let i = 0; i < 40; i++) {
    const now = answered();
    const k = now.findIndex((n, j) => n > before[j]);
    if (k >= 0) return k;
    await new Promise((r) => setTimeout(r, 50));
  }
  return -1;
}
async function side(label, proxy, headersFor, seedBase) {
  const convs = Array.from({ length: CONVERSATIONS }, (_, c) => ({ p: project(`${label} project ${c}`, seedBase + c), history: [], prev: 0, id: `aider-mlx-run-bench-${label}-${c}` }));
  const follow = [];
  const cold = [];
  for (let t = 0; t < TURNS; t++) {
    const c = convs[t % CONVERSATIONS];
    const n = c.history.length / 2;
    const ask = c.p.ask(n);
    const before = answered();
    const r = await streamChat(`${proxy.baseUrl}/chat/completions`, { model: name, messages: messages(c.p, c.history, ask), max_tokens: 8, temperature: 0 }, { authorization: `Bearer ${key}`, ...headersFor(c) });
    if (r.status !== 200) throw new Error(`${label} turn ${t}: HTTP ${r.status} ${r.raw}`);
    const cached = r.usage?.prompt_tokens_details?.cached_tokens;
    if (cached === undefined) throw new Error(`${label}: no usage.prompt_tokens_details.cached_tokens in the stream: ${JSON.stringify(r.usage)}`);
    const server = await whoAnswered(before);
    const moved = n > 0 && server !== c.server;
    const row = { t, conv: c.id.slice(-1), server, ttft: r.ttft, prompt: r.usage.prompt_tokens, cached, hit: n > 0 && cached >= c.prev, moved };
    (n === 0 ? cold : follow).push(row);
    const why = n === 0 ? '' : row.hit ? '  hit' : moved ? '  MISS (another server)' : '  MISS (same server: evicted)';
    console.log(`  [${uptime()}s] ${label.padEnd(7)} turn ${String(t + 1).padStart(2)} conv ${row.conv} ${n === 0 ? 'first ' : 'follow'} server ${server} ttft ${(r.ttft / 1000).toFixed(2).padStart(6)} s  prompt ${row.prompt}  cached ${cached}${why}`);
    c.server = server;
    c.history.push({ role: 'user', content: ask }, { role: 'assistant', content: (r.text || 'ok') + c.p.edit(n) });
    // A real model generates its reply, so the server that answered holds the reply's KV too. The
    // random model only says a few words: prefill the kept reply on that server, straight to it and
    // outside the timing, so its cache looks as it would after generating the edit.
    if (server >= 0) await streamChat(`${servers[server].baseUrl}/chat/completions`, { model: 'default_model', messages: [...messages(c.p, [], '').slice(0, -1), ...c.history], max_tokens: 1 });
    c.prev = r.usage.prompt_tokens;
  }
  return { label, cold, follow, convs, medianFollow: median(follow.map((f) => f.ttft)), hits: follow.filter((f) => f.hit).length };
}

console.log(`aider-mlx turns bench — ${TURNS} turns, ${CONVERSATIONS} conversations interleaved, 2 × mlx_lm.server ${cacheArgs.join(' ')} (${MODEL}: ${SHAPE.join(' ')}), LiteLLM ${peers.litellm.version}`);
let results;
try {
  const d = await side('default', dflt, () => ({}), 100);
  const o = await side('ours', ours, (c) => ({ ...sentHeaders, 'x-litellm-session-id': c.id }), 200);
  results = { d, o };
  const fmt = (s) => {
    const moved = s.follow.filter((f) => !f.hit && f.moved).length;
    const evicted = s.follow.filter((f) => !f.hit && !f.moved).length;
    return `${s.label.padEnd(8)} median follow-up TTFT ${(s.medianFollow / 1000).toFixed(2).padStart(6)} s   cache hits ${s.hits}/${s.follow.length} (${Math.round((100 * s.hits) / s.follow.length)}%; misses: ${moved} on another server, ${evicted} evicted)   median first turn ${(median(s.cold.map((x) => x.ttft)) / 1000).toFixed(2)} s   first turns on servers ${s.cold.map((x) => x.server).join(',')}`;
  };
  console.log('\n' + fmt(d) + '\n' + fmt(o));
  console.log(`ratio default/ours median follow-up TTFT: ${(d.medianFollow / o.medianFollow).toFixed(1)}x`);

  // Failover: stop the server that answered conversation 0's last turn through ours, then its next turn.
  const before = answered();
  const c0 = o.convs[0];
  const probe = await streamChat(`${ours.baseUrl}/chat/completions`, { model: name, messages: messages(c0.p, c0.history, 'one more'), max_tokens: 8 }, { authorization: `Bearer ${key}`, 'x-litellm-session-id': c0.id });
  const home = await whoAnswered(before);
  await servers[home].stop();
  const t = await streamChat(`${ours.baseUrl}/chat/completions`, { model: name, messages: messages(c0.p, c0.history, 'and one more after the failure'), max_tokens: 8 }, { authorization: `Bearer ${key}`, 'x-litellm-session-id': c0.id });
  console.log(`failover: conversation 0 lived on server ${home} (cached ${probe.usage?.prompt_tokens_details?.cached_tokens}); stopped it; next turn through ours: HTTP ${t.status}, "${t.text.trim()}", ttft ${(t.ttft / 1000).toFixed(2)} s, cached ${t.usage?.prompt_tokens_details?.cached_tokens ?? '?'}`);
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ ...results, failover: { status: t.status, ttft: t.ttft } }, null, 2));
} finally {
  await Promise.all([ours.stop(), dflt.stop(), ...servers.map((s) => s.stop())]);
  m.cleanupTemp();
}
