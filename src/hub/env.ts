import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Environment variables, passed in so tests never touch the real cache or token. */
export type HubEnv = Record<string, string | undefined>;

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

function home(env: HubEnv): string {
  return env.HOME || homedir();
}

/** `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface` (huggingface_hub constants). */
export function hfHome(env: HubEnv): string {
  if (env.HF_HOME) return expandHome(env.HF_HOME, env);
  const xdg = env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME, env) : join(home(env), '.cache');
  return join(xdg, 'huggingface');
}

/** The hub cache folder, in huggingface_hub's order of precedence. */
export function hubCacheDir(env: HubEnv): string {
  const explicit = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  return explicit ? expandHome(explicit, env) : join(hfHome(env), 'hub');
}

export function hubEndpoint(env: HubEnv): string {
  return (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

/** HF_TOKEN, else the file `huggingface-cli login` writes (`$HF_TOKEN_PATH` or `$HF_HOME/token`). */
export function hubToken(env: HubEnv): string | undefined {
  const fromEnv = (env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN)?.trim();
  if (fromEnv) return fromEnv;
  const file = env.HF_TOKEN_PATH ? expandHome(env.HF_TOKEN_PATH, env) : join(hfHome(env), 'token');
  try {
    const t = readFileSync(file, 'utf8').trim();
    return t || undefined;
  } catch {
    return undefined;
  }
}

/** `HF_HUB_OFFLINE=1` (or `TRANSFORMERS_OFFLINE`): no network lookups at all, like huggingface_hub. */
export function hubOffline(env: HubEnv): boolean {
  const v = (env.HF_HUB_OFFLINE ?? env.TRANSFORMERS_OFFLINE ?? '').toLowerCase();
  return ['1', 'on', 'yes', 'true'].includes(v);
}

function expandHome(p: string, env: HubEnv): string {
  return p === '~' ? home(env) : p.startsWith('~/') ? join(home(env), p.slice(2)) : p;
}

/** Shorten a path under $HOME to `~/…` for messages. */
export function tildePath(p: string, env: HubEnv): string {
  const h = home(env);
  return p === h ? '~' : p.startsWith(h + '/') ? '~' + p.slice(h.length) : p;
}

export const REPO_ID_RE = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

export function isRepoId(s: string): boolean {
  return REPO_ID_RE.test(s) && !s.split('/').some((p) => p === '.' || p === '..');
}

/** `org/name` → `models--org--name`, as huggingface_hub's `repo_folder_name`. */
export function repoFolderName(repoId: string): string {
  return ['models', ...repoId.split('/')].join('--');
}

/** `models--org--name` → `org/name`; undefined for datasets, spaces and foreign folders. */
export function repoIdFromFolder(folder: string): string | undefined {
  if (!folder.startsWith('models--')) return undefined;
  const parts = folder.slice('models--'.length).split('--');
  return parts.some((p) => !p) ? undefined : parts.join('/');
}

/** The files mlx_lm asks snapshot_download for (mlx_lm/utils.py `_download`). */
export const MLX_ALLOW_PATTERNS = [
  '*.json',
  'model*.safetensors',
  '*.py',
  'tokenizer.model',
  '*.tiktoken',
  'tiktoken.model',
  '*.txt',
  '*.jsonl',
  '*.jinja',
] as const;

/** Python fnmatch semantics (as huggingface_hub's filter_repo_objects): `*` also crosses `/`. */
export function fnmatch(path: string, pattern: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's').test(path);
}

export function matchesAny(path: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => fnmatch(path, p.endsWith('/') ? p + '*' : p));
}
