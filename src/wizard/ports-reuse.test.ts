/**
 * The ports step after "Adjust…": an mlx_lm.server already running on this machine and serving the
 * model a role uses (its command line says which) is offered for reuse first, as the proposal and
 * `setup --yes` reuse it; one serving another model never is.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readPlan } from '../config/plan-file.js';
import { loadCurated, tierFor } from '../hub/curated.js';
import { startFakeMlxServer, type FakeMlxServer } from '../servers/fake-mlx-server.js';
import { findRunningServers } from '../setup/running.js';
import { runWizard } from './run.js';
import { createContext } from './context.js';
import { scriptedPrompter } from './fake-prompter.js';
import { reconfigureSteps } from './steps/index.js';
import { BACK } from './fake-prompter.js';
import { MEM32, makeTestCtx, type TestCtx } from './test-helpers.js';
import type { WizardDeps } from './context.js';

let t: TestCtx | undefined;
const servers: FakeMlxServer[] = [];
afterEach(async () => {
  await t?.cleanup();
  t = undefined;
  for (const s of servers.splice(0)) await s.close();
});

const single = async () => tierFor(await loadCurated(), MEM32.totalBytes).tier.picks.find((p) => p.role === 'single')!.repo;

/**
 * The real search (src/setup/running.ts: command lines, then the port must answer as an
 * mlx_lm.server), over these processes only: the stand-ins, each with the command line a real
 * mlx_lm.server would have. Another test's stand-in on this machine is not seen.
 */
function findRunningAmong(procs: Array<{ pid: number; model: string; port: number }>): NonNullable<WizardDeps['findRunning']> {
  return (models, o) =>
    findRunningServers(models, {
      ...o,
      processes: async () => procs.map((p) => ({ pid: p.pid, argv: ['/usr/bin/python3', '-m', 'mlx_lm.server', '--model', p.model, '--port', String(p.port)] })),
    });
}

describe('the ports step offers a running mlx_lm.server that serves the model', () => {
  it('first choice "Reuse the running server on :PORT", taken by Enter: the plan points at it, nothing is started', async () => {
    const model = await single();
    const other = 'mlx-community/zzz-Other-Model-4bit';
    const serving = await startFakeMlxServer({ model });
    const elsewhere = await startFakeMlxServer({ model: other });
    servers.push(serving, elsewhere);
    t = await makeTestCtx([['model.editor', `curated:${model}`]], {
      deps: { findRunning: findRunningAmong([{ pid: 4242, model, port: serving.port }, { pid: 4343, model: other, port: elsewhere.port }]) },
    });
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(0);
    expect(t.prompter.rec.asked.map((a) => a.id)).toEqual(['proposal', 'roles', 'model.editor', 'context.editor', 'mode', 'ports', 'scope', 'review']);
    const q = t.prompter.rec.questions.get('ports')!;
    const show = JSON.stringify(q.choices, null, 2);
    expect(q.choices![0]!.label, show).toBe(`Reuse the running server on :${serving.port}`);
    expect(q.choices![0]!.hint, show).toContain(model);
    expect(q.default, show).toBe(q.choices![0]!.value);
    // The one serving another model is not offered.
    expect(show).not.toContain(String(elsewhere.port));
    expect(show).not.toContain(other);
    const plan = (await readPlan(t.env))!;
    expect(plan.roles.editor.model).toBe(model);
    expect(plan.roles.editor.deployments).toEqual([{ host: '127.0.0.1', port: serving.port }]);
    expect(t.launched).toHaveLength(0);
    expect(t.ctx.checks.find((c) => c.id.startsWith('server.'))?.status).toBe('pass');
  });

  it('Esc back to the ports step after the reuse: asked again with the offer; "Use" then starts its own server', async () => {
    const model = await single();
    const serving = await startFakeMlxServer({ model });
    servers.push(serving);
    t = await makeTestCtx([['model.editor', `curated:${model}`], ['ports', `reuse:${model}`], ['scope', BACK], ['ports', 'ok']], {
      deps: { findRunning: findRunningAmong([{ pid: 4242, model, port: serving.port }]) },
    });
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(0);
    const asked = t.prompter.rec.asked.map((a) => a.id);
    expect(asked.slice(asked.indexOf('ports')), asked.join(' ')).toEqual(['ports', 'scope', 'ports', 'server.editor', 'scope', 'review']);
    expect(t.prompter.remaining()).toEqual([]);
    expect(t.prompter.rec.questions.get('ports')!.choices![0]!.label).toBe(`Reuse the running server on :${serving.port}`);
    const plan = (await readPlan(t.env))!;
    expect(plan.roles.editor.deployments).toEqual([{ host: '127.0.0.1', port: t.ports.editor }]);
    expect(t.launched.map((l) => l.options.port)).toEqual([t.ports.editor]);
  });

  it('a running server with another model only: no reuse offered, the editor gets its own port and server', async () => {
    const model = await single();
    const other = 'mlx-community/zzz-Other-Model-4bit';
    const elsewhere = await startFakeMlxServer({ model: other });
    servers.push(elsewhere);
    t = await makeTestCtx([['model.editor', `curated:${model}`]], { deps: { findRunning: findRunningAmong([{ pid: 4343, model: other, port: elsewhere.port }]) } });
    const r = await runWizard(t.ctx);
    expect(r.code).toBe(0);
    const q = t.prompter.rec.questions.get('ports')!;
    expect(q.choices!.map((c) => c.value).filter((v) => v.startsWith('reuse'))).toEqual([]);
    expect(q.choices![0]!.value).toBe('ok');
    const plan = (await readPlan(t.env))!;
    expect(plan.roles.editor.deployments).toEqual([{ host: '127.0.0.1', port: t.ports.editor }]);
    expect(t.launched.map((l) => l.options.port)).toEqual([t.ports.editor]);
  });
});

describe('reconfigure → Ports, with another mlx_lm.server serving the same model elsewhere', () => {
  /** A first setup with the defaults, then `reconfigure` → Ports, Enter at every question. */
  async function reconfigurePorts(o: { planPortAnswers: boolean }) {
    const model = await single();
    t = await makeTestCtx([['model.editor', `curated:${model}`]]);
    expect((await runWizard(t.ctx)).code).toBe(0);
    const planned = (await readPlan(t.env))!.roles.editor.deployments[0]!.port;
    // Someone else's server for the same model (another mlx_lm.server on this machine)…
    const stranger = await startFakeMlxServer({ model });
    servers.push(stranger);
    // …and, or not, the plan's own one still answering on its port.
    if (o.planPortAnswers) servers.push(await startFakeMlxServer({ model, port: planned }));
    const prompter = scriptedPrompter([['change', 'ports']]);
    const { env, hostEnv, cwd, signal, serverKind, timeoutSec } = t.ctx;
    const deps = { ...t.ctx.deps, findRunning: findRunningAmong([{ pid: 27690, model, port: stranger.port }]) };
    const ctx = createContext({ prompter, deps, env, hostEnv, cwd, signal, serverKind, timeoutSec, reconfigure: true });
    const r = await runWizard(ctx, reconfigureSteps());
    return { r, prompter, planned, stranger, plan: (await readPlan(t.env))! };
  }

  for (const planPortAnswers of [false, true]) {
    it(`Enter keeps the plan's own port (${planPortAnswers ? 'its server answers' : 'free to start again'}); reusing the other server is a choice`, async () => {
      const { r, prompter, planned, stranger, plan } = await reconfigurePorts({ planPortAnswers });
      expect(r.code).toBe(0);
      const q = prompter.rec.questions.get('ports')!;
      const show = JSON.stringify(q.choices, null, 2);
      expect(q.default, show).toBe('ok');
      expect(q.choices![0]!.value, show).toBe('ok');
      expect(q.choices!.find((c) => c.value.startsWith('reuse:'))?.label, show).toBe(`Reuse the running server on :${stranger.port}`);
      expect(plan.roles.editor.deployments).toEqual([{ host: '127.0.0.1', port: planned }]);
      // The first setup started one; reconfigure starts one again only where nothing answered.
      expect(t!.launched.map((l) => l.options.port)).toEqual(planPortAnswers ? [planned] : [planned, planned]);
    });
  }
});
