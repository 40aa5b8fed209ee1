/** The wizard behind `aider-mlx setup` on a terminal (and `--demo` anywhere): flags → context → steps. */
import { join } from 'node:path';
import { CancelledError, type ExitCode } from '../errors.js';
import { ROLE_NAMES, type RoleName } from '../config/plan.js';
import { GiB } from '../hub/fit.js';
import { findFreePort } from '../servers/ports.js';
import { hostOf } from './draft.js';
import { parseSetupFlags, type SetupInput } from '../setup/flags.js';
import type { Env } from '../lib/paths.js';
import { createContext, emptyAnswers, type Answers, type LaunchAfter, type WizardDeps } from './context.js';
import type { Prompter } from './prompter.js';
import { defaultDeps, demoFolders, runWizard } from './run.js';
import { demoFolderKept } from './steps/finish.js';

/** The setup flags actually typed (SetupInput has every default filled in). */
export function explicitFlags(args: string[]): Set<string> {
  const out = new Set<string>();
  for (const a of args) {
    if (a === '--') break;
    if (a === '-y') out.add('yes');
    else if (a.startsWith('--')) out.add(a.slice(2).split('=')[0]!);
  }
  return out;
}

/** Flags decide; the wizard does not ask what a flag answered (flag > --yes default > prompt). */
export function fixedFromFlags(input: SetupInput, given: Set<string>): Answers {
  const f = emptyAnswers();
  if (given.has('editor') && input.editor) f.models.editor = { model: input.editor, source: 'flag' };
  if (given.has('architect') && input.architect) {
    f.roles = 'pair';
    f.models.architect = { model: input.architect, source: 'flag' };
  }
  if (given.has('weak') && input.weak) {
    f.weak = 'separate';
    f.models.weak = { model: input.weak, source: 'flag' };
  }
  const portOf: Record<RoleName, number> = { editor: input.editorPort, architect: input.architectPort, weak: input.weakPort };
  for (const r of ROLE_NAMES) if (given.has(`${r}-port`)) f.ports[r] = portOf[r];
  if (given.has('proxy-port')) f.ports.proxy = input.proxyPort;
  if (given.has('host')) f.host = input.host;
  if (given.has('mode')) f.mode = input.mode;
  if (given.has('scope')) f.scope = input.scope;
  if (given.has('context')) for (const r of ROLE_NAMES) f.context[r] = input.context;
  if (given.has('force')) f.replace = true;
  if (input.split) f.groups = { editor: input.split };
  if (given.has('at-login')) f.atLogin = true;
  return f;
}

export interface WizardCommandOptions {
  prompter: Prompter;
  /** The setup flags (our own --plain/--demo/--answers already taken out). */
  args: string[];
  demo: boolean;
  demoDir?: string;
  signal: AbortSignal;
  env?: Env;
  cwd?: string;
  deps?: Partial<WizardDeps>;
}

/** Qwen2-family config.json of an MLX 4-bit conversion, with the fields that differ per model. */
const qwen2 = (over: Record<string, unknown>) => ({
  model_type: 'qwen2',
  architectures: ['Qwen2ForCausalLM'],
  vocab_size: 152064,
  max_position_embeddings: 32768,
  quantization: { group_size: 64, bits: 4 },
  ...over,
});

/**
 * What the demo's stand-in Hub holds: mlx-community repos people search for, each with its real
 * config.json shape and the real size of its weights (model*.safetensors, as the Hub lists them:
 * the curated list's figures), so the search shows the download and the fit a real run shows.
 * Their bytes are tiny stand-ins: the demo never downloads a model.
 */
export const DEMO_HUB_MODELS: ReadonlyArray<{ id: string; weightsBytes: number; config: Record<string, unknown> }> = [
  {
    id: 'mlx-community/Qwen2.5-Coder-1.5B-Instruct-4bit',
    weightsBytes: 0.81 * GiB,
    config: qwen2({ hidden_size: 1536, num_attention_heads: 12, num_key_value_heads: 2, num_hidden_layers: 28, intermediate_size: 8960, vocab_size: 151936, tie_word_embeddings: true }),
  },
  {
    id: 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit',
    weightsBytes: 4.0 * GiB,
    config: qwen2({ hidden_size: 3584, num_attention_heads: 28, num_key_value_heads: 4, num_hidden_layers: 28, intermediate_size: 18944 }),
  },
  {
    id: 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit',
    weightsBytes: 7.8 * GiB,
    config: qwen2({ hidden_size: 5120, num_attention_heads: 40, num_key_value_heads: 8, num_hidden_layers: 48, intermediate_size: 13824 }),
  },
  {
    id: 'mlx-community/Qwen2.5-Coder-32B-Instruct-4bit',
    weightsBytes: 17.2 * GiB,
    config: qwen2({ hidden_size: 5120, num_attention_heads: 40, num_key_value_heads: 8, num_hidden_layers: 64, intermediate_size: 27648 }),
  },
  {
    id: 'mlx-community/Qwen3-Coder-30B-A3B-Instruct-4bit',
    weightsBytes: 16.0 * GiB,
    config: {
      model_type: 'qwen3_moe',
      architectures: ['Qwen3MoeForCausalLM'],
      hidden_size: 2048,
      num_attention_heads: 32,
      num_key_value_heads: 4,
      head_dim: 128,
      num_hidden_layers: 48,
      moe_intermediate_size: 768,
      num_experts: 128,
      num_experts_per_tok: 8,
      vocab_size: 151936,
      max_position_embeddings: 262144,
      quantization: { group_size: 64, bits: 4 },
    },
  },
  {
    id: 'mlx-community/Devstral-Small-2505-4bit',
    weightsBytes: 12.4 * GiB,
    config: {
      model_type: 'mistral',
      architectures: ['MistralForCausalLM'],
      hidden_size: 5120,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      head_dim: 128,
      num_hidden_layers: 40,
      intermediate_size: 32768,
      vocab_size: 131072,
      max_position_embeddings: 131072,
      quantization: { group_size: 64, bits: 4 },
    },
  },
  {
    id: 'mlx-community/Qwen3-8B-4bit',
    weightsBytes: 4.3 * GiB,
    config: {
      model_type: 'qwen3',
      architectures: ['Qwen3ForCausalLM'],
      hidden_size: 4096,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      head_dim: 128,
      num_hidden_layers: 36,
      intermediate_size: 12288,
      vocab_size: 151936,
      max_position_embeddings: 40960,
      quantization: { group_size: 64, bits: 4 },
    },
  },
  {
    id: 'mlx-community/QwQ-32B-4bit',
    weightsBytes: 17.2 * GiB,
    config: qwen2({ hidden_size: 5120, num_attention_heads: 40, num_key_value_heads: 8, num_hidden_layers: 64, intermediate_size: 27648, max_position_embeddings: 40960 }),
  },
];

/** The repo ids the demo's stand-in Hub holds. */
export const DEMO_HUB_REPOS = DEMO_HUB_MODELS.map((m) => m.id);

/**
 * The demo's Hub: a stand-in on 127.0.0.1 answers the search, so `--demo` needs no network. It
 * starts on the first search: a demo that never searches does not load it (nor the Hub client).
 */
function demoHub(): { searchHub: WizardDeps['searchHub']; close(): Promise<void> } {
  let started: Promise<{ url: string; close(): Promise<void>; searchHub: WizardDeps['searchHub'] }> | undefined;
  const start = () =>
    (started ??= (async () => {
      const [{ startStandInHub, fakeMlxRepo }, { searchHub }] = await Promise.all([import('../hub/stand-in-hub.js'), import('../hub/search.js')]);
      const hub = await startStandInHub({
        repos: DEMO_HUB_MODELS.map((m, i) => fakeMlxRepo(m.id, { weightsBytes: Math.round(m.weightsBytes), config: m.config, downloads: 10_000 - i * 100 })),
      });
      return { url: hub.url, close: () => hub.close(), searchHub };
    })());
  return {
    searchHub: async (opts) => {
      const hub = await start();
      // Nothing of the user's Hub setup applies (their token never leaves for the stand-in either).
      const { HF_TOKEN: _t, HUGGING_FACE_HUB_TOKEN: _h, HF_HUB_OFFLINE: _o, ...env } = opts.env ?? {};
      return hub.searchHub({ ...opts, env: { ...env, HF_ENDPOINT: hub.url } });
    },
    close: async () => {
      if (started) await (await started).close();
    },
  };
}

export async function runWizardCommand(o: WizardCommandOptions): Promise<{ code: ExitCode; demoRoot?: string; launch?: LaunchAfter }> {
  const input = parseSetupFlags(o.args);
  const hostEnv = o.env ?? process.env;
  const demo = o.demo ? await demoFolders(o.demoDir) : undefined;
  const hub = demo ? demoHub() : undefined;
  // The demo's data folder (where a background serve keeps its pid file) is its own, like its config.
  const env: Env = demo
    ? { ...hostEnv, HOME: demo.home, XDG_CONFIG_HOME: join(demo.home, '.config'), ...(hostEnv.XDG_DATA_HOME ? { XDG_DATA_HOME: join(demo.home, '.local', 'share') } : {}) }
    : hostEnv;
  const ctx = createContext({
    prompter: o.prompter,
    deps: { ...defaultDeps(), ...(hub ? { searchHub: hub.searchHub } : {}), ...o.deps },
    env,
    hostEnv,
    cwd: demo?.project ?? o.cwd ?? process.cwd(),
    signal: o.signal,
    serverKind: demo ? 'stand-in' : 'mlx',
    demo: Boolean(demo),
    dryRun: input.dryRun,
    timeoutSec: input.timeoutSec,
    requestTimeoutSec: input.requestTimeoutSec,
    fixed: fixedFromFlags(input, explicitFlags(o.args)),
  });
  if (demo) {
    ctx.demoDirGiven = o.demoDir !== undefined;
    // The stand-ins listen on free ports the system hands out: never on a server of the machine's
    // that holds 8080, and not on the "next free" port after it, which another demo may take too.
    const taken: number[] = [];
    for (const key of ['editor', 'architect', 'weak', 'proxy'] as const) {
      const given = ctx.fixed.ports[key];
      if (given !== undefined) {
        taken.push(given);
        continue;
      }
      const port = await findFreePort(hostOf(ctx), undefined, { avoid: taken });
      ctx.answers.ports[key] = port;
      taken.push(port);
    }
    o.prompter.note('info', `Demo: stand-in servers instead of mlx_lm.server, and a built-in stand-in Hub for the search (no network; it lists the real models and their sizes, and downloads nothing); files go to ${demo.root} (your own files are not touched).`);
  }
  try {
    const r = await runWizard(ctx);
    // A finished demo leaves nothing behind, unless what it handed over (a background serve,
    // Aider started next, launchd's agents) still runs from its folder: the summary said which.
    if (demo && !demoFolderKept(ctx)) await demo.cleanup();
    return { code: r.code, ...(demo ? { demoRoot: demo.root } : {}), ...(r.launch ? { launch: r.launch } : {}) };
  } catch (e) {
    // A cancelled demo leaves nothing behind either (what it created in a --demo-dir too), nor a failed one.
    if (demo && (e instanceof CancelledError || o.signal.aborted || !demoFolderKept(ctx))) await demo.cleanup();
    throw e;
  } finally {
    await hub?.close();
  }
}
