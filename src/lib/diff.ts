/**
 * A small unified diff (Myers on lines, 3 lines of context) for `--dry-run` and the write preview.
 * Output follows GNU/git conventions, including `\ No newline at end of file`.
 */

const CONTEXT = 3;
// Beyond this many edits the trace gets large; a whole-file replace is still a valid diff.
const MAX_EDITS = 2000;

type Tag = ' ' | '-' | '+';
interface Op {
  tag: Tag;
  line: string;
  /** Old and new lines consumed before this op. */
  ai: number;
  bi: number;
}

/**
 * `''` when the texts are equal. Labels that are absolute or start with `~` are printed as they
 * are; others get git's `a/` and `b/` prefixes. A missing old text is a new file (`/dev/null`).
 */
export function unifiedDiff(oldText: string | undefined, newText: string, label: string): string {
  if (oldText === newText) return '';
  const bare = label.startsWith('/') || label.startsWith('~');
  const from = oldText === undefined ? '/dev/null' : bare ? label : `a/${label}`;
  const to = bare ? label : `b/${label}`;
  const ops = diffLines(splitLines(oldText ?? ''), splitLines(newText));
  const out = [`--- ${from}`, `+++ ${to}`];
  for (const hunk of hunks(ops)) out.push(...formatHunk(hunk));
  return out.join('\n') + '\n';
}

/** Lines with their terminators, so a missing final newline counts as a change. */
function splitLines(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\n)/);
}

function diffLines(a: string[], b: string[]): Op[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const midA = a.slice(pre, a.length - suf);
  const midB = b.slice(pre, b.length - suf);

  const tags: Tag[] = [];
  for (let i = 0; i < pre; i++) tags.push(' ');
  tags.push(...(myers(midA, midB) ?? [...midA.map((): Tag => '-'), ...midB.map((): Tag => '+')]));
  for (let i = 0; i < suf; i++) tags.push(' ');

  const ops: Op[] = [];
  let ai = 0;
  let bi = 0;
  for (const tag of tags) {
    const line = tag === '+' ? b[bi]! : a[ai]!;
    ops.push({ tag, line, ai, bi });
    if (tag !== '+') ai++;
    if (tag !== '-') bi++;
  }
  return ops;
}

/** Shortest edit script as tags, or undefined when it would take more than MAX_EDITS edits. */
function myers(a: string[], b: string[]): Tag[] | undefined {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDITS);
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d] holds v for k in [-d-1, d+1] as it was before step d.
  const trace: Int32Array[] = [];
  let found = -1;
  outer: for (let d = 0; d <= max; d++) {
    trace.push(v.slice(off - d - 1, off + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break outer;
      }
    }
  }
  if (found < 0) return undefined;

  const rev: Tag[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const snap = trace[d]!;
    const at = (k: number) => snap[k + d + 1]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      rev.push(' ');
      x--;
      y--;
    }
    if (x === prevX) {
      rev.push('+');
      y--;
    } else {
      rev.push('-');
      x--;
    }
  }
  while (x > 0 && y > 0) {
    rev.push(' ');
    x--;
    y--;
  }
  return rev.reverse();
}

function hunks(ops: Op[]): Op[][] {
  const out: Op[][] = [];
  let i = 0;
  while (i < ops.length) {
    if (ops[i]!.tag === ' ') {
      i++;
      continue;
    }
    const start = Math.max(0, i - CONTEXT);
    let end = i;
    let j = i;
    while (j < ops.length) {
      if (ops[j]!.tag !== ' ') {
        end = ++j;
        continue;
      }
      let r = j;
      while (r < ops.length && ops[r]!.tag === ' ') r++;
      // Two changes closer than twice the context share one hunk.
      if (r < ops.length && r - j <= 2 * CONTEXT) j = r;
      else break;
    }
    const stop = Math.min(ops.length, end + CONTEXT);
    out.push(ops.slice(start, stop));
    i = stop;
  }
  return out;
}

function formatHunk(hunk: Op[]): string[] {
  const first = hunk[0]!;
  const oldCount = hunk.filter((o) => o.tag !== '+').length;
  const newCount = hunk.filter((o) => o.tag !== '-').length;
  const range = (start: number, count: number) =>
    count === 1 ? `${start + 1}` : `${count === 0 ? start : start + 1},${count}`;
  const lines = [`@@ -${range(first.ai, oldCount)} +${range(first.bi, newCount)} @@`];
  for (const op of hunk) {
    if (op.line.endsWith('\n')) lines.push(op.tag + op.line.slice(0, -1));
    else lines.push(op.tag + op.line, '\\ No newline at end of file');
  }
  return lines;
}
