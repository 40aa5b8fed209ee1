/**
 * `aider-mlx uninstall [--yes] [--dry-run] [--json]`: remove what aider-mlx added and nothing else.
 * The Aider entries it wrote (by exact name, and a key only while it still holds our value), its
 * config folder, its launchd agents, the tools it installed and the venvs it owns; shown as a list
 * and confirmed first. A user's own keys, entries and comments stay where they are.
 */
import { isDeepStrictEqual } from 'node:util';
import { parseFlags } from '../lib/args.js';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import JSON5 from 'json5';
import { parse as parseYaml, parseDocument, stringify as stringifyYaml } from 'yaml';
import { AppError, EXIT, UsageError } from '../errors.js';
import { applyWrites, atomicWriteFile, onDisk, planWrites, readManifest, type PlannedWrite, type RenameFn } from '../lib/fs.js';
import { run } from '../lib/exec.js';
import { asRun, configPaths, tildify, type Env } from '../lib/paths.js';
import { readPlan } from '../config/plan-file.js';
import type { Plan } from '../config/plan.js';
import { callbacksWithout, mergeAiderConf, mergeModelMetadata, mergeModelSettings, unmergeLitellmConfig } from '../config/merge.js';
import { AIDER_FILES, renderFiles, templateComments, type RenderedFiles } from '../config/render.js';
import { addedFor, entriesOf, readAddedRecord, type AddedRecord, type AddedRole } from '../config/added.js';
import { proxyKey, redact } from '../config/secrets.js';
import { AGENT_PREFIX, ownedLocations } from '../service/locations.js';
import { readInstallRecord, uninstallCommand, type InstallRecord } from '../tools/record.js';
import { isInteractive, terminalAsker, type Asker } from '../tools/ask.js';
import type { Exec } from '../servers/ports.js';

/** A file of the user's that aider-mlx wrote into: what comes out, what is set back, what stays. */
export interface FileEdit {
  path: string;
  action: 'edit' | 'delete';
  /** New bytes (edit). */
  content?: string | Buffer;
  mode?: number;
  removed: string[];
  /** Keys of the user's that setup had replaced, set back to the user's value. */
  restored: string[];
  /** Keys we wrote that the user changed since: left in place. */
  kept: string[];
  /** The file now holds exactly what it held before aider-mlx first wrote it. */
  original: boolean;
  /** Unified diff of the change, secrets redacted. */
  diff?: string;
  /** The path was a symbolic link with this text before aider-mlx replaced it (--force): the link comes back. */
  link?: string;
}

export type UninstallItem =
  | ({ kind: 'aider-file' } & FileEdit)
  | ({ kind: 'litellm-file' } & FileEdit)
  | { kind: 'agent'; label: string; path: string }
  | { kind: 'tool'; record: InstallRecord; command?: string[] }
  | { kind: 'link'; path: string; target: string }
  | { kind: 'folder'; path: string; what: string }
  /** Our config folder: everything in it goes except a litellm.yaml that holds the user's own entries. */
  | { kind: 'config'; path: string; what: string; plan: boolean; backupSets: number };

export interface UninstallPlan {
  items: UninstallItem[];
  /** Things we saw but leave alone, with the reason. */
  notes: string[];
  /** The safe writer's plan for every file edit and delete above (all or none, with a backup set). */
  writes: PlannedWrite[];
  /** Every secret the files hold: never printed. */
  secrets: string[];
  /** Backup sets stay (asked for, or the only way back for a file named in a note). */
  keepBackups: boolean;
}

export interface UninstallCaps {
  env: Env;
  platform?: NodeJS.Platform;
  exec?: Exec;
  uid?: number;
  /** Keep the backup sets (`--keep-backups`). */
  keepBackups?: boolean;
  /** For tests: the rename the safe writer moves files into place with (to make it fail). */
  rename?: RenameFn;
}

const ADDED_HEADER = '# Added by aider-mlx';

async function readIf(path: string): Promise<Buffer | undefined> {
  try {
    return await fsp.readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  return fsp.lstat(path).then(
    () => true,
    () => false,
  );
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(resolve(parent), resolve(child));
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
}

/** Written into the backups folder by `uninstall --keep-backups`: sets older than it belong to a finished uninstall. */
const UNINSTALLED_MARK = '.uninstalled-at';

/** For each path, what it was before aider-mlx first replaced it: its bytes, or `created` (and its mode in `modes`). */
async function originalsFromBackups(
  backupRoot: string,
  modes = new Map<string, number>(),
  links = new Map<string, string>(),
): Promise<Map<string, Buffer | 'created'>> {
  const out = new Map<string, Buffer | 'created'>();
  let names: string[] = [];
  try {
    names = (await fsp.readdir(backupRoot)).sort();
  } catch {
    return out;
  }
  const since = (await readIf(join(backupRoot, UNINSTALLED_MARK)))?.toString('utf8').trim() ?? '';
  const sets: Array<{ dir: string; createdAt: string; files: Awaited<ReturnType<typeof readManifest>>['files'] }> = [];
  for (const name of names) {
    const dir = join(backupRoot, name);
    try {
      const m = await readManifest(dir);
      if (m.createdAt > since) sets.push({ dir, createdAt: m.createdAt, files: m.files });
    } catch {
      /* not a set */
    }
  }
  sets.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  for (const s of sets) {
    for (const f of s.files) {
      if (out.has(f.path) || links.has(f.path)) continue;
      // A symbolic link --force replaced: its text (the bytes beside it are its target's, which we never wrote).
      if (f.link) links.set(f.path, f.link);
      if (!f.existed) out.set(f.path, 'created');
      else {
        const bytes = await readIf(join(s.dir, f.backup!));
        if (bytes) out.set(f.path, bytes);
        if (bytes && typeof f.mode === 'number') modes.set(f.path, f.mode);
      }
    }
  }
  return out;
}

/** What uninstall knows of a file of the user's it wrote into: what was there before, and which entries are ours. */
interface Knowing {
  /** The backups: the file's bytes before aider-mlx first wrote it, or `created` (the record knows only `created`). */
  original: Buffer | 'created' | undefined;
  /** The data before, from the backups (a replaced value of the user's can be set back). */
  before: unknown;
  /** Its mode before aider-mlx first wrote it. */
  mode: number | undefined;
  /** An entry of ours (see config/added.ts); undefined: nothing tells, so nothing in the file goes. */
  ours: ((entry: string) => boolean) | undefined;
}

interface Sources {
  originals: Map<string, Buffer | 'created'>;
  modes: Map<string, number>;
  /** Paths that were symbolic links (with their text) before aider-mlx first replaced them. */
  links: Map<string, string>;
  record: AddedRecord | undefined;
  env: Env;
}

/**
 * Which entries of a file are ours: the backups say what was there before the first setup; without
 * them (deleted, or naming another home folder) the record setup wrote says what it added; a file
 * that starts with our template's header is one aider-mlx created. Else nothing tells.
 */
function knowing(path: string, role: AddedRole, existing: string, src: Sources): Knowing {
  const original = src.originals.get(path);
  if (original === 'created') return { original, before: undefined, mode: undefined, ours: () => true };
  if (original) {
    const text = original.toString('utf8');
    const had = entriesOf(role, text) ?? new Set<string>();
    return { original, before: dataOf(text, role === 'metadata' ? 'json' : 'yaml'), mode: src.modes.get(path), ours: (e) => !had.has(e) };
  }
  const r = addedFor(src.record, path, src.env);
  if (r) {
    const added = new Set(r.entries);
    return { original: r.existed ? undefined : 'created', before: undefined, mode: r.mode ?? undefined, ours: (e) => added.has(e) };
  }
  if (existing.trimStart().startsWith(templateComments(role)[0]!)) return { original: 'created', before: undefined, mode: undefined, ours: () => true };
  return { original: undefined, before: undefined, mode: undefined, ours: undefined };
}

const cannotTell = (path: string, env: Env) =>
  `${tildify(path, env)} is left as it is: aider-mlx cannot tell its entries there from yours (the backups and its record of what it added are gone). Take out its entries by hand if you no longer want them.`;

function commentLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('#') || l.startsWith('//'));
}

type Format = 'yaml' | 'json';

/** Parsed data, the way Aider and LiteLLM read it (duplicate keys: last wins); a symbol when it does not parse. */
function dataOf(text: string, format: Format): unknown {
  try {
    if (format === 'json') return JSON5.parse(text);
    const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false });
    if (doc.errors.length) return Symbol('unparsable');
    return doc.toJS();
  } catch {
    return Symbol('unparsable');
  }
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function isEmptyData(v: unknown): boolean {
  return v === null || v === undefined || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v as object).length === 0);
}

/**
 * What the file should become once our entries are out: the user's original bytes when the rest
 * is exactly what they had (comments and all), nothing when only our own text is left, else the
 * merge module's result (their keys and comments kept, ours gone).
 */
function settle(
  stripped: string,
  format: Format,
  rendered: string,
  original: Buffer | 'created' | undefined,
  role: AddedRole,
): { action: 'edit' | 'delete'; content?: string | Buffer; original: boolean } {
  const data = dataOf(stripped, format);
  // Every mode's comments: one an earlier setup wrote in another mode is ours too.
  const ours = new Set([...commentLines(rendered), ...templateComments(role), ADDED_HEADER]);
  const theirs = original instanceof Buffer ? new Set(commentLines(original.toString('utf8'))) : new Set<string>();
  if (original instanceof Buffer) {
    const text = original.toString('utf8');
    const sameData = isDeepStrictEqual(dataOf(text, format), data);
    const onlyKnownComments = commentLines(stripped).every((l) => theirs.has(l) || ours.has(l));
    if (sameData && onlyKnownComments) return { action: 'edit', content: original, original: true };
  }
  // A comment of the user's keeps the file, even one they wrote into a file we created.
  if (isEmptyData(data) && commentLines(stripped).every((l) => ours.has(l) && !theirs.has(l))) {
    return { action: 'delete', original: original === 'created' };
  }
  // Our template's comments explained our keys; with those keys gone they are noise.
  const eol = stripped.includes('\r\n') ? '\r\n' : '\n';
  const lines = stripped.split(/\r?\n/).filter((l) => !(ours.has(l.trim()) && !theirs.has(l.trim())));
  const text = lines.join(eol).replace(/^(\r?\n)+/, '').replace(/(\r?\n){3,}/g, eol + eol).replace(/(\r?\n)+$/, eol);
  return { action: 'edit', content: text, original: false };
}

/** Names that hold a secret (Aider's `openai-api-key`, `api-key`, `set-env`; LiteLLM's `master_key`, `database_url`…). */
const SECRET_NAME = /key|token|secret|passw|credential|auth|database_url|set-env|webhook/i;

/** Every string under a secret-looking name, anywhere in the data (and the value part of `NAME=value`). */
function secretsIn(data: unknown, out: Set<string>, under = false): void {
  if (typeof data === 'string') {
    if (!under || data.startsWith('os.environ/')) return;
    out.add(data);
    const eq = data.indexOf('=');
    if (eq > 0) out.add(data.slice(eq + 1));
    return;
  }
  if (Array.isArray(data)) for (const v of data) secretsIn(v, out, under);
  else if (typeof data === 'object' && data !== null) {
    for (const [k, v] of Object.entries(data)) secretsIn(v, out, under || SECRET_NAME.test(k));
  }
}

async function aiderFileItems(
  plan: Plan,
  rendered: RenderedFiles,
  src: Sources,
  secrets: Set<string>,
  notes: string[],
): Promise<UninstallItem[]> {
  const items: UninstallItem[] = [];
  const files: Array<{ name: string; role: AddedRole; format: Format; rendered: string }> = [
    { name: AIDER_FILES.conf, role: 'conf', format: 'yaml', rendered: rendered.conf },
    { name: AIDER_FILES.settings, role: 'settings', format: 'yaml', rendered: rendered.settings },
    { name: AIDER_FILES.metadata, role: 'metadata', format: 'json', rendered: rendered.metadata },
  ];
  for (const f of files) {
    const path = join(plan.aider.dir, f.name);
    const link = src.links.get(path);
    if (link !== undefined && !(await fsp.lstat(path).then((s) => s.isSymbolicLink(), () => false))) {
      // It was the user's link before setup --force replaced it with a file: the link comes back as it was.
      secretsIn(dataOf((await readIf(path))?.toString('utf8') ?? '', f.format), secrets);
      items.push({ kind: 'aider-file', path, action: 'edit', link, removed: [], restored: [], kept: [], original: true });
      continue;
    }
    const bytes = await readIf(path);
    if (bytes === undefined) continue;
    const existing = bytes.toString('utf8');
    const k = knowing(path, f.role, existing, src);
    secretsIn(dataOf(existing, f.format), secrets);
    if (k.original instanceof Buffer) secretsIn(dataOf(k.original.toString('utf8'), f.format), secrets);
    const r = aiderFileEdit(f, path, existing, k.ours ?? (() => true), k.before);
    if (r.removed.length === 0 && r.restored.length === 0) continue;
    // Nothing tells our entries from the user's: keeping is safe, deleting one of theirs is not.
    if (!k.ours) {
      notes.push(cannotTell(path, src.env));
      continue;
    }
    const mode = k.mode ?? (await fsp.stat(path)).mode & 0o777;
    const s = settle(r.stripped, f.format, f.rendered, k.original, f.role);
    items.push({ kind: 'aider-file', path, action: s.action, ...(s.content !== undefined ? { content: s.content } : {}), mode, removed: r.removed, restored: r.restored, kept: r.kept, original: s.original });
  }
  return items;
}

/** One Aider file with our entries out: `ours` says which are ours, `before` (the backups) holds the user's replaced values. */
function aiderFileEdit(
  f: { name: string; rendered: string },
  path: string,
  existing: string,
  ours: (entry: string) => boolean,
  before: unknown,
): { stripped: string; removed: string[]; restored: string[]; kept: string[] } {
  const restored: string[] = [];
  const kept: string[] = [];
  if (f.name === AIDER_FILES.conf) {
    const rendered = (parseYaml(f.rendered) ?? {}) as Record<string, unknown>;
    const theirs = asRecord(dataOf(existing, 'yaml')) ?? {};
    const had = asRecord(before);
    const remove: string[] = [];
    const putBack: Record<string, unknown> = {};
    for (const k of Object.keys(rendered)) {
      if (!(k in theirs)) continue;
      // A key goes only while it still holds the value we wrote: a changed one is the user's now.
      if (!isDeepStrictEqual(theirs[k], rendered[k])) kept.push(redact(`${k}: ${JSON.stringify(theirs[k])}`));
      // The user had this key before setup (their own openai-api-key): it stays, with their value when the backups hold it.
      else if (!ours(k)) {
        if (had && k in had && !isDeepStrictEqual(had[k], theirs[k])) putBack[k] = had[k];
      } else remove.push(k);
    }
    const r = mergeAiderConf(existing, '', path, { remove });
    let stripped = r.text;
    if (Object.keys(putBack).length) {
      stripped = mergeAiderConf(stripped, stringifyYaml(putBack), path).text;
      restored.push(...Object.keys(putBack));
    }
    return { stripped, removed: r.removed, restored, kept };
  }
  if (f.name === AIDER_FILES.settings) {
    const names = ((parseYaml(f.rendered) ?? []) as Array<{ name?: string }>).flatMap((e) => (e.name && ours(e.name) ? [e.name] : []));
    const r = mergeModelSettings(existing, '', path, { remove: names });
    return { stripped: r.text, removed: r.removed, restored, kept };
  }
  const names = Object.keys(JSON5.parse(f.rendered) as object).filter(ours);
  const r = mergeModelMetadata(existing, '{}', path, { remove: names });
  return { stripped: r.text, removed: r.removed, restored, kept };
}

/**
 * Our models and settings in the LiteLLM config, worked out against what the user had before the
 * first setup (its backup, or the record of what setup added): a setting they had stays or gets
 * their value back, a section they had stays even when empty, a model or setting they added is theirs.
 */
async function litellmItem(path: string, rendered: RenderedFiles, src: Sources, secrets: Set<string>, notes: string[]): Promise<UninstallItem | undefined> {
  const bytes = await readIf(path);
  if (bytes === undefined) return undefined;
  const existing = bytes.toString('utf8');
  const k = knowing(path, 'litellm', existing, src);
  const current = asRecord(dataOf(existing, 'yaml')) ?? {};
  secretsIn(current, secrets);
  if (k.original instanceof Buffer) secretsIn(dataOf(k.original.toString('utf8'), 'yaml'), secrets);
  const e = litellmEdit(path, existing, current, asRecord(parseYaml(rendered.litellm)) ?? {}, k.ours ?? (() => true), asRecord(k.before));
  if (!e.r.changed) return undefined;
  if (!k.ours) {
    notes.push(cannotTell(path, src.env));
    return undefined;
  }
  const s = settle(e.r.text, 'yaml', rendered.litellm, k.original, 'litellm');
  const mode = k.mode ?? (await fsp.stat(path)).mode & 0o777;
  return {
    kind: 'litellm-file',
    path,
    action: s.action,
    ...(s.content !== undefined ? { content: s.content } : {}),
    mode,
    removed: e.r.removed,
    restored: e.restored,
    kept: e.kept,
    original: s.original,
  };
}

function litellmEdit(
  path: string,
  existing: string,
  current: Record<string, unknown>,
  rendered: Record<string, unknown>,
  ours: (entry: string) => boolean,
  before: Record<string, unknown> | undefined,
) {
  const owned: { models: string[]; drop: Array<[string, string]>; restore: Array<[string, string, unknown]>; dropIfEmpty: string[] } = {
    models: [],
    drop: [],
    restore: [],
    dropIfEmpty: [],
  };
  const kept: string[] = [];
  const restored: string[] = [];
  for (const [section, value] of Object.entries(rendered)) {
    if (ours(section)) owned.dropIfEmpty.push(section);
    if (section === 'model_list') {
      const names = (Array.isArray(value) ? value : []).map((e) => asRecord(e)?.model_name).filter((n): n is string => typeof n === 'string');
      // A model_name the user had before setup is theirs, whatever setup did to it.
      owned.models.push(...new Set(names.filter((n) => ours(`model_list: ${n}`))));
      continue;
    }
    const oursSec = asRecord(value);
    const curSec = asRecord(current[section]);
    if (!oursSec || !curSec) continue;
    const beforeSec = asRecord(before?.[section]);
    for (const [key, v] of Object.entries(oursSec)) {
      if (!(key in curSec)) continue;
      const mine = ours(`${section}.${key}`);
      if (section === 'litellm_settings' && key === 'callbacks' && (!isDeepStrictEqual(curSec[key], v) || !mine)) {
        // The user's callbacks stay; ours goes with the module it names (the config folder's files go).
        const left = callbacksWithout(curSec[key], v);
        const back = left ?? (beforeSec && key in beforeSec ? beforeSec[key] : null);
        if (left === undefined && mine) owned.drop.push([section, key]);
        else if (!isDeepStrictEqual(back, curSec[key])) {
          owned.restore.push([section, key, back]);
          restored.push(`${section}.${key}`);
        }
        continue;
      }
      if (!isDeepStrictEqual(curSec[key], v)) kept.push(`${section}.${key}: ${JSON.stringify(curSec[key])}`);
      else if (!mine) {
        if (beforeSec && key in beforeSec && !isDeepStrictEqual(beforeSec[key], curSec[key])) {
          owned.restore.push([section, key, beforeSec[key]]);
          restored.push(`${section}.${key}`);
        }
      } else owned.drop.push([section, key]);
    }
  }
  return { r: unmergeLitellmConfig(existing, path, owned), kept, restored };
}

/**
 * A file an earlier setup wrote into that holds nothing of ours now: its bytes are the ones from
 * before setup, or its data is and no comment of ours is left in it.
 */
async function isTheirsAgain(path: string, original: Buffer | 'created' | undefined): Promise<boolean> {
  if (!(original instanceof Buffer)) return false;
  const now = await readIf(path).catch(() => undefined);
  if (now === undefined) return false;
  if (now.equals(original)) return true;
  const format: Format = path.endsWith('.json') ? 'json' : 'yaml';
  const role: AddedRole = path.endsWith(AIDER_FILES.conf) ? 'conf' : path.endsWith(AIDER_FILES.settings) ? 'settings' : 'metadata';
  const text = now.toString('utf8');
  const before = dataOf(original.toString('utf8'), format);
  if (typeof before === 'symbol' || !isDeepStrictEqual(dataOf(text, format), before)) return false;
  const ours = new Set([...templateComments(role), ADDED_HEADER]);
  const theirs = new Set(commentLines(original.toString('utf8')));
  return commentLines(text).every((l) => theirs.has(l) || !ours.has(l));
}

/** Everything uninstall would change or remove, found without changing anything. */
export async function planUninstall(caps: UninstallCaps): Promise<UninstallPlan> {
  const { env } = caps;
  const platform = caps.platform ?? process.platform;
  const loc = ownedLocations(env, platform);
  const paths = configPaths(env);
  const items: UninstallItem[] = [];
  const notes: string[] = [];
  const secrets = new Set<string>();
  let keepBackups = caps.keepBackups ?? false;

  let plan: Plan | undefined;
  try {
    plan = await readPlan(env);
  } catch (e) {
    // Without the plan our entries cannot be told from the user's: deleting anything now would lose theirs.
    const reason = e instanceof AppError ? e.message : `${tildify(paths.plan, env)}: ${(e as Error).message}`;
    throw new UsageError(
      `${reason}\n  Uninstall needs that plan to tell aider-mlx's entries in your Aider files and LiteLLM config from yours, so it removed nothing.`,
      `Fix that file (or put back your copy of it), then run \`aider-mlx uninstall\` again. \`aider-mlx restore\` puts back the files from before a setup.`,
    );
  }
  const modes = new Map<string, number>();
  const links = new Map<string, string>();
  const originals = await originalsFromBackups(paths.backups, modes, links);
  const src: Sources = { originals, modes, links, record: await readAddedRecord(env), env };
  const key = await proxyKey(env);
  secrets.add(key);
  if (plan) {
    // The timeouts setup wrote derive from the bench results: render with them, so ours are recognised.
    const prefill = (await import('../bench/store.js')).measuredPrefills(plan, env);
    const rendered = renderFiles(plan, { litellmConfig: paths.litellm, aiderDir: plan.aider.dir, proxyKey: key, aiderEnv: paths.aiderEnv, ...(prefill ? { prefill } : {}) });
    const lite = await litellmItem(paths.litellm, rendered, src, secrets, notes);
    if (lite) items.push(lite);
    if (!isInside(plan.aider.dir, loc.config)) items.push(...(await aiderFileItems(plan, rendered, src, secrets, notes)));
  } else {
    const text = (await readIf(paths.litellm))?.toString('utf8');
    if (text !== undefined) secretsIn(dataOf(text, 'yaml'), secrets);
    if (text?.includes('aider-mlx')) {
      notes.push(`${tildify(paths.litellm, env)} is left as it is: without a plan, aider-mlx cannot tell its models there from yours.`);
    }
  }
  // Aider files an earlier plan wrote elsewhere: named, not guessed at; their backups stay.
  const aiderNames = Object.values(AIDER_FILES) as string[];
  const elsewhere = [...originals.keys()].filter(
    (p) => aiderNames.some((n) => p.endsWith(`${sep}${n}`)) && !isInside(p, loc.config) && (!plan || !isInside(p, plan.aider.dir)),
  );
  for (const p of new Set(elsewhere)) {
    if (!(await exists(p))) continue;
    // Put back (`restore`) or edited back: the user's again, nothing of ours to check.
    if (await isTheirsAgain(p, originals.get(p))) continue;
    notes.push(`${tildify(p, env)} was written by an earlier setup: check it by hand, or \`aider-mlx restore\` it; the backups stay for that.`);
    keepBackups = true;
  }

  try {
    for (const name of (await fsp.readdir(loc.launchAgents)).sort()) {
      if (name.startsWith(AGENT_PREFIX) && name.endsWith('.plist')) {
        items.push({ kind: 'agent', label: name.slice(0, -'.plist'.length), path: join(loc.launchAgents, name) });
      }
    }
  } catch {
    /* no LaunchAgents folder */
  }

  for (const record of await readInstallRecord(loc.installed)) {
    if (record.method === 'venv') continue; // the venv goes with the data folder
    items.push({ kind: 'tool', record, command: uninstallCommand(record) });
  }

  try {
    for (const name of (await fsp.readdir(loc.localBin)).sort()) {
      const path = join(loc.localBin, name);
      const target = await fsp.readlink(path).catch(() => undefined);
      if (target && isInside(resolve(loc.localBin, target), loc.venvs)) items.push({ kind: 'link', path, target });
    }
  } catch {
    /* no ~/.local/bin */
  }

  if (await exists(loc.data)) items.push({ kind: 'folder', path: loc.data, what: 'venvs, logs, working files' });
  if (!isInside(loc.logs, loc.data) && (await exists(loc.logs))) items.push({ kind: 'folder', path: loc.logs, what: 'server and proxy logs' });
  if (await exists(loc.cache)) items.push({ kind: 'folder', path: loc.cache, what: 'compiled code cache' });

  // The config folder: everything of ours in it; the plan next to last, the backups last of all.
  const entries = await fsp.readdir(loc.config).catch(() => [] as string[]);
  const backupSets = (await fsp.readdir(paths.backups, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).length;
  const removable = entries.filter((n) => n !== basename(paths.litellm) && !(n === basename(paths.backups) && keepBackups));
  if (removable.length) {
    const what = [
      entries.includes(basename(paths.plan)) ? 'plan' : '',
      entries.includes(basename(paths.aiderEnv)) ? "Aider's key file (aider.env)" : '',
      entries.includes(basename(paths.profile)) ? 'Aider profile' : '',
    ].filter(Boolean);
    const sets = backupSets && !keepBackups ? `${what.length ? '; then ' : ''}its ${backupSets} backup set${backupSets === 1 ? '' : 's'}, last of all` : '';
    items.push({ kind: 'config', path: loc.config, what: (what.join(', ') || (sets ? '' : 'working files')) + sets, plan: entries.includes(basename(paths.plan)), backupSets });
  }

  // Every file edit and delete goes through the safe writer: all or none, the old files in a backup set.
  const edits = items.filter((i): i is Extract<UninstallItem, { kind: 'aider-file' | 'litellm-file' }> => i.kind === 'aider-file' || i.kind === 'litellm-file');
  const secretList = [...secrets].filter((s) => s.length >= 8).sort((a, b) => b.length - a.length);
  const writes = await planWrites(
    edits.map((i) =>
      i.link !== undefined
        ? { path: i.path, content: '', link: i.link }
        : i.action === 'delete'
          ? { path: i.path, content: '', delete: true }
          : { path: i.path, content: i.content!, ...(i.mode !== undefined ? { mode: i.mode } : {}) },
    ),
    { label: (p) => tildify(p, env) },
  );
  edits.forEach((i, n) => (i.diff = redact(writes[n]!.diff, secretList)));
  return { items, notes, writes, secrets: secretList, keepBackups };
}

export function formatUninstallPlan(p: UninstallPlan, env: Env): string {
  if (p.items.length === 0) return redact(`Nothing of aider-mlx's is left on this machine.\n${p.notes.map((n) => `  note: ${n}\n`).join('')}`, p.secrets);
  const lines = ['aider-mlx uninstall will remove:'];
  const section = (title: string, rows: string[]) => {
    if (rows.length === 0) return;
    lines.push(`  ${title}`);
    for (const r of rows) lines.push(`    ${r}`);
  };
  const of = <K extends UninstallItem['kind']>(k: K) => p.items.filter((i): i is Extract<UninstallItem, { kind: K }> => i.kind === k);
  const edits = p.items.filter((i): i is Extract<UninstallItem, { kind: 'aider-file' | 'litellm-file' }> => i.kind === 'aider-file' || i.kind === 'litellm-file');
  section(
    'Entries it wrote into your files (your other keys, models and comments stay)',
    edits.map((i) => {
      if (i.link !== undefined) return `${tildify(i.path, env)}: back to your symbolic link to ${tildify(resolve(dirname(i.path), i.link), env)} (the file setup --force put there goes; the link's target is not touched)`;
      if (i.action === 'delete') return `${tildify(i.path, env)}: delete (only aider-mlx's entries are in it)`;
      const parts = [i.removed.join(', '), i.restored.length ? `${i.restored.join(', ')} set back to yours` : ''].filter(Boolean);
      return `${tildify(i.path, env)}: ${parts.join('; ')}${i.original ? ' (back to what it was before aider-mlx)' : ''}`;
    }),
  );
  section('launchd agents (stopped, then removed)', of('agent').map((i) => `${i.label}  ${tildify(i.path, env)}`));
  section(
    'Python tools it installed',
    of('tool').map((i) => `${i.record.package} (${i.record.method}${i.command ? `: ${i.command.join(' ')}` : ''})`),
  );
  section('Links to its venvs', of('link').map((i) => `${tildify(i.path, env)} → ${tildify(i.target, env)}`));
  section('Folders', [...of('folder'), ...of('config')].map((i) => `${tildify(i.path, env)}  (${i.what})`));
  const kept = [
    ...edits.flatMap((i) => i.kept.map((k) => `${tildify(i.path, env)} ${k} (changed since setup: yours now)`)),
    ...edits.filter((i) => i.kind === 'litellm-file' && i.action === 'edit').map((i) => `${tildify(i.path, env)} (your own entries are in it)`),
    ...(p.keepBackups ? [`${tildify(configPaths(env).backups, env)} (backup sets)`] : []),
  ];
  section('Kept', kept);
  for (const n of p.notes) lines.push(`  note: ${n}`);
  return redact(lines.join('\n') + '\n', p.secrets);
}

export interface UninstallReport {
  done: string[];
  /** The step that failed, with the reason (at most one: uninstall stops there); everything after it was not touched. */
  failed: string[];
  /** What is still there because of the failure. */
  left: string[];
  /** The backups folder, when it stays. */
  backupsKept?: string;
}

async function dropInstallRecord(path: string, record: InstallRecord): Promise<void> {
  const list = (await readInstallRecord(path)).filter((r) => !(r.package === record.package && r.method === record.method));
  if (await exists(path)) await atomicWriteFile(path, JSON.stringify(list, null, 2) + '\n', 0o600);
}

/**
 * Change the user's files first, all or none (nothing else is touched when that fails); then
 * remove our own things one by one, stopping at the first failure. The plan goes next to last
 * (a rerun needs it) and the backups last, only once everything else is gone.
 */
export async function applyUninstall(p: UninstallPlan, caps: UninstallCaps): Promise<UninstallReport> {
  const { env } = caps;
  const platform = caps.platform ?? process.platform;
  const loc = ownedLocations(env, platform);
  const paths = configPaths(env);
  // uv and pipx find their installs through the environment (UV_TOOL_DIR, PIPX_HOME…).
  const exec: Exec = caps.exec ?? ((cmd, args, opts) => run(cmd, args, { ...opts, env: env as Record<string, string> }));
  const uid = caps.uid ?? process.getuid?.() ?? 0;
  const done: string[] = [];
  // A background serve (launch) would outlive its files: it goes first, with what it started.
  const { stopBackground } = await import('../serve/background.js');
  const bg = await stopBackground(env).catch(() => ({}) as Awaited<ReturnType<typeof stopBackground>>);
  if (bg.stopped) done.push(`aider-mlx serve in the background (pid ${bg.stopped.pid}, stopped)`);

  const changed = p.writes.filter((w) => w.changed);
  if (changed.length) {
    try {
      await applyWrites(p.writes, { backupRoot: paths.backups, dirMode: 0o700, ...(caps.rename ? { rename: caps.rename } : {}) });
    } catch (e) {
      throw await writeFailure(e, changed, env);
    }
    done.push(...changed.map((w) => `${tildify(w.path, env)}${w.delete ? ' (deleted)' : ''}`));
  }

  const steps: Array<{ label: string; run: () => Promise<void> }> = [];
  // Agents first, so nothing we start is left running from files about to go.
  for (const i of p.items) {
    if (i.kind !== 'agent') continue;
    steps.push({
      label: `agent ${i.label}`,
      run: async () => {
        if (platform === 'darwin') await exec('launchctl', ['bootout', `gui/${uid}/${i.label}`], { timeoutMs: 15_000 });
        await fsp.rm(i.path, { force: true });
      },
    });
  }
  for (const i of p.items) {
    if (i.kind === 'tool') {
      steps.push({
        label: `${i.record.package} (${i.record.method})`,
        run: async () => {
          if (i.command) {
            const r = await exec(i.command[0]!, i.command.slice(1), { timeoutMs: 120_000 });
            if (r.code !== 0) throw new Error((r.stderr || r.stdout).trim().split('\n').pop() || `exit ${r.code}`);
          }
          // A rerun must not try to uninstall it again.
          await dropInstallRecord(loc.installed, i.record);
        },
      });
    } else if (i.kind === 'link') {
      steps.push({ label: tildify(i.path, env), run: () => fsp.rm(i.path, { force: true }) });
    }
  }
  for (const i of p.items) {
    if (i.kind === 'folder') steps.push({ label: tildify(i.path, env), run: () => fsp.rm(i.path, { recursive: true, force: true }) });
  }
  const config = p.items.find((i) => i.kind === 'config');
  let backupsKept: string | undefined;
  if (config) {
    const keep = new Set([basename(paths.litellm), basename(paths.plan), basename(paths.backups)]);
    for (const name of (await fsp.readdir(config.path).catch(() => [] as string[])).filter((n) => !keep.has(n)).sort()) {
      steps.push({ label: tildify(join(config.path, name), env), run: () => fsp.rm(join(config.path, name), { recursive: true, force: true }) });
    }
    if (config.plan) steps.push({ label: tildify(paths.plan, env), run: () => fsp.rm(paths.plan, { force: true }) });
    if (p.keepBackups) {
      if (await exists(paths.backups)) {
        backupsKept = paths.backups;
        // Sets up to now are this install's: a later setup and uninstall must not take them for the originals.
        steps.push({ label: `${tildify(paths.backups, env)} (kept)`, run: () => fsp.writeFile(join(paths.backups, UNINSTALLED_MARK), new Date().toISOString() + '\n', { mode: 0o600 }) });
      }
    } else if (await exists(paths.backups)) {
      steps.push({ label: `${tildify(paths.backups, env)} (${config.backupSets} backup set${config.backupSets === 1 ? '' : 's'})`, run: () => fsp.rm(paths.backups, { recursive: true, force: true }) });
    }
    steps.push({
      label: tildify(config.path, env),
      run: async () => {
        // Empty now unless the user's litellm.yaml (or the kept backups) stays.
        await fsp.rmdir(config.path).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST' && e.code !== 'ENOENT') throw e;
        });
      },
    });
  }

  for (let n = 0; n < steps.length; n++) {
    const step = steps[n]!;
    try {
      await step.run();
      done.push(step.label);
    } catch (e) {
      return { done, failed: [`${step.label}: ${(e as Error).message}`], left: steps.slice(n).map((s) => s.label), ...(await exists(paths.backups) ? { backupsKept: paths.backups } : {}) };
    }
  }
  return { done, failed: [], left: [], ...(backupsKept ? { backupsKept } : {}) };
}

/** The safe writer failed: say which file and why, and whether everything is still as it was. */
async function writeFailure(e: unknown, changed: PlannedWrite[], env: Env): Promise<AppError> {
  const still = await Promise.all(
    changed.map(async (w) => {
      return (await onDisk(w.target).catch(() => undefined))?.sha === w.oldSha256;
    }),
  );
  if (!still.every(Boolean)) {
    if (e instanceof AppError) return e;
    return new AppError(`Could not finish changing your files: ${(e as Error).message}`, 'Check them by hand; `aider-mlx restore --list` shows the backup sets.');
  }
  const errPath = (e as NodeJS.ErrnoException).path;
  const where = errPath ? changed.find((w) => dirname(w.target) === dirname(errPath)) : undefined;
  const message =
    e instanceof AppError ? e.message : `Could not ${where?.delete ? 'delete' : 'write'} ${where ? tildify(where.path, env) : 'your files'}: ${(e as Error).message}`;
  return new AppError(
    message,
    'Nothing was changed or removed: your Aider files, the LiteLLM config, the plan and the backups are as they were. ' +
      `Make ${where ? tildify(dirname(where.path), env) : 'that folder'} writable (or fix the cause above), then run \`aider-mlx uninstall\` again.`,
  );
}

export interface UninstallIo extends UninstallCaps {
  out: (s: string) => void;
  err: (s: string) => void;
  interactive: boolean;
  asker?: Asker;
}

const USAGE = 'Usage: aider-mlx uninstall [--yes] [--dry-run] [--keep-backups] [--json]';

export async function runUninstall(args: string[], io: UninstallIo): Promise<number> {
  const values = parseFlags(
    args,
    { yes: { type: 'boolean', short: 'y' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, 'keep-backups': { type: 'boolean' } },
    { command: 'uninstall', usage: USAGE },
  ).values as { yes?: boolean; 'dry-run'?: boolean; json?: boolean; 'keep-backups'?: boolean };
  const plan = await planUninstall({ ...io, keepBackups: values['keep-backups'] ?? io.keepBackups ?? false });
  const summary = (p: UninstallPlan) => p.items.map((i) => ({ ...i, ...('content' in i ? { content: undefined } : {}) }));
  const diffs = plan.items.flatMap((i) => ('diff' in i && i.diff ? [i.diff] : []));
  if (values['dry-run'] || plan.items.length === 0) {
    if (values.json) {
      io.out(redact(JSON.stringify({ dryRun: true, items: summary(plan), notes: plan.notes, keepBackups: plan.keepBackups }, null, 2), plan.secrets) + '\n');
    } else {
      const shown = diffs.length ? `\nChanges to your files (secrets shown as <redacted>):\n${diffs.join('')}` : '';
      io.out(formatUninstallPlan(plan, io.env) + shown);
    }
    return EXIT.ok;
  }
  if (!values.json) io.err(formatUninstallPlan(plan, io.env));
  if (!values.yes) {
    if (!io.interactive || !io.asker) {
      throw new UsageError('uninstall asks before it removes anything, and there is no terminal to ask in.', 'Pass --yes to remove the list above (see it with --dry-run).');
    }
    if (!(await io.asker.confirm('Remove all of this?'))) {
      io.err('Nothing was removed.\n');
      return EXIT.cancelled;
    }
  }
  const report = await applyUninstall(plan, io);
  const litellmLeft = await exists(configPaths(io.env).litellm);
  if (values.json) {
    io.out(redact(JSON.stringify({ ok: report.failed.length === 0, ...report, ...(litellmLeft ? { kept: [configPaths(io.env).litellm] } : {}) }, null, 2), plan.secrets) + '\n');
  } else {
    const lines = report.done.map((d) => `  ✓ ${d}`);
    if (report.failed.length) {
      lines.push(...report.failed.map((f) => `  ✗ ${f}`));
      lines.push(`Uninstall stopped there. Still in place: ${report.left.join(', ')}.`);
      lines.push('Fix the cause above, then run `aider-mlx uninstall` again: it carries on from where it stopped.');
    } else {
      lines.push('aider-mlx is uninstalled. `npx aider-mlx setup` starts over.');
      if (litellmLeft) lines.push(`${tildify(configPaths(io.env).litellm, io.env)} stays: it holds your own entries.`);
    }
    if (report.backupsKept) lines.push(`The backup sets stay in ${tildify(report.backupsKept, io.env)}${report.failed.length ? '' : '; delete that folder when you no longer need them'}.`);
    io.out(redact(lines.join('\n') + '\n', plan.secrets));
  }
  return report.failed.length ? EXIT.usage : EXIT.ok;
}

export async function runUninstallCommand(args: string[]): Promise<number> {
  const interactive = isInteractive();
  return runUninstall(args, {
    env: process.env,
    // What a person reads names this copy's command (asRun); --json stays as it is.
    out: (s) => void process.stdout.write(args.includes('--json') ? s : asRun(s)),
    err: (s) => void process.stderr.write(asRun(s)),
    interactive,
    ...(interactive ? { asker: terminalAsker() } : {}),
  });
}
