import type { Step } from '../step.js';
import { lookAround } from './look-around.js';
import { propose } from './propose.js';
import { roles } from './roles.js';
import { modelStep } from './model.js';
import { ports } from './ports.js';
import { split } from './split.js';
import { servers } from './servers.js';
import { mode, proxy } from './proxy.js';
import { scope } from './scope.js';
import { review } from './review.js';
import { write } from './write.js';
import { aiderCheck } from './aider-check.js';
import { diagnose } from './diagnose.js';
import { finish } from './finish.js';
import { chooseChange } from './change.js';

/** Steps that share a number of the counter: the ones that come and go with an answer or a result. */
const COUNTERS: Record<string, string> = { ports: 'mode', [proxy.id]: 'servers', [aiderCheck.id]: 'write', [diagnose.id]: 'write' };

/** The flow, in order. Each step reads and writes only the context. */
export function wizardSteps(): Step[] {
  const steps = [lookAround, propose, roles, modelStep('editor'), modelStep('architect'), modelStep('weak'), split, mode, ports, servers, proxy, scope, review, write, aiderCheck, diagnose, finish];
  return steps.map((s) => ({ ...s, counter: s.id.startsWith('model') || s.id === 'split' ? 'models' : (COUNTERS[s.id] ?? s.id) }));
}

/** Reconfigure: look around, choose the one change, then the same steps with the rest fixed. */
export function reconfigureSteps(): Step[] {
  const [look, , ...rest] = wizardSteps();
  return [look!, { ...chooseChange, decides: true }, ...rest.map((s) => ({ ...s, skip: (ctx: Parameters<NonNullable<Step['skip']>>[0]) => Boolean(ctx.noChange) || Boolean(s.skip?.(ctx)) }))];
}
