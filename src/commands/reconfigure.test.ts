import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../errors.js';
import { readPlan } from '../config/plan-file.js';
import { startFakeMlxServer, type FakeMlxServer } from '../servers/fake-mlx-server.js';
import { parseSetupFlags } from '../setup/flags.js';
import { runSetup } from '../setup/run.js';
import { freePorts } from '../wizard/test-helpers.js';
import { runReconfigureCommand } from './reconfigure.js';

const MODEL = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const ARCHITECT = 'mlx-community/QwQ-32B-Preview-4bit';
let root: string;
let saved: NodeJS.ProcessEnv;
const servers: FakeMlxServer[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'aider-mlx-reconf-'));
  await mkdir(join(root, 'home'));
  await mkdir(join(root, 'project'));
  saved = { ...process.env };
  Object.assign(process.env, { HOME: join(root, 'home'), XDG_CONFIG_HOME: join(root, 'home/.config'), PATH: '/usr/bin:/bin', HF_HUB_OFFLINE: '1' });
  delete process.env.CI;
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(async () => {
  vi.restoreAllMocks();
  process.env = saved;
  for (const s of servers.splice(0)) await s.close();
  await rm(root, { recursive: true, force: true });
});

describe('reconfigure without a terminal', () => {
  it('says there is nothing to change before a setup', async () => {
    await expect(runReconfigureCommand(['--yes'])).rejects.toThrow(/no setup to change yet/);
  });

  it('--yes with a flag changes that value of the plan and keeps the rest (and the project folder)', async () => {
    const [p1, p2] = (await freePorts(2)) as [number, number];
    servers.push(await startFakeMlxServer({ port: p1, model: MODEL }), await startFakeMlxServer({ port: p2, model: MODEL }));
    const project = join(root, 'project');
    const first = await runSetup(parseSetupFlags(['--yes', '--editor', MODEL, '--editor-port', String(p1), '--mode', 'direct', '--context', '8192']), { env: process.env, cwd: project });
    expect(first.code).toBe(0);
    // From another folder: a project's files stay in their project.
    const cwd0 = process.cwd();
    process.chdir(root);
    try {
      expect(await runReconfigureCommand(['--yes', '--editor-port', String(p2)])).toBe(0);
    } finally {
      process.chdir(cwd0);
    }
    const plan = (await readPlan(process.env))!;
    expect(plan.roles.editor).toEqual({ model: MODEL, context: 8192, deployments: [{ host: '127.0.0.1', port: p2 }] });
    expect(plan.mode).toBe('direct');
    expect(plan.aider.dir).toBe(project);
  });

  describe('each model keeps its own context from the plan', () => {
    /** A plan whose editor and architect have different contexts (as the wizard or setup's defaults give). */
    async function twoContexts(): Promise<{ project: string; p1: number; p2: number }> {
      const [p1, p2] = (await freePorts(2)) as [number, number];
      servers.push(await startFakeMlxServer({ port: p1, model: MODEL }), await startFakeMlxServer({ port: p2, model: ARCHITECT }));
      const project = join(root, 'project');
      const input = parseSetupFlags(['--yes', '--mode', 'direct', '--editor', MODEL, '--editor-port', String(p1), '--architect', ARCHITECT, '--architect-port', String(p2)]);
      const first = await runSetup(input, { env: process.env, cwd: project, defaultContextOf: (m) => (m === MODEL ? 16384 : 32768) });
      expect(first.code).toBe(0);
      const plan = (await readPlan(process.env))!;
      expect([plan.roles.editor.context, plan.roles.architect?.context]).toEqual([16384, 32768]);
      return { project, p1, p2 };
    }
    const metadata = async (project: string) => JSON.parse(await readFile(join(project, '.aider.model.metadata.json'), 'utf8')) as Record<string, { max_input_tokens: number }>;
    const out = () => (process.stdout.write as unknown as { mock: { calls: unknown[][] } }).mock.calls.map((c) => String(c[0])).join('');

    it('--request-timeout changes only the timeout: no role gets another context (plan, Aider metadata)', async () => {
      const { project, p1 } = await twoContexts();
      const before = await readPlan(process.env);
      expect(await runReconfigureCommand(['--yes', '--request-timeout', '700', '--editor-port', String(p1)])).toBe(0);
      const plan = (await readPlan(process.env))!;
      expect(plan).toEqual({ ...before, requestTimeout: 700 });
      const meta = await metadata(project);
      expect(meta[`openai/${MODEL}`]!.max_input_tokens).toBe(16384);
      expect(meta[`openai/${ARCHITECT}`]!.max_input_tokens).toBe(32768);
    });

    it('with no flag the dry run changes nothing, and its header names reconfigure', async () => {
      await twoContexts();
      expect(await runReconfigureCommand(['--yes', '--dry-run'])).toBe(0);
      const text = out();
      expect(text).toMatch(/^aider-mlx reconfigure — direct mode/m);
      expect(text).not.toMatch(/aider-mlx setup —/);
      expect(text).not.toMatch(/^[-+] /m);
      expect(text).toMatch(/unchanged .*plan\.yaml/);
    });

    it('a --context typed still sets every role', async () => {
      await twoContexts();
      expect(await runReconfigureCommand(['--yes', '--context', '8192'])).toBe(0);
      const plan = (await readPlan(process.env))!;
      expect([plan.roles.editor.context, plan.roles.architect?.context]).toEqual([8192, 8192]);
    });
  });

  it('without --yes it names the flags to pass', async () => {
    const [p1] = (await freePorts(1)) as [number];
    servers.push(await startFakeMlxServer({ port: p1, model: MODEL }));
    await runSetup(parseSetupFlags(['--yes', '--editor', MODEL, '--editor-port', String(p1), '--mode', 'direct']), { env: process.env, cwd: join(root, 'project') });
    const err = await runReconfigureCommand(['--editor-port', '9999']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).tryThis).toMatch(/--yes/);
  });
});
