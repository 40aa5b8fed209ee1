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

/** The Review's list: each file's action in its column, then its path (prose, fitted to the width). */
export function reviewLines(files: ReviewFile[]): string[] {
  return files.map((f) => `  ${f.status === 'create' ? 'create   ' : f.status === 'update' ? 'update   ' : 'unchanged'} ${f.label}`);
}

/**
 * The diffs under the Review's list, each the file's own lines: printed as they are, never wrapped
 * as prose (a row broken by us would lose its `+`/`-` and read as another line of the file). A line
 * wider than the terminal is left to it, whole: nothing of what is written is hidden.
 */
export function reviewDiffs(files: ReviewFile[]): string[] {
  return files.flatMap((f) => (f.status !== 'unchanged' && f.diff ? [f.diff.replace(/\n$/, '')] : []));
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
