import { DEFAULT_CONTEXT, type RoleName } from '../../config/plan.js';
import { checkContext, defaultContext, MIN_CONTEXT, recommendedContext, type FitAt } from '../../setup/context-fit.js';
import { describeZodError, hostProblem, modelRefSchema } from '../../config/plan-schema.js';
import { identifyServer } from '../../servers/probe.js';
import { servedModelAt } from '../../servers/ports.js';
import { isLoopback } from '../../serve/remote.js';
import { maxContextFromCache } from '../../setup/model-config.js';
import { formatGB } from '../../hub/fit.js';
import { GoBack, type Choice } from '../prompter.js';
import { inSequence, type Step } from '../step.js';
import { activeRoles, pickFor, type ModelPick, type WizardContext } from '../context.js';
import { defaultRow, fitWords, modelRows, setFitWith, sizeWords, sizingFor, sizingFromHub } from '../model-rows.js';

const ROLE_WORDS: Record<RoleName, { title: string; ask: string }> = {
  editor: { title: 'Editor model', ask: 'writes the code' },
  architect: { title: 'Architect model', ask: 'plans the changes' },
  weak: { title: 'Weak model', ask: 'writes commit messages and summaries' },
};

export function validateModelRef(v: string): string | undefined {
  const r = modelRefSchema.safeParse(v);
  return r.success ? undefined : describeZodError(r.error);
}

export function parseHostPort(v: string): { host: string; port: number } | undefined {
  const m = /^(?:https?:\/\/)?(\[[^\]]+\]|[^:/\s]+):(\d{1,5})\/?(?:v1\/?)?$/.exec(v.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

async function typedModel(ctx: WizardContext, role: RoleName): Promise<ModelPick> {
  const model = await ctx.prompter.text({
    id: `model.${role}.typed`,
    message: 'Hugging Face repo id or local folder',
    placeholder: 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit',
    default: pickFor(ctx, role)?.source === 'typed' ? pickFor(ctx, role)!.model : undefined,
    validate: (v) => (v ? validateModelRef(v) : 'type a repo id like org/name, or a path starting with / ~ or .'),
  });
  return { model, source: 'typed' };
}

async function runningServer(ctx: WizardContext, role: RoleName): Promise<ModelPick> {
  for (;;) {
    const addr = await ctx.prompter.text({
      id: `model.${role}.server`,
      message: 'Address of the running mlx_lm.server (host:port)',
      default: '127.0.0.1:8080',
      validate: (v) => {
        const hp = parseHostPort(v);
        return hp ? hostProblem(hp.host) : 'type host:port, e.g. 127.0.0.1:8080';
      },
    });
    const { host, port } = parseHostPort(addr)!;
    const who = await ctx.prompter.task(`Asking ${host}:${port} who it is`, (h) => identifyServer(host, port, { timeoutMs: 5000, signal: h.signal }));
    if (who.kind === 'mlx_lm.server' && who.models?.length) {
      // Its command line says which model it serves; its listing is its whole cache, in no set order.
      const served = await servedModelAt(host, port, who.models);
      let model = served.model;
      if (model === undefined) {
        model = await ctx.prompter.select({
          id: `model.${role}.server-model`,
          message: `${host}:${port} lists several models; which one does it serve?`,
          help: [
            `mlx_lm.server lists every model in its Hugging Face cache, not only the one it serves, and ${isLoopback(host) || host === '0.0.0.0' ? 'the command line of the process on that port could not be read' : 'the command line of a server on another machine cannot be read from here'}: pick the --model it was started with.`,
          ],
          choices: who.models.map((m) => ({ value: m, label: m })),
          default: who.models[0]!,
        });
      }
      ctx.prompter.note('success', `${host}:${port} is an mlx_lm.server serving ${model}${served.how === 'cmdline' ? ` (its command line, pid ${served.pid})` : ''}`);
      return { model, source: 'running', running: { host, port } };
    }
    const what =
      who.kind === 'none' ? `nothing answers on ${host}:${port}` : who.kind === 'litellm' ? `${host}:${port} is a LiteLLM proxy, not an mlx_lm.server` : `${host}:${port} is ${who.looksLike ?? 'a server that is not mlx_lm.server'}`;
    ctx.prompter.note('error', `${what}. Type another address, or Esc to go back to the list.`);
  }
}

async function searchHubModel(ctx: WizardContext, role: RoleName): Promise<ModelPick | undefined> {
  const query = await ctx.prompter.text({ id: `model.${role}.search`, message: 'Search mlx-community for', placeholder: 'coder, qwen, 7B…' });
  const found = await ctx.prompter.task(`Searching the Hub for "${query}"`, (h) =>
    ctx.deps.searchHub({ env: ctx.hostEnv, query, limit: 12, signal: h.signal }),
  );
  if (found.status.kind !== 'ok') {
    ctx.prompter.note('warn', `${found.status.message}${found.status.tryThis ? ` ${found.status.tryThis}` : ''}`);
    if (!found.models.length) return undefined;
  }
  if (!found.models.length) {
    ctx.prompter.note('warn', `No mlx-community model matches "${query}".`);
    return undefined;
  }
  const choices: Choice[] = found.models.map((m) => {
    const context = ctx.fixed.context[role] ?? recommendedContext(m.repoId, ctx.survey?.catalogue);
    const sizing = sizingFromHub(m);
    const fit = setFitWith(ctx, role, sizing, context);
    return {
      value: m.repoId,
      label: m.repoId,
      hint: [m.downloadBytes ? `download ${formatGB(m.downloadBytes)}` : sizeWords(sizing, context), fit ? `${fitWords(fit)} for the set` : '', m.gated ? 'gated' : ''].filter(Boolean).join(' · '),
      ...(fit ? { description: fit.arithmetic } : {}),
    };
  });
  const model = await ctx.prompter.select({ id: `model.${role}.hub`, message: `Hub results for "${query}"`, choices });
  return { model, source: 'hub' };
}

async function pickModel(ctx: WizardContext, role: RoleName): Promise<ModelPick> {
  for (;;) {
    const rows = modelRows(ctx, role);
    const v = await ctx.prompter.select({
      id: `model.${role}`,
      flag: `--${role} MODEL`,
      message: `Which model ${ROLE_WORDS[role].ask}?`,
      help: ctx.survey?.catalogue.curated.tier.note ? [ctx.survey.catalogue.curated.tier.note] : undefined,
      choices: rows,
      default: defaultRow(ctx, role, rows),
    });
    const row = rows.find((r) => r.value === v);
    if (row?.pick) return row.pick;
    try {
      if (v === 'type') return await typedModel(ctx, role);
      if (v === 'server') return await runningServer(ctx, role);
      if (v === 'search') {
        const p = await searchHubModel(ctx, role);
        if (p) return p;
        continue;
      }
    } catch (e) {
      if (e instanceof GoBack) continue;
      throw e;
    }
    // An answers file may name the model itself.
    const err = validateModelRef(v);
    if (!err) return { model: v, source: 'typed' };
    ctx.prompter.note('error', `"${v}": ${err}`);
  }
}

/** The fit line under the context field, for the value typed so far (or the default). */
export function contextLines(ctx: WizardContext, role: RoleName, typed: string, o: { max?: number; fitAt: FitAt; dflt: number }): string[] {
  const pick = pickFor(ctx, role)!;
  const raw = typed.trim() === '' ? String(o.dflt) : typed.trim();
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  const max = o.max ? [`${pick.model} supports up to ${o.max} tokens.`] : [];
  if (!Number.isSafeInteger(n) || n < MIN_CONTEXT) return [`A whole number of tokens, ${MIN_CONTEXT} or more.`, ...max];
  const fit = o.fitAt(n);
  const problem = checkContext(pick.model, n, { ...(o.max !== undefined ? { max: o.max } : {}), fitAt: o.fitAt });
  return [
    ...(fit ? [`At ${n} tokens the whole set: ${fit.arithmetic}`] : []),
    ...(problem ? [`✗ ${problem.message}${problem.largest !== undefined && problem.why === 'model' ? ` The largest that fits is ${problem.largest} tokens.` : ''}`] : max),
  ];
}

async function askContext(ctx: WizardContext, role: RoleName): Promise<number> {
  const pick = pickFor(ctx, role)!;
  const max = await maxContextFromCache(pick.model, ctx.hostEnv).catch(() => undefined);
  const sizing = sizingFor(ctx.survey, pick.model);
  const fitAt: FitAt = (n) => setFitWith(ctx, role, sizing, n);
  const dflt = ctx.answers.context[role] ?? defaultContext(pick.model, { ...(ctx.survey ? { catalogue: ctx.survey.catalogue } : {}), ...(max ? { max } : {}), fitAt }).context;
  let typedDefault = String(dflt);
  for (;;) {
    const raw = await ctx.prompter.text({
      id: `context.${role}`,
      flag: '--context N',
      message: `Context window for the ${role} (tokens)`,
      help: contextLines(ctx, role, '', { ...(max ? { max } : {}), fitAt, dflt: Number(typedDefault) }),
      live: (v) => contextLines(ctx, role, v, { ...(max ? { max } : {}), fitAt, dflt: Number(typedDefault) }),
      default: typedDefault,
      validate: (v) => {
        const n = /^\d+$/.test(v) ? Number(v) : NaN;
        if (!Number.isSafeInteger(n) || n < MIN_CONTEXT) return `a whole number of tokens, ${MIN_CONTEXT} or more`;
        return undefined;
      },
    });
    const n = Number(raw);
    const problem = checkContext(pick.model, n, { ...(max ? { max } : {}), fitAt });
    if (!problem) return n;
    ctx.prompter.note('error', problem.message);
    const largest = problem.largest;
    const v = await ctx.prompter.select<'largest' | 'anyway' | 'change'>({
      id: `context.${role}.over`,
      flag: '--context N',
      message: largest !== undefined ? `${n} tokens does not fit. Use ${largest} instead?` : `${n} tokens does not fit.`,
      choices: [
        ...(largest !== undefined ? [{ value: 'largest' as const, label: `Use ${largest} tokens`, hint: problem.why === 'model' ? 'the most this model supports' : 'the largest that fits in memory' }] : []),
        { value: 'change', label: 'Type another number' },
        { value: 'anyway', label: `Use ${n} anyway`, hint: problem.why === 'model' ? 'beyond what the model was trained for' : 'may run out of memory' },
      ],
      default: largest !== undefined ? 'largest' : 'change',
    });
    if (v === 'largest' && largest !== undefined) return largest;
    if (v === 'anyway') return n;
    typedDefault = String(largest ?? dflt);
  }
}

export function modelStep(role: RoleName): Step {
  return {
    id: `model.${role}`,
    title: ROLE_WORDS[role].title,
    skip: (ctx) => Boolean(ctx.accepted) || !activeRoles(ctx).includes(role) || (ctx.fixed.models[role] !== undefined && ctx.fixed.context[role] !== undefined),
    async run(ctx) {
      await inSequence(ctx, [
        async () => {
          if (ctx.fixed.models[role]) return;
          const before = pickFor(ctx, role)?.model;
          const pick = await pickModel(ctx, role);
          // A new model starts from its own recommended context, not the old model's.
          if (before !== pick.model) delete ctx.answers.context[role];
          ctx.answers.models[role] = pick;
        },
        async () => {
          if (ctx.fixed.context[role] !== undefined) return;
          ctx.answers.context[role] = await askContext(ctx, role);
        },
      ]);
    },
  };
}
