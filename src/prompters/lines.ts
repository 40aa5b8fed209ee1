/** Plain-text rendering shared by the line face and the non-interactive face (no UI library). */
import { asRun } from '../lib/paths.js';
import { stepCounter, type NoteKind, type ReviewFile, type StepInfo, type Summary } from '../wizard/prompter.js';

const MARK: Record<NoteKind, string> = { info: '·', warn: '!', error: '✗', success: '✓', dim: ' ' };

export function stepLine(s: StepInfo): string {
  return `\n[${stepCounter(s)}] ${s.title}`;
}

/** A note, its `aider-mlx …` commands named as this copy runs (asRun). */
export function noteLine(kind: NoteKind, text: string): string {
  return `  ${MARK[kind]} ${asRun(text).replace(/\n/g, '\n    ')}`;
}

export function reviewLines(files: ReviewFile[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    out.push(`  ${f.status === 'create' ? 'create   ' : f.status === 'update' ? 'update   ' : 'unchanged'} ${f.label}`);
  }
  for (const f of files) if (f.status !== 'unchanged' && f.diff) out.push('', f.diff.replace(/\n$/, ''));
  return out;
}

/**
 * A summary section's lines as every face prints them, indented. "Next steps" numbers its commands
 * (`$ …`), the steps to run in order; a line of prose there (what the commands are for) is not a step.
 */
export function sectionLines(sec: Summary['sections'][number]): string[] {
  const numbered = sec.title.startsWith('Next');
  let n = 0;
  return sec.lines.map((l) => `  ${numbered && l.startsWith('$ ') ? `${++n}. ` : ''}${l.replace(/\n/g, '\n  ')}`);
}

export function summaryLines(s: Summary): string[] {
  const out = ['', `${s.ok ? '✓' : '✗'} ${s.title}`];
  for (const sec of s.sections) out.push('', sec.title, ...sectionLines(sec));
  return out;
}

/** At most one status line every `everyMs`, and never the same one twice. */
export function throttled(write: (line: string) => void, everyMs: number, now: () => number = Date.now): (line: string) => void {
  let last = '';
  let at = -Infinity;
  return (line) => {
    if (line === last || now() - at < everyMs) return;
    last = line;
    at = now();
    write(line);
  };
}
