/**
 * The report, in two faces: grouped text lines for a terminal (✓ ! ✗ –, observed vs expected and
 * one fix for each problem, the most likely cause first when an error was pasted) and `--json`
 * with a stable schema. Both redact keys.
 */
import { PROGRAM } from '../lib/wrap.js';
import { asRun, selfCommand, tildify, type Env } from '../lib/paths.js';
// The one redactor, shared with setup, serve and the wizard.
import { redact, redactDeep } from '../lib/redact.js';
import type { DoctorReport } from './run.js';

/** Offered when the hand-written chain works (after a fix too) and there is no plan; the command on a line of its own. */
export const ADOPT_HINT = 'To make this a plan, so `status`, `serve` and `reconfigure` work on it (only the plan is written, your files stay as they are): `aider-mlx setup --adopt`';
import { GROUP_TITLES, GROUPS, type DoctorCheck } from './types.js';

export { redact };

export const JSON_SCHEMA_ID = 'aider-mlx/doctor@1';

export interface JsonCheck {
  id: string;
  group: string;
  title: string;
  status: DoctorCheck['status'];
  observed: string | null;
  expected: string | null;
  fix: string | null;
  docs: string | null;
  latencyMs: number | null;
  causes: string[];
  fixable: boolean;
}

export interface FixSummary {
  /** Files the fix changes (diff only before it is applied or when not applied). */
  files: Array<{ path: string; existed: boolean; diff: string }>;
  applied: boolean;
  backupDir: string | null;
  /** Problems the fix cannot touch (an exported variable, a port held by another program…). */
  manual: string[];
  /** Steps after the writes (restart the proxy…). */
  after: string[];
  before: DoctorReport['summary'];
}

export function checkToJson(c: DoctorCheck): JsonCheck {
  return {
    id: c.id,
    group: c.group,
    title: c.title,
    status: c.status,
    observed: c.observed ?? null,
    expected: c.expected ?? null,
    fix: c.fix ?? null,
    docs: c.docs ?? null,
    latencyMs: c.latencyMs ?? null,
    causes: c.causes ?? [],
    fixable: c.fixable !== undefined && c.status !== 'pass' && c.status !== 'skip',
  };
}

/** The `--json` document. Every key is always present (null when empty): scripts can rely on the shape. */
export function reportToJson(r: DoctorReport, extra: { fix?: FixSummary } = {}): Record<string, unknown> {
  const doc = {
    schema: JSON_SCHEMA_ID,
    version: r.version,
    ok: r.ok,
    exitCode: r.exitCode,
    mode: r.mode ?? null,
    plan: r.hasPlan ? r.planPath : null,
    ...(r.adopted ? { adopted: true } : {}),
    ...(r.adoptable ? { adopt: 'aider-mlx setup --adopt' } : {}),
    deep: r.deep,
    timeoutMs: r.timeoutMs,
    elapsedMs: r.elapsedMs,
    summary: r.summary,
    error: r.error
      ? {
          summary: r.error.summary,
          class: r.error.errorClass ?? null,
          classes: r.error.classes,
          provider: r.error.provider ?? null,
          providers: r.error.providers,
          status: r.error.status ?? null,
          body: r.error.body ?? null,
          url: r.error.url ?? null,
          host: r.error.host ?? null,
          port: r.error.port ?? null,
          model: r.error.model ?? null,
          upstreamModel: r.error.upstreamModel ?? null,
          modelGroup: r.error.modelGroup ?? null,
          wrapped: r.error.wrapped,
          viaProxy: r.error.viaProxy,
          signals: r.error.signals,
        }
      : null,
    likely: r.likely.map((s) => ({ cause: s.cause, spec: s.spec ?? null, title: s.title, verdict: s.verdict, why: s.why, checks: s.checks })),
    lead: r.lead,
    // Error-first: the checks that can explain the pasted error lead.
    checks: [...r.lead.map((id) => r.checks.find((c) => c.id === id)).filter((c): c is DoctorCheck => !!c), ...r.checks.filter((c) => !r.lead.includes(c.id))].map(checkToJson),
    fix: extra.fix ?? null,
  };
  return redactDeep(doc, r.secrets);
}

// ---- text ----------------------------------------------------------------------------------------
//
// Two layouts of the same checks and causes. The default puts the answer first (the verdict, the
// most likely cause with its evidence, the fix), then one line per hop, with details only under
// the hops that failed or warned, chains of skips in one line, and no ids: check ids and cause codes
// are for `--json` and `--verbose`. `--verbose` lists every check with its id, as before. Both wrap
// at the terminal's width on word boundaries; a command meant to be copied gets a line of its own.

export interface TextOptions {
  env: Env;
  color?: boolean;
  verbose?: boolean;
  /** Columns to wrap at (process.stdout.columns); 80 when unknown. */
  width?: number;
}

const SYMBOLS = { pass: '✓', warn: '!', fail: '✗', skip: '–' } as const;
const COLORS = { pass: '\u001b[32m', warn: '\u001b[33m', fail: '\u001b[31m', skip: '\u001b[2m' } as const;
const RESET = '\u001b[0m';
const DIM = '\u001b[2m';
const BOLD = '\u001b[1m';
const DEFAULT_WIDTH = 80;
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

const visible = (s: string) => s.replace(ANSI, '').length;
const widthOf = (o: TextOptions) => (o.width && o.width >= 20 ? o.width : DEFAULT_WIDTH);

/**
 * Wrap `text` on spaces: the first line starts with `first`, the others with `rest`. A word longer
 * than the line is never broken: it gets a line of its own and runs past the edge.
 */
export function wrap(text: string, width: number, first = '', rest = first): string[] {
  const words = text.split(/ +/).filter((w) => w.length > 0);
  const lines: string[] = [];
  let cur = first;
  let empty = true;
  for (const w of words) {
    if (!empty && visible(cur) + 1 + visible(w) > width) {
      lines.push(cur);
      cur = rest;
      empty = true;
    }
    cur += empty ? w : ` ${w}`;
    empty = false;
  }
  lines.push(cur);
  return lines;
}

export interface FixPart {
  text?: string;
  cmd?: string;
}

/**
 * A fix split into prose and the commands in it: `quoted` commands, and the command after a
 * label such as "Start it in another terminal: mlx_lm.server …" or inside "(or: pipx install …)".
 */
export function splitFix(fix: string): FixPart[] {
  const parts: FixPart[] = [];
  const text = (t: string) => {
    const s = t.replace(/ {2,}/g, ' ');
    if (!s.trim()) return;
    const last = parts[parts.length - 1];
    if (last?.text !== undefined) last.text += s;
    else parts.push({ text: s });
  };
  let i = 0;
  let plain = '';
  const flush = () => {
    text(plain);
    plain = '';
  };
  while (i < fix.length) {
    const ch = fix[i]!;
    if (ch === '`') {
      const j = fix.indexOf('`', i + 1);
      if (j > i) {
        const inner = fix.slice(i + 1, j);
        if (PROGRAM.test(inner) && inner.includes(' ')) {
          flush();
          parts.push({ cmd: inner });
        } else plain += fix.slice(i, j + 1);
        i = j + 1;
        continue;
      }
    }
    // A command after ": " or "(" (optionally "or: " / "or "), running to the end of its clause.
    const after = plain.endsWith(': ') || plain.endsWith('(') || /\((?:or:? )$/.test(plain);
    if (after && PROGRAM.test(fix.slice(i))) {
      const paren = /\((?:or:? )?$/.test(plain);
      const rest = fix.slice(i);
      const ends = [/ {2,}\(/, / \(or\b/, / — /, /, then\b/, /; /, /, or /, / before /];
      if (paren) ends.unshift(/\)/);
      let end = rest.length;
      for (const re of ends) {
        const m = re.exec(rest);
        if (m && m.index < end) end = m.index;
      }
      let cmd = rest.slice(0, end);
      if (end === rest.length && /\.$/.test(cmd)) cmd = cmd.slice(0, -1);
      if (cmd.includes(' ')) {
        flush();
        parts.push({ cmd: cmd.trim() });
        i += cmd.length;
        continue;
      }
    }
    plain += ch;
    i++;
  }
  flush();
  // The brackets and labels around a command that now has a line of its own: "(or:" → "or:", a lone ")" goes.
  const tidy = (t: string, i: number) => {
    let x = t.trim();
    if (parts[i - 1]?.cmd !== undefined) x = x.replace(/^\)?\s*[,;]?\s*/, '');
    if (parts[i + 1]?.cmd !== undefined) x = x.replace(/\s*\((or:?)?$/, (_m, or: string | undefined) => (or ? ' or:' : '')).trim();
    return x.replace(/^[,;.]\s*$/, '');
  };
  return parts.map((p, i) => (p.text !== undefined ? { text: tidy(p.text, i) } : p)).filter((p) => p.cmd !== undefined || p.text);
}

/**
 * A fix, wrapped: prose on word boundaries, each command whole on its own line. Its `aider-mlx …`
 * commands as this copy runs them (asRun, before the backticks go; a fix already named so stays).
 */
function fixLines(fix: string, width: number, first: string, rest: string): string[] {
  const out: string[] = [];
  let lead = first;
  for (const p of splitFix(asRun(fix))) {
    if (p.cmd !== undefined) {
      if (lead === first && out.length === 0) out.push(first.trimEnd());
      out.push(`${rest}  ${p.cmd}`);
    } else out.push(...wrap(p.text!, width, lead, rest));
    lead = rest;
  }
  return out;
}

/** "editor+weak@8080" → "editor + weak server on port 8080". */
function serverWords(label: string): string {
  const m = /^(.*?)(?:@(\d+))?$/.exec(label)!;
  return `the ${m[1]!.split('+').join(' + ')} server${m[2] ? ` on port ${m[2]}` : ''}`;
}

const FAILED_WORDS: Record<string, (who: string) => string> = {
  reachable: (who) => `${who} does not answer`,
  identity: (who) => `what answers on the port of ${who} is not mlx_lm.server`,
  chat: (who) => `${who} fails a 1-token completion`,
};

/**
 * Text for people: check ids (`server.editor+weak.reachable failed`, `see config.litellm.file`)
 * become what they stand for. Ids not in the report are left alone.
 */
export function idsToWords(text: string, checks: DoctorCheck[]): string {
  const byId = new Map(checks.map((c) => [c.id, c]));
  const labels = new Set(checks.filter((c) => c.id.startsWith('server.')).map((c) => c.id.split('.')[1]!));
  const ids = [...byId.keys(), ...[...labels].map((l) => `server.${l}`)].sort((a, b) => b.length - a.length);
  if (!ids.length) return text;
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`(?<![\\w./~-])(${ids.map(esc).join('|')})(?![\\w@+-]|\\.\\w)( failed)?`, 'g');
  return text
    .replace(re, (_m, id: string, failed?: string) => {
      const c = byId.get(id);
      const [, label, part] = /^server\.([^.]+)(?:\.(.+))?$/.exec(id) ?? [];
      if (label && !part) return serverWords(label);
      if (failed && label && part && FAILED_WORDS[part]) return FAILED_WORDS[part](serverWords(label));
      if (failed && id === 'proxy.names') return 'the proxy does not list its models';
      if (failed && id === 'proxy.alive') return 'the proxy does not answer';
      return c ? `“${c.title}”${failed ? ' failed' : ''}` : `${id}${failed ?? ''}`;
    })
    .replace(/(?<![\w./~-])config\.env\.\*/g, 'the environment variable checks');
}

const symbolFor = (status: DoctorCheck['status'], o: TextOptions) => (o.color ? `${COLORS[status]}${SYMBOLS[status]}${RESET}` : SYMBOLS[status]);
const skipWhy = (c: DoctorCheck) => c.observed?.replace(/^not checked: /, '') ?? '';

/**
 * One check. Default: a problem's title, observed, expected and fix, without its id; a pass is one
 * line. Verbose: the id, latency, passing details and the docs link too. `all` gives the report's
 * checks, to put ids into words.
 */
export function formatDoctorCheck(c: DoctorCheck, o: TextOptions, indent = '  ', all: DoctorCheck[] = [c]): string {
  const width = widthOf(o);
  const words = (s: string) => (o.verbose ? s : idsToWords(s, all));
  const sym = symbolFor(c.status, o);
  const ms = c.latencyMs !== undefined && (o.verbose || c.latencyMs >= 1000) ? ` (${c.latencyMs} ms)` : '';
  const hang = `${indent}  `;
  if (c.status === 'skip') {
    const why = words(skipWhy(c));
    const lines = wrap(`${c.title}${why ? ` — skipped: ${why}` : ''}${o.verbose ? ` [${c.id}]` : ''}`, width, `${indent}${sym} `, hang);
    return o.color ? lines.map((l) => `${DIM}${l}${RESET}`).join('\n') : lines.join('\n');
  }
  const id = o.verbose ? (o.color ? ` ${DIM}[${c.id}]${RESET}` : ` [${c.id}]`) : '';
  const lines = wrap(`${c.title}${ms}${id}`, width, `${indent}${sym} `, hang);
  const pad = `${indent}    `;
  const more = `${pad}  `;
  if (c.status === 'fail' || c.status === 'warn') {
    if (c.observed) lines.push(...wrap(`observed: ${words(c.observed)}`, width, pad, more));
    if (c.expected) lines.push(...wrap(`expected: ${words(c.expected)}`, width, pad, more));
    if (c.fix) lines.push(...fixLines(`fix: ${words(c.fix)}`, width, pad, more));
    if (c.docs && o.verbose) lines.push(...wrap(`docs: ${c.docs}`, width, pad, more));
  } else if (o.verbose && c.observed) {
    lines.push(...wrap(c.observed, width, pad, pad));
  }
  return lines.join('\n');
}

export function summaryLine(r: Pick<DoctorReport, 'summary'>): string {
  const s = r.summary;
  return `${s.fail} failed, ${s.warn} warning${s.warn === 1 ? '' : 's'}, ${s.pass} passed, ${s.skip} skipped`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const sentence = (s: string) => (/[.!?)]$/.test(s) ? s : `${s}.`);

/** The worst status of a hop's checks (skip only when nothing ran). */
function groupStatus(cs: DoctorCheck[]): DoctorCheck['status'] {
  return cs.some((c) => c.status === 'fail') ? 'fail' : cs.some((c) => c.status === 'warn') ? 'warn' : cs.some((c) => c.status === 'pass') ? 'pass' : 'skip';
}

/**
 * A hop's checks for the default layout: the problems with their details, then the skips, one line
 * per reason ("– 5 checks skipped: the editor server does not answer"). Passes are left to the hop's line.
 */
export function formatGroupBody(cs: DoctorCheck[], o: TextOptions, all: DoctorCheck[], indent = '    '): string[] {
  const width = widthOf(o);
  const out: string[] = [];
  for (const c of cs) if (c.status === 'fail' || c.status === 'warn') out.push(formatDoctorCheck(c, o, indent, all));
  const byWhy = new Map<string, DoctorCheck[]>();
  for (const c of cs.filter((x) => x.status === 'skip')) {
    const why = idsToWords(skipWhy(c), all);
    byWhy.set(why, [...(byWhy.get(why) ?? []), c]);
  }
  for (const [why, skips] of byWhy) {
    const text = skips.length === 1 ? `${skips[0]!.title} — skipped${why ? `: ${why}` : ''}` : `${skips.length} checks skipped${why ? `: ${why}` : ''}`;
    const lines = wrap(text, width, `${indent}${symbolFor('skip', o)} `, `${indent}  `);
    out.push(o.color ? lines.map((l) => `${DIM}${l}${RESET}`).join('\n') : lines.join('\n'));
  }
  return out;
}

/** One hop: its line (✓ ! ✗ –), and details only when something in it failed or warned. */
export function formatGroup(title: string, cs: DoctorCheck[], o: TextOptions, all: DoctorCheck[]): string[] {
  const st = groupStatus(cs);
  const b = (s: string) => (o.color ? `${BOLD}${s}${RESET}` : s);
  if (st === 'pass') return [`${symbolFor('pass', o)} ${b(title)}`];
  if (st === 'skip') {
    const whys = [...new Set(cs.map((c) => idsToWords(skipWhy(c), all)))];
    return wrap(`${b(title)}: not checked${whys.length === 1 && whys[0] ? ` (${whys[0]})` : ''}`, widthOf(o), `${symbolFor('skip', o)} `, '  ');
  }
  return [`${symbolFor(st, o)} ${b(title)}`, ...formatGroupBody(cs, o, all)];
}

/** The likely-cause block (verbose layout, and the error's facts for both). */
export function formatLikely(r: DoctorReport, o: TextOptions): string[] {
  if (!r.error) return [];
  const width = widthOf(o);
  const lines: string[] = [];
  const b = (s: string) => (o.color ? `${BOLD}${s}${RESET}` : s);
  const words = (s: string) => (o.verbose ? s : idsToWords(s, r.checks));
  lines.push(b(GROUP_TITLES.error));
  lines.push(...wrap(r.error.summary, width, '  ', '    '));
  const facts = errorFacts(r);
  if (facts.length) lines.push(...wrap(facts.join('; '), width, '  ', '    '));
  if (r.error.input.empty) {
    lines.push(...wrap('The text is empty: every check runs, nothing is singled out.', width, '  ', '  '));
    return lines;
  }
  const ranked = r.likely.filter((s) => s.why.length > 0);
  if (!ranked.length) {
    lines.push(...wrap('This text matches no known signature: every check runs below.', width, '  ', '  '));
    return lines;
  }
  const [top, ...rest] = ranked;
  const failing = (s: typeof top) => s!.checks.filter((c) => c.status === 'fail' || c.status === 'warn').map((c) => c.id);
  const verdict = (s: typeof top) =>
    s!.verdict === 'confirmed'
      ? o.verbose
        ? `confirmed by ${failing(s).join(', ')}`
        : 'a check confirms it'
      : s!.verdict === 'ruled-out'
        ? `the checks find no sign of it now`
        : 'not confirmed by a check';
  const code = (s: typeof top) => (o.verbose ? ` [${s!.cause}]` : '');
  lines.push(...wrap(`Most likely: ${words(top!.title)}${code(top)} (${verdict(top)})`, width, '  ', '    '));
  for (const w of top!.why) lines.push(...wrap(`because ${words(w)}`, width, '    ', '      '));
  for (const s of rest.slice(0, 3)) lines.push(...wrap(`Also possible: ${words(s.title)}${code(s)} (${verdict(s)})`, width, '  ', '    '));
  if (top!.verdict === 'ruled-out' && ranked.every((s) => s.verdict === 'ruled-out')) {
    lines.push(...wrap(RULED_OUT, width, '  ', '  '));
  }
  return lines;
}

const RULED_OUT =
  'Nothing matching is wrong now: the setup may have changed since, or the error came from an Aider run with other settings (another folder, AIDER_* variables, --model on the command line).';

function errorFacts(r: DoctorReport): string[] {
  if (!r.error) return [];
  return [
    r.error.wrapped ? 'wrapped twice: the proxy\'s error, re-wrapped by the client' : undefined,
    r.error.model ? `model ${r.error.model}` : undefined,
    r.error.upstreamModel ? `the server tried to load "${r.error.upstreamModel}"` : undefined,
    r.error.modelGroup ? `proxy model group ${r.error.modelGroup}` : undefined,
    r.error.port !== undefined ? `${r.error.host ?? '?'}:${r.error.port}` : undefined,
  ].filter((x): x is string => !!x);
}

const isProblem = (c: DoctorCheck | undefined): c is DoctorCheck => !!c && (c.status === 'fail' || c.status === 'warn');

/**
 * The answer, first: the verdict, the most likely cause with the checks that show it, and the one
 * fix to make now. In words: no check ids, no cause codes.
 */
export function formatAnswer(r: DoctorReport, o: TextOptions): string[] {
  const width = widthOf(o);
  const words = (s: string) => idsToWords(s, r.checks);
  const s = r.summary;
  const out: string[] = [];
  const verdict = s.fail
    ? `${plural(s.fail, 'problem')}${s.warn ? ` and ${plural(s.warn, 'warning')}` : ''}: Aider will not work until ${s.fail === 1 ? 'it is' : 'they are'} fixed.`
    : s.warn
      ? `Nothing failed; ${plural(s.warn, 'warning')} below say${s.warn === 1 ? 's' : ''} what could still go wrong.`
      : 'Every check passed.';
  out.push(...wrap(verdict, width, `${symbolFor(s.fail ? 'fail' : s.warn ? 'warn' : 'pass', o)} `, '  '));

  if (r.error) {
    out.push(...wrap(`Your error: ${r.error.summary}`, width, '  ', '    '));
    if (r.error.input.empty) out.push(...wrap('The text is empty: every check ran, nothing is singled out.', width, '  ', '  '));
  }
  // The cause to name: with an error, the text's best suspect; without, the first one a failing check confirms.
  const ranked = r.error ? r.likely.filter((x) => x.why.length > 0) : r.likely.filter((x) => x.verdict === 'confirmed');
  const top = ranked[0];
  const byId = new Map(r.checks.map((c) => [c.id, c]));
  let evidence: DoctorCheck[] = [];
  if (top) {
    evidence = top.checks.map((c) => byId.get(c.id)).filter(isProblem).sort((a, b) => Number(a.status === 'warn') - Number(b.status === 'warn'));
    const how = top.verdict === 'confirmed' ? '' : top.verdict === 'ruled-out' ? ' (but the checks find no sign of it now)' : ' (no check confirms it)';
    out.push(...wrap(`Most likely: ${sentence(words(top.title))}${how}`, width, '  ', '    '));
    for (const w of top.why) out.push(...wrap(`because ${words(w)}`, width, '    ', '      '));
    if (top.verdict === 'ruled-out' && ranked.every((x) => x.verdict === 'ruled-out')) out.push(...wrap(RULED_OUT, width, '  ', '  '));
  } else if (r.error && !r.error.input.empty) {
    out.push(...wrap('The text matches no error aider-mlx knows; the checks below still show what is wrong.', width, '  ', '  '));
  }
  // "Seen" is only ever the named cause's own evidence. Without any, the first problem is shown as
  // what it is (a warning about something else is not shown under a cause at all).
  const own = top !== undefined && evidence.length > 0;
  if (!evidence.length) {
    const lead = r.lead.map((id) => byId.get(id)).filter(isProblem);
    const first = [...lead, ...r.checks.filter((c) => c.status === 'fail'), ...r.checks.filter((c) => c.status === 'warn')].filter((c) => !top || c.status === 'fail');
    evidence = first.length ? [first[0]!] : [];
  }
  for (const c of evidence.slice(0, 2)) {
    out.push(...wrap(`${own ? 'Seen' : c.status === 'fail' ? 'First problem' : 'First warning'}: ${c.title}${c.observed ? ` — ${words(c.observed)}` : ''}`, width, '  ', '    '));
  }
  const fixer = evidence.find((c) => c.fix);
  if (fixer && (s.fail || own)) out.push(...fixLines(`Fix: ${words(fixer.fix!)}`, width, '  ', '    '));
  const fixable = r.checks.filter((c) => c.fixable && (c.status === 'fail' || c.status === 'warn'));
  if (fixable.length && !(fixer?.fix ?? '').includes('doctor --fix')) {
    out.push(...wrap(`The doctor can repair ${fixable.length === 1 ? 'one of the problems' : `${fixable.length} of them`} itself (it shows the diff first and keeps a backup):`, width, '  ', '  '));
    out.push(`      ${selfCommand()} doctor --fix`);
  }
  return out;
}

function verboseText(r: DoctorReport, o: TextOptions): string[] {
  const out: string[] = [];
  const width = widthOf(o);
  const b = (s: string) => (o.color ? `${BOLD}${s}${RESET}` : s);
  const likely = formatLikely(r, o);
  if (likely.length) out.push(...likely, '');
  const leading = r.lead.map((id) => r.checks.find((c) => c.id === id)).filter((c): c is DoctorCheck => !!c && c.status !== 'pass' && c.status !== 'skip');
  if (leading.length) {
    out.push(b('Checks that explain it'));
    for (const c of leading) out.push(formatDoctorCheck(c, o, '  ', r.checks));
    out.push('');
  }
  const shown = new Set(leading.map((c) => c.id));
  for (const g of GROUPS) {
    const cs = r.checks.filter((c) => c.group === g && !shown.has(c.id));
    if (!cs.length) continue;
    out.push(b(GROUP_TITLES[g]));
    for (const c of cs) out.push(formatDoctorCheck(c, o, '  ', r.checks));
    out.push('');
  }
  if (!r.error && r.likely.length) {
    out.push(b('Causes'));
    for (const s of r.likely.filter((x) => x.verdict === 'confirmed')) out.push(...wrap(`${s.cause}: ${s.title}`, width, '  ', '    '));
    out.push('');
  }
  const sym = r.summary.fail ? SYMBOLS.fail : r.summary.warn ? SYMBOLS.warn : SYMBOLS.pass;
  out.push(...wrap(`${sym} ${summaryLine(r)}${r.summary.fail ? '' : r.summary.warn ? ': nothing failed; the warnings say what could bite' : ': every hop works'}`, width, '', '  '));
  const fixable = r.checks.filter((c) => c.fixable && (c.status === 'fail' || c.status === 'warn'));
  if (fixable.length) {
    out.push(...wrap(`The doctor can repair ${fixable.length === 1 ? 'one of them' : `${fixable.length} of them`} itself (it shows the diff first and keeps a backup):`, width, '  ', '  '));
    out.push(`    ${selfCommand()} doctor --fix`);
  }
  return out;
}

export function reportToText(r: DoctorReport, o: TextOptions): string {
  const width = widthOf(o);
  const out: string[] = [];
  const mode = r.mode ? `${r.mode} mode` : 'no plan';
  out.push(...wrap(`aider-mlx doctor ${r.version} — ${mode}${r.hasPlan ? `, plan ${tildify(r.planPath, o.env)}` : ''}${r.deep ? ', deep' : ''}`, width));
  out.push('');
  if (o.verbose) out.push(...verboseText(r, o));
  else {
    out.push(...formatAnswer(r, o), '');
    for (const g of GROUPS) {
      const cs = r.checks.filter((c) => c.group === g);
      if (cs.length) out.push(...formatGroup(GROUP_TITLES[g], cs, o, r.checks));
    }
    out.push('');
    out.push(...wrap(`${summaryLine(r)}. Every check, with its details:`, width), `  ${selfCommand()} doctor --verbose`);
  }
  if (r.adoptable) out.push('', ...fixLines(ADOPT_HINT, width, '', ''));
  return redact(out.join('\n'), r.secrets) + '\n';
}
