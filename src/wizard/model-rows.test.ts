/** The model picker shows `aider-mlx bench`'s measured prefill speed next to a model that has one. */
import { afterEach, describe, expect, it } from 'vitest';
import { machineOf, saveBench } from '../bench/store.js';
import { modelRows } from './model-rows.js';
import { surveyMachine } from './survey.js';
import { makeTestCtx, type TestCtx } from './test-helpers.js';

const made: TestCtx[] = [];
afterEach(async () => {
  for (const t of made.splice(0)) await t.cleanup();
});

describe('model rows', () => {
  it('a model with a bench result says its measured prefill speed; the others do not', async () => {
    const t = await makeTestCtx([]);
    made.push(t);
    t.ctx.survey = await surveyMachine(t.ctx);
    const before = modelRows(t.ctx, 'editor').filter((r) => r.pick);
    expect(before.length).toBeGreaterThan(1);
    const model = before[0]!.pick!.model;
    await saveBench([{ model, machine: machineOf('127.0.0.1'), via: 'direct', host: '127.0.0.1', port: 8080, roles: ['editor'], context: 32768, at: '2026-12-01T10:00:00.000Z', promptWords: 2000, coldTtftMs: 1, prefillTokPerSec: 812.4, turns: [] }], t.env);
    const rows = modelRows(t.ctx, 'editor').filter((r) => r.pick);
    expect(rows[0]!.hint).toMatch(/ · measured 812 tok\/s prefill$/);
    expect(rows.slice(1).every((r) => !/measured/.test(r.hint ?? ''))).toBe(true);
  });
});
