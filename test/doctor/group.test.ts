// The doctor on a plan with a group: its checks run with the others, and a group does not upset them.
import { describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/doctor/run.js';
import { worldsClosedAfterEach } from './world.js';

const world = worldsClosedAfterEach();

describe('doctor with a group in the plan', () => {
  it('adds the group checks (split, ranks) to the server hop; the rest is as for one server', async () => {
    const w = await world({ mode: 'direct', two: false });
    const before = await runDoctor({ timeoutMs: 2000, deep: false }, { env: w.env, cwd: w.project });
    w.editYaml<{ roles: { editor: { deployments: Array<Record<string, unknown>> } } }>(w.paths.plan, (p) => {
      p.roles.editor.deployments[0]!.group = { hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }] };
    });
    const r = await runDoctor({ timeoutMs: 2000, deep: false }, { env: w.env, cwd: w.project });
    const g = r.checks.filter((c) => c.id.startsWith('group.'));
    expect(g.map((c) => `${c.group} ${c.status} ${c.id}`)).toEqual(['server warn group.editor+weak.split', 'server pass group.editor+weak.ranks']);
    const others = (x: typeof r) => x.checks.filter((c) => !c.id.startsWith('group.')).map((c) => `${c.status} ${c.id}`);
    expect(others(r)).toEqual(others(before));
  });
});
