/**
 * A YAML parse error as one plain reason, its place given once (by the caller, as `line L, column
 * C`): the yaml library's pretty message repeats the place and ends in a ":" before its snippet.
 */
import type { LineCounter, YAMLError } from 'yaml';

/** What the codes people meet in a hand-edited file mean, in words. */
const PLAIN: Record<string, string> = {
  MULTIPLE_DOCS: 'the file holds more than one YAML document (a second "---")',
  TAB_AS_INDENT: 'a tab used to indent (YAML indents with spaces only)',
  DUPLICATE_KEY: 'the same key a second time in one map',
  BLOCK_AS_IMPLICIT_KEY: 'a "key: value" where YAML cannot take one (a second ": " on the line, or a line indented under a plain value); quote a value that holds ": "',
};

/** The reason alone: no "at line …, column …:", no snippet. */
export function yamlReason(err: Pick<YAMLError, 'code' | 'message'>): string {
  return PLAIN[err.code] ?? err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?\s*$/, '').replace(/[:\s]+$/, '');
}

/** Line and column (1-based) of the error's start (the LineCounter the parse filled), and its reason. */
export function yamlProblem(err: YAMLError, lc: LineCounter): { line: number; col: number; reason: string } {
  const { line, col } = lc.linePos(err.pos[0]);
  // The yaml library places this one where the text it read as one key starts; the line to fix is
  // often the next one (a line indented under a value, or one with no ": "): name both.
  if (err.code === 'MULTILINE_IMPLICIT_KEY') {
    const end = lc.linePos(err.pos[1]).line;
    if (end > line) return { line, col, reason: `YAML reads the text from here to line ${end} as one key: check line ${end} (indented under the value above it, or a line with no ": ")` };
  }
  return { line, col, reason: yamlReason(err) };
}
