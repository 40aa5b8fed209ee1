/**
 * Timeouts from measurements: the arithmetic, and that what setup writes (composeWrites: the
 * LiteLLM config and Aider's conf) carries it once a bench result is kept for the model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { composeWrites } from '../config/write.js';
import { renderFiles } from '../config/render.js';
import { PLAN_VERSION, type Plan } from '../config/plan.js';
import { saveBench, type BenchRecord, machineOf, measuredPrefill } from './store.js';
import { timeoutFromPrefill } from './timeouts.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit';
const ARCHITECT = 'mlx-community/QwQ-32B-4bit';

function plan(dir: string, over: Partial<Plan> = {}): Plan {
  return {
    version: PLAN_VERSION,
    mode: 'proxy',
    roles: {
      editor: { model: EDITOR, context: 32768, deployments: [{ host: '127.0.0.1', port: 8080 }] },
      architect: { model: ARCHITECT, context: 65536, deployments: [{ host: '127.0.0.1', port: 8081 }] },
    },
    proxy: { host: '127.0.0.1', port: 4000 },
    requestTimeout: 600,
    aider: { scope: 'profile', dir },
    ...over,
  };
}

function record(over: Partial<BenchRecord>): BenchRecord {
  return { model: EDITOR, machine: machineOf('127.0.0.1'), via: 'direct', host: '127.0.0.1', port: 8080, roles: ['editor'], context: 32768, at: '2026-12-01T10:00:00.000Z', promptWords: 2000, coldTtftMs: 1000, turns: [], ...over };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('timeoutFromPrefill', () => {
  it('is max(floor, ⌈2 × context ÷ prefill tok/s⌉), the floor alone without a measurement', () => {
    expect(timeoutFromPrefill(32768, 50, 600)).toBe(1311); // 2 × 32768 / 50 = 1310.72
    expect(timeoutFromPrefill(32768, 1000, 600)).toBe(600); // 65.5 s: the floor
    expect(timeoutFromPrefill(131072, 100, 600)).toBe(2622);
    expect(timeoutFromPrefill(32768, 50, 2000)).toBe(2000); // a larger --request-timeout stays
    expect(timeoutFromPrefill(32768, undefined, 600)).toBe(600);
    expect(timeoutFromPrefill(32768, 0, 600)).toBe(600);
    expect(timeoutFromPrefill(32768, Number.NaN, 600)).toBe(600);
  });
});

describe('measuredPrefill', () => {
  it('the slowest latest direct result on the model\'s machines; through the proxy only without one; other machines never', () => {
    const rs = [
      record({ prefillTokPerSec: 90, at: '2026-12-01T09:00:00.000Z' }), // older, replaced by the next
      record({ prefillTokPerSec: 120 }),
      record({ port: 18080, prefillTokPerSec: 100 }),
      record({ via: 'proxy', port: 4000, prefillTokPerSec: 10 }),
      record({ machine: 'other-mac', host: '10.0.0.2', prefillTokPerSec: 5 }),
    ];
    expect(measuredPrefill(rs, EDITOR, ['127.0.0.1'])).toBe(100);
    expect(measuredPrefill([record({ via: 'proxy', port: 4000, prefillTokPerSec: 10 })], EDITOR, ['127.0.0.1'])).toBe(10);
    expect(measuredPrefill(rs, EDITOR, ['10.0.0.9'])).toBeUndefined();
    expect(measuredPrefill(rs, ARCHITECT, ['127.0.0.1'])).toBeUndefined();
  });
});

describe('the written files', () => {
  it('without a bench result: the plan\'s timeout everywhere', () => {
    const f = renderFiles(plan('/x'), { litellmConfig: '/c/litellm.yaml', aiderDir: '/x' });
    const lite = parse(f.litellm);
    expect(lite.model_list.map((d: { litellm_params: { timeout: number; stream_timeout: number } }) => [d.litellm_params.timeout, d.litellm_params.stream_timeout])).toEqual([[600, 600], [600, 600]]);
    expect(lite.litellm_settings.request_timeout).toBe(600);
    expect(parse(f.conf).timeout).toBe(600);
  });

  it('with one kept for a model: its deployments get 2 × context ÷ prefill, Aider and LiteLLM\'s default the longest', async () => {
    const home = mkdtempSync(join(tmpdir(), 'aider-mlx-timeouts-'));
    dirs.push(home);
    const env = { HOME: home };
    // The architect (65536 context) prefills at 40 tok/s: 2 × 65536 / 40 = 3276.8 → 3277 s. The editor is fast: the floor.
    await saveBench([record({ model: ARCHITECT, port: 8081, roles: ['architect'], context: 65536, prefillTokPerSec: 40 }), record({ prefillTokPerSec: 2000 })], env);
    const p = plan(join(home, 'aider'));
    const c = await composeWrites(p, env);
    const written = (name: string) => c.changes.find((ch) => ch.path.endsWith(name))!.content as string;
    const lite = parse(written('litellm.yaml'));
    const byBase = Object.fromEntries(lite.model_list.map((d: { litellm_params: { api_base: string; timeout: number; stream_timeout: number } }) => [d.litellm_params.api_base, [d.litellm_params.timeout, d.litellm_params.stream_timeout]]));
    expect(byBase).toEqual({ 'http://127.0.0.1:8080/v1': [600, 600], 'http://127.0.0.1:8081/v1': [3277, 3277] });
    expect(lite.litellm_settings.request_timeout).toBe(3277);
    expect(parse(written('.aider.conf.yml')).timeout).toBe(3277);
  });

  it('a result from another machine does not count', async () => {
    const home = mkdtempSync(join(tmpdir(), 'aider-mlx-timeouts-'));
    dirs.push(home);
    const env = { HOME: home };
    await saveBench([record({ machine: 'studio.local', host: '10.0.0.5', prefillTokPerSec: 10 })], env);
    const c = await composeWrites(plan(join(home, 'aider')), env);
    expect(parse(c.changes.find((ch) => ch.path.endsWith('.aider.conf.yml'))!.content as string).timeout).toBe(600);
  });
});
