/**
 * `doctor --fix`: the fixes that are file edits. Our files are re-rendered from the plan and merged
 * into what is on disk (composeWrites: api_base, names, default_model upstream, settings,
 * metadata, max_tokens, keys — the user's comments and other keys stay); an Aider config file
 * outside the plan's folder that overrides one of our keys gets that key aligned. Everything goes
 * through planWrites/applyWrites: a diff first, one backup set, all or nothing.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { isScalar, parse, parseDocument, stringify, type Document, type Scalar } from 'yaml';
import { UsageError } from '../errors.js';
import { applyWrites, planWrites, type FileChange, type PlannedWrite } from '../lib/fs.js';
import { configPaths, tildify, type Env, selfCommand } from '../lib/paths.js';
import type { DoctorReport } from './run.js';
import { sameEdit, type DoctorCheck, type UserEdit } from './types.js';

export interface FixPlan {
  /** Only the files that change. */
  writes: PlannedWrite[];
  /** Failing or warning checks the writes address. */
  addresses: DoctorCheck[];
  /** Problems no file edit can fix, with what to do. */
  manual: DoctorCheck[];
  /** What to do after the writes (a running proxy reads its config only at start). */
  after: string[];
}

export function problems(r: DoctorReport): DoctorCheck[] {
  return r.checks.filter((c) => c.status === 'fail' || c.status === 'warn');
}

/**
 * The text of a file with the edits made, every other byte as the user wrote it:
 * - a value that is there already is replaced in the text itself (its quotes kept), so spacing,
 *   aligned comments and the rest of the line stay exactly;
 * - a key to add or remove goes through the YAML Document API in the user's style (comments at
 *   their columns), .env line by line (an inline `# comment` after the value stays).
 */
export function applyEdits(text: string, editsIn: UserEdit[], editUserYaml: (text: string, path: string, edit: (doc: Document) => void) => string, path: string): { text: string; stale: UserEdit[] } {
  const stale: UserEdit[] = [];
  // The same edit asked by two checks (two roles with one name) is made once.
  const edits = editsIn.filter((e, i) => editsIn.findIndex((f) => sameEdit(f, e)) === i);
  if (edits[0]?.format === 'dotenv') {
    let out = text;
    for (const e of edits) {
      const name = String(e.keyPath[0]);
      const re = new RegExp(`^([ \\t]*(?:export[ \\t]+)?${name.replace(/[.]/g, '\\.')}[ \\t]*=)(.*?)([ \\t]+#.*)?$`, 'm');
      if (!re.test(out)) {
        if (e.old !== undefined) stale.push(e);
        else if (e.new !== undefined) out = `${out}${out === '' || out.endsWith('\n') ? '' : '\n'}${name}=${String(e.new)}\n`;
        continue;
      }
      out = e.new === undefined ? out.replace(new RegExp(`${re.source}\\n?`, 'm'), '') : out.replace(re, (_m, head: string, _v: string, comment?: string) => `${head}${String(e.new)}${comment ?? ''}`);
    }
    return { text: out, stale };
  }
  const doc = parseDocument(text, { uniqueKeys: false });
  const splices: Array<{ from: number; to: number; text: string; key: number }> = [];
  const rest: UserEdit[] = [];
  for (const e of edits) {
    const node = doc.getIn(e.keyPath, true);
    const cur: unknown = isScalar(node) ? node.value : doc.getIn(e.keyPath);
    if (e.old !== undefined && cur !== e.old) {
      stale.push(e);
      continue;
    }
    const range = isScalar(node) ? node.range : undefined;
    const as = isScalar(node) && range && e.new !== undefined ? scalarText(e.new, node.type) : undefined;
    // Two edits of one value that disagree: the first is made, the other is left (it is stale once the first is in).
    if (range && splices.some((sp) => sp.key === range[0])) stale.push(e);
    else if (range && as !== undefined) splices.push({ ...withComment(text, range[0], range[1], as), key: range[0] });
    else rest.push(e);
  }
  let out = text;
  for (const sp of splices.sort((a, b) => b.from - a.from)) out = `${out.slice(0, sp.from)}${sp.text}${out.slice(sp.to)}`;
  if (!rest.length) return { text: out, stale };
  // In the user's own style, each of their inline comments kept at its column (as setup's merges do).
  out = editUserYaml(out, path, (d) => {
    for (const e of rest) {
      if (e.new === undefined) d.deleteIn(e.keyPath);
      else d.setIn(e.keyPath, e.new);
    }
  });
  return { text: out, stale };
}

/**
 * The replacement of text[from, to) by `value`, and an inline comment after it on the same line
 * kept at its column (as setup's merges keep it): the blanks before its `#` grow or shrink, one
 * space at least; blanks with a tab stay as they are.
 */
function withComment(text: string, from: number, to: number, value: string): { from: number; to: number; text: string } {
  let hash = to;
  while (text[hash] === ' ' || text[hash] === '\t') hash++;
  const blanks = text.slice(to, hash);
  if (text[hash] !== '#' || !blanks || blanks.includes('\t')) return { from, to, text: value };
  const lineStart = text.lastIndexOf('\n', from - 1) + 1;
  const col = hash - lineStart;
  const end = from - lineStart + value.length;
  return { from, to: hash, text: `${value}${' '.repeat(Math.max(1, col - end))}` };
}

/**
 * A new value as YAML text in the quoting the old one had, or undefined when that needs more than
 * one line or another style (the Document API writes it then). Plain only when it reads back as
 * the same string.
 */
function scalarText(value: unknown, type: Scalar.Type | undefined): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return undefined;
  const v = String(value);
  if (/[\n\r]/.test(v)) return undefined;
  if (type === 'QUOTE_DOUBLE') return JSON.stringify(v);
  if (type === 'QUOTE_SINGLE') return `'${v.replace(/'/g, "''")}'`;
  if (type !== 'PLAIN') return undefined;
  const plain = stringify(value, { lineWidth: 0 }).replace(/\n$/, '');
  return !plain.includes('\n') && parse(plain) === value ? plain : undefined;
}

/** The edits on the user's own files (no plan needed), as file changes. */
async function userEditChanges(checks: DoctorCheck[]): Promise<{ changes: FileChange[]; stale: string[] }> {
  // Loaded only for a fix: the merge code is not needed for a read-only run.
  const { editUserYaml } = await import('../config/merge.js');
  const byPath = new Map<string, UserEdit[]>();
  for (const c of checks) for (const e of c.edits ?? []) byPath.set(e.path, [...(byPath.get(e.path) ?? []), e]);
  const changes: FileChange[] = [];
  const stale: string[] = [];
  for (const [path, edits] of byPath) {
    const existing = await readFile(path, 'utf8').catch(() => '');
    const r = applyEdits(existing, edits, editUserYaml, path);
    for (const s of r.stale) stale.push(`${path}: ${s.keyPath.join('.')} is no longer ${String(s.old)} (the file changed since the check): left as it is`);
    changes.push({ path, content: r.text });
  }
  return { changes, stale };
}

/** Files of ours that went missing, written again from the template (the usage callback next to a LiteLLM config). */
async function restoreChanges(checks: DoctorCheck[], env: Env, skip: ReadonlySet<string> = new Set()): Promise<FileChange[]> {
  const wanted = [...new Set(checks.flatMap((c) => c.restore ?? []).filter((x) => x.file === 'usage-callback' && !skip.has(x.path)).map((x) => x.path))];
  if (!wanted.length) return [];
  const { renderUsageCallback } = await import('../config/render.js');
  const { ownedLocations } = await import('../service/locations.js');
  const content = renderUsageCallback(ownedLocations(env).turns);
  return wanted.map((path) => ({ path, content, mode: 0o600 }));
}

export async function planFixes(r: DoctorReport, env: Env): Promise<FixPlan> {
  const all = problems(r);
  const addresses = all.filter((c) => c.fixable);
  const manual = all.filter((c) => !c.fixable);
  const plan = r.state.plan;
  if (!addresses.length) return { writes: [], addresses, manual, after: [] };
  const edits = addresses.filter((c) => c.fixable === 'edit');
  if (!plan || edits.length === addresses.length) {
    if (edits.length !== addresses.length) throw new UsageError('There is no plan to fix the files from.', `Run \`${selfCommand()} setup\` first.`);
    const { changes, stale } = await userEditChanges(edits);
    changes.push(...(await restoreChanges(edits, env, new Set(changes.map((c) => c.path)))));
    const writes = (await planWrites(changes)).filter((w) => w.changed);
    // A process aider-mlx did not start is not restarted behind the user's back: the command is printed.
    const after = [
      ...[...new Set(all.map((c) => c.restart).filter((x): x is string => !!x))].map((cmd) => `Restart the proxy so it reads the new config: ${cmd}`),
      ...[...new Set(all.map((c) => c.start).filter((x): x is string => !!x))].map((cmd) => `Start the proxy: ${cmd}`),
    ];
    return { writes, addresses, manual, after: [...stale, ...after, ...aiderRestart(writes)] };
  }

  // Loaded only here: the merge code (yaml Document API, json5) is not needed for a read-only run.
  const { composeWrites } = await import('../config/write.js');
  const { mergeAiderConf } = await import('../config/merge.js');
  const composed = await composeWrites(plan, env, plan);
  const planFile = configPaths(env).plan;
  const changes: FileChange[] = composed.changes.filter((c) => c.path !== planFile);

  const overrides = new Map<string, Record<string, unknown>>();
  for (const c of addresses) for (const t of c.fixTargets ?? []) overrides.set(t.path, { ...overrides.get(t.path), ...t.keys });
  for (const [path, keys] of overrides) {
    if (changes.some((c) => c.path === path)) continue;
    const existing = await readFile(path, 'utf8').catch(() => undefined);
    const rendered = `${stringify(keys, { lineWidth: 0 })}`;
    changes.push({ path, content: mergeAiderConf(existing, rendered, path).text });
  }
  changes.push(...(await restoreChanges(addresses, env, new Set(changes.map((c) => c.path)))));
  const writes = (await planWrites(changes)).filter((w) => w.changed);
  const after: string[] = [];
  if (plan.mode === 'proxy' && writes.some((w) => w.path === configPaths(env).litellm)) {
    // It reads its config only at start, and a second one cannot take the port: stop the running one first.
    after.push(
      `Restart the LiteLLM proxy on :${plan.proxy.port} so it reads the new config: stop the one running now (Ctrl-C where it runs, or \`${selfCommand()} stop\` for the background serve of \`launch\`), then start it again: \`${selfCommand()} serve\`, or litellm --config ${tildify(configPaths(env).litellm, env)} --host 127.0.0.1 --port ${plan.proxy.port}`,
    );
  }
  return { writes, addresses, manual, after: [...after, ...aiderRestart(writes)] };
}

/** Aider reads its files (.aider.conf.yml, its model files, .env) only when it starts. */
function aiderRestart(writes: PlannedWrite[]): string[] {
  const aiders = writes.filter((w) => /^\.aider\.|^\.env$/.test(basename(w.path)));
  return aiders.length ? [`Restart Aider if it is running (it reads ${aiders.map((w) => basename(w.path)).filter((n, i, a) => a.indexOf(n) === i).join(', ')} only when it starts).`] : [];
}

export async function applyFixes(fp: FixPlan, env: Env, signal?: AbortSignal) {
  return applyWrites(fp.writes, { backupRoot: configPaths(env).backups, dirMode: 0o700, ...(signal ? { signal } : {}) });
}
