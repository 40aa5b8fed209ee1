/** Fakes for the wizard's unit tests: in-process stand-in servers, a context in a temp HOME. */
import { mkdtemp, mkdir, readdir, readFile, rm, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCatalogue } from '../hub/catalogue.js';
import { GiB, type MachineMemory } from '../hub/fit.js';
import type { LaunchedServer, LaunchOptions } from '../servers/launch.js';
import { startFakeMlxServer, type FakeMlxFaults, type FakeMlxServer } from '../servers/fake-mlx-server.js';
import { findFreePort } from '../servers/ports.js';
import { waitForChat } from '../servers/probe.js';
import type { Env } from '../lib/paths.js';
import { createContext, type Answers, type WizardContext, type WizardDeps } from './context.js';
import { defaultDeps } from './run.js';
import { describeSurvey } from './survey.js';
import { scriptedPrompter, type Scripted } from './fake-prompter.js';
import type { Prompter } from './prompter.js';

export const MEM32: MachineMemory = { totalBytes: 32 * GiB, source: 'override', platform: 'darwin' };

export interface LaunchRecord {
  options: LaunchOptions;
  server?: FakeMlxServer;
  stopped: boolean;
}

/** launchMlxServer, but the stand-in runs in this process (no build needed, no child to leak). */
export function inProcessLaunch(o: { faults?: FakeMlxFaults; failLog?: string[] } = {}): { launch: WizardDeps['launch']; launched: LaunchRecord[] } {
  const launched: LaunchRecord[] = [];
  const launch = (opts: LaunchOptions): LaunchedServer => {
    const rec: LaunchRecord = { options: opts, stopped: false };
    launched.push(rec);
    const log: string[] = [];
    const line = (l: string) => {
      log.push(l);
      opts.onLine?.(l);
    };
    let exit!: (code: number | null) => void;
    const exited = new Promise<number | null>((r) => (exit = r));
    const host = opts.host ?? '127.0.0.1';
    const started = o.failLog
      ? Promise.resolve(undefined).then(() => {
          for (const l of o.failLog!) line(l);
          exit(1);
          return undefined;
        })
      : startFakeMlxServer({ host, port: opts.port, model: opts.model, faults: o.faults, log: line }).then(
          (s) => {
            rec.server = s;
            line(`Starting httpd at ${host} on port ${s.port}...`);
            return s;
          },
          (e: NodeJS.ErrnoException) => {
            line(e.code === 'EADDRINUSE' ? 'OSError: [Errno 98] Address already in use' : `OSError: ${e.message}`);
            exit(1);
            return undefined;
          },
        );
    let done = false;
    void exited.then(() => (done = true));
    return {
      pid: undefined,
      host,
      port: opts.port,
      baseUrl: `http://${host}:${opts.port}/v1`,
      command: ['fake-mlx-server', '--model', opts.model, '--port', String(opts.port)],
      log,
      exited,
      async ready({ timeoutMs, signal, onWait }) {
        const s = await started;
        if (!s) {
          return { ok: false, method: 'POST', url: '', bodyHead: '', latencyMs: 0, attempts: 0, waitedMs: 0, model: 'default_model', exitedEarly: true } as never;
        }
        const died = new AbortController();
        void exited.then(() => died.abort());
        const r = await waitForChat(`http://${host}:${opts.port}/v1`, 'default_model', { timeoutMs, intervalMs: 100, signal: signal ? AbortSignal.any([signal, died.signal]) : died.signal, onWait });
        return { ...r, exitedEarly: done };
      },
      async stop() {
        rec.stopped = true;
        const s = await started;
        await s?.close();
        exit(null);
      },
    };
  };
  return { launch, launched };
}

export interface TestCtx {
  ctx: WizardContext;
  ctrl: AbortController;
  root: string;
  home: string;
  project: string;
  env: Env;
  prompter: ReturnType<typeof scriptedPrompter>;
  launched: LaunchRecord[];
  ports: { editor: number; architect: number; weak: number; proxy: number };
  cleanup(): Promise<void>;
}

/** Free ports that stay out of each other's way (other test files use theirs). */
export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await findFreePort('127.0.0.1', 20_000 + Math.floor(Math.random() * 20_000), { avoid: out }));
  return out;
}

type Ports = { editor: number; architect: number; weak: number; proxy: number };

export async function makeTestCtx(
  scriptOrFn: Array<[string | RegExp, Scripted]> | ((ports: Ports) => Array<[string | RegExp, Scripted]>),
  o: {
    fixed?: Partial<Answers>;
    answers?: Partial<Answers>;
    deps?: Partial<WizardDeps>;
    faults?: FakeMlxFaults;
    failLog?: string[];
    env?: Env;
    timeoutSec?: number;
    face?: Prompter['face'];
    /** Take the proposed setup when the script does not answer it (default: "Adjust…", so a script drives the single steps). */
    acceptProposal?: boolean;
    memory?: MachineMemory;
    /** The machine the survey reports (default: a Mac with Apple silicon, whatever runs the test). */
    appleSilicon?: boolean;
  } = {},
): Promise<TestCtx> {
  const root = await mkdtemp(join(tmpdir(), 'aider-mlx-wizard-'));
  const home = join(root, 'home');
  const project = join(root, 'project');
  await mkdir(home, { recursive: true });
  await mkdir(project, { recursive: true });
  const env: Env = {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    PATH: '/usr/bin:/bin',
    HF_HUB_CACHE: join(root, 'hf'),
    HF_HUB_OFFLINE: '1',
    ...o.env,
  };
  const ctrl = new AbortController();
  const [editor, architect, weak, proxy] = (await freePorts(4)) as [number, number, number, number];
  const script = typeof scriptOrFn === 'function' ? scriptOrFn({ editor, architect, weak, proxy }) : scriptOrFn;
  const prompter = scriptedPrompter(script, { onCancel: () => ctrl.abort(), signal: ctrl.signal, ...(o.face ? { face: o.face } : {}), ...(o.acceptProposal ? {} : { unnamed: { proposal: 'adjust' } }) });
  const { launch, launched } = inProcessLaunch({ faults: o.faults, failLog: o.failLog });
  const deps: WizardDeps = {
    ...defaultDeps(),
    catalogue: (opts) => buildCatalogue({ ...opts, memory: o.memory ?? MEM32 }),
    launch,
    // Never the real pip/uv from a unit test: a test that installs passes its own installer.
    installer: async () => undefined,
    // Nor this machine's processes: another test's stand-in may serve the same model.
    findRunning: async () => new Map(),
    ...o.deps,
  };
  // The defaults that depend on the machine (the install offer's) are the same on any test host.
  const survey = deps.survey;
  deps.survey = async (c) => {
    const s = await survey(c);
    const apple = o.appleSilicon ?? true;
    if (s.appleSilicon !== apple) {
      s.appleSilicon = apple;
      describeSurvey(s, c);
    }
    return s;
  };
  const base = createContext({ prompter, deps, env, hostEnv: env, cwd: project, signal: ctrl.signal, serverKind: 'stand-in', timeoutSec: o.timeoutSec ?? 20 });
  Object.assign(base.fixed, o.fixed ?? {});
  Object.assign(base.answers, { ports: { editor, architect, weak, proxy } }, o.answers ?? {});
  return {
    ctx: base,
    ctrl,
    root,
    home,
    project,
    env,
    prompter,
    launched,
    ports: { editor, architect, weak, proxy },
    cleanup: async () => {
      for (const l of launched) await l.server?.close().catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Every file under a folder with its bytes: "byte-identical" is a deep-equal of two of these. */
export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    let entries: string[];
    try {
      entries = await readdir(d);
    } catch {
      return;
    }
    for (const e of entries.sort()) {
      const p = join(d, e);
      const st = await lstat(p);
      if (st.isDirectory()) {
        out[`${p}/`] = '';
        await walk(p);
      } else out[p] = (await readFile(p)).toString('base64');
    }
  };
  await walk(dir);
  return out;
}
