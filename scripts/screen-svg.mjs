/**
 * Terminal screens as SVG: bytes go into @xterm/headless (a real terminal emulator), the visible
 * screen comes out as a grid of cells (character, colours, bold, dim, italic, underline, inverse),
 * and the grid is drawn as SVG text in a monospace font stack on a dark background. Several grids
 * make one animated SVG (CSS keyframes, no script). Used by scripts/record-screens.mjs.
 */
import xterm from '@xterm/headless';

const { Terminal } = xterm;

/** GitHub's dark terminal palette: the 16 ANSI colours, default foreground and background. */
const ANSI = [
  '#484f58', '#ff7b72', '#3fb950', '#d29922', '#58a6ff', '#bc8cff', '#39c5cf', '#b1bac4',
  '#6e7681', '#ffa198', '#56d364', '#e3b341', '#79c0ff', '#d2a8ff', '#56d4dd', '#f0f6fc',
];
export const THEME = { fg: '#c9d1d9', bg: '#0d1117', frame: '#30363d', title: '#8b949e' };
export const FONT = "ui-monospace, SFMono-Regular, Menlo, Monaco, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace";

const hex = (n) => n.toString(16).padStart(2, '0');

/** An xterm 256-colour index as #rrggbb. */
export function paletteColour(i) {
  if (i < 16) return ANSI[i];
  if (i < 232) {
    const levels = [0, 95, 135, 175, 215, 255];
    const n = i - 16;
    return `#${hex(levels[Math.floor(n / 36)])}${hex(levels[Math.floor(n / 6) % 6])}${hex(levels[n % 6])}`;
  }
  const g = 8 + 10 * (i - 232);
  return `#${hex(g)}${hex(g)}${hex(g)}`;
}

export function createTerminal(cols, rows) {
  return new Terminal({ cols, rows, scrollback: 1000, allowProposedApi: true, convertEol: false });
}

/** Write bytes (Buffer or string) and wait until the emulator has parsed them. */
export function feed(term, data) {
  return new Promise((resolve) => term.write(typeof data === 'string' ? data : new Uint8Array(data), resolve));
}

function colourOf(cell, which) {
  const isDefault = which === 'fg' ? cell.isFgDefault() : cell.isBgDefault();
  if (isDefault) return undefined;
  const v = which === 'fg' ? cell.getFgColor() : cell.getBgColor();
  const rgb = which === 'fg' ? cell.isFgRGB() : cell.isBgRGB();
  return rgb ? `#${hex((v >> 16) & 255)}${hex((v >> 8) & 255)}${hex(v & 255)}` : paletteColour(v);
}

/**
 * The visible screen (or `top` rows from the start of the buffer, scrollback included) as rows
 * of cells: { ch, w, fg, bg, bold, dim, italic, underline }. Inverse is resolved into fg/bg.
 */
export function snapshot(term, o = {}) {
  const buf = term.buffer.active;
  const first = o.fromTop ? 0 : buf.viewportY;
  const rows = o.rows ?? term.rows;
  const out = [];
  const cell = buf.getNullCell();
  for (let y = first; y < first + rows; y++) {
    const line = buf.getLine(y);
    const row = [];
    for (let x = 0; line && x < term.cols; x++) {
      line.getCell(x, cell);
      const w = cell.getWidth();
      if (w === 0) continue; // the right half of a wide character
      let fg = colourOf(cell, 'fg');
      let bg = colourOf(cell, 'bg');
      if (cell.isInverse()) [fg, bg] = [bg ?? THEME.bg, fg ?? THEME.fg];
      row.push({ ch: cell.getChars() || ' ', w, fg, bg, bold: !!cell.isBold(), dim: !!cell.isDim(), italic: !!cell.isItalic(), underline: !!cell.isUnderline() });
    }
    out.push(row);
  }
  return { cols: term.cols, rows: out };
}

/** The plain text of a snapshot, trailing spaces trimmed: what a person reads. */
export function snapshotText(snap) {
  return snap.rows.map((r) => r.map((c) => c.ch).join('').replace(/\s+$/, '')).join('\n').replace(/\n+$/, '');
}

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

// Cell geometry at font-size 14: a monospace advance is 0.6em.
const CW = 8.4;
const LH = 18;
const PAD = 12;
const BAR = 28;
const fmt = (n) => String(Math.round(n * 10) / 10);

/** One row as SVG at baseline 0: background rects, then text runs of one style each. */
function rowSvg(row, cls) {
  const parts = [];
  let col = 0;
  const cells = row.map((c) => {
    const at = col;
    col += c.w;
    return { ...c, at };
  });
  // backgrounds
  for (let i = 0; i < cells.length; ) {
    const bg = cells[i].bg;
    let j = i;
    while (j < cells.length && cells[j].bg === bg) j++;
    if (bg) {
      const from = cells[i].at;
      const to = cells[j - 1].at + cells[j - 1].w;
      parts.push(`<rect x="${fmt(from * CW)}" y="${fmt(-LH * 0.75)}" width="${fmt((to - from) * CW)}" height="${LH}" fill="${bg}"/>`);
    }
    i = j;
  }
  // text runs: same foreground and attributes, not starting or ending in blanks
  const key = (c) => [c.fg ?? '', c.bold, c.dim, c.italic, c.underline].join('|');
  for (let i = 0; i < cells.length; ) {
    if (cells[i].ch === ' ') {
      i++;
      continue;
    }
    const k = key(cells[i]);
    let j = i;
    let last = i;
    while (j < cells.length && (cells[j].ch === ' ' || key(cells[j]) === k)) {
      if (cells[j].ch !== ' ') last = j;
      // two blanks in a row end a run: keeps runs short and aligned to the grid
      if (cells[j].ch === ' ' && cells[j + 1]?.ch === ' ') break;
      j++;
    }
    const run = cells.slice(i, last + 1);
    const text = run.map((c) => c.ch).join('');
    const width = run.reduce((n, c) => n + c.w, 0);
    const c = cells[i];
    const classes = [c.fg ? cls(c.fg) : '', c.bold ? 'b' : '', c.dim ? 'd' : '', c.italic ? 'i' : '', c.underline ? 'u' : ''].filter(Boolean).join(' ');
    parts.push(`<text x="${fmt(c.at * CW)}" textLength="${fmt(width * CW)}"${classes ? ` class="${classes}"` : ''}>${esc(text)}</text>`);
    i = last + 1;
  }
  return parts.join('');
}

/**
 * SVG of one or more snapshots. With several, `durations` (seconds each frame shows) makes an
 * animation that loops: the frames stand in a column and one CSS keyframes moves the column.
 * Rows that repeat across frames are defined once.
 */
export function toSvg(snaps, o = {}) {
  const list = Array.isArray(snaps) ? snaps : [snaps];
  const cols = list[0].cols;
  const nrows = Math.max(...list.map((s) => s.rows.length));
  const colours = new Map();
  const cls = (c) => {
    if (!colours.has(c)) colours.set(c, `c${colours.size}`);
    return colours.get(c);
  };
  const rowIds = new Map();
  const defs = [];
  const frames = list.map((snap) =>
    snap.rows
      .map((row, y) => {
        const body = rowSvg(row, cls);
        if (!body) return '';
        if (list.length === 1) return `<g transform="translate(0 ${fmt(y * LH + LH * 0.75)})">${body}</g>`;
        if (!rowIds.has(body)) {
          rowIds.set(body, `r${rowIds.size}`);
          defs.push(`<g id="${rowIds.get(body)}">${body}</g>`);
        }
        return `<use href="#${rowIds.get(body)}" y="${fmt(y * LH + LH * 0.75)}"/>`;
      })
      .join(''),
  );
  const w = cols * CW + 2 * PAD;
  const screenH = nrows * LH;
  const h = BAR + screenH + PAD;
  const css = [
    `text{font-family:${FONT};font-size:14px;fill:${THEME.fg};white-space:pre}`,
    '.b{font-weight:bold}.d{opacity:.6}.i{font-style:italic}.u{text-decoration:underline}',
    ...[...colours].map(([c, k]) => `.${k}{fill:${c}}`),
  ];
  let screen;
  if (frames.length === 1) screen = frames[0];
  else {
    const durations = o.durations ?? frames.map(() => 1.5);
    const total = durations.reduce((a, b) => a + b, 0);
    let t = 0;
    const stops = durations.map((d, i) => {
      const s = `${Math.round((t / total) * 10000) / 100}%{transform:translateY(${fmt(-i * screenH)}px)}`;
      t += d;
      return s;
    });
    css.push(`@keyframes play{${stops.join('')}}`, `.film{animation:play ${fmt(total)}s step-end infinite}`);
    screen = `<g class="film">${frames.map((f, i) => `<g transform="translate(0 ${fmt(i * screenH)})">${f}</g>`).join('')}</g>`;
  }
  const title = o.title ? `<text x="${fmt(w / 2)}" y="18" text-anchor="middle" style="fill:${THEME.title};font-size:12px">${esc(o.title)}</text>` : '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fmt(w)}" height="${fmt(h)}" viewBox="0 0 ${fmt(w)} ${fmt(h)}" role="img"${o.title ? ` aria-label="${esc(o.title)}"` : ''}>`,
    `<style>${css.join('')}</style>`,
    defs.length ? `<defs>${defs.join('')}</defs>` : '',
    `<rect width="100%" height="100%" rx="8" fill="${THEME.bg}" stroke="${THEME.frame}"/>`,
    `<circle cx="18" cy="14" r="5" fill="#ff5f56"/><circle cx="34" cy="14" r="5" fill="#ffbd2e"/><circle cx="50" cy="14" r="5" fill="#27c93f"/>`,
    title,
    `<svg x="${PAD}" y="${BAR}" width="${fmt(cols * CW)}" height="${fmt(screenH)}" overflow="hidden">${screen}</svg>`,
    '</svg>',
  ].join('\n') + '\n';
}

/** Bytes a program wrote to a terminal of cols×rows, as the SVG of the screen they leave. */
export async function bytesToSvg(bytes, o = {}) {
  const term = createTerminal(o.cols ?? 90, o.rows ?? 30);
  await feed(term, bytes);
  const svg = toSvg(snapshot(term), o);
  term.dispose();
  return svg;
}
