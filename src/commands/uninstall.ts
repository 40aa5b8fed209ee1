/**
 * `aider-mlx uninstall [--yes] [--dry-run] [--json]`: remove what aider-mlx added and nothing else.
 * The Aider entries it wrote (by exact name, and a key only while it still holds our value), its
 * config folder, its launchd agents, the tools it installed and the venvs it owns; shown as a list
 * and confirmed first. A user's own keys, entries and comments stay where they are.
 */
import { isDeepStrictEqual, parseArgs } from 'node:util';
import * as fsp from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import JSON5 from 'json5';
import { parse as parseYaml } from 'yaml';
import { EXIT, UsageError } from '../errors.js';
import { atomicWriteFile, readManifest } from '../lib/fs.js';
import { run } from '../lib/exec.js';
import { configPaths, tildify, type Env } from '../lib/paths.js';
import { readPlan } from '../config/plan-file.js';
import type { Plan } from '../config/plan.js';
import { mergeAiderConf, mergeModelMetadata, mergeModelSettings } from '../config/merge.js';
import { AIDER_FILES, renderFiles } from '../config/render.js';
import { proxyKey } from '../config/secrets.js';
import { AGENT_PREFIX, ownedLocations } from '../service/locations.js';
import { readInstallRecord, uninstallCommand, type InstallRecord } from '../tools/record.js';
import { isInteractive, terminalAsker, type Asker } from '../tools/ask.js';
import type { Exec } from '../servers/ports.js';

export type UninstallItem =
  | {
      kind: 'aider-file';
      path: string;
      action: 'edit' | 'delete';
      /** New bytes (edit). */
      content?: string | Buffer;
      mode?: number;
      removed: string[];
      /** Keys we wrote that the user changed since: left in place. */
      kept: string[];
      /** The file now holds exactly what it held before aider-mlx first wrote it. */
      original: boolean;
    }
  | { kind: 'agent'; label: string; path: string }
  | { kind: 'tool'; record: InstallRecord; command?: string[] }
  | { kind: 'link'; path: string; target: string }
  | { kind: 'folder'; path: string; what: string };

export interface UninstallPlan {
  items: UninstallItem[];
  /** Things we saw but leave alone, with the reason. */
  notes: string[];
}

export interface UninstallCaps {
  env: Env;
  platform?: NodeJS.Platform;
  exec?: Exec;
  uid?: number;
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

/** For each path, what it was before aider-mlx first replaced it: its bytes, or `created`. */
async function originalsFromBackups(backupRoot: string): Promise<Map<string, Buffer | 'created'>> {
  const out = new Map<string, Buffer | 'created'>();
  let names: string[] = [];
  try {
    names = (await fsp.readdir(backupRoot)).sort();
  } catch {
    return out;
  }
  const sets: Array<{ dir: string; createdAt: string; files: Awaited<ReturnType<typeof readManifest>>['files'] }> = [];
  for (const name of names) {
    const dir = join(backupRoot, name);
    try {
      const m = await readManifest(dir);
      sets.push({ dir, createdAt: m.createdAt, files: m.files });
    } catch {
      /* not a set */
    }
  }
  sets.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  for (const s of sets) {
    for (const f of s.files) {
      if (out.has(f.path)) continue;
      if (!f.existed) out.set(f.path, 'created');
      else {
        const bytes = await readIf(join(s.dir, f.backup!));
        if (bytes) out.set(f.path, bytes);
      }
    }
  }
  return out;
}

function commentLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('#') || l.startsWith('//'));
}

type Format = 'yaml' | 'json';

function dataOf(text: string, format: Format): unknown {
  try {
    return format === 'json' ? JSON5.parse(text) : parseYaml(text);
  } catch {
    return Symbol('unparsable');
  }
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
): { action: 'edit' | 'delete'; content?: string | Buffer; original: boolean } {
  const data = dataOf(stripped, format);
  const ours = new Set([...commentLines(rendered), ADDED_HEADER]);
  if (original instanceof Buffer) {
    const text = original.toString('utf8');
    const theirs = new Set(commentLines(text));
    const sameData = isDeepStrictEqual(dataOf(text, format), data);
    const onlyKnownComments = commentLines(stripped).every((l) => theirs.has(l) || ours.has(l));
    if (sameData && onlyKnownComments) return { action: 'edit', content: original, original: true };
  }
  if (isEmptyData(data) && (original === 'created' || commentLines(stripped).every((l) => ours.has(l)))) {
    return { action: 'delete', original: original === 'created' };
  }
  // Our template's comments explained our keys; with those keys gone they are noise.
  const theirs = original instanceof Buffer ? new Set(commentLines(original.toString('utf8'))) : new Set<string>();
  const eol = stripped.includes('\r\n') ? '\r\n' : '\n';
  const lines = stripped.split(/\r?\n/).filter((l) => !(ours.has(l.trim()) && !theirs.has(l.trim())));
  const text = lines.join(eol).replace(/(\r?\n){3,}/g, eol + eol);
  return { action: 'edit', content: text, original: false };
}

async function aiderFileItems(plan: Plan, env: Env, originals: Map<string, Buffer | 'created'>): Promise<UninstallItem[]> {
  const paths = configPaths(env);
  const rendered = renderFiles(plan, { litellmConfig: paths.litellm, aiderDir: plan.aider.dir, proxyKey: await proxyKey(env), aiderEnv: paths.aiderEnv });
  const items: UninstallItem[] = [];
  const files: Array<{ name: string; format: Format; rendered: string }> = [
    { name: AIDER_FILES.conf, format: 'yaml', rendered: rendered.conf },
    { name: AIDER_FILES.settings, format: 'yaml', rendered: rendered.settings },
    { name: AIDER_FILES.metadata, format: 'json', rendered: rendered.metadata },
  ];
  for (const f of files) {
    const path = join(plan.aider.dir, f.name);
    const bytes = await readIf(path);
    if (bytes === undefined) continue;
    const existing = bytes.toString('utf8');
    const mode = (await fsp.stat(path)).mode & 0o777;
    let stripped: string;
    let removed: string[];
    const kept: string[] = [];
    if (f.name === AIDER_FILES.conf) {
      const ours = (parseYaml(f.rendered) ?? {}) as Record<string, unknown>;
      const theirs = (dataOf(existing, 'yaml') ?? {}) as Record<string, unknown>;
      // A key goes only while it still holds the value we wrote: a changed one is the user's now.
      const remove = Object.keys(ours).filter((k) => k in theirs && isDeepStrictEqual(theirs[k], ours[k]));
      kept.push(...Object.keys(ours).filter((k) => k in theirs && !remove.includes(k)).map((k) => `${k}: ${JSON.stringify(theirs[k])}`));
      const r = mergeAiderConf(existing, '', path, { remove });
      stripped = r.text;
      removed = r.removed;
    } else if (f.name === AIDER_FILES.settings) {
      const names = ((parseYaml(f.rendered) ?? []) as Array<{ name?: string }>).flatMap((e) => (e.name ? [e.name] : []));
      const r = mergeModelSettings(existing, '', path, { remove: names });
      stripped = r.text;
      removed = r.removed;
    } else {
      const names = Object.keys(JSON5.parse(f.rendered) as object);
      const r = mergeModelMetadata(existing, '{}', path, { remove: names });
      stripped = r.text;
      removed = r.removed;
    }
    if (removed.length === 0) continue;
    const s = settle(stripped, f.format, f.rendered, originals.get(path));
    items.push({ kind: 'aider-file', path, action: s.action, ...(s.content !== undefined ? { content: s.content } : {}), mode, removed, kept, original: s.original });
  }
  return items;
}

/** Everything uninstall would remove, found without changing anything. */
export async function planUninstall(caps: UninstallCaps): Promise<UninstallPlan> {
  const { env } = caps;
  const platform = caps.platform ?? process.platform;
  const loc = ownedLocations(env, platform);
  const paths = configPaths(env);
  const items: UninstallItem[] = [];
  const notes: string[] = [];

  let plan: Plan | undefined;
  try {
    plan = await readPlan(env);
  } catch (e) {
    notes.push(`${(e as Error).message}: the Aider entries it names cannot be found, so Aider files are left as they are.`);
  }
  const originals = await originalsFromBackups(paths.backups);
  if (plan && !isInside(plan.aider.dir, loc.config)) items.push(...(await aiderFileItems(plan, env, originals)));
  // Aider files an earlier plan wrote elsewhere: named, not guessed at.
  const aiderNames = Object.values(AIDER_FILES) as string[];
  const elsewhere = [...originals.keys()].filter(
    (p) => aiderNames.some((n) => p.endsWith(`${sep}${n}`)) && !isInside(p, loc.config) && (!plan || !isInside(p, plan.aider.dir)),
  );
  for (const p of new Set(elsewhere)) {
    if (await exists(p)) notes.push(`${tildify(p, env)} was written by an earlier setup: check it by hand (or \`aider-mlx restore\` before uninstalling).`);
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

  const backups = await fsp.readdir(paths.backups).catch(() => [] as string[]);
  if (await exists(loc.config)) {
    items.push({
      kind: 'folder',
      path: loc.config,
      what: `plan, LiteLLM config${(await exists(paths.aiderEnv)) ? ', Aider\'s key file (aider.env)' : ''}${backups.length ? `, ${backups.length} backup set${backups.length === 1 ? '' : 's'}` : ''}, Aider profile`,
    });
  }
  if (await exists(loc.data)) items.push({ kind: 'folder', path: loc.data, what: 'venvs, logs, working files' });
  if (!isInside(loc.logs, loc.data) && (await exists(loc.logs))) items.push({ kind: 'folder', path: loc.logs, what: 'server and proxy logs' });
  return { items, notes };
}

export function formatUninstallPlan(p: UninstallPlan, env: Env): string {
  if (p.items.length === 0) return `Nothing of aider-mlx's is left on this machine.\n${p.notes.map((n) => `  note: ${n}\n`).join('')}`;
  const lines = ['aider-mlx uninstall will remove:'];
  const section = (title: string, rows: string[]) => {
    if (rows.length === 0) return;
    lines.push(`  ${title}`);
    for (const r of rows) lines.push(`    ${r}`);
  };
  const of = <K extends UninstallItem['kind']>(k: K) => p.items.filter((i): i is Extract<UninstallItem, { kind: K }> => i.kind === k);
  section(
    'Aider entries it wrote (your other keys and comments stay)',
    of('aider-file').map((i) =>
      i.action === 'delete'
        ? `${tildify(i.path, env)}: delete (only aider-mlx's entries are in it)`
        : `${tildify(i.path, env)}: ${i.removed.join(', ')}${i.original ? ' (back to what it was before aider-mlx)' : ''}`,
    ),
  );
  section('launchd agents (stopped, then removed)', of('agent').map((i) => `${i.label}  ${tildify(i.path, env)}`));
  section(
    'Python tools it installed',
    of('tool').map((i) => `${i.record.package} (${i.record.method}${i.command ? `: ${i.command.join(' ')}` : ''})`),
  );
  section('Links to its venvs', of('link').map((i) => `${tildify(i.path, env)} → ${tildify(i.target, env)}`));
  section('Folders', of('folder').map((i) => `${tildify(i.path, env)}  (${i.what})`));
  const kept = of('aider-file').flatMap((i) => i.kept.map((k) => `${tildify(i.path, env)} ${k} (changed since setup: yours now)`));
  if (kept.length) section('Kept', kept);
  for (const n of p.notes) lines.push(`  note: ${n}`);
  return lines.join('\n') + '\n';
}

export interface UninstallReport {
  done: string[];
  failed: string[];
}

/** Remove every item; a failure is reported and the rest still goes. */
export async function applyUninstall(p: UninstallPlan, caps: UninstallCaps): Promise<UninstallReport> {
  const { env } = caps;
  const platform = caps.platform ?? process.platform;
  // uv and pipx find their installs through the environment (UV_TOOL_DIR, PIPX_HOME…).
  const exec: Exec = caps.exec ?? ((cmd, args, opts) => run(cmd, args, { ...opts, env: env as Record<string, string> }));
  const uid = caps.uid ?? process.getuid?.() ?? 0;
  const done: string[] = [];
  const failed: string[] = [];
  const attempt = async (label: string, fn: () => Promise<void>) => {
    try {
      await fn();
      done.push(label);
    } catch (e) {
      failed.push(`${label}: ${(e as Error).message}`);
    }
  };
  // Agents first, so nothing we start is left running from files about to go.
  for (const i of p.items) {
    if (i.kind !== 'agent') continue;
    await attempt(`agent ${i.label}`, async () => {
      if (platform === 'darwin') await exec('launchctl', ['bootout', `gui/${uid}/${i.label}`], { timeoutMs: 15_000 });
      await fsp.rm(i.path, { force: true });
    });
  }
  for (const i of p.items) {
    switch (i.kind) {
      case 'aider-file':
        await attempt(tildify(i.path, env), async () => {
          if (i.action === 'delete') await fsp.rm(i.path, { force: true });
          else await atomicWriteFile(i.path, i.content!, i.mode);
        });
        break;
      case 'tool':
        await attempt(`${i.record.package} (${i.record.method})`, async () => {
          if (!i.command) return;
          const r = await exec(i.command[0]!, i.command.slice(1), { timeoutMs: 120_000 });
          if (r.code !== 0) throw new Error((r.stderr || r.stdout).trim().split('\n').pop() || `exit ${r.code}`);
        });
        break;
      case 'link':
        await attempt(tildify(i.path, env), () => fsp.unlink(i.path));
        break;
      default:
        break;
    }
  }
  for (const i of p.items) {
    if (i.kind === 'folder') await attempt(tildify(i.path, env), () => fsp.rm(i.path, { recursive: true, force: true }));
  }
  return { done, failed };
}

export interface UninstallIo extends UninstallCaps {
  out: (s: string) => void;
  err: (s: string) => void;
  interactive: boolean;
  asker?: Asker;
}

export async function runUninstall(args: string[], io: UninstallIo): Promise<number> {
  let values: { yes?: boolean; 'dry-run'?: boolean; json?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: { yes: { type: 'boolean', short: 'y' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message, 'Usage: aider-mlx uninstall [--yes] [--dry-run] [--json]');
  }
  const plan = await planUninstall(io);
  const summary = (p: UninstallPlan) =>
    p.items.map((i) => ({ ...i, ...('content' in i ? { content: undefined } : {}) }));
  if (values['dry-run'] || plan.items.length === 0) {
    io.out(values.json ? JSON.stringify({ dryRun: true, items: summary(plan), notes: plan.notes }, null, 2) + '\n' : formatUninstallPlan(plan, io.env));
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
  if (values.json) io.out(JSON.stringify({ ok: report.failed.length === 0, ...report }, null, 2) + '\n');
  else {
    const lines = report.done.map((d) => `  ✓ ${d}`);
    for (const f of report.failed) lines.push(`  ✗ ${f}`);
    lines.push(report.failed.length ? 'Some items could not be removed (above); the rest is gone.' : 'aider-mlx is uninstalled. `npx aider-mlx setup` starts over.');
    io.out(lines.join('\n') + '\n');
  }
  return report.failed.length ? EXIT.verify : EXIT.ok;
}

export async function runUninstallCommand(args: string[]): Promise<number> {
  const interactive = isInteractive();
  return runUninstall(args, {
    env: process.env,
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    interactive,
    ...(interactive ? { asker: terminalAsker() } : {}),
  });
}
