/** A set over the memory budget (setup --yes): said, with by how much and what to choose instead. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from '../config/plan.js';
import { buildCatalogue, type Catalogue } from '../hub/catalogue.js';
import { GiB } from '../hub/fit.js';
import { startFakeMlxServer } from '../servers/fake-mlx-server.js';
import { freePorts } from '../wizard/test-helpers.js';
import { checkContext, fitAtFor, overBudgetNote } from './context-fit.js';
import { parseSetupFlags } from './flags.js';
import { runSetup } from './run.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const BIG = 'mlx-community/QwQ-32B-Preview-4bit';
let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'aider-mlx-fit-'));
});
afterEach(async () => rm(root, { recursive: true, force: true }));

const catalogueOf = (gb: number): Promise<Catalogue> =>
  buildCatalogue({ env: { HOME: root, PATH: '/usr/bin:/bin', HF_HUB_CACHE: join(root, 'hf'), HF_HUB_OFFLINE: '1' }, skipHub: true, memory: { totalBytes: gb * GiB, source: 'override', platform: 'darwin' } });
const plan = (roles: Plan['roles']): Plan => ({ version: 1, mode: 'direct', roles, proxy: { host: '127.0.0.1', port: 4000 }, requestTimeout: 600, aider: { scope: 'project', dir: root } });
const role = (model: string, context: number, port: number) => ({ model, context, deployments: [{ host: '127.0.0.1', port }] });

describe('overBudgetNote', () => {
  it('an architect over the budget: what is over, by how much, what to choose instead', async () => {
    const c = await catalogueOf(24);
    const note = overBudgetNote(plan({ editor: role(EDITOR, 16384, 8080), architect: role(BIG, 32768, 8081) }), c);
    expect(note).toMatch(new RegExp(`^memory: architect model ${BIG} does not fit this Mac at any context: editor .* GB \\+ architect .* GB = .* of .* budget \\(\\d+%\\), \\d+(\\.\\d)? GB over;`));
    expect(note).toMatch(/Choose instead: --architect mlx-community\/\S+ \(this Mac's pick\)/);
    expect(note).not.toContain(`--architect ${BIG}`);
    expect(note).not.toContain('→');
  });

  it('two models that each fit but not together: said of the set, a smaller context offered', async () => {
    const c = await catalogueOf(16);
    const note = overBudgetNote(plan({ editor: role(EDITOR, 32768, 8080), architect: role('mlx-community/Qwen2.5-Coder-14B-Instruct-4bit', 32768, 8081) }), c);
    expect(note).toMatch(/^memory: the models together do not fit this Mac: /);
    expect(note).toMatch(/a smaller --context/);
  });

  it('nothing when the set fits, or when nothing is known about memory', async () => {
    const c = await catalogueOf(32);
    expect(overBudgetNote(plan({ editor: role(EDITOR, 16384, 8080) }), c)).toBeUndefined();
    expect(overBudgetNote(plan({ editor: role(BIG, 32768, 8080) }), undefined)).toBeUndefined();
  });
});

describe('checkContext', () => {
  it('several models over the budget: the arithmetic without a stray "→ too big" mid-sentence', async () => {
    const c = await catalogueOf(16);
    const p = checkContext(EDITOR, 131072, { fitAt: fitAtFor(c, [EDITOR, 'mlx-community/Qwen2.5-Coder-1.5B-Instruct-4bit']) });
    expect(p?.why).toBe('memory');
    expect(p?.message).not.toContain('→');
  });
});

describe('setup --yes with an architect over the budget', () => {
  it('writes the plan as asked (as the wizard lets one keep it) and says why it may run out of memory', async () => {
    const [p1, p2] = (await freePorts(2)) as [number, number];
    const servers = [await startFakeMlxServer({ port: p1, model: EDITOR }), await startFakeMlxServer({ port: p2, model: BIG })];
    try {
      const env = { HOME: join(root, 'home'), XDG_CONFIG_HOME: join(root, 'home/.config'), PATH: '/usr/bin:/bin', HF_HUB_CACHE: join(root, 'hf'), HF_HUB_OFFLINE: '1' };
      const input = parseSetupFlags(['--yes', '--dry-run', '--mode', 'direct', '--editor', EDITOR, '--editor-port', String(p1), '--architect', BIG, '--architect-port', String(p2)]);
      const r = await runSetup(input, { env, cwd: root, catalogue: await catalogueOf(24), defaultContextOf: () => 16384 });
      expect(r.code).toBe(0);
      expect(r.notes.find((n) => n.startsWith('memory:'))).toMatch(new RegExp(`architect model ${BIG} does not fit this Mac.* over; .*Choose instead: `));
    } finally {
      for (const s of servers) await s.close();
    }
  });
});
