/** Hugging Face cache entries built by hand in temp folders, laid out as huggingface_hub does. */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { qwen7bConfig } from '../../src/hub/stand-in-hub.js';

export function tempCacheDir(prefix = 'hf-cache-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface FixtureOptions {
  files: Record<string, string | Buffer>;
  commit?: string;
  /** Write refs/main (default true). */
  ref?: boolean;
  /** Files whose blob is deleted after linking (a dangling symlink). */
  danglingFiles?: string[];
  /** Partial downloads left in blobs/. */
  incompleteBytes?: number;
  /** Skip the snapshot folder (an interrupted first download). */
  noSnapshot?: boolean;
}

export { qwen7bConfig };

/** A complete MLX model's files (tiny weights). */
export function mlxFiles(opts: { shards?: number; config?: object; chatTemplate?: boolean } = {}): Record<string, string | Buffer> {
  const shards = opts.shards ?? 1;
  const files: Record<string, string | Buffer> = {
    'config.json': JSON.stringify(opts.config ?? qwen7bConfig),
    'tokenizer.json': '{"model":{"type":"BPE"}}',
    'tokenizer_config.json': JSON.stringify(opts.chatTemplate === false ? {} : { chat_template: '{{ messages }}' }),
  };
  if (shards === 1) files['model.safetensors'] = Buffer.alloc(4096, 1);
  else {
    const names = Array.from({ length: shards }, (_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`);
    names.forEach((n, i) => (files[n] = Buffer.alloc(2048, i + 1)));
    files['model.safetensors.index.json'] = JSON.stringify({ weight_map: Object.fromEntries(names.map((n, i) => [`w${i}`, n])) });
  }
  return files;
}

export function makeCachedRepo(cacheDir: string, repoId: string, opts: FixtureOptions): string {
  const storage = join(cacheDir, ['models', ...repoId.split('/')].join('--'));
  const commit = opts.commit ?? createHash('sha1').update(repoId).digest('hex');
  mkdirSync(join(storage, 'blobs'), { recursive: true });
  const snap = join(storage, 'snapshots', commit);
  for (const [path, content] of Object.entries(opts.files)) {
    const buf = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const etag = path.endsWith('.safetensors')
      ? createHash('sha256').update(buf).digest('hex')
      : createHash('sha1').update(`blob ${buf.length}\0`).update(buf).digest('hex');
    const blob = join(storage, 'blobs', etag);
    writeFileSync(blob, buf);
    if (opts.noSnapshot) continue;
    const pointer = join(snap, path);
    mkdirSync(dirname(pointer), { recursive: true });
    symlinkSync(relative(dirname(pointer), blob), pointer);
    if (opts.danglingFiles?.includes(path)) unlinkSync(blob);
  }
  if (opts.incompleteBytes) writeFileSync(join(storage, 'blobs', `${'e'.repeat(64)}.incomplete`), Buffer.alloc(opts.incompleteBytes));
  if (opts.ref !== false) {
    mkdirSync(join(storage, 'refs'), { recursive: true });
    writeFileSync(join(storage, 'refs', 'main'), commit);
  }
  return storage;
}

