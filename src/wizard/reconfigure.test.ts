import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readPlan } from '../config/plan-file.js';
import type { Plan } from '../config/plan.js';
import { createContext } from './context.js';
import { scriptedPrompter, type Scripted } from './fake-prompter.js';
import { runWizard } from './run.js';
import { changeChoices, fixedFromPlan, openUp } from './steps/change.js';
import { reconfigureSteps } from './steps/index.js';
import { buildCatalogue, type CatalogueOptions } from '../hub/catalogue.js';
import { freePorts, makeTestCtx, snapshotTree, type TestCtx } from './test-helpers.js';

let t: TestCtx | undefined;
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
});

/** A first setup with the defaults, then a reconfigure run in the same HOME and project. */
async function reconfigure(script: Array<[string | RegExp, Scripted]>, o: { memoryGB?: number } = {}) {
  t = await makeTestCtx([]);
  await runWizard(t.ctx);
  const before = await snapshotTree(t.root);
  const prompter = scriptedPrompter(script);
  const { env, hostEnv, cwd, signal, serverKind, timeoutSec } = t.ctx;
  // The same plan on a Mac with another memory (the first setup ran on 32 GB).
  const deps = o.memoryGB === undefined ? t.ctx.deps : { ...t.ctx.deps, catalogue: (opts: CatalogueOptions) => buildCatalogue({ ...opts, memory: { totalBytes: o.memoryGB! * 2 ** 30, source: 'override', platform: 'darwin' } }) };
  const ctx = createContext({ prompter, deps, env, hostEnv, cwd, signal, serverKind, timeoutSec, reconfigure: true });
  // As runReconfigureWizard does: the plan it opened, for the step counter before the look around.
  ctx.planAhead = (await readPlan(env))!;
  const r = await runWizard(ctx, reconfigureSteps());
  return { r, prompter, before, plan: (await readPlan(t.env))! };
}

describe('reconfigure', () => {
  it('opens on the current setup with each hop live, and changes one port: only the files that change are rewritten', async () => {
    const [port] = await freePorts(1);
    const { r, prompter, plan } = await reconfigure([
      ['change', 'ports'],
      ['ports', 'change:editor'],
      ['port.editor', String(port)],
    ]);
    expect(r.code).toBe(0);
    expect(prompter.rec.notes.some((n) => /editor \+ weak: .* on 127\.0\.0\.1:\d+: not running: nothing listens on that port/.test(n.text))).toBe(true);
    // Nothing else was asked: the models, roles, mode and scope come from the plan.
    expect(prompter.rec.asked.map((a) => a.id)).toEqual(['change', 'ports', 'port.editor', 'ports', 'server.editor', 'review']);
    expect(plan.roles.editor.deployments[0]!.port).toBe(port);
    const review = prompter.rec.questions.get('review') as unknown as { files: Array<{ label: string; status: string; diff: string }> };
    expect(Object.fromEntries(review.files.map((f) => [f.label.split('/').pop(), f.status]))).toEqual({
      'plan.yaml': 'update',
      '.aider.conf.yml': 'update',
      '.aider.model.settings.yml': 'update', // direct mode: each model's api_base carries the port
      '.aider.model.metadata.json': 'unchanged',
      'added.json': 'unchanged', // what setup added, for uninstall: nothing new
    });
    // Every changed line is about the port, nothing else moved.
    const changed = review.files.flatMap((f) => f.diff.split('\n')).filter((l) => /^[-+](?![-+])/.test(l));
    expect(changed.length).toBeGreaterThan(0);
    for (const l of changed) expect(l).toMatch(new RegExp(`${port}|${t!.ports.editor}`));
    expect(await readFile(join(t!.project, '.aider.conf.yml'), 'utf8')).toContain(`127.0.0.1:${port}/v1`);
  });

  it('changing a port asks for the ports, not whether to split a model the plan keeps (even one that does not fit this Mac)', async () => {
    const [port] = await freePorts(1);
    const { r, prompter, plan } = await reconfigure(
      [
        ['change', 'ports'],
        ['ports', 'change:editor'],
        ['port.editor', String(port)],
      ],
      { memoryGB: 2 },
    );
    expect(r.code).toBe(0);
    const ids = prompter.rec.asked.map((a) => a.id);
    expect(ids.slice(0, 2)).toEqual(['change', 'ports']);
    expect(ids.filter((id) => id.startsWith('split'))).toEqual([]);
    expect(plan.roles.editor.deployments).toEqual([{ host: '127.0.0.1', port }]);
  });

  it('"Split a model across Macs" is asked when chosen; for a model that fits, its default is not to split', async () => {
    const { r, prompter, plan } = await reconfigure([['change', 'split']]);
    expect(r.code).toBe(0);
    const q = prompter.rec.questions.get('split.editor');
    expect(q?.message).not.toMatch(/does not fit/);
    expect(q?.default).toBe('keep');
    expect(plan.roles.editor.deployments[0]!.group).toBeUndefined();
  });

  it('"nothing" writes nothing and starts nothing', async () => {
    const { before, prompter } = await reconfigure([['change', 'nothing']]);
    expect(prompter.rec.asked.map((a) => a.id)).toEqual(['change']);
    expect(await snapshotTree(t!.root)).toEqual(before);
    expect(t!.launched).toHaveLength(1); // the first setup's server only
  });

  it('adding an architect asks only for its model and context', async () => {
    const { prompter, plan } = await reconfigure([['change', 'add-architect']]);
    expect(prompter.rec.asked.map((a) => a.id).slice(0, 4)).toEqual(['change', 'model.architect', 'context.architect', 'ports']);
    expect(plan.roles.architect).toBeDefined();
    expect(plan.roles.editor.model).not.toBe(plan.roles.architect!.model);
  });
});

describe('reconfigure choices', () => {
  const plan: Plan = {
    version: 1,
    mode: 'proxy',
    roles: { editor: { model: 'a/e', context: 8192, deployments: [{ host: '127.0.0.1', port: 8080 }] } },
    proxy: { host: '127.0.0.1', port: 4000 },
    requestTimeout: 600,
    aider: { scope: 'project', dir: '/p' },
  };
  it('fixes everything the plan says and opens up only the change', () => {
    const f = fixedFromPlan(plan);
    expect(f).toMatchObject({ roles: 'single', weak: 'same', mode: 'proxy', scope: 'project', host: '127.0.0.1', ports: { editor: 8080, proxy: 4000 } });
    openUp(f, 'mode');
    expect(f.mode).toBe('direct');
    const g = fixedFromPlan(plan);
    openUp(g, 'ports');
    expect(g.ports).toEqual({});
    expect(g.host).toBeUndefined();
    expect(g.models.editor?.model).toBe('a/e');
  });
  it('a model the plan splits across Macs stays split unless its model changes', () => {
    const group = { hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }] } as unknown as NonNullable<Plan['roles']['editor']['deployments'][0]['group']>;
    const split: Plan = { ...plan, roles: { editor: { ...plan.roles.editor, deployments: [{ host: '127.0.0.1', port: 8080, group }] } } };
    const f = fixedFromPlan(split);
    openUp(f, 'ports');
    expect(f.groups?.editor).toBe(group);
    const g = fixedFromPlan(split);
    openUp(g, 'editor');
    expect(g.groups?.editor).toBeUndefined();
  });
  it('offers what fits the plan', () => {
    expect(changeChoices(plan).map((c) => c.value)).toEqual(['editor', 'add-architect', 'add-weak', 'ports', 'mode', 'scope', 'split', 'nothing']);
  });
});

describe('the step counter', () => {
  /**
   * Each heading its own number, 1, 2, 3… in order, every one with a total (the steps known so far),
   * never below the number, and the last heading's total is its number; no empty heading.
   */
  function expectStable(rec: { counters: Array<{ counter: string; title: string }>; shown: string[] }) {
    const all = JSON.stringify(rec.counters);
    const nums = rec.counters.map((c) => Number(c.counter.split('/')[0]));
    expect(nums, all).toEqual(nums.map((_, i) => i + 1));
    for (const c of rec.counters) expect(c.counter, all).toMatch(/^\d+\/\d+$/);
    for (const c of rec.counters) expect(Number(c.counter.split('/')[1]), all).toBeGreaterThanOrEqual(Number(c.counter.split('/')[0]));
    const last = rec.counters.at(-1)!.counter.split('/');
    expect(last[1], all).toBe(last[0]);
    rec.shown.forEach((s, i) => {
      if (s.startsWith('step:')) expect(rec.shown[i + 1] ?? '', `${s} shows nothing`).not.toMatch(/^step:|^$/);
    });
  }

  it('setup with two models: each model step its own number, the total counts both', async () => {
    t = await makeTestCtx([['roles', 'pair']]);
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(0);
    const rec = t.prompter.rec;
    const editor = rec.counters.find((c) => c.title === 'Editor model')!.counter;
    const architect = rec.counters.find((c) => c.title === 'Architect model')!.counter;
    expect(Number(architect.split('/')[0])).toBe(Number(editor.split('/')[0]) + 1);
    expectStable(rec);
    // Chosen at Roles: the architect's step is in the total from there on.
    expect(architect.split('/')[1]).toBe(rec.counters.at(-1)!.counter.split('/')[1]);
  });

  it('reconfigure switching to direct mode: a total before the choice too (its default\'s path), no empty step', async () => {
    const { r, prompter } = await reconfigure([['change', 'mode'], ['mode', 'direct']]);
    expect(r.code).toBe(0);
    expectStable(prompter.rec);
    // The look around's heading already counts reconfigure's path, as the change question's does
    // (it counted the whole setup: 1/11, then 2/8).
    const [look, change] = prompter.rec.counters;
    expect(look!.counter.split('/')[1], JSON.stringify(prompter.rec.counters)).toBe(change!.counter.split('/')[1]);
  });
});
