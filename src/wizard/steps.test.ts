import net from 'node:net';
import { selfCommand } from '../lib/paths.js';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { recommendedContext } from '../setup/context-fit.js';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { readPlan } from '../config/plan-file.js';
import { configPaths } from '../lib/paths.js';
import { startFakeMlxServer, type FakeMlxServer } from '../servers/fake-mlx-server.js';
import { parseSetupFlags } from '../setup/flags.js';
import { runSetup } from '../setup/run.js';
import { NonInteractivePrompter } from '../prompters/non-interactive.js';
import { createContext } from './context.js';
import { defaultDeps, runWizard } from './run.js';
import { inputFromAnswers } from './draft.js';
import { makeTestCtx, snapshotTree, type TestCtx } from './test-helpers.js';
import { BACK } from './fake-prompter.js';
import { explainFailure, startCommandFor } from './steps/servers.js';
import { parseHostPort } from './steps/model.js';

let t: TestCtx | undefined;
const servers: FakeMlxServer[] = [];
const holders: net.Server[] = [];
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
  for (const s of servers.splice(0)) await s.close();
  for (const h of holders.splice(0)) await new Promise((r) => h.close(r));
});

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const ARCHITECT = 'mlx-community/Qwen3-8B-4bit';

describe('first-time path against two running servers', () => {
  it('writes the same files as `setup --yes` with the equivalent flags', async () => {
    t = await makeTestCtx((p) => [
      ['roles', 'pair'],
      ['model.editor', 'server'],
      ['model.editor.server', `127.0.0.1:${p.editor}`],
      ['context.editor', '16384'],
      ['model.architect', 'server'],
      ['model.architect.server', `127.0.0.1:${p.architect}`],
      ['context.architect', '16384'],
      ['mode', 'direct'],
      ['scope', 'project'],
    ]);
    servers.push(await startFakeMlxServer({ port: t.ports.editor, model: EDITOR }), await startFakeMlxServer({ port: t.ports.architect, model: ARCHITECT }));
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(0);
    expect(t.prompter.remaining()).toEqual([]);
    expect(t.launched).toHaveLength(0); // both were reused, none started
    const plan = (await readPlan(t.env))!;
    expect(plan.roles.architect?.deployments).toEqual([{ host: '127.0.0.1', port: t.ports.architect }]);
    const wizardFiles = await snapshotTree(t.root);
    expect(Object.keys(wizardFiles).filter((k) => !k.endsWith('/'))).toHaveLength(5); // plan + three Aider files + the record of what setup added

    // The same answers as flags, through the non-interactive pipeline, into the same folders.
    const flags = ['--yes', '--editor', EDITOR, '--editor-port', String(t.ports.editor), '--architect', ARCHITECT, '--architect-port', String(t.ports.architect), '--mode', 'direct', '--scope', 'project'];
    // (the test context pre-answers the unused ports too)
    flags.push('--weak-port', String(t.ports.weak), '--proxy-port', String(t.ports.proxy));
    // One context typed for both models in the wizard is one --context on the command line (flags
    // cannot give each model its own; the wizard's per-model defaults are sized for the pair).
    expect(inputFromAnswers(t.ctx).context).toBe(16384);
    flags.push('--context', String(inputFromAnswers(t.ctx).context));
    expect({ ...inputFromAnswers(t.ctx), timeoutSec: 600 }).toEqual(parseSetupFlags(flags));
    await rm(t.home, { recursive: true });
    for (const f of ['.aider.conf.yml', '.aider.model.settings.yml', '.aider.model.metadata.json']) await rm(join(t.project, f));
    const res = await runSetup(parseSetupFlags(flags), { env: t.env, cwd: t.project });
    expect(res.code).toBe(0);
    expect(await snapshotTree(t.root)).toEqual(wizardFiles);
  });
});

describe('ports', () => {
  it('a taken port is shown with what holds it, and a free one is proposed', async () => {
    t = await makeTestCtx([]);
    const holder = net.createServer((sock) => {
      sock.on('error', () => undefined);
      sock.destroy();
    });
    await new Promise<void>((r) => holder.listen(t!.ports.editor, '127.0.0.1', r));
    holders.push(holder);
    await runWizard(t.ctx);
    const q = t.prompter.rec.questions.get('ports')!;
    expect(q.message).toMatch(/taken/);
    expect(q.help?.[0]).toMatch(new RegExp(`^${t.ports.editor} is held by .*: \\d+ is free`));
    const plan = (await readPlan(t.env))!;
    expect(plan.roles.editor.deployments[0]!.port).not.toBe(t.ports.editor);
    expect(plan.roles.editor.deployments[0]!.port).toBe(t.launched[0]!.options.port);
  });

  it('a port can be changed by hand; Esc in that question returns to the list', async () => {
    t = await makeTestCtx((p) => [
      ['ports', 'change:editor'],
      ['port.editor', BACK],
      ['ports', 'change:editor'],
      ['port.editor', String(p.weak)],
    ]);
    await runWizard(t.ctx);
    expect(t.prompter.remaining()).toEqual([]);
    expect((await readPlan(t.env))!.roles.editor.deployments[0]!.port).toBe(t.ports.weak);
  });
});

describe('servers', () => {
  it('a server that exits says why in plain words; skip writes the setup and exits 1', async () => {
    t = await makeTestCtx([['server.editor.failed', 'skip']], { failLog: ['Traceback (most recent call last):', 'OSError: [Errno 48] Address already in use'] });
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(1);
    const err = t.prompter.rec.notes.find((n) => n.kind === 'error')!;
    expect(err.text).toMatch(/the port is already taken by another program/);
    expect(t.prompter.rec.summary?.ok).toBe(false);
    expect(await readPlan(t.env)).toBeDefined();
  });

  it('without a terminal a failure is retried once, then skipped (never loops)', async () => {
    t = await makeTestCtx([], { failLog: ['boom'] });
    await runWizard(t.ctx);
    expect(t.prompter.rec.asked.filter((a) => a.id === 'server.editor.failed').map((a) => a.answer)).toEqual(['retry', 'skip']);
    expect(t.launched).toHaveLength(2);
  });

  it('explains the usual failures', () => {
    const base = { ok: false, model: 'm' } as const;
    expect(explainFailure({ ...base, exitedEarly: true }, ['huggingface_hub.errors.RepositoryNotFoundError: 404 Client Error'], 600)).toMatch(/no such model/);
    expect(explainFailure({ ...base, error: { kind: 'timeout', message: 't' } }, [], 600)).toMatch(/no answer within 600 s/);
    expect(explainFailure({ ...base, exitedEarly: true }, ['something odd'], 600)).toMatch(/exited before it answered. Last log line: something odd/);
  });

  it('the command to bring a server back uses the same flags the wizard used', () => {
    expect(startCommandFor({ serverKind: 'mlx' }, 'mlx-community/Qwen3-8B-4bit', { host: '127.0.0.1', port: 8081 }, 8192)).toBe(
      `mlx_lm.server --model mlx-community/Qwen3-8B-4bit --host 127.0.0.1 --port 8081 --max-tokens 8192 --chat-template-args '{"enable_thinking":true}'`,
    );
    // The stand-in (the demo's) as this copy runs it: from a clone, `npx aider-mlx` would ask the registry.
    expect(startCommandFor({ serverKind: 'stand-in' }, 'mlx-community/Qwen3-8B-4bit', { host: '127.0.0.1', port: 8081 })).toMatch(new RegExp(`^${selfCommand().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} fake-mlx-server --model mlx-community/Qwen3-8B-4bit `));
  });

  it('parses host:port the way people type it', () => {
    expect(parseHostPort('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseHostPort('http://localhost:8081/v1')).toEqual({ host: 'localhost', port: 8081 });
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseHostPort('8080')).toBeUndefined();
  });
});

describe('scope', () => {
  it('a global Aider config that points elsewhere: project is recommended, and replacing needs a yes', async () => {
    t = await makeTestCtx([['scope', 'global']]);
    await writeFile(join(t.home, '.aider.conf.yml'), 'model: gpt-4o\nopenai-api-base: https://api.example.com/v1\n');
    const before = await readFile(join(t.home, '.aider.conf.yml'), 'utf8');
    await runWizard(t.ctx);
    const q = t.prompter.rec.questions.get('scope')!;
    expect(q.help?.join(' ')).toMatch(/already points elsewhere \(openai-api-base: https:\/\/api.example.com\/v1\)/);
    expect(q.default).toBe('project');
    // The conflict question defaulted to the isolated profile: the user's file is untouched.
    expect(t.prompter.rec.asked.find((a) => a.id === 'conflict')?.answer).toBe('profile');
    expect(await readFile(join(t.home, '.aider.conf.yml'), 'utf8')).toBe(before);
    expect((await readPlan(t.env))!.aider.scope).toBe('profile');
  });
});

describe("the user's own openai-api-key (L11)", () => {
  it('replacing it is the conflict question, and the review says it replaces their key; no key is shown', async () => {
    t = await makeTestCtx([['scope', 'project'], ['conflict', 'replace']]);
    const mine = 'openai-api-key: sk-proj-REALUSERKEY-abcdefghijklmnop1234\nanthropic-api-key: sk-ant-REALANTHROPIC-xyz987654321\n';
    await writeFile(join(t.project, '.aider.conf.yml'), mine);
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(0);
    const conflict = t.prompter.rec.questions.get('conflict')!;
    expect(conflict.message).toMatch(/\.aider\.conf\.yml already sets openai-api-key: <redacted>$/);
    const review = t.prompter.rec.questions.get('review') as unknown as { help?: string[]; files: Array<{ diff: string }> };
    expect(review.help?.join('\n')).toMatch(/^Replaces your openai-api-key: <redacted> in .*\.aider\.conf\.yml with aider-mlx's key/);
    const shown = JSON.stringify([conflict, review]);
    expect(shown).not.toMatch(/REALUSERKEY|REALANTHROPIC|sk-aider-mlx-[0-9a-f]{48}/);
    expect(review.files.map((f) => f.diff).join('')).toMatch(/^-openai-api-key: <redacted>$/m);
    const conf = await readFile(join(t.project, '.aider.conf.yml'), 'utf8');
    expect(conf).toContain('anthropic-api-key: sk-ant-REALANTHROPIC-xyz987654321');
    expect(conf).not.toContain('REALUSERKEY');
  });
});

describe('non-interactive face', () => {
  it('fails at once naming the flag when a question has no answer', async () => {
    t = await makeTestCtx([]);
    const ctx = createContext({ ...t.ctx, prompter: new NonInteractivePrompter({ yes: false }), deps: { ...defaultDeps(), catalogue: t.ctx.deps.catalogue } });
    const err = await runWizard(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).tryThis).toMatch(/--architect/);
    expect(await snapshotTree(t.root)).not.toHaveProperty(configPaths(t.env).plan);
  });

  it('--yes takes every default; answers by id win over them', async () => {
    t = await makeTestCtx([]);
    const ctx = createContext({
      ...t.ctx,
      prompter: new NonInteractivePrompter({ yes: true, answers: { proposal: 'adjust', scope: 'profile', 'context.editor': 4096 } }),
    });
    ctx.answers.ports = t.ctx.answers.ports;
    const r = await runWizard(ctx);
    expect(r.code).toBe(0);
    const plan = (await readPlan(t.env))!;
    expect(plan.aider.scope).toBe('profile');
    expect(plan.roles.editor.context).toBe(4096);
  });
});
