/** One verified fact, shared by setup, status and doctor (and their --json). */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface Check {
  id: string;
  title: string;
  status: CheckStatus;
  observed?: string;
  expected?: string;
  fix?: string;
  docs?: string;
  latencyMs?: number;
}

export const SYMBOL: Record<CheckStatus, string> = { pass: '✓', warn: '!', fail: '✗', skip: '–' };

export function formatCheck(c: Check): string {
  const lines = [`${SYMBOL[c.status]} ${c.title}${c.latencyMs !== undefined ? ` (${Math.round(c.latencyMs)} ms)` : ''}`];
  if (c.status === 'fail' || c.status === 'warn') {
    if (c.observed) lines.push(`    observed: ${c.observed}`);
    if (c.expected) lines.push(`    expected: ${c.expected}`);
    if (c.fix) lines.push(`    fix: ${c.fix}`);
  }
  return lines.join('\n');
}
