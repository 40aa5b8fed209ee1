import { findRunningServers } from '../setup/running.js';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CancelledError, EXIT, type ExitCode } from '../errors.js';
import type { Plan } from '../config/plan.js';
import { buildCatalogue } from '../hub/catalogue.js';
import { pullModel } from '../hub/download.js';
import { searchHub } from '../hub/search.js';
import { launchMlxServer } from '../servers/launch.js';
import { verifyProxy } from '../setup/verify.js';
import { GoBack, GoTo, type Prompter, type StepInfo } from './prompter.js';
import type { Step } from './step.js';
import type { LaunchAfter, WizardContext, WizardDeps } from './context.js';
import { surveyMachine } from './survey.js';
import { wizardSteps } from './steps/index.js';
import { stopStarted } from './steps/finish.js';
import { runAiderCheck } from './aider-run.js';
import { machineInstaller } from './install-offer.js';

export function defaultDeps(): WizardDeps {
  return {
    survey: surveyMachine,
    catalogue: buildCatalogue,
    searchHub,
    pull: pullModel,
    launch: launchMlxServer,
    verifyProxy: (plan, composed, ctx, h) =>
      verifyProxy(plan, composed.rendered.litellm, composed.proxyKey, {
        env: ctx.hostEnv,
        stateEnv: ctx.env,
        timeoutMs: Math.min(ctx.timeoutSec, 120) * 1000,
        signal: h.signal,
        progress: (l: string) => h.status(l.replace(/^…\s*/, '')),
      }),
    aiderCheck: runAiderCheck,
    findRunning: findRunningServers,
    installer: machineInstaller,
  };
}

/** Counts answered questions, so Esc knows which steps asked something. */
function counting(p: Prompter, ctx: WizardContext): Prompter {
  const bump = <T>(x: () => Promise<T>) => x().then((v) => ((ctx.asked += 1), v));
  return {
    face: p.face,
    step: (i) => p.step(i),
    select: (q) => bump(() => p.select(q)),
    text: (q) => bump(() => p.text(q)),
    confirm: (q) => bump(() => p.confirm(q)),
    review: (q) => bump(() => p.review(q)),
    note: (k, t) => p.note(k, t),
    task: (t, fn) => p.task(t, fn),
    finish: (s) => p.finish(s),
    close: () => p.close(),
  };
}

/**
 * A step's heading is shown when the step first shows something (a question, a note, a task): a
 * step with nothing to say (a scope a flag or the plan fixed) shows no empty heading, and takes no
 * number.
 */
function headingOnFirstOutput(p: Prompter, heading: () => void): Prompter {
  const first = <T>(x: () => T) => (heading(), x());
  return {
    face: p.face,
    step: (i) => p.step(i),
    select: (q) => first(() => p.select(q)),
    text: (q) => first(() => p.text(q)),
    confirm: (q) => first(() => p.confirm(q)),
    review: (q) => first(() => p.review(q)),
    note: (k, t) => first(() => p.note(k, t)),
    task: (t, fn) => first(() => p.task(t, fn)),
    finish: (s) => first(() => p.finish(s)),
    close: () => p.close(),
  };
}

/**
 * The step counter: each heading shown on the way gets the next number; the total is the steps
 * shown so far plus the ones still ahead on the path as it stands, every heading "n/N" (one way in
 * a whole run). A step whose answer decides the flow and is not answered yet counts the path its
 * default answer leads to (`assume`); an answer that adds or skips a step changes the total then.
 */
function stepNumbers(steps: Step[], ctx: WizardContext) {
  const done = new Set<number>();
  /** Step index → the number its heading got, for the steps on the current path. */
  const shown = new Map<number, number>();
  return {
    info(i: number): StepInfo {
      const step = steps[i]!;
      const index = shown.get(i) ?? [...shown.keys()].filter((j) => j < i).length + 1;
      shown.set(i, index);
      // The path as it would go with the default answer of every deciding step not answered yet.
      const open = steps.filter((s, j) => s.assume && !done.has(j));
      const likely: WizardContext = open.reduce((c, s) => ({ ...c, ...s.assume!(c) }), ctx);
      const ahead = steps.filter((s, j) => j > i && !s.skip?.(likely)).length;
      return { index, total: index + ahead, title: step.title };
    },
    completed(i: number) {
      done.add(i);
    },
    /** Back to step i: it and every step after it are off the path again. */
    back(i: number) {
      for (const j of [...done]) if (j >= i) done.delete(j);
      for (const j of [...shown.keys()]) if (j >= i) shown.delete(j);
    },
  };
}

/**
 * Run the steps in order. Esc (GoBack) returns to the last step that asked something; GoTo jumps to
 * a named step; after the write there is no way back. Anything else propagates.
 */
export async function runSteps(ctx: WizardContext, steps: Step[]): Promise<void> {
  const history: Array<{ index: number; asked: boolean }> = [];
  const numbers = stepNumbers(steps, ctx);
  const face = ctx.prompter;
  let pending: number | undefined;
  ctx.prompter = headingOnFirstOutput(face, () => {
    if (pending === undefined) return;
    const i = pending;
    pending = undefined;
    face.step(numbers.info(i));
  });
  // Esc with nothing to go back to asks the same step again: its heading is already on screen.
  let stay = false;
  try {
    for (let i = 0; i < steps.length; ) {
      const step = steps[i]!;
      if (step.skip?.(ctx)) {
        i++;
        continue;
      }
      pending = stay ? undefined : i;
      stay = false;
      const before = ctx.asked;
      try {
        await step.run(ctx);
        pending = undefined;
        history.push({ index: i, asked: ctx.asked > before });
        numbers.completed(i);
        i++;
      } catch (e) {
        pending = undefined;
        if (ctx.signal.aborted) throw new CancelledError();
        if (e instanceof GoBack) {
          if (ctx.wrote) continue; // the files are written: nothing to go back to
          let prev = history.pop();
          while (prev && !prev.asked) prev = history.pop();
          if (prev) {
            i = prev.index;
            numbers.back(i);
          } else stay = true;
          continue;
        }
        if (e instanceof GoTo) {
          const j = steps.findIndex((s) => s.id === e.stepId);
          if (j < 0 || ctx.wrote) throw e;
          while (history.length && history[history.length - 1]!.index >= j) history.pop();
          i = j;
          numbers.back(i);
          continue;
        }
        throw e;
      }
    }
  } finally {
    ctx.prompter = face;
  }
}

export interface WizardResult {
  code: ExitCode;
  plan?: Plan;
  written: string[];
  backupDir?: string;
  /** Run Aider now (the face must be closed first): see launchAfterWizard. */
  launch?: LaunchAfter;
}

/** The whole flow. Whatever happens, every process it started is stopped before it returns. */
export async function runWizard(ctx: WizardContext, steps: Step[] = wizardSteps()): Promise<WizardResult> {
  ctx.prompter = counting(ctx.prompter, ctx);
  try {
    await runSteps(ctx, steps);
  } catch (e) {
    if (ctx.signal.aborted || e instanceof CancelledError) throw new CancelledError();
    throw e;
  } finally {
    await stopStarted(ctx);
  }
  const failed = ctx.checks.some((c) => c.status === 'fail');
  return {
    code: failed ? EXIT.verify : EXIT.ok,
    ...(ctx.plan ? { plan: ctx.plan } : {}),
    written: ctx.written,
    ...(ctx.backupDir ? { backupDir: ctx.backupDir } : {}),
    ...(ctx.launch ? { launch: ctx.launch } : {}),
  };
}

/**
 * `--demo`: a temp HOME (config, profile, global Aider files) and a project folder inside it, or
 * inside `into`. cleanup() removes only what this created.
 */
export async function demoFolders(into?: string): Promise<{ root: string; home: string; project: string; cleanup(): Promise<void> }> {
  const root = into ? resolve(into) : await mkdtemp(join(tmpdir(), 'aider-mlx-demo-'));
  const home = join(root, 'home');
  const project = join(root, 'project');
  const created: string[] = into ? [] : [root];
  for (const d of into ? [root, home, project] : [home, project]) {
    if (existsSync(d)) continue;
    await mkdir(d, { recursive: true });
    if (into) created.push(d);
  }
  return {
    root,
    home,
    project,
    cleanup: async () => {
      for (const d of created.reverse()) await rm(d, { recursive: true, force: true });
    },
  };
}
