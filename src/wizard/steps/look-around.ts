import { delimiter, dirname } from 'node:path';
import type { Plan, RoleName } from '../../config/plan.js';
import { ROLE_NAMES } from '../../config/plan.js';
import { lookingAround } from '../../lib/words.js';
import type { Step } from '../step.js';
import type { Answers, WizardContext } from '../context.js';
import { installByDefault, installNow } from '../install-offer.js';
import { tildify, selfCommand } from '../../lib/paths.js';
import { TOOLS, type ToolName } from '../../tools/pins.js';

/** A previous plan's choices become the defaults (never fixed: the user can change each one). */
export function answersFromPlan(plan: Plan, into: Answers): void {
  const { editor, architect, weak } = plan.roles;
  into.roles ??= architect ? 'pair' : 'single';
  into.weak ??= weak ? 'separate' : 'same';
  for (const r of ROLE_NAMES as readonly RoleName[]) {
    const role = plan.roles[r];
    if (!role) continue;
    into.models[r] ??= { model: role.model, source: 'plan' };
    into.context[r] ??= role.context;
    into.ports[r] ??= role.deployments[0]!.port;
  }
  into.host ??= editor.deployments[0]!.host;
  into.ports.proxy ??= plan.proxy.port;
  into.mode ??= plan.mode;
  into.scope ??= plan.aider.scope;
}

export const lookAround: Step = {
  id: 'look',
  title: 'Look around',
  // It always ends with a survey (or the run stops): the steps that need one count from the first heading on.
  assume: () => ({ surveyAhead: true }),
  async run(ctx: WizardContext) {
    // Run again (Esc at its question, with nothing before it; or back from a later step): what it
    // found and said stands; only its question is asked again.
    if (ctx.survey) {
      const missing = missingTools(ctx);
      if (missing.length) await offerInstalls(ctx, missing);
      return;
    }
    const survey = await ctx.prompter.task(lookingAround(), async (h) => {
      h.status('mlx_lm, litellm, aider, the Hugging Face cache, ports in use…');
      return ctx.deps.survey(ctx);
    });
    ctx.survey = survey;
    // aider-mlx's own installs off PATH: what this run starts (mlx_lm.server, litellm) is found there
    // too. Appended: the venv's python never shadows the user's.
    const dirs = [...new Set((survey.offPath ?? []).map((b) => dirname(b)))].filter((d) => !(ctx.hostEnv.PATH ?? '').split(delimiter).includes(d));
    if (dirs.length) ctx.hostEnv = { ...ctx.hostEnv, PATH: [ctx.hostEnv.PATH, ...dirs].filter(Boolean).join(delimiter) };
    for (const l of survey.lines) ctx.prompter.note('info', l);
    const missing = missingTools(ctx);
    // Offered below: the warning that says how to install mlx_lm by hand would say it twice.
    for (const w of survey.warnings) if (!(missing.includes('mlx-lm') && /^mlx_lm is not installed/.test(w))) ctx.prompter.note('warn', w);
    // As `setup --yes` refuses: Aider stops on a broken config file it reads, so the write refuses it too.
    if (survey.aiderConf.broken) {
      ctx.prompter.note(
        'error',
        `${survey.aiderConf.broken}. Aider reads that file here and stops on it: fix it, or move it aside. Until then setup writes no project or global Aider files (an isolated profile, which Aider reads alone, still works).`,
      );
    }
    if (survey.prevPlan) answersFromPlan(survey.prevPlan, ctx.answers);
    if (missing.length) await offerInstalls(ctx, missing);
  },
};

/** What the chain needs and this Mac lacks: mlx-lm, LiteLLM (unless direct mode was asked for), aider. */
export function missingTools(ctx: WizardContext): ToolName[] {
  // The unit tests' stand-in servers need none of them (the demo still shows the question).
  if (ctx.serverKind === 'stand-in' && !ctx.demo) return [];
  const t = ctx.survey?.tools ?? {};
  const out: ToolName[] = [];
  if (!t.mlx) out.push('mlx-lm');
  if (!t.litellm && (ctx.fixed.mode ?? 'proxy') === 'proxy') out.push('litellm');
  if (!t.aider) out.push('aider-chat');
  return out;
}

function listWords(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/**
 * Everything missing, installed first, with one question and before any model question (the
 * pinned installer of `aider-mlx install`). Without a terminal: what is missing and the command.
 */
async function offerInstalls(ctx: WizardContext, missing: ToolName[]): Promise<void> {
  const names = missing.map((m) => TOOLS[m].package);
  const what = `${listWords(names)} ${names.length === 1 ? 'is' : 'are'} not installed`;
  if (ctx.prompter.face === 'non-interactive') {
    // The demo runs on stand-ins: nothing is wrong with it, the tools are for a real setup.
    if (ctx.demo) ctx.prompter.note('info', `${what} here: the demo does not need ${names.length === 1 ? 'it' : 'them'} (it uses stand-ins). For a real setup, install ${names.length === 1 ? 'it' : 'them'} with: ${selfCommand()} install`);
    else ctx.prompter.note('warn', `${what}. Install ${names.length === 1 ? 'it' : 'them'} with: ${selfCommand()} install`);
    return;
  }
  const { availableInstallers, describeInstaller, installCommands } = await import('../../tools/install.js');
  const installer = ctx.demo ? undefined : await ctx.deps.installer?.(ctx);
  const demoInst = availableInstallers(ctx.hostEnv)[0] ?? { method: 'uv' as const, manager: 'uv' };
  const how = installer?.label ?? (ctx.demo ? describeInstaller(demoInst, ctx.hostEnv) : undefined);
  if (!how) {
    ctx.prompter.note('warn', `${what}, and neither uv, pipx nor python3 is here to install ${names.length === 1 ? 'it' : 'them'}: install uv (https://docs.astral.sh/uv/), then \`${selfCommand()} install\`.`);
    return;
  }
  const choice = await ctx.prompter.select<'install' | 'later'>({
    id: 'install',
    message: `${what}. Install ${names.length === 1 ? 'it' : names.length === 2 ? 'both' : `all ${names.length}`} now?`,
    help: missing.map((m) => `${TOOLS[m].package} ${TOOLS[m].version}: ${TOOLS[m].purpose}`),
    choices: [
      { value: 'install', label: `Install ${names.length === 1 ? names[0] : names.length === 2 ? 'both' : `all ${names.length}`} now`, hint: `with ${how}`, description: `Pinned, checked after installing, never a known-compromised release: what \`${selfCommand()} install\` does.` },
      { value: 'later', label: 'Not now: set up first, install later', hint: `${selfCommand()} install` },
    ],
    // On a machine MLX cannot run on, Enter must not run pip for it.
    default: installByDefault(ctx, missing) ? 'install' : 'later',
  });
  if (choice === 'later') {
    ctx.prompter.note('dim', `Later: \`${selfCommand()} install\` installs what is missing.`);
    return;
  }
  if (ctx.demo || !installer) {
    ctx.prompter.note('info', `Demo: nothing is installed. On your Mac this runs, with ${how}:`);
    for (const m of missing) {
      for (const cmd of installCommands(TOOLS[m], demoInst, { env: ctx.hostEnv, platform: 'darwin' }, '<no known-compromised release>')) ctx.prompter.note('dim', `$ ${cmd.map((a) => tildify(a, ctx.hostEnv)).join(' ')}`);
    }
    return;
  }
  const tools = ctx.survey!.tools;
  for (const m of missing) {
    const got = await installNow(ctx, installer, m);
    if (!got) continue;
    if (m === 'mlx-lm') tools.mlx = { bin: got.bin, version: got.version };
    else if (m === 'litellm') tools.litellm = { bin: got.bin, version: got.version, compromised: false };
    else tools.aider = { bin: got.bin, version: got.version };
  }
}
