import { join } from 'node:path';
import { AIDER_FILES } from './render.js';

/** The arguments that make aider read only the isolated profile. */
export function profileArgs(profileDir: string): string[] {
  return [
    '--config', join(profileDir, AIDER_FILES.conf),
    '--model-settings-file', join(profileDir, AIDER_FILES.settings),
    '--model-metadata-file', join(profileDir, AIDER_FILES.metadata),
  ];
}
