/**
 * Reconfigure under a running serve: the port of the new model is held by a server the background
 * `aider-mlx serve` runs (the old model). The wizard offers "Restart it with the new model": it
 * stops that serve, starts and checks the new model, and once the files are written the background
 * serve runs again with the new setup. Model lists mark the current model "(current)".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readPlan } from '../config/plan-file.js';
import { ensureRunning } from '../serve/ensure-running.js';
import { readBackground, stopBackground } from '../serve/background.js';
import { runWizard } from './run.js';
import { modelRows } from './model-rows.js';
import { surveyMachine } from './survey.js';
import { isPortFree } from '../servers/ports.js';
import { makeTestCtx, type TestCtx } from './test-helpers.js';

const OLD = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const NEW = 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit';
const made: TestCtx[] = [];
afterEach(async () => {
  for (const t of made.splice(0)) {
    await stopBackground(t.env);
    await t.cleanup();
  }
});

/** A plan for OLD, written by the wizard, and a background serve running it. */
async function runningOld(): Promise<TestCtx> {
  const first = await makeTestCtx([], { fixed: { models: { editor: { model: OLD, source: 'flag' } } } });
  made.push(first);
  expect((await runWizard(first.ctx)).code).toBe(0);
  const plan = (await readPlan(first.env))!;
  await ensureRunning(plan, { env: first.env, standIn: true, timeoutSec: 30 });
  return first;
}

async function modelsOn(port: number): Promise<string[]> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/models`);
  return ((await r.json()) as { data: Array<{ id: string }> }).data.map((d) => d.id);
}

describe('a new model on the port the background serve holds', () => {
  it('offers "Restart it with the new model": stop, start, verify; the background serve comes back with the new setup', async () => {
    const first = await runningOld();
    const port = first.ports.editor;
    const before = (await readBackground(first.env))!;
    expect(before.running).toBe(true);
    expect(await modelsOn(port)).toContain(OLD);

    const t = await makeTestCtx([], {
      face: 'plain',
      env: { HOME: first.home, XDG_CONFIG_HOME: first.env.XDG_CONFIG_HOME },
      fixed: { models: { editor: { model: NEW, source: 'flag' } }, ports: { editor: port } },
    });
    made.push(t);
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(0);
    const menu = t.prompter.rec.questions.get('server.editor.failed')!;
    expect(menu.choices?.[0]).toMatchObject({ value: 'restart', label: 'Restart it with the new model' });
    expect(t.prompter.rec.asked.find((a) => a.id === 'server.editor.failed')?.answer).toBe('restart');
    expect(t.prompter.rec.notes.some((n) => n.text.includes(`which aider-mlx serve (pid ${before.record.pid}) runs`))).toBe(true);
    // The wizard started and checked the new model itself.
    expect(t.launched.map((l) => l.options.model)).toEqual([NEW]);
    expect(t.ctx.checks.find((c) => c.id.startsWith('server.'))?.status).toBe('pass');

    expect((await readPlan(t.env))?.roles.editor.model).toBe(NEW);
    const after = (await readBackground(t.env))!;
    expect(after.running).toBe(true);
    expect(after.record.pid).not.toBe(before.record.pid);
    expect(await modelsOn(port)).toContain(NEW);
    expect(await modelsOn(port)).not.toContain(OLD);
  });

  it('a new port: at the end it offers to restart the background serve, which then runs the new setup', async () => {
    const first = await runningOld();
    const before = (await readBackground(first.env))!;
    const t = await makeTestCtx([], { face: 'plain', env: { HOME: first.home, XDG_CONFIG_HOME: first.env.XDG_CONFIG_HOME }, fixed: { models: { editor: { model: OLD, source: 'flag' } } } });
    made.push(t);
    const newPort = t.ports.editor;
    expect(newPort).not.toBe(first.ports.editor);
    expect((await runWizard(t.ctx)).code).toBe(0);
    expect(t.prompter.rec.questions.get('serve.restart')?.message).toBe(`aider-mlx serve (pid ${before.record.pid}) runs the earlier setup in the background. Restart it with the new one?`);
    const after = (await readBackground(t.env))!;
    expect(after.running).toBe(true);
    expect(after.record.pid).not.toBe(before.record.pid);
    expect(await modelsOn(newPort)).toContain(OLD);
    expect(await isPortFree('127.0.0.1', first.ports.editor)).toBe(true);
  });

  it('marks the current model "(current)" in the model list', async () => {
    const first = await runningOld();
    await stopBackground(first.env);
    const t = await makeTestCtx([], { env: { HOME: first.home, XDG_CONFIG_HOME: first.env.XDG_CONFIG_HOME } });
    made.push(t);
    t.ctx.survey = await surveyMachine(t.ctx);
    const rows = modelRows(t.ctx, 'editor');
    const marked = rows.filter((r) => r.label.endsWith(' (current)'));
    expect(marked.map((r) => r.label)).toEqual([`${OLD} (current)`]);
  });
});
