/**
 * The doctor starts its probes from the plan file parsed but not yet validated (so they do not
 * wait for zod); a plan that then fails validation is reported as before: no probes, the plan check
 * fails with readPlan's message.
 */
import { describe, expect, it } from 'vitest';
import { readPlan } from '../../src/config/plan-file.js';
import { runDoctor } from '../../src/doctor/run.js';
import { type World, worldsClosedAfterEach } from './world.js';

const world = worldsClosedAfterEach();

async function planMessage(w: World): Promise<string> {
  return readPlan(w.env, w.paths.plan).then(
    () => 'valid',
    (e: Error) => e.message,
  );
}

describe('doctor: plan validation runs beside the probes', () => {
  it.each([
    ['a bad model id', (d: Record<string, any>) => void (d.roles.editor.model = 'has a space')],
    ['no roles at all', (d: Record<string, any>) => void delete d.roles],
    ['a port out of range', (d: Record<string, any>) => void (d.roles.editor.deployments[0].port = 70000)],
  ])('an invalid plan (%s) fails config.plan and probes nothing', async (_, edit) => {
    const w = await world({ two: false });
    w.editYaml(w.paths.plan, edit);
    const message = await planMessage(w);
    expect(message).toMatch(/is not a valid plan/);
    const r = await runDoctor({ timeoutMs: 5000, deep: false }, { env: w.env, cwd: w.project });
    expect(r.hasPlan).toBe(false);
    expect(r.state.planError).toBe(message);
    const plan = r.checks.find((c) => c.id === 'config.plan')!;
    expect(plan.status).toBe('fail');
    expect(plan.observed).toBe(message);
    expect(r.checks.filter((c) => c.group === 'server' || c.group === 'proxy')).toEqual([]);
  });

  it('a valid plan: the report keeps the validated plan (unknown keys dropped, as readPlan does)', async () => {
    const w = await world({ two: false });
    w.editYaml(w.paths.plan, (d: Record<string, unknown>) => void (d.extra = 'ignored'));
    const r = await runDoctor({ timeoutMs: 5000, deep: false }, { env: w.env, cwd: w.project });
    expect(r.hasPlan).toBe(true);
    expect(r.state.plan).toEqual(await readPlan(w.env, w.paths.plan));
    expect(r.state.plan).not.toHaveProperty('extra');
    expect(r.checks.find((c) => c.id === 'config.plan')?.status).toBe('pass');
  });
});
