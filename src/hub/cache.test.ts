import { mkdirSync, writeFileSync, rmSync, linkSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeCachedRepo, mlxFiles, tempCacheDir } from '../../test/stand-in-hub/cache-fixtures.js';
import { removeCachedModel, scanCache, scanCachedModel } from './cache.js';

const env = (cacheDir: string) => ({ HF_HUB_CACHE: cacheDir, HOME: '/nonexistent' });

describe('scanCache', () => {
  it('reports a missing cache folder without failing', async () => {
    const scan = await scanCache({ env: env('/nonexistent/hub') });
    expect(scan).toEqual({ cacheDir: '/nonexistent/hub', exists: false, models: [] });
  });

  it('lists a complete MLX model with size, revision and config facts', async () => {
    const dir = tempCacheDir();
    makeCachedRepo(dir, 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', { files: mlxFiles(), commit: 'a'.repeat(40) });
    mkdirSync(join(dir, 'datasets--x--y')); // not a model
    const { models } = await scanCache({ env: env(dir) });
    expect(models).toHaveLength(1);
    const m = models[0]!;
    expect(m).toMatchObject({
      repoId: 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit',
      revision: 'a'.repeat(40),
      status: 'complete',
      has: { config: true, weights: true, tokenizer: true, chatTemplate: true },
      problems: [],
      mlx: true,
      weightsBytes: 4096,
      shape: { layers: 28, kvHeads: 4, headDim: 128, quantBits: 4 },
      name: { paramsB: 7, quantBits: 4 },
    });
    expect(m.sizeOnDisk).toBeGreaterThan(4096);
  });

  it('counts a blob once even when hard-linked or linked from two snapshots', async () => {
    const dir = tempCacheDir();
    const storage = makeCachedRepo(dir, 'org/m', { files: mlxFiles() });
    const before = (await scanCachedModel('org/m', { env: env(dir) }))!.sizeOnDisk;
    const blob = readdirSync(join(storage, 'blobs'))[0]!;
    linkSync(join(storage, 'blobs', blob), join(storage, 'blobs', 'hardlink-copy'));
    expect((await scanCachedModel('org/m', { env: env(dir) }))!.sizeOnDisk).toBe(before);
  });

  it('checks every shard named in the index', async () => {
    const dir = tempCacheDir();
    const files = mlxFiles({ shards: 3 });
    delete files['model-00002-of-00003.safetensors'];
    makeCachedRepo(dir, 'org/sharded', { files });
    const m = (await scanCachedModel('org/sharded', { env: env(dir) }))!;
    expect(m.status).toBe('incomplete');
    expect(m.has.weights).toBe(false);
    expect(m.problems.join(' ')).toContain('model-00002-of-00003.safetensors');
  });

  it('checks shards by name when there is no index', async () => {
    const dir = tempCacheDir();
    const files = mlxFiles({ shards: 2 });
    delete files['model.safetensors.index.json'];
    delete files['model-00001-of-00002.safetensors'];
    makeCachedRepo(dir, 'org/noindex', { files });
    expect((await scanCachedModel('org/noindex', { env: env(dir) }))!.has.weights).toBe(false);
  });

  it('accepts chat_template.jinja and tokenizer.model', async () => {
    const dir = tempCacheDir();
    const files = mlxFiles({ chatTemplate: false });
    delete files['tokenizer.json'];
    files['tokenizer.model'] = 'spm';
    files['chat_template.jinja'] = '{{ x }}';
    makeCachedRepo(dir, 'org/jinja', { files });
    expect((await scanCachedModel('org/jinja', { env: env(dir) }))!.status).toBe('complete');
  });

  it('says what is missing: no chat template, no weights', async () => {
    const dir = tempCacheDir();
    const files = mlxFiles({ chatTemplate: false });
    delete files['model.safetensors'];
    makeCachedRepo(dir, 'org/base', { files });
    const m = (await scanCachedModel('org/base', { env: env(dir) }))!;
    expect(m.status).toBe('incomplete');
    expect(m.problems.join(' ')).toMatch(/weights.*chat template/);
  });

  it('lists broken and half-downloaded entries instead of failing', async () => {
    const dir = tempCacheDir();
    makeCachedRepo(dir, 'org/dangling', { files: mlxFiles(), danglingFiles: ['model.safetensors'] });
    makeCachedRepo(dir, 'org/interrupted', { files: { 'config.json': '{}' }, noSnapshot: true, ref: false, incompleteBytes: 1000 });
    const badRef = makeCachedRepo(dir, 'org/badref', { files: mlxFiles() });
    writeFileSync(join(badRef, 'refs', 'main'), 'f'.repeat(40));
    const badJson = makeCachedRepo(dir, 'org/badjson', { files: { ...mlxFiles(), 'config.json': '{nope' } });
    mkdirSync(join(dir, 'models--org--empty'));
    const noRef = makeCachedRepo(dir, 'org/noref', { files: mlxFiles(), ref: false });
    // A file where a folder should be: unreadable snapshots/
    const weird = join(dir, 'models--org--weird');
    mkdirSync(weird);
    writeFileSync(join(weird, 'snapshots'), 'not a folder');

    const { models } = await scanCache({ env: env(dir) });
    const by = Object.fromEntries(models.map((m) => [m.repoId, m]));
    expect(by['org/dangling']).toMatchObject({ status: 'broken' });
    expect(by['org/dangling']!.problems.join()).toContain('missing blobs for model.safetensors');
    expect(by['org/interrupted']).toMatchObject({ status: 'incomplete', partialBytes: 1000 });
    expect(by['org/interrupted']!.problems.join()).toContain('models pull');
    expect(by['org/badref']).toMatchObject({ status: 'broken' });
    expect(by['org/badjson']).toMatchObject({ status: 'incomplete', has: { config: false } });
    expect(by['org/badjson']!.problems.join()).toContain('config.json is not valid JSON');
    expect(by['org/empty']).toMatchObject({ status: 'incomplete', sizeOnDisk: 0 });
    expect(by['org/noref']).toMatchObject({ status: 'complete' });
    expect(by['org/noref']!.problems).toEqual(['no refs/main: using the newest snapshot']);
    expect(by['org/weird']!.status).not.toBe('complete');
    void noRef;
  });

  it('reads real files in snapshots (caches made without symlinks)', async () => {
    const dir = tempCacheDir();
    const storage = join(dir, 'models--org--copied');
    const snap = join(storage, 'snapshots', 'c'.repeat(40));
    mkdirSync(snap, { recursive: true });
    for (const [p, c] of Object.entries(mlxFiles())) writeFileSync(join(snap, p), c);
    const m = (await scanCachedModel('org/copied', { env: env(dir) }))!;
    expect(m.status).toBe('complete');
    expect(m.sizeOnDisk).toBeGreaterThan(4096);
  });
});

describe('removeCachedModel', () => {
  it('deletes the repo folder and its locks, and reports the bytes', async () => {
    const dir = tempCacheDir();
    const storage = makeCachedRepo(dir, 'org/gone', { files: mlxFiles() });
    mkdirSync(join(dir, '.locks', 'models--org--gone'), { recursive: true });
    const freed = await removeCachedModel('org/gone', { env: env(dir) });
    expect(freed).toBeGreaterThan(4096);
    expect(readdirSync(dir)).toEqual(['.locks']);
    expect(readdirSync(join(dir, '.locks'))).toEqual([]);
    expect(await removeCachedModel('org/gone', { env: env(dir) })).toBe(0);
    void storage;
  });
  it('refuses anything but a repo id', async () => {
    await expect(removeCachedModel('../etc', { env: env('/tmp/x') })).rejects.toThrow(/not a repo id/);
    rmSync('/tmp/x', { recursive: true, force: true });
  });
});
