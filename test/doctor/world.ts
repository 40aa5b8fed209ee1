/**
 * A healthy aider-mlx setup in a temp HOME: stand-in mlx_lm.servers, the files setup writes (via
 * composeWrites, like setup does), and a stand-in LiteLLM proxy reading the written config. Tests
 * then break one thing and ask the doctor.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import JSON5 from 'json5';
import { parse, stringify } from 'yaml';
import { afterEach } from 'vitest';
import { composeWrites } from '../../src/config/write.js';
import { PLAN_VERSION, type Plan } from '../../src/config/plan.js';
import { AIDER_FILES } from '../../src/config/render.js';
import { applyWrites, planWrites } from '../../src/lib/fs.js';
import { configPaths, type Env } from '../../src/lib/paths.js';
import { startFakeMlxServer, type FakeMlxServer, type FakeMlxServerOptions } from '../../src/servers/fake-mlx-server.js';
import { findFreePort } from '../../src/servers/ports.js';
import { startFakeLitellm, type FakeLitellm, type FakeLitellmFaults } from './fake-litellm.js';

export const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
export const ARCHITECT = 'mlx-community/QwQ-32B-4bit';

export interface WorldOptions {
  mode?: 'proxy' | 'direct';
  two?: boolean;
  scope?: 'project' | 'global' | 'profile';
  editor?: Partial<FakeMlxServerOptions>;
  architect?: Partial<FakeMlxServerOptions>;
  /** Start the stand-in proxy (proxy mode; default true). */
  proxy?: boolean;
  proxyFaults?: FakeLitellmFaults;
  /** Do not start the editor's server (its port stays closed). */
  editorDown?: boolean;
  /** The plan's editor model, when it should differ from what the server runs. */
  planEditorModel?: string;
}

export interface World {
  home: string;
  project: string;
  env: Env;
  plan: Plan;
  editor?: FakeMlxServer;
  architect?: FakeMlxServer;
  proxy?: FakeLitellm;
  /** aiderEnv: the env file with the proxy's key (project scope, proxy mode). */
  paths: { plan: string; litellm: string; conf: string; settings: string; metadata: string; backups: string; aiderEnv: string };
  readYaml<T = unknown>(path: string): T;
  writeYaml(path: string, data: unknown): void;
  editYaml<T = Record<string, unknown>>(path: string, fn: (d: T) => T | void): void;
  readJson5<T = Record<string, unknown>>(path: string): T;
  writeText(path: string, text: string): void;
  /** Restart the stand-in proxy (it reads its config at start, like LiteLLM). */
  restartProxy(faults?: FakeLitellmFaults): Promise<void>;
  close(): Promise<void>;
}

export async function makeWorld(o: WorldOptions = {}): Promise<World> {
  const mode = o.mode ?? 'proxy';
  const two = o.two ?? true;
  const scope = o.scope ?? 'project';
  const home = mkdtempSync(join(tmpdir(), 'aider-mlx-doctor-'));
  const project = join(home, 'proj');
  mkdirSync(join(project, '.git'), { recursive: true });
  mkdirSync(join(home, 'bin'), { recursive: true });
  const env: Env = { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), PATH: join(home, 'bin'), HF_HUB_CACHE: join(home, 'hf', 'hub') };

  const servers: FakeMlxServer[] = [];
  let editor: FakeMlxServer | undefined;
  let editorPort: number;
  if (o.editorDown) editorPort = await findFreePort('127.0.0.1', 20000 + Math.floor(Math.random() * 20000));
  else {
    editor = await startFakeMlxServer({ model: EDITOR, port: 0, ...o.editor });
    servers.push(editor);
    editorPort = editor.port;
  }
  let architect: FakeMlxServer | undefined;
  if (two) {
    architect = await startFakeMlxServer({ model: ARCHITECT, port: 0, ...o.architect, faults: { reasoning: true, ...o.architect?.faults } });
    servers.push(architect);
  }
  const proxyPort = await findFreePort('127.0.0.1', 30000 + Math.floor(Math.random() * 20000), { avoid: [editorPort, ...(architect ? [architect.port] : [])] });
  const cp = configPaths(env);
  const dir = scope === 'project' ? project : scope === 'global' ? home : cp.profile;
  const plan: Plan = {
    version: PLAN_VERSION,
    mode,
    roles: {
      editor: { model: o.planEditorModel ?? o.editor?.model ?? EDITOR, context: 32768, deployments: [{ host: '127.0.0.1', port: editorPort }] },
      ...(architect ? { architect: { model: o.architect?.model ?? ARCHITECT, context: 32768, deployments: [{ host: '127.0.0.1', port: architect.port }] } } : {}),
    },
    proxy: { host: '127.0.0.1', port: proxyPort },
    requestTimeout: 600,
    aider: { scope, dir },
  };
  mkdirSync(dir, { recursive: true });
  const composed = await composeWrites(plan, env);
  await applyWrites(await planWrites(composed.changes), { backupRoot: cp.backups, dirMode: 0o700 });

  const paths = {
    plan: cp.plan,
    litellm: cp.litellm,
    conf: join(dir, AIDER_FILES.conf),
    settings: join(dir, AIDER_FILES.settings),
    metadata: join(dir, AIDER_FILES.metadata),
    backups: cp.backups,
    aiderEnv: cp.aiderEnv,
  };
  let proxy: FakeLitellm | undefined;
  if (mode === 'proxy' && o.proxy !== false) proxy = await startFakeLitellm({ configPath: paths.litellm, port: proxyPort, ...(o.proxyFaults ? { faults: o.proxyFaults } : {}) });

  const world: World = {
    home,
    project,
    env,
    plan,
    ...(editor ? { editor } : {}),
    ...(architect ? { architect } : {}),
    ...(proxy ? { proxy } : {}),
    paths,
    readYaml: <T>(p: string) => parse(readFileSync(p, 'utf8')) as T,
    writeYaml: (p, d) => writeFileSync(p, stringify(d, { lineWidth: 0 })),
    editYaml: <T>(p: string, fn: (d: T) => T | void) => {
      const d = parse(readFileSync(p, 'utf8')) as T;
      const r = fn(d);
      writeFileSync(p, stringify(r ?? d, { lineWidth: 0 }));
    },
    readJson5: <T>(p: string) => JSON5.parse(readFileSync(p, 'utf8')) as T,
    writeText: (p, t) => writeFileSync(p, t),
    restartProxy: async (faults) => {
      await world.proxy?.close();
      world.proxy = await startFakeLitellm({ configPath: paths.litellm, port: proxyPort, ...(faults ? { faults } : {}) });
    },
    close: async () => {
      await Promise.all([...servers.map((s) => s.close()), world.proxy?.close()]);
      rmSync(home, { recursive: true, force: true });
    },
  };
  return world;
}

/** `makeWorld` for a test file: every world it makes is closed after each test. */
export function worldsClosedAfterEach(): (o?: WorldOptions) => Promise<World> {
  const worlds: World[] = [];
  afterEach(async () => {
    await Promise.all(worlds.splice(0).map((w) => w.close()));
  });
  return async (o = {}) => {
    const w = await makeWorld(o);
    worlds.push(w);
    return w;
  };
}
