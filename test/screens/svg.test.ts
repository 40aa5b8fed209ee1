// scripts/screen-svg.mjs, the writer behind scripts/record-screens.mjs: a terminal's bytes in,
// a well-formed SVG out that carries the screen's text, colours and attributes.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { bytesToSvg, createTerminal, feed, snapshot, snapshotText, toSvg } from '../../scripts/screen-svg.mjs';

/** Well-formed XML, checked the simple way: one root, tags nest and close, attributes quoted, entities known. */
function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  const body = xml.replace(/^<\?xml[^>]*\?>\s*/, '');
  const token = /<!--[\s\S]*?-->|<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(body))) {
    if (m[0].startsWith('<!--')) continue;
    if (m[0] === '<') problems.push(`a bare or malformed tag at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    else if (m[0] === '&') problems.push(`an unescaped & at ${m.index}`);
    else if (m[1]) {
      if (stack.pop() !== m[2]) problems.push(`</${m[2]}> closes nothing open at ${m.index}`);
    } else {
      if (stack.length === 0) roots++;
      if (!m[4]) stack.push(m[2]!);
    }
  }
  if (stack.length) problems.push(`left open: ${stack.join(' ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

/** The text content of an SVG, each <text> element's characters, entities decoded. */
function texts(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) =>
    m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&'),
  );
}

describe('screen SVG writer', () => {
  it('the checker itself refuses broken XML', () => {
    expect(xmlProblems('<svg><text>a & b</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><g></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a < b</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg x=1></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><g/><text x="1">a &amp; b</text></svg>')).toEqual([]);
  });

  it('a tiny byte stream becomes a valid SVG with the screen text, colours and bold', async () => {
    const bytes = Buffer.from(
      '\x1b[2J\x1b[H' + // clear, home
        '\x1b[1;36m? Which model\x1b[0m writes <the> "code" & more?\r\n' +
        '\x1b[38;5;208m❯ first\x1b[0m   \x1b[7m inverse \x1b[0m\r\n' +
        'old line\r\x1b[2Knew line 漢字 ✓\r\n' +
        '\x1b[38;2;1;2;3mrgb\x1b[0m',
    );
    const svg: string = await bytesToSvg(bytes, { cols: 60, rows: 6, title: 'a <tiny> run' });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const all = texts(svg).join(' ');
    for (const s of ['?', 'Which model', 'writes <the> "code" & more?', '❯ first', 'inverse', 'new line 漢字 ✓', 'rgb']) expect(all).toContain(s);
    expect(all).not.toContain('old line'); // the terminal emulator erased it, so does the picture
    expect(svg).toMatch(/\.c\d+\{fill:#39c5cf\}/); // ANSI cyan
    expect(svg).toMatch(/\.c\d+\{fill:#ff8700\}/); // 256-colour 208
    expect(svg).toMatch(/\.c\d+\{fill:#010203\}/); // true colour
    expect(svg).toMatch(/<text [^>]*class="[^"]*\bb\b[^"]*">\? Which model<\/text>/); // bold
    expect(svg).toMatch(/<rect [^>]*fill="#c9d1d9"\/>/); // the inverse cells' background
    expect(svg).toMatch(/font-family:ui-monospace[^;]*monospace/);
    expect(svg).toContain('aria-label="a &lt;tiny&gt; run"');
  });

  it('a wide character takes two cells: the text after it stays on the grid', async () => {
    const svg: string = await bytesToSvg('漢字ab  cd', { cols: 20, rows: 1 });
    // "cd" starts at column 8 (漢 字 are two cells each): 8 × 8.4 px
    expect(svg).toMatch(/<text x="67.2" [^>]*>cd<\/text>/);
  });

  it('several screens make one looping animation, shared rows defined once', async () => {
    const term = createTerminal(30, 3);
    await feed(term, 'header\r\nstep one');
    const a = snapshot(term);
    await feed(term, '\r\x1b[2Kstep two');
    const b = snapshot(term);
    expect(snapshotText(b)).toBe('header\nstep two');
    term.dispose();
    const svg: string = toSvg([a, b], { durations: [1, 3] });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg.match(/>header<\/text>/g)).toHaveLength(1);
    expect(svg.match(/<use href="#r0"/g)).toHaveLength(2);
    expect(svg).toMatch(/@keyframes play\{0%\{[^}]*\}25%\{transform:translateY\(-54px\)\}\}/);
    expect(svg).toContain('animation:play 4s step-end infinite');
  });
});
