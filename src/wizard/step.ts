import { GoBack } from './prompter.js';
import type { WizardContext } from './context.js';

export interface Step {
  id: string;
  title: string;
  /**
   * Its answer decides which steps follow (the proposal, reconfigure's "what to change"): until it
   * is answered, the step counter's total counts the steps its default answer leads to.
   */
  assume?(ctx: WizardContext): Partial<WizardContext>;
  /** Not part of this run (a role that is not used, a value a flag gave). */
  skip?(ctx: WizardContext): boolean;
  run(ctx: WizardContext): Promise<void>;
}

/**
 * Several questions in one step: Esc on a later one goes back to the last earlier one that asked
 * something; Esc on the first leaves the step (the runner goes to the previous one).
 */
export async function inSequence(ctx: Pick<WizardContext, 'asked'>, parts: Array<() => Promise<void>>): Promise<void> {
  const asked: boolean[] = [];
  for (let i = 0; i < parts.length; ) {
    const before = ctx.asked;
    try {
      await parts[i]!();
      asked[i] = ctx.asked > before;
      i++;
    } catch (e) {
      if (!(e instanceof GoBack)) throw e;
      let j = i - 1;
      while (j >= 0 && !asked[j]) j--;
      if (j < 0) throw e;
      i = j;
    }
  }
}
