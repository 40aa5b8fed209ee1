import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { makeWorld, type World } from '../../test/doctor/world.js';
import { guideDoctor } from './guided.js';
import { runDoctor } from './run.js';

const worlds: World[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.close()));
});

async function broken(): Promise<World> {
  const w = await makeWorld({ two: false });
  worlds.push(w);
  w.editYaml(w.paths.conf, (d) => {
    d.model = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
  });
  return w;
}

function io(w: World, answers: boolean[]) {
  const printed: string[] = [];
  const asked: string[] = [];
  const opts = { timeoutMs: 2000, deep: false };
  const caps = { env: w.env, cwd: w.project };
  return {
    printed,
    asked,
    first: () => runDoctor(opts, caps),
    io: {
      ask: async (q: string) => {
        asked.push(q);
        return answers.shift() ?? false;
      },
      print: (s: string) => void printed.push(s),
      env: w.env,
      rerun: () => runDoctor(opts, caps),
    },
  };
}

describe('guided mode', () => {
  it('walks the hops in order and offers the fix where the problem is; yes applies it and checks again', async () => {
    const w = await broken();
    const g = io(w, [true]);
    const res = await guideDoctor(await g.first(), g.io);
    expect(g.asked[0]).toMatch(/^Apply this fix now\?/);
    const text = g.printed.join('\n');
    expect(text.indexOf('Environment')).toBeLessThan(text.indexOf('Aider\n'));
    expect(text).toContain('+model: openai/mlx-qwen2.5-coder-7b-instruct-4bit');
    expect(text).toMatch(/Fixed \(backup: .+\)\./);
    expect(res).toMatchObject({ fixed: true, stoppedEarly: false });
    expect(res.report.exitCode).toBe(0);
    expect(readFileSync(w.paths.conf, 'utf8')).toContain('model: openai/mlx-qwen2.5-coder-7b-instruct-4bit');
  });

  it('no changes nothing', async () => {
    const w = await broken();
    const before = readFileSync(w.paths.conf, 'utf8');
    const g = io(w, [false]);
    const res = await guideDoctor(await g.first(), g.io);
    expect(readFileSync(w.paths.conf, 'utf8')).toBe(before);
    expect(res.fixed).toBe(false);
    expect(res.report.exitCode).toBe(1);
    expect(g.asked).toHaveLength(1);
  });

  it('a hop that cannot be fixed here: asks whether to go on, and stops on no', async () => {
    const w = await makeWorld({ two: false, editorDown: true });
    worlds.push(w);
    const g = io(w, [false]);
    const res = await guideDoctor(await g.first(), g.io);
    expect(g.asked).toEqual(['1 problem left in MLX servers. Go on to LiteLLM proxy?']);
    expect(res.stoppedEarly).toBe(true);
    const text = g.printed.join('\n');
    expect(text).toContain('mlx_lm.server --model');
    expect(text).not.toContain('LiteLLM proxy\n');
  });

  it('asks nothing when everything passes', async () => {
    const w = await makeWorld({ two: false });
    worlds.push(w);
    const g = io(w, []);
    const res = await guideDoctor(await g.first(), g.io);
    expect(g.asked).toEqual([]);
    expect(res.report.exitCode).toBe(0);
  });
});
