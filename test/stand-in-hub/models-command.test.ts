import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModelsCommand, type ModelsIO } from '../../src/commands/models.js';
import { CancelledError, UsageError } from '../../src/errors.js';
import { GiB } from '../../src/hub/fit.js';
import { makeCachedRepo, mlxFiles, tempCacheDir } from './cache-fixtures.js';
import { fakeMlxRepo, startStandInHub, type StandInHub } from './server.js';

const REPO = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
let hub: StandInHub;

beforeAll(async () => {
  hub = await startStandInHub({ repos: [fakeMlxRepo(REPO, { downloads: 1234, shardBytes: 300_000 }), fakeMlxRepo('mlx-community/QwQ-32B-4bit', { downloads: 99 })] });
});
afterAll(() => hub.close());

function io(extra: Partial<ModelsIO> & { cacheDir?: string; tty?: boolean; input?: string } = {}) {
  const cacheDir = extra.cacheDir ?? tempCacheDir();
  let out = '';
  let err = '';
  const ctx: Partial<ModelsIO> = {
    env: { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cacheDir, HOME: '/nonexistent', ...extra.env },
    stdout: { write: (s: string) => ((out += s), true), isTTY: extra.tty, columns: 120 },
    stderr: { write: (s: string) => ((err += s), true), isTTY: extra.tty },
    stdin: Readable.from([extra.input ?? '']) as unknown as ModelsIO['stdin'],
    interactive: extra.interactive ?? false,
    memory: { totalBytes: 32 * GiB, source: 'override', platform: 'darwin' },
    signal: extra.signal,
  };
  return { ctx, cacheDir, out: () => out, err: () => err };
}

describe('aider-mlx models', () => {
  it('--json lists cached and Hub models with sizes and fit labels', async () => {
    const t = io();
    makeCachedRepo(t.cacheDir, REPO, { files: mlxFiles() });
    expect(await runModelsCommand(['--json'], t.ctx)).toBe(0);
    const cat = JSON.parse(t.out());
    expect(cat.hubStatus.kind).toBe('ok');
    expect(cat.cached[0]).toMatchObject({ repoId: REPO, cached: { status: 'complete' }, fit: { label: 'fits' } });
    expect(cat.hub.map((e: { repoId: string }) => e.repoId)).toEqual([REPO, 'mlx-community/QwQ-32B-4bit']);
    expect(cat.hub[0].downloadBytes).toBeGreaterThan(600_000);
    expect(cat.hub[0].fit.arithmetic).toMatch(/→ fits$/);
    expect(cat.curated.tier.memory).toBe(32);
    expect(cat.curated.picks.length).toBeGreaterThan(0);
  });

  it('offline it still lists the cache and the curated picks, with a line about the Hub', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    const t = io({ env: { HF_ENDPOINT: `http://127.0.0.1:${port}` } });
    makeCachedRepo(t.cacheDir, REPO, { files: mlxFiles() });
    expect(await runModelsCommand([], t.ctx)).toBe(0);
    const text = t.out();
    // Prose is wrapped at the width (80 without a terminal): read it with its line breaks as spaces.
    expect(text.replace(/\s+/g, ' ')).toContain(`! The Hub was not reachable: The Hub search is unreachable (http://127.0.0.1:${port}: ECONNREFUSED).`);
    // ✓: cached and complete (the legend says so); its size on disk, then the fit.
    expect(text).toMatch(new RegExp(`✓ ${REPO.replace(/[.]/g, '\\.')} +\\d+ KB +fits `));
    expect(text).toContain('Curated for 32 GB');
    expect(text).toContain('editor + architect together:');
    expect(text).toMatch(/weights ~?[\d.]+ GB \+ prompt cache \d+ × KV/);
  });

  it('--offline does not touch the network; JSON says so', async () => {
    const t = io();
    const before = hub.requests.length;
    await runModelsCommand(['--offline', '--json', '--role', 'editor'], t.ctx);
    expect(hub.requests.length).toBe(before);
    const cat = JSON.parse(t.out());
    expect(cat.hubStatus.kind).toBe('offline');
    expect(cat.curated.picks.every((p: { role: string }) => p.role === 'editor' || p.role === 'single')).toBe(true);
  });

  it('--offline in text: one honest line about the Hub (not "not reachable"), the budget explained, words for fits', async () => {
    const t = io({ env: { HF_HUB_CACHE: tempCacheDir() }, });
    t.ctx.memory = { totalBytes: 8 * GiB, source: 'override', platform: 'linux' };
    await runModelsCommand(['--offline'], t.ctx);
    const text = t.out();
    expect(text).toContain('The Hub was not asked (--offline).');
    expect(text).not.toContain('not reachable');
    expect(text.replace(/\s+/g, ' ')).toMatch(/GPU budget [\d.]+ GB: the share of memory macOS lets the GPU use/);
    expect(text).not.toMatch(/\([^()]*\(/); // no nested parentheses
    expect(text).not.toContain('too-big');
    expect(text).not.toContain('this Mac');
  });

  it('rejects bad flags with the usage exit code', async () => {
    await expect(runModelsCommand(['--role', 'boss'], io().ctx)).rejects.toThrow(UsageError);
    await expect(runModelsCommand(['--nope'], io().ctx)).rejects.toThrow(UsageError);
    await expect(runModelsCommand(['frobnicate'], io().ctx)).rejects.toThrow(/Unknown models command/);
  });
});

describe('aider-mlx models: the text fits the terminal', () => {
  const FIT = /(?:fits|tight|too big) ≥?[\d.]+ [KMGT]?B @\d+k/g;
  // A long id (55): with a mark it just fits 60 columns (an id wider than the terminal stays whole:
  // it is what one copies into `models pull`).
  const LONG = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit-DWQ-lr9e-8';

  async function render(columns: number | undefined, extra: string[] = []) {
    const t = io();
    makeCachedRepo(t.cacheDir, REPO, { files: mlxFiles() });
    makeCachedRepo(t.cacheDir, LONG, { files: mlxFiles() });
    t.ctx.stdout = { ...t.ctx.stdout!, isTTY: columns !== undefined, columns };
    expect(await runModelsCommand(extra, t.ctx)).toBe(0);
    return t.out();
  }

  /** A table's rows: the lines that start with a model's mark (or a curated pick's role). */
  const rows = (text: string) => text.split('\n').filter((l) => /^ {2}(?:[✓!·] |(?:editor|architect|single|weak) +[✓!·] )mlx-community\//.test(l));

  for (const [columns, width] of [[undefined, 80], [80, 80], [60, 60]] as const) {
    it(`${columns === undefined ? 'without a terminal (80)' : `at ${columns} columns`}: every line fits, no cell is split across rows`, async () => {
      for (const extra of [[], ['--offline']]) {
        const text = await render(columns, extra);
        const lines = text.replace(/\n$/, '').split('\n');
        // Every line fits, but a command to copy (`$ …`), which is printed whole.
        for (const l of lines) if (!/^ *\$ /.test(l)) expect([...l].length, `${l}\n---\n${text}`).toBeLessThanOrEqual(width);
        // Each model's repo id and its fit cell whole on a line (a cell split by a wrap loses its unit).
        for (const id of [REPO, LONG]) expect(lines.some((l) => l.includes(`✓ ${id}`)), text).toBe(true);
        const models = rows(text).length + (text.match(/^ {2}[✓!·] mlx-community\/\S+$/gm) ?? []).length;
        expect(models, text).toBeGreaterThan(3);
        expect(text.match(FIT)?.length, text).toBeGreaterThanOrEqual(rows(text).length);
        expect(text).not.toMatch(/(?<!→ )(?:fits|tight|too big)\n|\n +≥?[\d.]+ [KMGT]?B @\d+k/);
        expect(text).toContain(`$ `);
      }
    });
  }

  it('at 80 columns every row of a table is one line, its columns aligned', async () => {
    const text = await render(80);
    const sections = text.split('\n\n');
    let tables = 0;
    for (const sec of sections) {
      const r = rows(sec);
      if (!r.length) continue;
      tables++;
      // One line a row: each has its fit cell, and the fit cells start at one column.
      for (const l of r) expect(l, sec).toMatch(FIT);
      for (const l of r) expect([...l].length, sec).toBeLessThanOrEqual(80);
      const at = r.map((l) => l.search(/(?:fits|tight|too big) ≥?[\d.]+/));
      expect(new Set(at).size, sec).toBe(1);
    }
    expect(tables, text).toBe(3);
  });
});

describe('aider-mlx models pull', () => {
  it('prints plain progress lines without a TTY, then where it went', async () => {
    const t = io();
    expect(await runModelsCommand(['pull', REPO], t.ctx)).toBe(0);
    expect(t.err()).toContain('Downloading model-00001-of-00002.safetensors');
    expect(t.err()).toMatch(/\n {2}100% {2}/);
    expect(t.err()).not.toContain('\r');
    expect(t.out()).toMatch(/^✓ Pulled .* mlx-community\/Qwen2\.5-Coder-7B-Instruct-4bit @ [0-9a-f]{12}, .* in .*\/snapshots\/[0-9a-f]{40}\n$/);
    const again = io({ cacheDir: t.cacheDir });
    await runModelsCommand(['pull', REPO], again.ctx);
    expect(again.out()).toMatch(/^✓ Already complete/);
  });

  it('redraws one line on a TTY', async () => {
    const t = io({ tty: true });
    await runModelsCommand(['pull', REPO], t.ctx);
    expect(t.err()).toContain('\r\x1b[2K');
    expect(t.err()).toMatch(/100%/);
  });

  it('stops on cancel, says the part is kept, and exits as cancelled', async () => {
    hub.behavior.stallAfterBytes = 50_000;
    try {
      const ac = new AbortController();
      const t = io({ signal: ac.signal });
      setTimeout(() => ac.abort(), 300);
      await expect(runModelsCommand(['pull', REPO], t.ctx)).rejects.toThrow(CancelledError);
      expect(t.err()).toMatch(/Stopped\. \d+ KB kept: run the same command to resume\./);
    } finally {
      hub.behavior.stallAfterBytes = undefined;
    }
  });

  it('needs one repo id', async () => {
    await expect(runModelsCommand(['pull'], io().ctx)).rejects.toThrow(UsageError);
    await expect(runModelsCommand(['pull', 'not a repo'], io().ctx)).rejects.toThrow(/not a Hugging Face repo id/);
  });
});

describe('aider-mlx models rm', () => {
  const storage = (dir: string) => join(dir, 'models--mlx-community--Qwen2.5-Coder-7B-Instruct-4bit');

  it('without a terminal it needs --yes, and says so', async () => {
    const t = io();
    makeCachedRepo(t.cacheDir, REPO, { files: mlxFiles() });
    const err = await runModelsCommand(['rm', REPO], t.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).tryThis).toContain('--yes');
    expect(existsSync(storage(t.cacheDir))).toBe(true);
    expect(await runModelsCommand(['rm', REPO, '--yes'], t.ctx)).toBe(0);
    expect(t.out()).toMatch(/^✓ Removed mlx-community\/Qwen2\.5-Coder-7B-Instruct-4bit, \d+ KB freed\.\n$/);
    expect(existsSync(storage(t.cacheDir))).toBe(false);
  });

  it('asks first on a terminal', async () => {
    const no = io({ interactive: true, input: 'n\n' });
    makeCachedRepo(no.cacheDir, REPO, { files: mlxFiles() });
    await runModelsCommand(['rm', REPO], no.ctx);
    expect(no.err()).toContain(`Delete ${REPO} (`);
    expect(no.err()).toContain('Nothing removed.');
    expect(existsSync(storage(no.cacheDir))).toBe(true);

    const yes = io({ interactive: true, input: 'y\n', cacheDir: no.cacheDir });
    await runModelsCommand(['rm', REPO], yes.ctx);
    expect(existsSync(storage(no.cacheDir))).toBe(false);
  });

  it('says when the repo is not cached', async () => {
    await expect(runModelsCommand(['rm', REPO, '--yes'], io().ctx)).rejects.toThrow(/is not in the cache/);
  });
});
