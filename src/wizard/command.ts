/** The wizard behind `aider-mlx setup` on a terminal (and `--demo` anywhere): flags → context → steps. */
import { join } from 'node:path';
import { CancelledError, type ExitCode } from '../errors.js';
import { ROLE_NAMES, type RoleName } from '../config/plan.js';
import { parseSetupFlags, type SetupInput } from '../setup/flags.js';
import type { Env } from '../lib/paths.js';
import { createContext, emptyAnswers, type Answers, type LaunchAfter, type WizardDeps } from './context.js';
import type { Prompter } from './prompter.js';
import { defaultDeps, demoFolders, runWizard } from './run.js';

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

export async function runWizardCommand(o: WizardCommandOptions): Promise<{ code: ExitCode; demoRoot?: string; launch?: LaunchAfter }> {
  const input = parseSetupFlags(o.args);
  const hostEnv = o.env ?? process.env;
  const demo = o.demo ? await demoFolders(o.demoDir) : undefined;
  const env: Env = demo ? { ...hostEnv, HOME: demo.home, XDG_CONFIG_HOME: join(demo.home, '.config') } : hostEnv;
  const ctx = createContext({
    prompter: o.prompter,
    deps: { ...defaultDeps(), ...o.deps },
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
    o.prompter.note('info', `Demo: stand-in servers instead of mlx_lm.server; files go to ${demo.root} (your own files are not touched).`);
  }
  try {
    const r = await runWizard(ctx);
    return { code: r.code, ...(demo ? { demoRoot: demo.root } : {}), ...(r.launch ? { launch: r.launch } : {}) };
  } catch (e) {
    // A cancelled demo leaves nothing behind either.
    if (demo && (e instanceof CancelledError || o.signal.aborted)) await demo.cleanup();
    throw e;
  }
}
