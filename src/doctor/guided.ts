/**
 * Guided mode: walk the report one hop at a time, explain each problem in plain words, and offer
 * the fix on the spot (diff shown, backup kept), then prove it by checking again. Plain lines and
 * one capability, `ask`, so the CLI (a terminal question) and the wizard's failure screens (their
 * own prompter) can both drive it.
 */
import type { Env } from '../lib/paths.js';
import { applyFixes, planFixes } from './fix.js';
import { formatGroup, formatLikely, redact, summaryLine } from './report.js';
import type { DoctorReport } from './run.js';
import { GROUP_TITLES, GROUPS } from './types.js';

export interface GuideIO {
  /** A yes/no question; resolves false on "no". `fix`: apply a fix (default no); `next`: go on to the next hop. */
  ask(question: string, kind: 'fix' | 'next'): Promise<boolean>;
  print(text: string): void;
  env: Env;
  color?: boolean;
  /** Columns to wrap at (80 when unknown). */
  width?: number;
  /** Runs the checks again (after a fix). */
  rerun(): Promise<DoctorReport>;
  signal?: AbortSignal;
}

export interface GuideResult {
  report: DoctorReport;
  fixed: boolean;
  backupDir?: string;
  stoppedEarly: boolean;
}

export async function guideDoctor(first: DoctorReport, io: GuideIO): Promise<GuideResult> {
  let report = first;
  let fixed = false;
  let backupDir: string | undefined;
  const o = { env: io.env, ...(io.color !== undefined ? { color: io.color } : {}), ...(io.width ? { width: io.width } : {}) };
  // One line per hop, details only where something failed or warned, skips in one line: in words, no ids.
  const hop = (g: (typeof GROUPS)[number], title = GROUP_TITLES[g]) => formatGroup(title, report.checks.filter((c) => c.group === g), o, report.checks).join('\n');
  const say = (s: string) => io.print(redact(s, report.secrets));
  say(`aider-mlx doctor — one part of the setup at a time${report.mode ? `, ${report.mode} mode` : ''}\n`);
  const likely = formatLikely(report, o);
  if (likely.length) say(`${likely.join('\n')}\n`);

  const groups = GROUPS.filter((g) => report.checks.some((c) => c.group === g));
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    const cs = () => report.checks.filter((c) => c.group === g);
    say(`${hop(g)}\n`);
    const bad = cs().filter((c) => c.status === 'fail' || c.status === 'warn');
    if (!bad.length) continue;

    if (!fixed && bad.some((c) => c.fixable)) {
      const fp = await planFixes(report, io.env);
      if (fp.writes.length) {
        say(`The fix rewrites ${fp.writes.length} file${fp.writes.length === 1 ? '' : 's'}:\n${fp.writes.map((w) => w.diff || `(permissions of ${w.path})`).join('\n')}`);
        if (await io.ask('Apply this fix now? (a backup of every file is kept)', 'fix')) {
          const res = await applyFixes(fp, io.env, io.signal);
          fixed = true;
          backupDir = res.backupDir;
          report = await io.rerun();
          say(`Fixed${backupDir ? ` (backup: ${backupDir})` : ''}.${fp.after.map((n) => `\n  → ${n}`).join('')}\n${hop(g, `${GROUP_TITLES[g]}, checked again`)}\n`);
        }
      }
    }
    const still = cs().filter((c) => c.status === 'fail');
    if (still.length && i < groups.length - 1) {
      const next = GROUP_TITLES[groups[i + 1]!];
      if (!(await io.ask(`${still.length} problem${still.length === 1 ? '' : 's'} left in ${GROUP_TITLES[g]}. Go on to ${next}?`, 'next'))) {
        return { report, fixed, ...(backupDir ? { backupDir } : {}), stoppedEarly: true };
      }
    }
  }
  say(`${report.summary.fail ? '✗' : report.summary.warn ? '!' : '✓'} ${summaryLine(report)}`);
  return { report, fixed, ...(backupDir ? { backupDir } : {}), stoppedEarly: false };
}
