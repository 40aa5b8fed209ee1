import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { AppError, UsageError } from '../errors.js';
import { MAX_CONFIG_BYTES, readBounded } from '../lib/read-bounded.js';
import type { FileChange } from '../lib/fs.js';
import { configPaths, homeDir, tildify, type Env } from '../lib/paths.js';
import { findGitRoot, searchPath } from '../doctor/files.js';
import { checkAiderConf, mergeAiderConf, mergeLitellmConfig, mergeModelMetadata, mergeModelSettings, type Conflict } from './merge.js';
import { servedModels } from './names.js';
import type { Plan } from './plan.js';
import { planToYaml } from './plan-file.js';
import { AIDER_FILES, renderFiles, renderUsageCallback, usageCallbackPath, type RenderedFiles } from './render.js';
import { ownedLocations } from '../service/locations.js';
import { AIDER_ENV_KEY, keyInEnvFile, renderAiderEnv } from './render-context.js';
import { LOCAL_API_KEY } from './names.js';
import { proxyKey, redact } from './secrets.js';
import { measuredPrefills } from '../bench/store.js';
import { stat } from 'node:fs/promises';
import { addedRecordText, nextAddedRecord, readAddedRecord, type MergedFile } from './added.js';

/**
 * Keys whose replacement would silently move a user's existing Aider setup to our servers, or
 * drop their own API key: replacing one of the user's values takes a yes (--force, or the wizard's
 * conflict question), and the review says so.
 */
const GUARDED_KEYS = ['model', 'editor-model', 'weak-model', 'openai-api-base', 'openai-api-key', 'env-file'];
/** Conf keys this tool may set; dropped again when a later plan no longer needs them. */
const MANAGED_KEYS = ['architect', 'editor-model', 'model-settings-file', 'model-metadata-file'];

export interface ComposedWrites {
  changes: FileChange[];
  rendered: RenderedFiles;
  /** The proxy's master key the files carry (never print it: see redact()). */
  proxyKey: string;
  /** Values the user set that we would replace (project/global scope only). */
  conflicts: Array<Conflict & { path: string }>;
}

/**
 * A conflict in words, secrets redacted: `sets` is what the user's file says (`openai-api-key:
 * <redacted>`), `with` what setup would put there.
 */
export function describeConflict(c: Conflict & { path: string }, env: Env): { file: string; sets: string; with: string } {
  const secret = c.key === 'openai-api-key';
  return {
    file: tildify(c.path, env),
    sets: redact(`${c.key}: ${String(c.from)}`),
    with: secret ? "aider-mlx's key for the local servers" : redact(String(c.to)),
  };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    // A file setup merges into: a FIFO or /dev/zero linked in its place is refused, not read forever.
    return (await readBounded(path, { what: 'The file', maxBytes: 8 * MAX_CONFIG_BYTES, over: 'refuse', tryThis: 'Move it away (setup writes a new one), then run again; nothing was written.' })).text;
  } catch (e) {
    if (e instanceof AppError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`Cannot read ${tildify(path)}: ${(e as Error).message}.`, 'Fix its permissions and run again; nothing was written.');
  }
}

function renderPaths(plan: Plan, env: Env, key: string) {
  const prefill = measuredPrefills(plan, env);
  return { litellmConfig: configPaths(env).litellm, aiderDir: plan.aider.dir, proxyKey: key, aiderEnv: configPaths(env).aiderEnv, ...(prefill ? { prefill } : {}) };
}

/** An openai-api-key an earlier run of ours wrote: the proxy's key, an old one of ours, or the placeholder. */
function isOurKey(v: unknown, key: string): boolean {
  return typeof v === 'string' && (v === key || v === LOCAL_API_KEY || /^sk-aider-mlx-[0-9a-f]{48}$/.test(v));
}

/** The env file with our variable set; the user's other lines stay as they are. */
function mergeAiderEnv(existing: string | undefined, key: string): string {
  if (existing === undefined || existing.trim() === '') return renderAiderEnv(key);
  const line = `${AIDER_ENV_KEY}=${key}`;
  const re = new RegExp(`^\\s*(?:export\\s+)?${AIDER_ENV_KEY}\\s*=.*$`, 'm');
  if (re.test(existing)) return existing.replace(new RegExp(re.source, 'gm'), line);
  return `${existing}${existing.endsWith('\n') ? '' : '\n'}${line}\n`;
}

/**
 * Every .aider.conf.yml Aider reads when run from `cwd` (the home folder's, the git root's, the
 * folder's own; later wins) that parses badly: refused with file, line and column, as the merge
 * refuses the one it writes, for Aider stops on any of them. `skip`: the one the merge reads.
 */
export async function checkAiderConfReads(env: Env, cwd: string, skip?: string): Promise<void> {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  for (const path of searchPath(AIDER_FILES.conf, homeDir(env), findGitRoot(cwd), cwd)) {
    if (skip !== undefined && real(path) === real(skip)) continue;
    // One Aider cannot read either is the doctor's to report; only a broken one stops setup.
    const text = await readIfExists(path).catch(() => undefined);
    if (text !== undefined) checkAiderConf(text, path);
  }
}

/**
 * Everything setup writes, merged into what is on disk: the plan, the LiteLLM config (proxy
 * mode) and Aider's three files. What a previous plan wrote and the new one no longer uses is
 * removed; what the user wrote is kept.
 */
export async function composeWrites(plan: Plan, env: Env, prev?: Plan, o: { cwd?: string } = {}): Promise<ComposedWrites> {
  const paths = configPaths(env);
  // Aider run from `cwd` reads the other .aider.conf.yml files too (a profile is read alone, with --config).
  if (o.cwd !== undefined && plan.aider.scope !== 'profile') await checkAiderConfReads(env, o.cwd, join(plan.aider.dir, AIDER_FILES.conf));
  const key = await proxyKey(env);
  const rendered = renderFiles(plan, renderPaths(plan, env, key));
  const models = servedModels(plan);
  const sameDir = prev !== undefined && prev.aider.dir === plan.aider.dir;
  const prevModels = prev ? servedModels(prev) : [];
  const gone = <T>(prevList: T[], now: T[]) => prevList.filter((x) => !now.includes(x));
  const removeAiderNames = sameDir ? gone(prevModels.map((m) => m.aiderName), models.map((m) => m.aiderName)) : [];
  const removeModelNames = gone(prevModels.map((m) => m.modelName), plan.mode === 'proxy' ? models.map((m) => m.modelName) : []);
  const newConfKeys = Object.keys((parse(rendered.conf) ?? {}) as object);
  const removeConfKeys = sameDir ? MANAGED_KEYS.filter((k) => !newConfKeys.includes(k)) : [];

  // Values a previous run of ours wrote are not the user's: replacing them is no conflict.
  const ours = new Set<string>();
  if (prev) {
    const prevConf = (parse(renderFiles(prev, renderPaths(prev, env, key)).conf) ?? {}) as Record<string, unknown>;
    for (const k of GUARDED_KEYS) if (prevConf[k] !== undefined) ours.add(`${k}=${String(prevConf[k])}`);
  }
  // A key of ours (the proxy's master key, an older one, or the local placeholder) is ours without a plan too.
  const oursByShape = (c: Conflict) => c.key === 'openai-api-key' && typeof c.from === 'string' && c.from.startsWith('sk-aider-mlx-');

  const confPath = join(plan.aider.dir, AIDER_FILES.conf);
  const settingsPath = join(plan.aider.dir, AIDER_FILES.settings);
  const metadataPath = join(plan.aider.dir, AIDER_FILES.metadata);
  const envInFile = keyInEnvFile(plan);
  const [confOld, settingsOld, metadataOld, litellmOld, envOld] = await Promise.all([
    readIfExists(confPath),
    readIfExists(settingsPath),
    readIfExists(metadataPath),
    readIfExists(paths.litellm),
    envInFile ? readIfExists(paths.aiderEnv) : undefined,
  ]);
  // The key moves out of the repository: an openai-api-key of ours (an older setup wrote it
  // there) goes; one the user set stays (the env file's variable outranks it anyway). Back in
  // another mode or scope, our env-file line goes; a user's own env-file stays.
  const overridden: Conflict[] = [];
  if (confOld !== undefined) {
    let old: Record<string, unknown> = {};
    try {
      old = (parse(confOld, { uniqueKeys: false }) ?? {}) as Record<string, unknown>;
    } catch {
      /* a malformed file is reported by the merge below, with line and column */
    }
    if (envInFile && isOurKey(old['openai-api-key'], key)) removeConfKeys.push('openai-api-key');
    // The user's own key stays in their file, but the env file's key outranks it: that replaces
    // it in effect, so it is a conflict to confirm like any other replaced value.
    // Once confirmed (our env-file line is there), a rerun does not ask again; uninstall takes the
    // env-file line out and their key is in effect again.
    else if (envInFile && typeof old['openai-api-key'] === 'string' && old['openai-api-key'] !== '' && old['env-file'] !== paths.aiderEnv) {
      overridden.push({ key: 'openai-api-key', from: old['openai-api-key'], to: `the proxy key in ${tildify(paths.aiderEnv, env)}, which Aider reads last` });
    }
    if (!envInFile && old['env-file'] === paths.aiderEnv) removeConfKeys.push('env-file');
  }

  const conf = mergeAiderConf(confOld, rendered.conf, confPath, { remove: removeConfKeys });
  const conflicts =
    plan.aider.scope === 'profile'
      ? []
      : [...conf.conflicts, ...overridden]
          .filter((c) => GUARDED_KEYS.includes(c.key) && c.from !== undefined && c.from !== null && !ours.has(`${c.key}=${String(c.from)}`) && !oursByShape(c))
          .map((c) => ({ ...c, path: confPath }));

  // A link shipped in a cloned project must not make setup edit a file outside it; in the home
  // folder (global scope) links are the user's own dotfiles and are followed.
  const linkScope = plan.aider.scope === 'global' ? {} : { linkScope: plan.aider.dir };
  const changes: FileChange[] = [
    { path: paths.plan, content: planToYaml(plan), mode: 0o600 },
    { path: confPath, content: conf.text, mode: 0o600, ...linkScope },
    { path: settingsPath, content: mergeModelSettings(settingsOld, rendered.settings, settingsPath, { remove: removeAiderNames }).text, ...linkScope },
    { path: metadataPath, content: mergeModelMetadata(metadataOld, rendered.metadata, metadataPath, { remove: removeAiderNames }).text, ...linkScope },
  ];
  if (envInFile) changes.splice(1, 0, { path: paths.aiderEnv, content: mergeAiderEnv(envOld, key), mode: 0o600 });
  // What this setup adds, on record for uninstall (the backups may be gone by then).
  const modeOf = (p: string, text: string | undefined) => (text === undefined ? Promise.resolve(undefined) : stat(p).then((st) => st.mode & 0o777, () => undefined));
  const merged: MergedFile[] = [
    { path: confPath, role: 'conf', old: confOld, oldMode: await modeOf(confPath, confOld), rendered: rendered.conf, next: changes.find((c) => c.path === confPath)!.content as string },
    { path: settingsPath, role: 'settings', old: settingsOld, oldMode: await modeOf(settingsPath, settingsOld), rendered: rendered.settings, next: changes.find((c) => c.path === settingsPath)!.content as string },
    { path: metadataPath, role: 'metadata', old: metadataOld, oldMode: await modeOf(metadataPath, metadataOld), rendered: rendered.metadata, next: changes.find((c) => c.path === metadataPath)!.content as string },
  ];
  if (plan.mode === 'proxy' || litellmOld !== undefined) {
    changes.splice(1, 0, {
      path: paths.litellm,
      // Direct mode leaves the proxy file as it was, minus the models we no longer serve there.
      content: plan.mode === 'proxy'
        ? mergeLitellmConfig(litellmOld, rendered.litellm, paths.litellm, { remove: removeModelNames }).text
        : litellmOld!,
      mode: 0o600,
    });
    // The proxy loads it from the config's folder (litellm_settings.callbacks).
    if (plan.mode === 'proxy') changes.splice(2, 0, { path: usageCallbackPath(paths.litellm), content: renderUsageCallback(ownedLocations(env).turns), mode: 0o600 });
  }
  if (plan.mode === 'proxy') {
    const next = changes.find((c) => c.path === paths.litellm)!.content as string;
    merged.push({ path: paths.litellm, role: 'litellm', old: litellmOld, oldMode: await modeOf(paths.litellm, litellmOld), rendered: rendered.litellm, next });
  }
  changes.push({ path: paths.added, content: addedRecordText(nextAddedRecord(await readAddedRecord(env), merged, env)), mode: 0o600 });
  return { changes, rendered, conflicts, proxyKey: key };
}
