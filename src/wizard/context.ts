import { CancelledError } from '../errors.js';
import type { Env } from '../lib/paths.js';
import type { Group, Mode, Plan, RoleName, Scope } from '../config/plan.js';
import type { ComposedWrites } from '../config/write.js';
import type { PlannedWrite } from '../lib/fs.js';
import type { Check } from '../lib/check.js';
import type { LaunchedServer, LaunchOptions, ServerKind } from '../servers/launch.js';
import type { Catalogue, CatalogueOptions } from '../hub/catalogue.js';
import type { PullOptions, PullResult } from '../hub/download.js';
import type { SearchOptions, HubSearch } from '../hub/search.js';
import type { Prompter, TaskHandle } from './prompter.js';
import type { Survey } from './survey.js';
import type { ToolInstaller } from './install-offer.js';

/** A model chosen for a role, and where it came from. */
export interface ModelPick {
  model: string;
  source: 'cached' | 'curated' | 'hub' | 'typed' | 'running' | 'flag' | 'plan';
  /** A server that already serves it (source `running`): its address is fixed. */
  running?: { host: string; port: number };
  /** The context the pick is sized for (curated), before the user changes it. */
  context?: number;
}

export type ServerChoice = 'reuse' | 'start' | 'skip';

/** Everything the flow decides. `fixed` holds what flags (or the plan, in reconfigure) decided. */
export interface Answers {
  roles?: 'single' | 'pair';
  weak?: 'same' | 'separate';
  models: Partial<Record<RoleName, ModelPick>>;
  context: Partial<Record<RoleName, number>>;
  ports: Partial<Record<RoleName | 'proxy', number>>;
  host?: string;
  /** By model id. */
  servers: Record<string, ServerChoice>;
  mode?: Mode;
  scope?: Scope;
  /** Replace values the user set in an existing Aider config (--force). */
  replace?: boolean;
  /** A role's model served by a group over several Macs ("Split it across Macs", --split-hosts). */
  groups?: Partial<Record<RoleName, Group>>;
  /** Reconfigure's "Split a model across Macs": ask it for each model, even one that fits. */
  splitChosen?: boolean;
  /** Keep the servers up at login (launchd agents) instead of a background serve (--at-login). */
  atLogin?: boolean;
}

export const emptyAnswers = (): Answers => ({ models: {}, context: {}, ports: {}, servers: {} });

/** Capabilities: the real ones in the CLI, fakes in tests. */
export interface WizardDeps {
  survey(ctx: WizardContext): Promise<Survey>;
  catalogue(opts: CatalogueOptions): Promise<Catalogue>;
  searchHub(opts: SearchOptions): Promise<HubSearch>;
  pull(opts: PullOptions): Promise<PullResult>;
  launch(o: LaunchOptions): LaunchedServer;
  /** Start LiteLLM from the rendered config and send a completion through it for every model. */
  verifyProxy(plan: Plan, composed: ComposedWrites, ctx: WizardContext, task: TaskHandle): Promise<Check[]>;
  /** `aider --message` through the chain; undefined when it cannot run. */
  aiderCheck?(plan: Plan, ctx: WizardContext, task: TaskHandle): Promise<Check>;
  /** The local mlx_lm.servers already serving these models (src/setup/running.ts); absent: none looked for. */
  findRunning?: typeof import('../setup/running.js').findRunningServers;
  /** What can install a missing Python tool here (uv, pipx, a venv), if anything. */
  installer?(ctx: WizardContext): Promise<ToolInstaller | undefined>;
}

export interface StartedServer {
  model: string;
  host: string;
  port: number;
  server: LaunchedServer;
}

export interface WizardContext {
  prompter: Prompter;
  deps: WizardDeps;
  /** Where our files go: the real environment, or the demo's temp HOME. */
  env: Env;
  /** The machine's environment: PATH, the Hugging Face cache. */
  hostEnv: Env;
  cwd: string;
  /** Aborted on Ctrl-C: every wait stops, every started process is stopped. */
  signal: AbortSignal;
  serverKind: ServerKind;
  demo: boolean;
  /** `reconfigure`: the flow opens on the current plan. */
  reconfigure: boolean;
  dryRun: boolean;
  /** Probe bound for a server's first answer (a big model's first load takes minutes). */
  timeoutSec: number;
  requestTimeoutSec: number;
  fixed: Answers;
  answers: Answers;
  survey?: Survey;
  /** For the step counter only: the look around is still ahead, and it always ends with a survey. */
  surveyAhead?: boolean;
  /** For the step counter only: the plan reconfigure opened, before the look around reads it again. */
  planAhead?: import('../config/plan.js').Plan;
  /** Processes this run started: all of them are stopped on cancel, and at the end. */
  started: Map<string, StartedServer>;
  /** Checks collected along the way (servers, proxy, aider). */
  checks: Check[];
  notes: string[];
  plan?: Plan;
  composed?: ComposedWrites;
  planned?: PlannedWrite[];
  written: string[];
  backupDir?: string;
  /** The steps up to the write are done and the files are on disk. */
  wrote: boolean;
  /** Questions answered so far (Esc goes back to the last step that asked one). */
  asked: number;
  /** Reconfigure: the user chose to change nothing. */
  noChange?: boolean;
  /** The proposed setup was taken as it is: the single questions are not asked. */
  accepted?: boolean;
  /** The servers step stopped a serve of ours to free a port: start it again once the files are written. */
  restartServe?: boolean;
  /** The background serve this run started or found. */
  background?: { pid: number; log: string };
  /** The start-at-login agents were installed: launchd runs the servers (their logs' folder). */
  atLogin?: { logs: string };
  /** "Start Aider now?" was answered yes and the servers answer: Aider runs once the face is closed. */
  launch?: LaunchAfter;
  /** `--demo-dir`: the demo's folder is the user's, kept when the demo ends (removed only when cancelled). */
  demoDirGiven?: boolean;
}

/** What runs Aider after the wizard: its environment and folder. */
export interface LaunchAfter {
  env: Env;
  cwd: string;
  standIn: boolean;
  pid: number | undefined;
  log: string;
}

export function createContext(
  o: Pick<WizardContext, 'prompter' | 'deps' | 'env' | 'hostEnv' | 'cwd' | 'signal' | 'serverKind'> &
    Partial<Pick<WizardContext, 'demo' | 'reconfigure' | 'dryRun' | 'timeoutSec' | 'requestTimeoutSec' | 'fixed' | 'answers'>>,
): WizardContext {
  return {
    demo: false,
    reconfigure: false,
    dryRun: false,
    timeoutSec: 600,
    requestTimeoutSec: 600,
    fixed: emptyAnswers(),
    answers: emptyAnswers(),
    started: new Map(),
    checks: [],
    notes: [],
    written: [],
    wrote: false,
    asked: 0,
    ...o,
  };
}

/** The roles the current answers use, in the order they are asked. */
export function activeRoles(ctx: Pick<WizardContext, 'fixed' | 'answers'>): RoleName[] {
  const roles: RoleName[] = ['editor'];
  if ((ctx.fixed.roles ?? ctx.answers.roles) === 'pair') roles.push('architect');
  if ((ctx.fixed.weak ?? ctx.answers.weak) === 'separate') roles.push('weak');
  return roles;
}

export function pickFor(ctx: Pick<WizardContext, 'fixed' | 'answers'>, role: RoleName): ModelPick | undefined {
  return ctx.fixed.models[role] ?? ctx.answers.models[role];
}

/** Ctrl-C was pressed: stop here (the runner stops what was started). */
export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new CancelledError();
}
