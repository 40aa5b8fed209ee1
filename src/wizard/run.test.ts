import { selfCommand } from '../lib/paths.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CancelledError } from '../errors.js';
import { readPlan } from '../config/plan-file.js';
import { isPortFree } from '../servers/ports.js';
import { runWizard } from './run.js';
import { BACK, CANCEL } from './fake-prompter.js';
import { loadCurated, tierFor } from '../hub/curated.js';
import { MEM32, makeTestCtx, snapshotTree, type TestCtx } from './test-helpers.js';

let t: TestCtx | undefined;

/** What the curated list recommends as the one model for a 32 GB Mac (the fake machine). */
async function curatedSingle(): Promise<string> {
  const { tier } = tierFor(await loadCurated(), MEM32.totalBytes);
  return tier.picks.find((p) => p.role === 'single')!.repo;
}
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

describe('a port already held by an mlx_lm.server', () => {
  it('that has the model in its cache but serves another is not reused: its listing is its cache, its command line says which it serves', async () => {
    const single = await curatedSingle();
    // Sorted as a set may come: the model the wizard wants first, the one it serves second.
    const other = 'mlx-community/zzz-Other-Model-4bit';
    t = await makeTestCtx([]);
    const { startFakeMlxServer } = await import('../servers/fake-mlx-server.js');
    const held = await startFakeMlxServer({ model: other, port: t.ports.editor, cachedModels: [single] });
    try {
      const r = await runWizard(t.ctx);
      expect(r.code).toBe(0);
      const q = t.prompter.rec.questions.get('ports')!;
      expect(q.help!.join('\n')).toContain(`${t.ports.editor} is held by mlx_lm.server (which model it serves could not be read)`);
      const plan = (await readPlan(t.env))!;
      const port = plan.roles.editor.deployments[0]!.port;
      expect(port).not.toBe(t.ports.editor);
      // Its own server, started on the free port; the other one was never sent a completion.
      expect(t.launched.map((l) => l.options.port)).toEqual([port]);
      expect(held.requests.filter((x) => x.method === 'POST' && x.path.startsWith('/v1/chat'))).toEqual([]);
    } finally {
      await held.close();
    }
  });
});

describe('runWizard with a fake prompter', () => {
  it('Enter all the way: one model, a stand-in server, direct mode (no litellm), project files', async () => {
    t = await makeTestCtx([]);
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(0);
    const asked = t.prompter.rec.asked.map((a) => a.id);
    expect(asked).toEqual(['proposal', 'roles', 'model.editor', 'context.editor', 'mode', 'ports', 'server.editor', 'scope', 'review']);
    const plan = await readPlan(t.env);
    expect(plan?.mode).toBe('direct');
    const single = await curatedSingle();
    expect(plan?.roles.editor.model).toBe(single);
    expect(plan?.roles.editor.deployments).toEqual([{ host: '127.0.0.1', port: t.ports.editor }]);
    expect(plan?.aider.dir).toBe(t.project);
    const conf = await readFile(join(t.project, '.aider.conf.yml'), 'utf8');
    expect(conf).toContain(`http://127.0.0.1:${t.ports.editor}/v1`);
    // The server it started answered, and was stopped at the end.
    expect(t.launched).toHaveLength(1);
    expect(t.launched[0]!.stopped).toBe(true);
    expect(await isPortFree('127.0.0.1', t.ports.editor)).toBe(true);
    expect(t.prompter.rec.summary?.ok).toBe(true);
    const next = t.prompter.rec.summary!.sections.find((s) => s.title === 'Next steps')!.lines;
    // No aider on this PATH: what runs without it first, then its install, then launch.
    expect(next[0]).toBe(`$ ${selfCommand()} serve --stand-in   # starts the servers and keeps them up in this terminal (Ctrl-C stops them)`);
    expect(next).toContain(`$ ${selfCommand()} install aider   # Aider is not installed here, and launch starts it`);
    for (const l of next) expect(l, next.join('\n')).toMatch(/^\$ /);
    expect(next.at(-1)).toBe(`$ ${selfCommand()} launch --stand-in   # then: starts the servers in the background, and Aider in this terminal`);
    const byHand = t.prompter.rec.summary!.sections.find((s) => s.title === 'Or by hand')!.lines;
    expect(byHand[0]).toContain(`$ ${selfCommand()} fake-mlx-server --model ${single} --host 127.0.0.1 --port ${t.ports.editor}`);
  });

  it('Esc goes back a step, and back again within a step', async () => {
    const single = await curatedSingle();
    t = await makeTestCtx([
      ['roles', 'pair'],
      ['model.editor', BACK], // back to roles
      ['roles', 'single'],
      [/^model\.editor$/, 'type'],
      ['model.editor.typed', BACK], // back to the list, not out of the step
      ['model.editor', 'type'],
      ['model.editor.typed', 'mlx-community/Qwen3-8B-4bit'],
      ['context.editor', BACK], // back to the model question of the same step
      ['model.editor', `curated:${single}`],
      ['context.editor', '8192'],
      ['mode', BACK],
      ['context.editor', '4096'],
    ]);
    await runWizard(t.ctx);
    expect(t.prompter.remaining()).toEqual([]);
    const plan = await readPlan(t.env);
    expect(plan?.roles.architect).toBeUndefined();
    expect(plan?.roles.editor).toMatchObject({ model: single, context: 4096 });
    // The first model typed was replaced before any server started.
    expect(t.launched.map((l) => l.options.model)).toEqual([single]);
  });

  const questions = ['roles', 'model.editor', 'context.editor', 'mode', 'ports', 'server.editor', 'scope', 'review'];
  for (const at of questions) {
    it(`Ctrl-C at "${at}": nothing written, every server it started is stopped`, async () => {
      t = await makeTestCtx([[at, CANCEL]]);
      const before = await snapshotTree(t.root);
      await expect(runWizard(t.ctx)).rejects.toBeInstanceOf(CancelledError);
      expect(await snapshotTree(t.root)).toEqual(before);
      // From the servers step on, a stand-in was started: it must be stopped again.
      expect(t.launched.length).toBe(questions.indexOf(at) > questions.indexOf('server.editor') ? 1 : 0);
      for (const l of t.launched) expect(l.stopped).toBe(true);
      expect(await isPortFree('127.0.0.1', t.ports.editor)).toBe(true);
    });
  }
});
