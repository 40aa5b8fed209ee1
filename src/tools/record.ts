/**
 * What `install` put on this machine, one entry per tool, in `installed.json` under our data
 * folder: uninstall undoes exactly these (uv and pipx installs by their own uninstall command).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as z from 'zod/mini';
import { atomicWriteFile } from '../lib/fs.js';

export const installRecordSchema = z.object({
  /** Distribution name: mlx-lm, litellm, aider-chat. */
  package: z.string().check(z.minLength(1)),
  requirement: z.string().check(z.minLength(1)),
  method: z.enum(['uv', 'pipx', 'venv']),
  version: z.optional(z.string()),
  /** Absolute path of the console script the tool runs as. */
  bin: z.optional(z.string()),
  /** venv: the venv folder (ours). */
  venv: z.optional(z.string()),
  /** The uv or pipx executable used, so uninstall runs the same one. */
  manager: z.optional(z.string()),
  installedAt: z.string(),
});
export type InstallRecord = z.infer<typeof installRecordSchema>;

export async function readInstallRecord(path: string): Promise<InstallRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  try {
    const r = z.array(installRecordSchema).safeParse(JSON.parse(text));
    return r.success ? r.data : [];
  } catch {
    return [];
  }
}

/** Replace the entry of the same package (a reinstall), keep the rest. */
export async function addInstallRecord(path: string, record: InstallRecord): Promise<void> {
  const list = (await readInstallRecord(path)).filter((r) => r.package !== record.package);
  list.push(record);
  await mkdir(dirname(path), { recursive: true });
  await atomicWriteFile(path, JSON.stringify(list, null, 2) + '\n', 0o600);
}

/** The command that removes a uv or pipx install; none for our own venvs (the folder goes). */
export function uninstallCommand(r: InstallRecord): string[] | undefined {
  if (r.method === 'uv') return [r.manager ?? 'uv', 'tool', 'uninstall', r.package];
  if (r.method === 'pipx') return [r.manager ?? 'pipx', 'uninstall', r.package];
  return undefined;
}
