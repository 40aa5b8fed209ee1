import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profileArgs } from '../config/profile.js';
import type { Check } from '../lib/check.js';
import { run } from '../lib/exec.js';
import { configPaths } from '../lib/paths.js';
import type { Plan } from '../config/plan.js';
import { startLitellmProxy, type RunningProxy } from '../servers/litellm.js';
import { isPortFree } from '../servers/ports.js';
import { probeLitellm, rootUrl } from '../servers/probe.js';
import type { TaskHandle } from './prompter.js';
import type { WizardContext } from './context.js';

/**
 * `aider --message` with the three files just written, from a scratch folder (so nothing lands in
 * the user's repository), through the proxy when the plan has one (started for this check only).
 */
export async function runAiderCheck(plan: Plan, ctx: WizardContext, h: TaskHandle): Promise<Check> {
  const id = 'aider.message';
  const title = 'aider answered a real message through the chain';
  const bin = ctx.survey?.tools.aider?.bin;
  if (!bin) return { id, title: 'aider check: aider is not installed', status: 'skip' };
  const dir = await mkdtemp(join(tmpdir(), 'aider-mlx-check-'));
  let proxy: RunningProxy | undefined;
  try {
    if (plan.mode === 'proxy') {
      const lite = ctx.survey?.tools.litellm;
      if (!lite || lite.compromised) return { id, title: 'aider check: skipped (no usable LiteLLM to run the proxy)', status: 'skip' };
      if (await isPortFree('127.0.0.1', plan.proxy.port)) {
        h.status(`starting LiteLLM on 127.0.0.1:${plan.proxy.port}`);
        proxy = await startLitellmProxy({ bin: lite.bin, configPath: configPaths(ctx.env).litellm, port: plan.proxy.port, env: ctx.hostEnv, cwd: dir });
        const started = Date.now();
        for (;;) {
          const p = await probeLitellm(rootUrl('127.0.0.1', plan.proxy.port), { timeoutMs: 2000, signal: h.signal });
          if (p.liveliness.ok || h.signal.aborted) break;
          if (Date.now() - started > 60_000) return { id, title, status: 'fail', observed: `LiteLLM did not come up: ${proxy.log.slice(-2).join(' | ')}` };
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
    h.status('aider is thinking (its first start takes a while)…');
    const r = await run(
      bin,
      [
        ...profileArgs(plan.aider.dir),
        '--message', 'Reply with the single word OK.',
        '--yes-always', '--no-git', '--no-gitignore', '--no-auto-commits', '--no-check-update',
        '--no-show-release-notes', '--analytics-disable', '--no-pretty', '--no-stream', '--map-tokens', '0',
        '--chat-history-file', join(dir, 'chat.md'), '--input-history-file', join(dir, 'input.txt'),
      ],
      { cwd: dir, env: { ...ctx.hostEnv }, timeoutMs: 300_000 },
    );
    const out = `${r.stdout}\n${r.stderr}`;
    for (const l of out.split('\n').filter((x) => x.trim()).slice(-6)) h.log(l);
    if (r.code === 0 && !/litellm\.\w*Error|APIConnectionError|NotFoundError/.test(out)) return { id, title, status: 'pass' };
    const line = out.split('\n').filter((l) => /error/i.test(l)).pop() ?? out.trim().split('\n').pop() ?? '';
    return { id, title: 'aider check', status: 'fail', observed: `aider exited ${r.code}: ${line.slice(0, 200)}`, fix: 'Run `aider-mlx doctor` to check each part of the setup.' };
  } finally {
    await proxy?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
