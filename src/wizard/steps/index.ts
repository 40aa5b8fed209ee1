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

/** The flow, in order. Each step reads and writes only the context. */
export function wizardSteps(): Step[] {
  return [lookAround, propose, roles, modelStep('editor'), modelStep('architect'), modelStep('weak'), split, mode, ports, servers, proxy, scope, review, write, aiderCheck, diagnose, finish].map((s) => ({ ...s }));
}

/** Reconfigure: look around, choose the one change, then the same steps with the rest fixed. */
export function reconfigureSteps(): Step[] {
  const [look, , ...rest] = wizardSteps();
  return [look!, { ...chooseChange }, ...rest.map((s) => ({ ...s, skip: (ctx: Parameters<NonNullable<Step['skip']>>[0]) => Boolean(ctx.noChange) || Boolean(s.skip?.(ctx)) }))];
}
