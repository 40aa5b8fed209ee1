/**
 * The cache scan's whole answer, frozen: a generated cache with every layout the scan meets
 * (symlinked and copied snapshots, refs and no refs, hard links, a link out of blobs/, dangling
 * links, incomplete blobs, nested files, sharded weights with and without an index, bad JSON, chat
 * templates in each place). test/fixtures/cache-scan/expected.json was written by the scan before
 * it was made faster; any change to what it reports shows here. Regenerate (only for an intended
 * change): UPDATE_CACHE_GOLDEN=1 npx vitest run src/hub/cache-golden.test.ts
 */
import { linkSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeCachedRepo, mlxFiles, tempCacheDir } from '../../test/stand-in-hub/cache-fixtures.js';
import { scanCache, scanCachedModel, type CachedModel } from './cache.js';

const GOLDEN = join(import.meta.dirname, '../../test/fixtures/cache-scan/expected.json');

function buildCache(dir: string): void {
  makeCachedRepo(dir, 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit', { files: mlxFiles(), commit: 'a'.repeat(40) });
  makeCachedRepo(dir, 'mlx-community/Sharded-14B-4bit', { files: mlxFiles({ shards: 3 }) });
  const missingShard = mlxFiles({ shards: 3 });
  delete missingShard['model-00002-of-00003.safetensors'];
  makeCachedRepo(dir, 'org/missing-shard', { files: missingShard });
  const noIndex = mlxFiles({ shards: 2 });
  delete noIndex['model.safetensors.index.json'];
  delete noIndex['model-00001-of-00002.safetensors'];
  makeCachedRepo(dir, 'org/noindex', { files: noIndex });
  const jinja = mlxFiles({ chatTemplate: false });
  delete jinja['tokenizer.json'];
  jinja['tokenizer.model'] = 'spm';
  jinja['chat_template.jinja'] = '{{ x }}';
  makeCachedRepo(dir, 'org/jinja', { files: jinja });
  const base = mlxFiles({ chatTemplate: false });
  delete base['model.safetensors'];
  makeCachedRepo(dir, 'org/base', { files: base });
  makeCachedRepo(dir, 'org/list-template', { files: { ...mlxFiles({ chatTemplate: false }), 'tokenizer_config.json': JSON.stringify({ chat_template: [{ name: 'default', template: 'x' }] }) } });
  makeCachedRepo(dir, 'org/empty-template', { files: { ...mlxFiles({ chatTemplate: false }), 'tokenizer_config.json': JSON.stringify({ chat_template: '  ' }) } });
  makeCachedRepo(dir, 'org/bad-tokcfg', { files: { ...mlxFiles({ chatTemplate: false }), 'tokenizer_config.json': '{"chat_template": ' } });
  const vocab: Record<string, string | Buffer> = { ...mlxFiles(), 'vocab.json': '{}', 'merges.txt': '' };
  delete vocab['tokenizer.json'];
  makeCachedRepo(dir, 'org/vocab-merges', { files: vocab });
  makeCachedRepo(dir, 'org/quantized-name', { files: mlxFiles({ config: { model_type: 'llama', num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, hidden_size: 256, quantization: { bits: 8, group_size: 32 } } }) });
  makeCachedRepo(dir, 'org/nested', { files: { ...mlxFiles(), 'sub/dir/extra.bin': Buffer.alloc(300, 7), 'chat_template.json': '{}' } });
  makeCachedRepo(dir, 'org/dangling', { files: mlxFiles(), danglingFiles: ['model.safetensors'] });
  makeCachedRepo(dir, 'org/dangling-partial', { files: mlxFiles(), danglingFiles: ['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json'], incompleteBytes: 77 });
  makeCachedRepo(dir, 'org/interrupted', { files: { 'config.json': '{}' }, noSnapshot: true, ref: false, incompleteBytes: 1000 });
  const badRef = makeCachedRepo(dir, 'org/badref', { files: mlxFiles() });
  writeFileSync(join(badRef, 'refs', 'main'), 'f'.repeat(40));
  const badRefPartial = makeCachedRepo(dir, 'org/badref-partial', { files: mlxFiles(), incompleteBytes: 5 });
  writeFileSync(join(badRefPartial, 'refs', 'main'), `${'e'.repeat(40)}\n`);
  makeCachedRepo(dir, 'org/badjson', { files: { ...mlxFiles(), 'config.json': '{nope' } });
  mkdirSync(join(dir, 'models--org--empty'));
  // Two snapshots, no refs/main: the newer one wins.
  const noRef = makeCachedRepo(dir, 'org/noref', { files: mlxFiles(), ref: false, commit: '1'.repeat(40) });
  makeCachedRepo(dir, 'org/noref', { files: { ...mlxFiles(), 'config.json': JSON.stringify({ model_type: 'qwen2', num_hidden_layers: 2 }) }, ref: false, commit: '2'.repeat(40) });
  utimesSync(join(noRef, 'snapshots', '1'.repeat(40)), new Date('2024-01-01'), new Date('2024-01-01'));
  utimesSync(join(noRef, 'snapshots', '2'.repeat(40)), new Date('2025-01-01'), new Date('2025-01-01'));
  const weird = join(dir, 'models--org--weird');
  mkdirSync(weird);
  writeFileSync(join(weird, 'snapshots'), 'not a folder');
  // Hard links and a blob linked from two snapshots: counted once.
  const hard = makeCachedRepo(dir, 'org/hardlinked', { files: mlxFiles(), commit: 'b'.repeat(40) });
  linkSync(join(hard, 'blobs', readdirSync(join(hard, 'blobs')).sort()[0]!), join(hard, 'blobs', 'hardlink-copy'));
  makeCachedRepo(dir, 'org/hardlinked', { files: mlxFiles(), commit: 'c'.repeat(40), ref: false });
  // A link that points outside blobs/ (to a file elsewhere) and one to a folder.
  const outside = makeCachedRepo(dir, 'org/outside-link', { files: mlxFiles() });
  const outsideFile = join(dir, 'elsewhere.bin');
  writeFileSync(outsideFile, Buffer.alloc(1234));
  const snap = join(outside, 'snapshots', readFileSync(join(outside, 'refs', 'main'), 'utf8'));
  symlinkSync(outsideFile, join(snap, 'extra.bin'));
  symlinkSync(join(outside, 'blobs'), join(snap, 'a-folder-link'));
  // A blob that is itself a symlink (not a regular file in blobs/).
  const linkedBlob = makeCachedRepo(dir, 'org/linked-blob', { files: { ...mlxFiles(), 'notes.txt': 'hello' } });
  symlinkSync(outsideFile, join(linkedBlob, 'blobs', 'f'.repeat(64)));
  symlinkSync(join('..', '..', 'blobs', 'f'.repeat(64)), join(linkedBlob, 'snapshots', readFileSync(join(linkedBlob, 'refs', 'main'), 'utf8'), 'via-linked-blob.bin'));
  // The snapshot folder itself a link (refs/main names a link to a real folder elsewhere), and a
  // repo whose snapshots/ folder is a link: the blobs' relative links resolve from where they are.
  const linkedSnap = makeCachedRepo(dir, 'org/linked-snapshot', { files: mlxFiles(), commit: 'd'.repeat(40) });
  const realSnap = join(linkedSnap, 'snapshots', 'd'.repeat(40));
  symlinkSync('d'.repeat(40), join(linkedSnap, 'snapshots', 'e'.repeat(40)));
  writeFileSync(join(linkedSnap, 'refs', 'main'), 'e'.repeat(40));
  void realSnap;
  const movedSnaps = makeCachedRepo(dir, 'org/linked-snapshots-folder', { files: mlxFiles(), commit: '9'.repeat(40) });
  const away = join(dir, 'away', 'snapshots');
  mkdirSync(join(dir, 'away'), { recursive: true });
  renameSync(join(movedSnaps, 'snapshots'), away);
  symlinkSync(away, join(movedSnaps, 'snapshots'));
  // Copied snapshot (no symlinks), with nested files.
  const copied = join(dir, 'models--org--copied', 'snapshots', 'c'.repeat(40));
  mkdirSync(join(copied, 'deep'), { recursive: true });
  for (const [p, c] of Object.entries(mlxFiles())) writeFileSync(join(copied, p), c);
  writeFileSync(join(copied, 'deep', 'x.txt'), 'x');
  // Not models.
  mkdirSync(join(dir, 'datasets--x--y'));
  mkdirSync(join(dir, '.locks'));
  writeFileSync(join(dir, 'version.txt'), '1');
}

function normalize(dir: string, models: CachedModel[]) {
  return models.map((m) => ({
    ...m,
    path: m.path.slice(dir.length),
    snapshotPath: m.snapshotPath?.slice(dir.length),
    lastModified: m.lastModified instanceof Date ? 'date' : m.lastModified,
  }));
}

describe('the cache scan answers as before', () => {
  it('the whole scan of a generated cache equals the frozen answer', async () => {
    const dir = tempCacheDir();
    buildCache(dir);
    const scan = await scanCache({ env: { HF_HUB_CACHE: dir, HOME: '/nonexistent' } });
    const got = normalize(dir, scan.models);
    expect(scan.exists).toBe(true);
    if (process.env.UPDATE_CACHE_GOLDEN === '1') writeFileSync(GOLDEN, `${JSON.stringify(got, null, 2)}\n`);
    const want = JSON.parse(readFileSync(GOLDEN, 'utf8'));
    expect(JSON.parse(JSON.stringify(got))).toEqual(want);
    // One repo by id gives the same entry as the full scan.
    const one = await scanCachedModel('org/outside-link', { env: { HF_HUB_CACHE: dir, HOME: '/nonexistent' } });
    expect(JSON.parse(JSON.stringify(normalize(dir, [one!])))).toEqual(want.filter((m: { repoId: string }) => m.repoId === 'org/outside-link'));
  });
});
