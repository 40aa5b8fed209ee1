/**
 * What setup added to each file it merges into, on record in the config folder (added.json, mode
 * 0600, written with the setup's other files, all or none). Uninstall takes out only these entries
 * when the backup sets are gone or name another path (a copied home folder): an entry that was in
 * the file before setup first wrote to it is the user's, whatever setup did with it.
 *
 * Entries: top-level keys (.aider.conf.yml), `name`s (model settings), model names (metadata);
 * in the LiteLLM config `model_list: NAME`, a section `SECTION` and a setting `SECTION.KEY`.
 * No values are kept: the record holds no secret.
 */
import * as fsp from 'node:fs/promises';
import JSON5 from 'json5';
import { parseDocument } from 'yaml';
import { configPaths, tildify, type Env } from '../lib/paths.js';

export type AddedRole = 'conf' | 'settings' | 'metadata' | 'litellm';

export interface AddedFile {
  role: AddedRole;
  /** The file was there before aider-mlx first wrote to it. */
  existed: boolean;
  /** Its mode then (null: it was not there). */
  mode: number | null;
  /** The entries aider-mlx added, sorted. */
  entries: string[];
}

export interface AddedRecord {
  version: 1;
  /** Keyed by path, `~/…` under the home folder (the record still fits a copied home). */
  files: Record<string, AddedFile>;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** The entries a file holds, by its role; undefined when it does not parse. */
export function entriesOf(role: AddedRole, text: string | undefined): Set<string> | undefined {
  const out = new Set<string>();
  if (text === undefined || text.trim() === '') return out;
  let data: unknown;
  try {
    if (role === 'metadata') data = JSON5.parse(text);
    else {
      const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false });
      if (doc.errors.length) return undefined;
      data = doc.toJS();
    }
  } catch {
    return undefined;
  }
  if (role === 'settings') {
    for (const e of Array.isArray(data) ? data : []) {
      const name = record(e)?.name;
      if (typeof name === 'string') out.add(name);
    }
    return out;
  }
  const top = record(data) ?? {};
  for (const [k, v] of Object.entries(top)) {
    out.add(k);
    if (role !== 'litellm') continue;
    if (k === 'model_list') {
      for (const e of Array.isArray(v) ? v : []) {
        const name = record(e)?.model_name;
        if (typeof name === 'string') out.add(`model_list: ${name}`);
      }
    } else for (const sub of Object.keys(record(v) ?? {})) out.add(`${k}.${sub}`);
  }
  return out;
}

/** The record on disk; undefined when there is none or it is not one (then nothing counts as added). */
export async function readAddedRecord(env: Env): Promise<AddedRecord | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(configPaths(env).added, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const data = record(JSON.parse(text));
    const files = record(data?.files);
    if (data?.version !== 1 || !files) return undefined;
    const out: AddedRecord = { version: 1, files: {} };
    for (const [path, f] of Object.entries(files)) {
      const r = record(f);
      if (!r || !['conf', 'settings', 'metadata', 'litellm'].includes(r.role as string) || typeof r.existed !== 'boolean') continue;
      if (!Array.isArray(r.entries) || !r.entries.every((e) => typeof e === 'string')) continue;
      const mode = typeof r.mode === 'number' && Number.isInteger(r.mode) && r.mode >= 0 && r.mode <= 0o7777 ? r.mode : null;
      out.files[path] = { role: r.role as AddedRole, existed: r.existed, mode, entries: r.entries as string[] };
    }
    return out;
  } catch {
    return undefined;
  }
}

/** What the record says of one file (looked up by its `~/…` path); undefined when it names none. */
export function addedFor(rec: AddedRecord | undefined, path: string, env: Env): AddedFile | undefined {
  return rec?.files[tildify(path, env)];
}

export interface MergedFile {
  path: string;
  role: AddedRole;
  /** The file before this setup (undefined: not there). */
  old: string | undefined;
  oldMode: number | undefined;
  /** What we render for it. */
  rendered: string;
  /** What this setup writes. */
  next: string;
}

/**
 * The record after a setup: an entry of ours the file did not hold before is added; one an earlier
 * setup added stays added while the file holds it; the other files' records stay as they were.
 */
export function nextAddedRecord(prev: AddedRecord | undefined, files: MergedFile[], env: Env): AddedRecord {
  const out: AddedRecord = { version: 1, files: { ...(prev?.files ?? {}) } };
  for (const f of files) {
    const key = tildify(f.path, env);
    const before = f.old === undefined ? undefined : prev?.files[key];
    const had = entriesOf(f.role, f.old) ?? new Set<string>();
    const now = entriesOf(f.role, f.next) ?? new Set<string>();
    const ours = entriesOf(f.role, f.rendered) ?? new Set<string>();
    const added = new Set([...(before?.entries ?? []), ...[...ours].filter((e) => !had.has(e))].filter((e) => now.has(e)));
    out.files[key] = {
      role: f.role,
      existed: f.old === undefined ? false : (before?.existed ?? true),
      mode: f.old === undefined ? null : before ? before.mode : (f.oldMode ?? null),
      entries: [...added].sort(),
    };
  }
  out.files = Object.fromEntries(Object.entries(out.files).sort(([a], [b]) => a.localeCompare(b)));
  return out;
}

export function addedRecordText(rec: AddedRecord): string {
  return JSON.stringify(rec, null, 2) + '\n';
}
