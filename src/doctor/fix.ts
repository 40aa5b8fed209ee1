/**
 * `doctor --fix`: the fixes that are file edits. Our files are re-rendered from the plan and merged
 * into what is on disk (composeWrites: api_base, names, default_model upstream, settings,
 * metadata, max_tokens, keys — the user's comments and other keys stay); an Aider config file
 * outside the plan's folder that overrides one of our keys gets that key aligned. Everything goes
 * through planWrites/applyWrites: a diff first, one backup set, all or nothing.
 */
import { readFile } from 'node:fs/promises';
import { stringify, type Document } from 'yaml';
import { UsageError } from '../errors.js';
import { applyWrites, planWrites, type FileChange, type PlannedWrite } from '../lib/fs.js';
import { configPaths, tildify, type Env, selfCommand } from '../lib/paths.js';
import type { DoctorReport } from './run.js';
import type { DoctorCheck, UserEdit } from './types.js';

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

/** The text of a file with the edits made: YAML through the Document API (comments and other keys stay), .env line by line. */
function applyEdits(text: string, edits: UserEdit[], editUserYaml: (text: string, path: string, edit: (doc: Document) => void) => string, path: string): { text: string; stale: UserEdit[] } {
  const stale: UserEdit[] = [];
  if (edits[0]?.format === 'dotenv') {
    let out = text;
    for (const e of edits) {
      const name = String(e.keyPath[0]);
      const re = new RegExp(`^([ \\t]*(?:export[ \\t]+)?${name.replace(/[.]/g, '\\.')}[ \\t]*=).*$`, 'm');
      if (!re.test(out)) {
        if (e.old !== undefined) stale.push(e);
        else if (e.new !== undefined) out = `${out}${out === '' || out.endsWith('\n') ? '' : '\n'}${name}=${String(e.new)}\n`;
        continue;
      }
      out = e.new === undefined ? out.replace(new RegExp(`${re.source}\\n?`, 'm'), '') : out.replace(re, (_m, head: string) => `${head}${String(e.new)}`);
    }
    return { text: out, stale };
  }
  // In the user's own style, each of their inline comments kept at its column (as setup's merges do).
  const out = editUserYaml(text, path, (doc) => {
    for (const e of edits) {
      const cur: unknown = doc.getIn(e.keyPath);
      if (e.old !== undefined && cur !== e.old) {
        stale.push(e);
        continue;
      }
      if (e.new === undefined) doc.deleteIn(e.keyPath);
      else doc.setIn(e.keyPath, e.new);
    }
  });
  return { text: out, stale };
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
    return { writes, addresses, manual, after: [...stale, ...after] };
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
    after.push(`Restart the LiteLLM proxy so it reads the new config: litellm --config ${tildify(configPaths(env).litellm, env)} --host 127.0.0.1 --port ${plan.proxy.port}`);
  }
  return { writes, addresses, manual, after };
}

export async function applyFixes(fp: FixPlan, env: Env, signal?: AbortSignal) {
  return applyWrites(fp.writes, { backupRoot: configPaths(env).backups, dirMode: 0o700, ...(signal ? { signal } : {}) });
}
