/**
 * The report, in two faces: grouped text lines for a terminal (✓ ! ✗ –, observed vs expected and
 * one fix for each problem, the most likely cause first when an error was pasted) and `--json`
 * with a stable schema. Both redact keys.
 */
import { tildify, type Env } from '../lib/paths.js';
// The one redactor, shared with setup, serve and the wizard.
import { redact, redactDeep } from '../lib/redact.js';
import type { DoctorReport } from './run.js';
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

export interface TextOptions {
  env: Env;
  color?: boolean;
  verbose?: boolean;
}

const SYMBOLS = { pass: '✓', warn: '!', fail: '✗', skip: '–' } as const;
const COLORS = { pass: '\u001b[32m', warn: '\u001b[33m', fail: '\u001b[31m', skip: '\u001b[2m' } as const;
const RESET = '\u001b[0m';
const DIM = '\u001b[2m';
const BOLD = '\u001b[1m';

export function formatDoctorCheck(c: DoctorCheck, o: TextOptions, indent = '  '): string {
  const sym = o.color ? `${COLORS[c.status]}${SYMBOLS[c.status]}${RESET}` : SYMBOLS[c.status];
  const ms = c.latencyMs !== undefined && (o.verbose || c.latencyMs >= 1000) ? ` (${c.latencyMs} ms)` : '';
  if (c.status === 'skip') {
    const why = c.observed?.replace(/^not checked: /, '') ?? '';
    const line = `${indent}${sym} ${c.title}${why ? ` — skipped: ${why}` : ''}`;
    return o.color ? `${DIM}${line}${RESET}` : line;
  }
  const id = c.status === 'pass' && !o.verbose ? '' : o.color ? ` ${DIM}[${c.id}]${RESET}` : ` [${c.id}]`;
  const lines = [`${indent}${sym} ${c.title}${ms}${id}`];
  const pad = `${indent}    `;
  if (c.status === 'fail' || c.status === 'warn') {
    if (c.observed) lines.push(`${pad}observed: ${c.observed}`);
    if (c.expected) lines.push(`${pad}expected: ${c.expected}`);
    if (c.fix) lines.push(`${pad}fix: ${c.fix}`);
    if (c.docs && o.verbose) lines.push(`${pad}docs: ${c.docs}`);
  } else if (o.verbose && c.observed) {
    lines.push(`${pad}${c.observed}`);
  }
  return lines.join('\n');
}

export function summaryLine(r: Pick<DoctorReport, 'summary'>): string {
  const s = r.summary;
  return `${s.fail} failed, ${s.warn} warning${s.warn === 1 ? '' : 's'}, ${s.pass} passed, ${s.skip} skipped`;
}

/** The likely-cause block that leads the report when an error was pasted. */
export function formatLikely(r: DoctorReport, o: TextOptions): string[] {
  if (!r.error) return [];
  const lines: string[] = [];
  const b = (s: string) => (o.color ? `${BOLD}${s}${RESET}` : s);
  lines.push(b(GROUP_TITLES.error));
  lines.push(`  ${r.error.summary}`);
  const facts = [
    r.error.wrapped ? 'wrapped twice (the proxy\'s error, re-wrapped by the client)' : undefined,
    r.error.model ? `model ${r.error.model}` : undefined,
    r.error.upstreamModel ? `the server tried to load "${r.error.upstreamModel}"` : undefined,
    r.error.modelGroup ? `proxy model group ${r.error.modelGroup}` : undefined,
    r.error.port !== undefined ? `${r.error.host ?? '?'}:${r.error.port}` : undefined,
  ].filter(Boolean);
  if (facts.length) lines.push(`  ${facts.join('; ')}`);
  if (r.error.input.empty) {
    lines.push('  The text is empty: every check runs, nothing is singled out.');
    return lines;
  }
  const ranked = r.likely.filter((s) => s.why.length > 0);
  if (!ranked.length) {
    lines.push('  This text matches no known signature: every check runs below.');
    return lines;
  }
  const [top, ...rest] = ranked;
  const failing = (s: typeof top) => s!.checks.filter((c) => c.status === 'fail' || c.status === 'warn').map((c) => c.id);
  const verdict = (s: typeof top) =>
    s!.verdict === 'confirmed' ? `confirmed by ${failing(s).join(', ')}` : s!.verdict === 'ruled-out' ? `the checks find no sign of it now` : 'not confirmed by a check';
  lines.push(`  Most likely: ${top!.title} [${top!.cause}] (${verdict(top)})`);
  for (const w of top!.why) lines.push(`    because ${w}`);
  for (const s of rest.slice(0, 3)) lines.push(`  Also possible: ${s.title} [${s.cause}] (${verdict(s)})`);
  if (top!.verdict === 'ruled-out' && ranked.every((s) => s.verdict === 'ruled-out')) {
    lines.push('  Nothing matching is wrong now: the setup may have changed since, or the error came from an Aider run with other settings (another folder, AIDER_* variables, --model on the command line).');
  }
  return lines;
}

export function reportToText(r: DoctorReport, o: TextOptions): string {
  const out: string[] = [];
  const b = (s: string) => (o.color ? `${BOLD}${s}${RESET}` : s);
  const mode = r.mode ? `${r.mode} mode` : 'no plan';
  out.push(`aider-mlx doctor ${r.version} — ${mode}${r.hasPlan ? ` (plan ${tildify(r.planPath, o.env)})` : ''}${r.deep ? ', deep' : ''}`);
  out.push('');
  const likely = formatLikely(r, o);
  if (likely.length) out.push(...likely, '');
  const leading = r.lead.map((id) => r.checks.find((c) => c.id === id)).filter((c): c is DoctorCheck => !!c && c.status !== 'pass' && c.status !== 'skip');
  if (leading.length) {
    out.push(b('Checks that explain it'));
    for (const c of leading) out.push(formatDoctorCheck(c, o));
    out.push('');
  }
  const shown = new Set(leading.map((c) => c.id));
  for (const g of GROUPS) {
    const cs = r.checks.filter((c) => c.group === g && !shown.has(c.id));
    if (!cs.length) continue;
    out.push(b(GROUP_TITLES[g]));
    for (const c of cs) out.push(formatDoctorCheck(c, o));
    out.push('');
  }
  if (!r.error && r.likely.length) {
    out.push(b('Causes'));
    for (const s of r.likely.filter((x) => x.verdict === 'confirmed')) out.push(`  ${s.cause}${s.spec ? ` (SPEC §4 #${s.spec})` : ''}: ${s.title}`);
    out.push('');
  }
  const sym = r.summary.fail ? SYMBOLS.fail : r.summary.warn ? SYMBOLS.warn : SYMBOLS.pass;
  out.push(`${sym} ${summaryLine(r)}${r.summary.fail ? '' : r.summary.warn ? ': it works; the warnings say what could bite' : ': every hop works'}`);
  const fixable = r.checks.filter((c) => c.fixable && (c.status === 'fail' || c.status === 'warn'));
  if (fixable.length) out.push(`  \`aider-mlx doctor --fix\` can repair ${fixable.length} of them (it shows the diff and keeps a backup).`);
  return redact(out.join('\n'), r.secrets) + '\n';
}
