/**
 * "Install it now": when a step finds a Python tool missing (mlx-lm to start a server, LiteLLM for
 * the proxy), it offers to install it on the spot, pinned and never a known-compromised release,
 * through the same installer as `aider-mlx install` (uv, else pipx, else a venv of ours).
 */
import { basename, delimiter, dirname } from 'node:path';
import { CancelledError } from '../errors.js';
import { which } from '../lib/which.js';
import { tildify } from '../lib/paths.js';
import { TOOLS, type ToolName } from '../tools/pins.js';
import type { Choice, TaskHandle } from './prompter.js';
import type { WizardContext } from './context.js';

export interface ToolInstaller {
  /** How it installs, for the choice's hint: "uv (~/.local/bin/uv)". */
  label: string;
  install(tool: ToolName, task: TaskHandle): Promise<{ bin: string; version: string }>;
}

/** The real installer: what `aider-mlx install` would use here, or undefined (no uv, pipx or python3). */
export async function machineInstaller(ctx: WizardContext): Promise<ToolInstaller | undefined> {
  const { availableInstallers, describeInstaller, installTool } = await import('../tools/install.js');
  const inst = availableInstallers(ctx.hostEnv)[0];
  if (!inst) return undefined;
  return {
    label: describeInstaller(inst, ctx.hostEnv),
    async install(tool, task) {
      const r = await installTool(TOOLS[tool], inst, { env: ctx.hostEnv, platform: process.platform, onLine: (l) => task.log(l), signal: task.signal });
      // installTool sets both (it verified the version by running the tool).
      return { bin: r.record.bin!, version: r.record.version! };
    },
  };
}

/**
 * Whether Enter installs: not on a machine that cannot run MLX (not macOS on Apple silicon) when
 * mlx-lm is among them. The install stays a choice there, one key away, never the default.
 */
export function installByDefault(ctx: WizardContext, tools: ToolName[]): boolean {
  if (!tools.includes('mlx-lm')) return true;
  return ctx.survey?.appleSilicon ?? (process.platform === 'darwin' && process.arch === 'arm64');
}

/** The choice to put first in a menu, or undefined when nothing here can install (or in the demo). */
export async function installChoice<T extends string>(ctx: WizardContext, tool: ToolName, value: T): Promise<{ choice: Choice<T>; installer: ToolInstaller } | undefined> {
  if (ctx.demo || ctx.serverKind === 'stand-in' || !ctx.deps.installer) return undefined;
  const installer = await ctx.deps.installer(ctx);
  if (!installer) return undefined;
  const spec = TOOLS[tool];
  return {
    installer,
    choice: { value, label: `Install ${spec.package} ${spec.version} now`, hint: `with ${installer.label}`, description: `Pinned, checked after installing, never a known-compromised release: what \`aider-mlx install ${spec.package}\` does.` },
  };
}

/** Install, say where it went, and make it found for the rest of this run. False when it failed (said why). */
export async function installNow(ctx: WizardContext, installer: ToolInstaller, tool: ToolName): Promise<{ bin: string; version: string } | undefined> {
  const spec = TOOLS[tool];
  try {
    const r = await ctx.prompter.task(`Installing ${spec.package} ${spec.version} with ${installer.label}`, (h) => installer.install(tool, h));
    const dir = dirname(r.bin);
    if (which(basename(r.bin), ctx.hostEnv) !== r.bin) {
      ctx.hostEnv = { ...ctx.hostEnv, PATH: `${dir}${delimiter}${ctx.hostEnv.PATH ?? ''}` };
      ctx.prompter.note('warn', `${tildify(dir, ctx.hostEnv)} is not on your PATH: add it to your shell's profile so your terminal finds ${spec.bin} too.`);
    }
    ctx.prompter.note('success', `Installed ${spec.package} ${r.version}: ${tildify(r.bin, ctx.hostEnv)}`);
    return r;
  } catch (e) {
    if (e instanceof CancelledError || ctx.signal.aborted) throw e;
    ctx.prompter.note('error', `Could not install ${spec.package}: ${(e as Error).message}`);
    return undefined;
  }
}
