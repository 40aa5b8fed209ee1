import { createInterface } from 'node:readline/promises';
import type { ParseArgsConfig } from 'node:util';
import { parseFlags } from '../lib/args.js';
import { AppError, CancelledError, EXIT, UsageError } from '../errors.js';
import { scanCachedModel, removeCachedModel } from '../hub/cache.js';
import { buildCatalogue, type Catalogue, type CatalogueEntry } from '../hub/catalogue.js';
import { CURATED_ROLES, type CuratedRole } from '../hub/curated.js';
import { pullModel, type PullProgress } from '../hub/download.js';
import { hubCacheDir, isRepoId, tildePath, type HubEnv } from '../hub/env.js';
import { FIT_WORDS, formatGB, GiB, GPU_BUDGET_MEANS, type MachineMemory } from '../hub/fit.js';
import { thisMachine } from '../lib/words.js';
import { selfCommand } from '../lib/paths.js';
import { columnsFor, DEFAULT_COLUMNS, fitTable, wrapLine } from '../lib/wrap.js';
import { benchDate, benchWords, latestForModel, readBench, type BenchRecord } from '../bench/store.js';


export interface ModelsIO {
  env: HubEnv;
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Interactive: a person can answer y/N. */
  interactive: boolean;
  memory?: MachineMemory;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

function defaultIO(): ModelsIO {
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY && !process.env.CI);
  return { env: process.env, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, interactive };
}

export async function runModelsCommand(args: string[], io: Partial<ModelsIO> = {}): Promise<number> {
  const ctx: ModelsIO = { ...defaultIO(), ...io };
  const [sub, ...rest] = args;
  if (sub === 'pull') return pull(rest, ctx);
  if (sub === 'rm' || sub === 'remove') return remove(rest, ctx);
  if (sub === 'list' || sub === 'ls') return list(rest, ctx);
  if (sub !== undefined && !sub.startsWith('-')) throw new UsageError(`Unknown models command "${sub}".`, 'Use `aider-mlx models`, `models pull REPO` or `models rm REPO`.');
  return list(args, ctx);
}

type Parsed = { values: Record<string, string | boolean | undefined>; positionals: string[] };

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>, positionals = false): Parsed {
  return parseFlags(args, { help: { type: 'boolean', short: 'h' }, ...options }, { command: 'models', usage: 'Run `aider-mlx models --help` for the options.', allowPositionals: positionals });
}

function positiveInt(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, not "${v}".`);
  return n;
}

// ------------------------------------------------------------------------------------ list

async function list(args: string[], io: ModelsIO): Promise<number> {
  const { values } = parse(args, {
    search: { type: 'string' },
    author: { type: 'string' },
    limit: { type: 'string' },
    role: { type: 'string' },
    context: { type: 'string' },
    memory: { type: 'string' },
    offline: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) return help(io);
  const role = values.role as string | undefined;
  if (role !== undefined && !(CURATED_ROLES as readonly string[]).includes(role)) {
    throw new UsageError(`--role must be editor, architect or single, not "${role}".`);
  }
  const memGB = positiveInt(values.memory as string | undefined, '--memory');
  const cat = await buildCatalogue({
    env: io.env,
    fetch: io.fetch,
    signal: io.signal,
    search: values.search as string | undefined,
    author: values.author as string | undefined,
    limit: positiveInt(values.limit as string | undefined, '--limit'),
    role: role as CuratedRole | undefined,
    context: positiveInt(values.context as string | undefined, '--context'),
    memory: memGB ? { totalBytes: memGB * GiB, source: 'override', platform: process.platform } : io.memory,
    skipHub: Boolean(values.offline),
  });
  const records = readBench(io.env);
  if (values.json) {
    const bench: Record<string, BenchRecord> = {};
    for (const r of records) bench[r.model] ??= latestForModel(records, r.model)!;
    io.stdout.write(`${JSON.stringify({ ...cat, bench }, null, 2)}\n`);
  } else io.stdout.write(renderCatalogue(cat, io.env, records, columnsFor(io.stdout)));
  return EXIT.ok;
}


/**
 * The catalogue as text for `columns` (the terminal's width, 80 without one): prose wrapped by the
 * one rule, each table fitted (cells never split across rows; see fitTable).
 */
export function renderCatalogue(cat: Catalogue, env: HubEnv, records: BenchRecord[] = [], columns: number = DEFAULT_COLUMNS): string {
  const out: string[] = [];
  const say = (...lines: string[]) => out.push(...lines.map((l) => wrapLine(l, columns)));
  /** `aider-mlx bench`'s last result for a model, under its row. */
  const bench = (repoId: string) => {
    const r = latestForModel(records, repoId);
    if (r) say(`      bench ${benchDate(r)} on ${r.machine}${r.via === 'proxy' ? ' (through the proxy)' : ''}: ${benchWords(r)}`);
  };
  const mem = `${formatGB(cat.memory.totalBytes)}${cat.memory.source === 'override' ? ' (--memory)' : ''}`;
  say(`Memory: ${mem} · GPU budget ${formatGB(cat.budget.bytes)}: ${GPU_BUDGET_MEANS}, ${cat.budget.rule}`);
  say('Fit = weights + the prompt cache (one KV cache at the context shown per role the server holds, two at least) + ~1 GB runtime per server; tight = over 80% of the budget.');

  say('', `Cached in ${tildePath(cat.cacheDir, env)}`);
  if (!cat.cached.length) say(cat.cacheExists ? '  (no models)' : '  (no cache folder yet)');
  // Size on disk, then the fit (or why it cannot load: the ✓ says complete).
  const cached = fitTable(
    cat.cached.map((e) => [name(e), formatGB(e.cached!.sizeOnDisk), e.cached!.status === 'complete' ? fitCell(e) : e.cached!.status]),
    [{ head: true }, { align: 'right', drop: 1 }, {}],
    columns,
  );
  cat.cached.forEach((e, i) => {
    out.push(...cached[i]!);
    const c = e.cached!;
    if (c.status !== 'complete') for (const p of c.problems) say(`      ${p}`);
    bench(e.repoId);
  });

  const what = `${cat.search.author === '*' ? 'any author' : cat.search.author}${cat.search.query ? `, "${cat.search.query}"` : ''}`;
  say('', `Hub (${what})`);
  if (cat.hubStatus.kind === 'offline') {
    // Not asked on purpose (--offline, HF_HUB_OFFLINE): say so, without calling it unreachable.
    say(`  ${cat.hubStatus.message} Showing the cache and the curated picks.`);
  } else if (cat.hubStatus.kind !== 'ok') {
    say(`  ! The Hub was not reachable: ${cat.hubStatus.message} Showing the cache and the curated picks.`);
    if (cat.hubStatus.tryThis) say(`    → ${cat.hubStatus.tryThis}`);
  } else if (!cat.hub.length) say('  (no results)');
  // On a narrow terminal the repo id and the fit stay: the parameters and quantization (most repo
  // ids say them), then the downloads, then the size go first.
  const hub = fitTable(
    cat.hub.map((e) => [
      name(e),
      facts(e),
      e.downloadBytes !== undefined ? `${formatGB(e.downloadBytes)} download` : '',
      e.hub?.downloads !== undefined ? `${compact(e.hub.downloads)} downloads` : '',
      fitCell(e),
    ]),
    [{ head: true }, { drop: 1 }, { align: 'right', drop: 3 }, { align: 'right', drop: 2 }, {}],
    columns,
  );
  cat.hub.forEach((e, i) => {
    out.push(...hub[i]!);
    bench(e.repoId);
  });

  const cur = cat.curated;
  say('', `Curated for ${cur.tier.memory} GB${cur.belowSmallest ? ` (the smallest tier; ${thisMachine(cat.memory.platform)} has less)` : ''} (${tildePath(cur.source, env)})`);
  if (cur.tier.note) say(`  ${cur.tier.note}`);
  const picks = fitTable(cur.picks.map((p) => [p.role, name(p), fitCell(p)]), [{}, { head: true }, {}], columns);
  cur.picks.forEach((p, i) => {
    out.push(...picks[i]!);
    say(`      ${p.reason}`, `      ${p.fit.arithmetic}`);
    bench(p.repoId);
  });
  if (cur.pair) say(`  editor + architect together: ${cur.pair.arithmetic}`);
  for (const u of cur.unavailable) say(`  ! ${u.role} ${u.repo} is not offered: ${u.message}`);
  // A command to copy, whole on its line: this copy's (from a clone `aider-mlx` is not on PATH).
  say('', 'Download one (✓ cached and complete, · not cached):', `  $ ${selfCommand()} models pull REPO`);
  return `${out.join('\n')}\n`;
}

const mark = (e: CatalogueEntry) => (e.cached?.status === 'complete' ? '✓' : e.cached ? '!' : '·');
const name = (e: CatalogueEntry) => `${mark(e)} ${e.repoId}`;
const fitCell = (e: CatalogueEntry) => `${FIT_WORDS[e.fit.label]} ${e.fit.known ? '' : '≥'}${formatGB(e.fit.totalBytes)} @${Math.round(e.context / 1024)}k`;
const facts = (e: CatalogueEntry) =>
  [e.paramsB !== undefined ? `${e.paramsB}B${e.activeParamsB ? `-A${e.activeParamsB}B` : ''}` : '', e.quantLabel ?? ''].filter(Boolean).join(' ');
const compact = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));

// ------------------------------------------------------------------------------------ pull

async function pull(args: string[], io: ModelsIO): Promise<number> {
  const { values, positionals } = parse(args, { revision: { type: 'string' }, json: { type: 'boolean' } }, true);
  if (values.help) return help(io);
  const repoId = positionals[0];
  if (!repoId || positionals.length > 1) throw new UsageError('`models pull` takes one repo id.', 'e.g. `aider-mlx models pull mlx-community/Qwen2.5-Coder-7B-Instruct-4bit`');
  if (!isRepoId(repoId)) throw new UsageError(`"${repoId}" is not a Hugging Face repo id.`, 'Use org/name, e.g. mlx-community/Qwen2.5-Coder-7B-Instruct-4bit.');

  const ac = new AbortController();
  const onSigint = () => ac.abort();
  const external = io.signal;
  external?.addEventListener('abort', onSigint, { once: true });
  if (!io.signal) process.once('SIGINT', onSigint);
  const progress = progressPrinter(io);
  try {
    const r = await pullModel({ repoId, revision: values.revision as string | undefined, env: io.env, fetch: io.fetch, signal: ac.signal, onProgress: progress.update });
    progress.finish();
    if (values.json) io.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else {
      const how = r.alreadyComplete ? 'Already complete' : `Pulled ${formatGB(r.downloadedBytes)}${r.resumedBytes ? ` (resumed after ${formatGB(r.resumedBytes)})` : ''}`;
      io.stdout.write(`✓ ${how}: ${repoId} @ ${r.commit.slice(0, 12)}, ${formatGB(r.totalBytes)} in ${tildePath(r.snapshotPath, io.env)}\n`);
    }
    return EXIT.ok;
  } catch (err) {
    progress.finish();
    if (err instanceof CancelledError) {
      const kept = (await scanCachedModel(repoId, { env: io.env }).catch(() => undefined))?.partialBytes ?? 0;
      io.stderr.write(`Stopped.${kept ? ` ${formatGB(kept)} kept:` : ''} run the same command to resume.\n`);
    }
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
    external?.removeEventListener('abort', onSigint);
  }
}

/** A self-rewriting line on a TTY; otherwise a plain line per file and every 10%. */
function progressPrinter(io: ModelsIO): { update: (p: PullProgress) => void; finish: () => void } {
  const tty = Boolean(io.stderr.isTTY);
  let lastDraw = 0;
  let lastFile = '';
  let lastTenth = -1;
  let drawn = false;
  const t0 = Date.now();
  let startBytes = -1;
  return {
    update(p) {
      if (p.phase === 'resolving' && !tty) io.stderr.write('Resolving the repo on the Hub…\n');
      if (p.phase !== 'downloading' || !p.total) return;
      if (startBytes < 0) startBytes = p.bytes - (p.fileBytes ?? 0);
      const pct = Math.floor((p.bytes / p.total) * 100);
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && p.bytes < p.total) return;
        lastDraw = now;
        const secs = (now - t0) / 1000;
        const rate = secs > 0.5 ? (p.bytes - startBytes) / secs : 0;
        const eta = rate > 0 ? Math.round((p.total - p.bytes) / rate) : undefined;
        const width = 24;
        const bar = '█'.repeat(Math.round((pct / 100) * width)).padEnd(width, '░');
        const line = `${bar} ${String(pct).padStart(3)}%  ${formatGB(p.bytes)} / ${formatGB(p.total)}${rate ? `  ${formatGB(rate)}/s` : ''}${eta !== undefined ? `  ${eta}s left` : ''}  ${p.file ?? ''}`;
        io.stderr.write(`\r\x1b[2K${line.slice(0, Math.max(20, ((io.stdout.columns ?? 100) as number) - 1))}`);
        drawn = true;
      } else {
        if (p.file && p.file !== lastFile) {
          lastFile = p.file;
          io.stderr.write(`Downloading ${p.file} (${formatGB(p.fileTotal ?? 0)}), file ${p.fileIndex}/${p.fileCount}\n`);
        }
        const tenth = Math.floor(pct / 10);
        if (tenth > lastTenth) {
          lastTenth = tenth;
          io.stderr.write(`  ${pct}%  ${formatGB(p.bytes)} / ${formatGB(p.total)}\n`);
        }
      }
    },
    finish() {
      if (drawn) io.stderr.write('\n');
      drawn = false;
    },
  };
}

// ------------------------------------------------------------------------------------ rm

async function remove(args: string[], io: ModelsIO): Promise<number> {
  const { values, positionals } = parse(args, { yes: { type: 'boolean', short: 'y' }, json: { type: 'boolean' } }, true);
  if (values.help) return help(io);
  const repoId = positionals[0];
  if (!repoId || positionals.length > 1) throw new UsageError('`models rm` takes one repo id.', 'e.g. `aider-mlx models rm mlx-community/Qwen2.5-Coder-7B-Instruct-4bit`');
  if (!isRepoId(repoId)) throw new UsageError(`"${repoId}" is not a Hugging Face repo id.`);
  const found = await scanCachedModel(repoId, { env: io.env });
  if (!found) {
    throw new AppError(`${repoId} is not in the cache (${tildePath(hubCacheDir(io.env), io.env)}).`, 'Run `aider-mlx models --offline` to list what is cached.');
  }
  if (!values.yes) {
    if (!io.interactive) throw new UsageError(`Removing ${repoId} needs a confirmation, and there is no terminal to ask.`, 'Pass --yes to remove it without asking.');
    const { terminalAsker } = await import('../tools/ask.js');
    const yes = await terminalAsker(io.stdin, io.stderr as NodeJS.WritableStream).confirm(
      `Delete ${repoId} (${formatGB(found.sizeOnDisk)}) from ${tildePath(found.path, io.env)}?`,
    );
    if (!yes) {
      io.stderr.write('Nothing removed.\n');
      return EXIT.ok;
    }
  }
  const freed = await removeCachedModel(repoId, { env: io.env });
  if (values.json) io.stdout.write(`${JSON.stringify({ removed: repoId, freedBytes: freed })}\n`);
  else io.stdout.write(`✓ Removed ${repoId}, ${formatGB(freed)} freed.\n`);
  return EXIT.ok;
}

async function help(io: ModelsIO): Promise<number> {
  io.stdout.write((await import('../help.js')).commandHelp('models'));
  return EXIT.ok;
}
