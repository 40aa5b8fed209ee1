import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isLocalPath } from '../config/plan.js';
import { homeDir, type Env } from '../lib/paths.js';
import { scanCachedModel } from '../hub/cache.js';
import { parseModelConfig } from '../hub/model-facts.js';

/**
 * `max_position_embeddings` of a model whose config.json is here (HF cache or local folder), so
 * the context written for Aider never exceeds what the model supports. Undefined when unknown.
 */
export async function maxContextFromCache(model: string, env: Env): Promise<number | undefined> {
  if (isLocalPath(model)) {
    const dir = model.startsWith('~') ? join(homeDir(env), model.slice(1)) : model;
    const text = await readFile(join(dir, 'config.json'), 'utf8').catch(() => undefined);
    return text ? parseModelConfig(JSON.parse(text)).maxContext : undefined;
  }
  const cached = await scanCachedModel(model, { env }).catch(() => undefined);
  return cached?.shape?.maxContext;
}
