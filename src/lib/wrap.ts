/**
 * One wrapping rule for text a person reads in a terminal: the plain face, `setup --yes` and
 * `setup --adopt` (the doctor's report has its own layout, with the same idea of a command).
 */

/**
 * Programs a fix may tell the user to run: text that starts with one (and has flags) is a command to
 * copy. `node` only with a script (this copy's command from a clone: `node …/bin/aider-mlx.js …`).
 */
export const PROGRAM = /^(?:node(?= (?:'[^']*\.[cm]?js'|[^\s']*\.[cm]?js)(?: |$))|npx|aider-mlx|aider|mlx_lm\.[\w]+|uv|uvx|pipx|pip3?|(?:\S*\/)?python3?(?:\.\d+)?|litellm|lsof|ssh|export|unset|hf|huggingface-cli|brew|launchctl|kill|cd)(?= |$)/;

/**
 * Programs whose name is never a word of a sentence: after ": " they start a command even without
 * flags ("run: chmod 600 ~/.config/aider-mlx/plan.yaml").
 */
const BARE_COMMAND = /^(?:chmod|chown|rm|node (?:'[^']*\.[cm]?js'|[^\s']*\.[cm]?js)|npx aider-mlx)(?= )/;

/** Variables set for one command (`HOME=/tmp/… XDG_CONFIG_HOME=… node …`): the program comes after them. */
const ENV_PREFIX = /^(?:[A-Za-z_][A-Za-z0-9_]*=\S* +)*/;

/** Text that starts with a command: a program (after variables set for it), or a bare command. */
const isCommand = (t: string) => {
  const rest = t.slice(ENV_PREFIX.exec(t)![0].length);
  return PROGRAM.test(rest) || BARE_COMMAND.test(rest);
};

/** A `quoted` span that is a command (`node …/bin/aider-mlx.js models pull …`): never broken, however wide. */
const QUOTED_COMMAND = (t: string) => {
  const m = /^[(["']?`/.exec(t);
  return m !== null && isCommand(t.slice(m[0].length));
};

const ORDINAL = ['first', 'second', 'third', 'fourth', 'fifth'];

/**
 * The `quoted` commands of a line too wide for any row: each goes on a row of its own under the
 * line, as a `$ ` command line (whole, however wide), and the sentence refers to it ("the command
 * below", "the first command below", …). Undefined when every quoted command fits a row.
 */
function commandsBelow(text: string, room: number): { text: string; commands: string[] } | undefined {
  const spans = [...text.matchAll(/`([^`]+)`/g)].filter((m) => isCommand(m[1]!) && width(m[0]) > room);
  if (!spans.length) return undefined;
  const commands = spans.map((m) => m[1]!);
  let i = 0;
  const out = text.replace(/`([^`]+)`/g, (all, inner: string) => {
    if (!(isCommand(inner) && width(all) > room)) return all;
    const n = i++;
    return commands.length === 1 ? 'the command below' : `the ${ORDINAL[n] ?? `next`} command below`;
  });
  return { text: out, commands };
}

/** A command line (`$ …`), in a list too (`1. $ …`): printed whole by every face, never broken at the width. */
export const COMMAND_LINE = /^\s*(?:\d+[.)] +)?\$ /;

/** Where prose is wrapped without a terminal (a pipe, a log, CI). */
export const DEFAULT_COLUMNS = 80;

const width = (s: string) => [...s].length;
/**
 * A line's indent and its list marker (`· `, `! `, `✓ `, `… `, `│ `, `1) `, `2. `, `-  `, a diff's `+ `,
 * an error's `→ `), after the clock of a log-like line too (serve's `21:09:53 ✓ `, `■ `, `↻ `).
 */
const LEAD = /^( *)((?:\d\d:\d\d:\d\d +)?(?:[·!✗✓…│→+■↻-]|\d+[.)]) +)?/;
/** The most a continued row is indented (a deep indent would leave little room on a narrow terminal). */
const HANG = 8;

/** A number (`7.8`, `~5.1`, `16384`) and the unit after it (`GB`, `ms`, `tokens`, `tok/s`): one unit, never broken between them. */
const NUMBER = /^[~≈<>]?\d[\d.,]*$/;
const UNIT = /^(?:[KMGT]i?B|B|bytes?|ms|s|min|h|tokens?|tok\/s|%)[.,;:)]*$/;

/** The words of `text`, a number joined with its unit (`7.8 GB`). */
function words(text: string): string[] {
  const out: string[] = [];
  for (const w of text.match(/\S+\s*/g) ?? []) {
    const prev = out[out.length - 1];
    if (prev !== undefined && NUMBER.test(prev.trimEnd()) && UNIT.test(w.trimEnd())) out[out.length - 1] = prev + w;
    else out.push(w);
  }
  return out;
}

type Unit = { t: string; cmd: boolean; parts?: Unit[] };

/**
 * `·`-separated facts (a model's hint: `recommended · download 7.8 GB · fits for the set`): each
 * fact one unit, broken between its words only when it is too wide for any row.
 */
function facts(us: Unit[]): Unit[] {
  if (!us.some((u, i) => i < us.length - 1 && !u.cmd && /\s·\s*$/.test(u.t))) return us;
  const out: Unit[] = [];
  let fact: Unit[] = [];
  const end = () => {
    if (fact.length === 1) out.push(fact[0]!);
    else if (fact.length) out.push({ t: fact.map((u) => u.t).join(''), cmd: false, parts: fact });
    fact = [];
  };
  for (const u of us) {
    if (u.cmd) {
      end();
      out.push(u);
      continue;
    }
    fact.push(u);
    if (/\s·\s*$/.test(u.t)) end();
  }
  end();
  return out;
}

/**
 * The words of a line, each a unit that is never broken: a `quoted` span stays one unit, and a
 * command with flags (a numbered item, or after ": ") runs to the end of the line as one unit; a
 * number keeps its unit (`7.8 GB`), and `·`-separated facts stay whole where a row can hold them.
 */
function units(text: string, listed: boolean): Unit[] {
  const out: Unit[] = [];
  const raw = words(text);
  for (let i = 0; i < raw.length; i++) {
    let t = raw[i]!;
    const prev = out[out.length - 1];
    // A command with flags, as a numbered item ("3. litellm --config …") or after ": " ("fix:
    // start it: mlx_lm.server --model … --port …"), runs to the end of the line as one unit. Not a
    // sentence that starts with a program's name ("aider is not installed…", a log line's
    // "UserWarning: mlx_lm.server is not recommended…"), nor a heading ("aider-mlx setup (DEMO…)").
    const rest = raw.slice(i).join('');
    if ((prev ? /:\s*$/.test(prev.t) : listed) && ((PROGRAM.test(rest) && / --?\w/.test(rest)) || BARE_COMMAND.test(rest))) {
      out.push({ t: rest, cmd: true });
      break;
    }
    // A `quoted` span, up to the word that closes it (opened after a bracket or a quote too: "(`…`)").
    if (/^[(["']?`/.test(t) && (t.trimEnd().match(/`/g) ?? []).length % 2 === 1) {
      // It closes at a word that ends with a backtick, punctuation after it too (`…`? `…`.).
      while (i + 1 < raw.length && !/`[.,;:!?)'"]*$/.test(raw[i]!.trimEnd())) t += raw[++i]!;
    }
    // A separator (`·`, `→`) ends its row rather than starting the next one as if it were a marker.
    if (prev && /^[·→]$/.test(t.trimEnd())) prev.t += t;
    else out.push({ t, cmd: false });
  }
  return facts(out);
}

/**
 * A row of a file list (Review, Write, the summary's Files): the action word in its column, then one
 * path. Too wide, the path goes whole on the next row, under the paths (less indented when only that
 * lets it fit): never broken inside, never pushed past the edge by an indent of ours.
 */
const PATH_ROW = /^((?:create|update|created|updated|unchanged|would write|removed?|kept) +)([~/.]\S*)$/;

/** A file list's row: its lead (indent, marker), the action word with its padding, the path. */
function pathRow(line: string): { lead: string; action: string; path: string } | undefined {
  const lead = LEAD.exec(line)![0];
  const m = PATH_ROW.exec(line.slice(lead.length));
  return m ? { lead, action: m[1]!, path: m[2]! } : undefined;
}

/**
 * The rows of one file list, laid out together: all on their rows when every one fits; else every
 * row the same way, the action word on its row and the path whole under it, all paths at one
 * indent (two past the list's, less when only that lets the longest fit). A path wider than the
 * terminal itself is the terminal's to break; no indent of ours pushes one past the edge.
 */
function fitPathRows(lines: string[], columns: number): string[] {
  if (lines.every((l) => width(l.trimEnd()) <= columns)) return lines;
  const rows = lines.map((l) => pathRow(l)!);
  const longest = Math.max(0, ...rows.map((r) => width(r.path)).filter((w) => w <= columns));
  const lead = Math.min(...rows.map((r) => width(r.lead)));
  const indent = [lead + 2, lead, 0].find((c) => c + longest <= columns) ?? 0;
  return rows.flatMap((r) => [`${r.lead}${r.action.trimEnd()}`, `${' '.repeat(indent)}${r.path}`]);
}

/**
 * One line broken between words so no row is wider than `columns`: a terminal breaks a long row
 * at its edge, in the middle of a word. The rows after the first keep the line's indent, past its
 * list marker (up to HANG). A word too long for any row stays where it is (the terminal has to
 * break it), a command (`$ …`, a list's `1. $ …`, or one after "fix: …: ") stays whole on a row of its own: copied
 * from the terminal, it must be one line.
 */
export function wrapLine(line: string, columns: number | undefined): string {
  if (!columns || width(line.trimEnd()) <= columns) return line;
  if (COMMAND_LINE.test(line)) {
    // A command's `   # comment` (the summary's "what it does") goes under it, wrapped as prose:
    // the command stays whole on its row, the words of the comment are never cut at the edge.
    const m = /^(\s*(?:\d+[.)] +)?)(\$ .*?) {2,}# (.+)$/.exec(line);
    if (!m) return line;
    // Every row of it starts with `# `: pasted with the command, it stays a comment.
    const under = `${' '.repeat(width(m[1]!) + 2)}# `;
    const rows = wrapLine(m[3]!, Math.max(columns - width(under), 20)).split('\n');
    return [`${m[1]}${m[2]}`, ...rows.map((r) => `${under}${r}`)].join('\n');
  }
  const lead = LEAD.exec(line)![0];
  if (pathRow(line)) return fitPathRows([line], columns).join('\n');
  const indent = ' '.repeat(Math.min(width(lead), HANG, Math.floor(columns / 2)));
  // A quoted command no row can hold is never broken: it goes under the sentence, as a command line.
  const below = commandsBelow(line.slice(lead.length), columns - width(indent));
  if (below) {
    return [wrapLine(`${lead}${below.text}`, columns), ...below.commands.map((c) => `${indent}$ ${c}`)].join('\n');
  }
  const rows: string[] = [];
  let row = lead;
  let bare = true; // nothing but the lead or the indent yet
  // A quoted span too wide for any row is broken between its words after all.
  const room = (u: Unit) => width(indent) + width(u.t.trimEnd()) <= columns;
  const split = (u: Unit): Unit[] =>
    u.parts && !room(u)
      ? u.parts.flatMap(split)
      : !u.cmd && !QUOTED_COMMAND(u.t) && !room(u) && /\s\S/.test(u.t.trimEnd())
        ? words(u.t).map((t) => ({ t, cmd: false }))
        : [u];
  const all = units(line.slice(lead.length), /\d[.)] +$/.test(lead)).flatMap(split);
  for (const u of all) {
    const word = u.t.trimEnd();
    if (!bare && width(row) + width(word) > columns && (u.cmd || QUOTED_COMMAND(u.t) || width(indent) + width(word) <= columns)) {
      rows.push(row.trimEnd());
      row = indent;
      bare = true;
    }
    row += u.t;
    bare = false;
  }
  rows.push(row);
  return rows.join('\n');
}

/** Every line of `text` wrapped (a trailing newline kept); a file list's rows laid out together. */
export function wrapText(text: string, columns: number | undefined): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    let j = i;
    while (columns && j < lines.length && pathRow(lines[j]!)) j++;
    if (j > i) {
      out.push(...fitPathRows(lines.slice(i, j), columns!));
      i = j;
    } else out.push(wrapLine(lines[i++]!, columns));
  }
  return out.join('\n');
}

/** The width of a terminal; undefined for a pipe or a file (lines go out whole). */
export function columnsOf(stream: object): number | undefined {
  const o = stream as { isTTY?: boolean; columns?: number };
  return o.isTTY && o.columns && o.columns > 0 ? o.columns : undefined;
}

/** The columns to wrap at: the terminal's, else 80. */
export function columnsFor(stream: { isTTY?: boolean; columns?: number }): number {
  const c = columnsOf(stream);
  return c && c >= 20 ? c : DEFAULT_COLUMNS;
}

/** A table's column: how its cells align, and how it gives way on a narrow terminal. */
export interface TableColumn {
  align?: 'left' | 'right';
  /** Left out when the table is too wide, the lowest first; a column without it is always shown. */
  drop?: number;
  /** Too narrow for a table, each row is a short block: these cells on its first line, the others under them. */
  head?: boolean;
}

/**
 * Rows of cells laid out for `columns` (the prose wrapper never splits a cell across rows): each
 * cell padded to its column, two spaces apart. Too wide, the least important columns are left out
 * (`drop`, lowest first); still too wide, each row is a short block: its head cells on a line, the
 * others under them (as many on a line as fit). Returns each row's lines.
 */
export function fitTable(rows: string[][], cols: TableColumn[], columns: number, indent = '  '): string[][] {
  const w = cols.map((_, c) => Math.max(0, ...rows.map((r) => width(r[c] ?? ''))));
  let kept = cols.map((_, c) => c).filter((c) => w[c]! > 0);
  const span = (ks: number[]) => width(indent) + ks.reduce((n, c) => n + w[c]!, 0) + 2 * Math.max(0, ks.length - 1);
  for (;;) {
    if (span(kept) <= columns) break;
    const d = kept.filter((c) => cols[c]!.drop !== undefined).sort((a, b) => cols[a]!.drop! - cols[b]!.drop!)[0];
    if (d === undefined) break;
    kept = kept.filter((c) => c !== d);
  }
  const pad = (s: string, c: number) => (cols[c]!.align === 'right' ? ' '.repeat(w[c]! - width(s)) + s : s + ' '.repeat(w[c]! - width(s)));
  if (span(kept) <= columns) return rows.map((r) => [`${indent}${kept.map((c) => pad(r[c] ?? '', c)).join('  ')}`.trimEnd()]);
  const under = `${indent}    `;
  return rows.map((r) => {
    const head = cols.flatMap((col, c) => (col.head && r[c] ? [r[c]!] : []));
    const rest = cols.flatMap((col, c) => (!col.head && r[c] ? [r[c]!] : []));
    // The other cells `·` apart, as many on a line as fit; a cell is never broken.
    const lines = [`${indent}${head.join('  ')}`];
    let line = '';
    for (const x of rest) {
      if (line && width(`${under}${line} · ${x}`) > columns) {
        lines.push(`${under}${line}`);
        line = '';
      }
      line = line ? `${line} · ${x}` : x;
    }
    if (line) lines.push(`${under}${line}`);
    return lines;
  });
}
