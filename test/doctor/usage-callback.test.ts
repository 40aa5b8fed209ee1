/**
 * The prompt-cache callback aider-mlx writes next to its LiteLLM config (aider_mlx_usage.py, named
 * in litellm_settings.callbacks): when the file is gone (deleted, or the config copied to another
 * folder), the real proxy fails to start (LiteLLM loads `<the config's folder>/aider_mlx_usage.py`,
 * then Python's import path). The doctor names the file and the folder, `--fix` writes it again
 * from the template through the safe writer, and `serve` refuses to start the proxy with the fix
 * instead of LiteLLM's traceback.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyFixes, planFixes } from '../../src/doctor/fix.js';
import { reportToText } from '../../src/doctor/report.js';
import { runDoctor, type DoctorReport } from '../../src/doctor/run.js';
import { renderUsageCallback } from '../../src/config/render.js';
import { ownedLocations } from '../../src/service/locations.js';
import { buildUnits } from '../../src/serve/units.js';
import { worldsClosedAfterEach } from './world.js';

const world = worldsClosedAfterEach();
const byId = (r: DoctorReport, id: string) => r.checks.find((c) => c.id === id);

describe('litellm_settings.callbacks names aider_mlx_usage but aider_mlx_usage.py is missing', () => {
  it('with a plan: the doctor names the file and its folder; --fix writes it again from the template', async () => {
    const w = await world();
    const file = join(dirname(w.paths.litellm), 'aider_mlx_usage.py');
    expect(existsSync(file)).toBe(true);
    const ok = await runDoctor({ timeoutMs: 2000, deep: false }, { env: w.env, cwd: w.project });
    expect(byId(ok, 'config.litellm.callbacks')?.status).toBe('pass');

    rmSync(file);
    const r = await runDoctor({ timeoutMs: 2000, deep: false }, { env: w.env, cwd: w.project });
    const c = byId(r, 'config.litellm.callbacks')!;
    expect(c.status).toBe('fail');
    expect(c.title).toBe('LiteLLM config: litellm_settings.callbacks names aider_mlx_usage.handler, but aider_mlx_usage.py is not in ~/.config/aider-mlx, where LiteLLM looks for it: the proxy will not start');
    expect(c.fix).toContain('Run `aider-mlx doctor --fix`: it writes ~/.config/aider-mlx/aider_mlx_usage.py again');
    expect(c.fix).toContain('remove aider_mlx_usage.handler from litellm_settings.callbacks in ~/.config/aider-mlx/litellm.yaml');
    expect(r.exitCode).toBe(1);
    expect(r.likely.some((s) => s.cause === 'usage-callback' && s.verdict === 'confirmed')).toBe(true);

    const fp = await planFixes(r, w.env);
    expect(fp.writes.map((x) => x.path)).toContain(file);
    await applyFixes(fp, w.env);
    expect(readFileSync(file, 'utf8')).toBe(renderUsageCallback(ownedLocations(w.env).turns));
    const after = await runDoctor({ timeoutMs: 2000, deep: false }, { env: w.env, cwd: w.project });
    expect(byId(after, 'config.litellm.callbacks')?.status).toBe('pass');
  });

  it('the config copied to another folder (no plan): the check names that folder, --fix writes the file there; the pasted ImportError points at it', async () => {
    const w = await world({ proxy: false });
    const text = readFileSync(w.paths.litellm, 'utf8');
    rmSync(w.paths.plan);
    const copy = join(w.home, 'proxy', 'litellm.yaml');
    mkdirSync(dirname(copy), { recursive: true });
    writeFileSync(copy, text);
    const r = await runDoctor(
      { timeoutMs: 2000, deep: false, litellmConfig: copy, errorText: 'ImportError: Could not import handler from aider_mlx_usage' },
      { env: w.env, cwd: w.project, portProcess: async () => undefined },
    );
    const c = byId(r, 'config.litellm.callbacks')!;
    expect(c.status).toBe('fail');
    expect(c.title).toContain('but aider_mlx_usage.py is not in ~/proxy, where LiteLLM looks for it');
    expect(c.fixable).toBe('edit');
    expect(r.likely[0]).toMatchObject({ cause: 'usage-callback', verdict: 'confirmed' });
    expect(reportToText(r, { env: w.env, width: 400 })).toContain("Most likely: The LiteLLM config names aider-mlx's callback aider_mlx_usage, but aider_mlx_usage.py is not in the config's folder");
    const fp = await planFixes(r, w.env);
    const target = join(w.home, 'proxy', 'aider_mlx_usage.py');
    expect(fp.writes.map((x) => x.path)).toContain(target);
    await applyFixes(fp, w.env);
    expect(readFileSync(target, 'utf8')).toBe(renderUsageCallback(ownedLocations(w.env).turns));
    expect(readFileSync(copy, 'utf8')).toBe(text);
  });

  it('serve refuses to start the proxy with a plain message and the fix (not LiteLLM\'s traceback)', async () => {
    const w = await world({ proxy: false });
    rmSync(join(dirname(w.paths.litellm), 'aider_mlx_usage.py'));
    const unit = buildUnits(w.plan, { env: w.env }).find((u) => u.kind === 'proxy')!;
    await expect(unit.start(() => {})).rejects.toThrow(
      'names aider_mlx_usage.handler in litellm_settings.callbacks, but aider_mlx_usage.py is not in ~/.config/aider-mlx, where LiteLLM looks for it, so the proxy would not start: not started. Run `aider-mlx doctor --fix` to write it again',
    );
  });
});
