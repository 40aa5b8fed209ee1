import { hostProblem } from '../../config/plan-schema.js';
import { findFreePort, isPortFree } from '../../servers/ports.js';
import { checkPortSlots, type PortKey, type PortSlot, type RunningServer } from '../../setup/running.js';
import type { RoleName } from '../../config/plan.js';
import { GoBack, type Choice } from '../prompter.js';
import { thisMachine } from '../../lib/words.js';
import type { Step } from '../step.js';
import { activeRoles, pickFor, type ModelPick, type WizardContext } from '../context.js';
import { hostOf, portFor } from '../draft.js';

export type { PortKey, PortSlot };

/** The ports this plan listens on: one per distinct model we may start, and the proxy's. */
export function portSlots(ctx: WizardContext): Array<Pick<PortSlot, 'key' | 'model' | 'port' | 'fixed'>> {
  const slots: Array<Pick<PortSlot, 'key' | 'model' | 'port' | 'fixed'>> = [];
  const seen = new Set<string>();
  for (const r of activeRoles(ctx)) {
    const p = pickFor(ctx, r);
    if (!p || p.running || seen.has(p.model)) continue;
    seen.add(p.model);
    slots.push({ key: r, model: p.model, port: portFor(ctx, r), fixed: ctx.fixed.ports[r] !== undefined });
  }
  if ((ctx.fixed.mode ?? ctx.answers.mode ?? 'proxy') === 'proxy') slots.push({ key: 'proxy', port: portFor(ctx, 'proxy'), fixed: ctx.fixed.ports.proxy !== undefined });
  return slots;
}

/** Which ports are free, which already run the right thing, and who holds the others. */
export async function checkPorts(ctx: WizardContext, host: string, signal: AbortSignal): Promise<PortSlot[]> {
  return checkPortSlots(portSlots(ctx), { host, signal, home: ctx.hostEnv.HOME, started: (port) => ctx.started.get(`${host}:${port}`) });
}

/** A model of this plan that a local mlx_lm.server already serves, somewhere other than its planned port. */
interface Reusable {
  model: string;
  roles: RoleName[];
  at: RunningServer;
}

/**
 * Starts or finds, as the proposal and `setup --yes` do: the roles whose model a local mlx_lm.server
 * already serves (its command line names the model, its port answers as an mlx_lm.server). Not in
 * the demo (it never looks at this machine's processes), nor for a port a flag gave.
 */
async function findReusable(ctx: WizardContext, host: string, slots: PortSlot[], signal: AbortSignal): Promise<Reusable[]> {
  if (!ctx.deps.findRunning || ctx.demo) return [];
  const byModel = new Map<string, RoleName[]>();
  for (const r of activeRoles(ctx)) {
    const p = pickFor(ctx, r);
    if (!p || p.running || ctx.fixed.ports[r] !== undefined) continue;
    byModel.set(p.model, [...(byModel.get(p.model) ?? []), r]);
  }
  if (!byModel.size) return [];
  const found = await ctx.deps.findRunning([...byModel.keys()], { host, home: ctx.hostEnv.HOME, signal });
  const out: Reusable[] = [];
  for (const [model, roles] of byModel) {
    const at = found.get(model);
    // Already on its planned port: "Use …" reuses it there.
    if (!at || slots.some((s) => s.model === model && s.state === 'ours' && s.port === at.port)) continue;
    out.push({ model, roles, at });
  }
  return out;
}

/**
 * The model's port is the plan's own (the setup being changed has it there) and that port answers
 * with it or is free to start it again: kept, as it works. A port that already runs it is kept in
 * any case.
 */
function keepsOwnPort(ctx: WizardContext, u: Reusable, slots: PortSlot[]): boolean {
  const slot = slots.find((s) => s.model === u.model);
  if (!slot) return false;
  if (slot.state === 'ours') return true;
  if (slot.state !== 'free') return false;
  const plan = ctx.survey?.prevPlan;
  return u.roles.some((r) => {
    const role = plan?.roles[r];
    return role?.model === u.model && role.deployments.some((d) => d.port === slot.port && d.host === hostOf(ctx));
  });
}

/**
 * The picks as they were before this step pointed them at a running server: Esc back to the step
 * puts them back, so it asks again (with the offer) instead of being skipped for having nothing
 * left to listen on.
 */
const beforeReuse = new WeakMap<WizardContext, Array<{ role: RoleName; fixed: boolean; pick: ModelPick; set: ModelPick }>>();

/** The reuses this step made that still stand (a later answer, another model, replaces them). */
function reusedHere(ctx: WizardContext) {
  return (beforeReuse.get(ctx) ?? []).filter((b) => pickFor(ctx, b.role) === b.set);
}

function undoReuse(ctx: WizardContext): void {
  for (const b of reusedHere(ctx)) {
    if (b.fixed) ctx.fixed.models[b.role] = b.pick;
    else ctx.answers.models[b.role] = b.pick;
  }
  beforeReuse.delete(ctx);
}

function describe(s: PortSlot): string {
  const name = s.key === 'proxy' ? 'proxy' : s.key;
  if (s.state === 'taken' && s.instead) return `${name} ${s.instead} (${s.port} is held by ${s.holder})`;
  if (s.state === 'taken') return `${name} ${s.port} (held by ${s.holder}!)`;
  if (s.state === 'ours') return `${name} ${s.port} (${s.holder}: reused)`;
  return `${name} ${s.port}`;
}

export const ports: Step = {
  id: 'ports',
  title: 'Ports',
  // Nothing to listen on (every model runs already, direct mode), or every port given by a flag.
  skip: (ctx) =>
    Boolean(ctx.accepted) ||
    (!reusedHere(ctx).length && (portSlots(ctx).length === 0 || (ctx.fixed.host !== undefined && portSlots(ctx).every((s) => s.fixed)))),
  async run(ctx) {
    undoReuse(ctx);
    for (;;) {
      const host = hostOf(ctx);
      const { slots, reusable } = await ctx.prompter.task(`Checking the ports on ${host}`, async (h) => {
        const slots = await checkPorts(ctx, host, h.signal);
        return { slots, reusable: await findReusable(ctx, host, slots, h.signal) };
      });
      const reuses: Choice[] = reusable.map((u) => ({
        value: `reuse:${u.model}`,
        label: `Reuse the running server on :${u.at.port}`,
        hint: `the ${u.roles.join(' + ')}'s ${u.model} (mlx_lm.server, pid ${u.at.pid})`,
      }));
      const use: Choice = {
        value: 'ok',
        label: `Use ${slots.map(describe).join(' · ')}`,
        hint: host === '127.0.0.1' ? `${thisMachine(ctx.survey?.os)} only` : `host ${host}`,
      };
      // First (and Enter): a server already serving a model of this plan, as the proposal reuses it;
      // but not over the plan's own port that answers (or is free to start again): a server found
      // elsewhere is someone else's, so it stays a choice.
      const keep = reusable.length > 0 && reusable.every((u) => keepsOwnPort(ctx, u, slots));
      const choices: Choice[] = keep ? [use, ...reuses] : [...reuses, use];
      for (const s of slots) {
        if (!s.fixed) choices.push({ value: `change:${s.key}`, label: `Change the ${s.key === 'proxy' ? 'proxy' : s.key} port (${s.instead ?? s.port})…` });
      }
      if (ctx.fixed.host === undefined) {
        choices.push({ value: 'host', label: `Change the host (${host})…`, hint: 'only to serve other machines' });
      }
      const taken = slots.filter((s) => s.state === 'taken');
      const v = await ctx.prompter.select({
        id: 'ports',
        flag: '--editor-port N / --architect-port N / --proxy-port N',
        message: taken.length ? 'Some ports are taken: use free ones instead?' : 'Ports',
        help: taken.map((s) => `${s.port} is held by ${s.holder}${s.instead ? `: ${s.instead} is free` : ': pick another port'}`),
        choices,
        default: choices[0]!.value,
      });
      const reuse = reusable.find((u) => v === `reuse:${u.model}`);
      if (reuse) {
        const undo = beforeReuse.get(ctx) ?? [];
        beforeReuse.set(ctx, undo);
        for (const r of reuse.roles) {
          const pick = pickFor(ctx, r)!;
          const running: ModelPick = { ...pick, source: 'running', running: { host: reuse.at.host, port: reuse.at.port } };
          undo.push({ role: r, fixed: Boolean(ctx.fixed.models[r]), pick, set: running });
          if (ctx.fixed.models[r]) ctx.fixed.models[r] = running;
          else ctx.answers.models[r] = running;
        }
        // Nothing left to listen on (one model, direct mode): done; else the rest of the ports.
        if (!portSlots(ctx).length) return;
        continue;
      }
      if (v === 'ok') {
        for (const s of slots) if (!s.fixed) ctx.answers.ports[s.key] = s.instead ?? s.port;
        return;
      }
      try {
        await change(ctx, v, host, slots);
      } catch (e) {
        if (!(e instanceof GoBack)) throw e; // Esc in the sub-question: back to the list
      }
    }
  },
};

/** One change from the ports list: the host, or one port. */
async function change(ctx: WizardContext, v: string, host: string, slots: PortSlot[]): Promise<void> {
  if (v === 'host') {
    ctx.answers.host = await ctx.prompter.text({
      id: 'host',
      flag: '--host H',
      message: 'Host the mlx servers listen on',
      help: [`127.0.0.1 keeps them on ${thisMachine(ctx.survey?.os)}; 0.0.0.0 opens them to your network (they have no authentication).`],
      default: host,
      validate: (h) => hostProblem(h),
    });
    return;
  }
  const key = v.slice('change:'.length) as PortKey;
  const others = slots.filter((s) => s.key !== key).map((s) => s.instead ?? s.port);
  const raw = await ctx.prompter.text({
    id: `port.${key}`,
    flag: `--${key}-port N`,
    message: `Port for the ${key}`,
    default: String(slots.find((s) => s.key === key)?.instead ?? portFor(ctx, key)),
    validate: (x) => {
      const n = /^\d+$/.test(x) ? Number(x) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > 65535) return 'a whole number from 1 to 65535';
      if (others.includes(n)) return `${n} is already another server's port`;
      return undefined;
    },
  });
  ctx.answers.ports[key] = Number(raw);
}
