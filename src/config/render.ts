import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Plan } from './plan.js';
import { renderContext, USAGE_MODULE, type RenderPaths } from './render-context.js';
import { renderJsonTemplate, renderYamlTemplate } from './template.js';
import { packageRoot } from '../lib/paths.js';

export { AIDER_FILES, aiderApiBase, maxOutputTokens, proxyBase, renderContext, type RenderPaths } from './render-context.js';

export interface RenderedFiles {
  litellm: string;
  conf: string;
  settings: string;
  metadata: string;
}

function template(name: string): string {
  return readFileSync(join(packageRoot(), 'templates', name), 'utf8');
}

const TEMPLATE_OF = { litellm: 'litellm.yaml', conf: 'aider.conf.yml', settings: 'aider.model.settings.yml', metadata: 'aider.model.metadata.json' } as const;

/**
 * The comment lines of a file's template, every mode's (trimmed; a line with a placeholder is left
 * out): the first is the header a file aider-mlx created starts with.
 */
export function templateComments(file: keyof typeof TEMPLATE_OF): string[] {
  return template(TEMPLATE_OF[file])
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => (l.startsWith('#') || l.startsWith('//')) && !l.includes('{{'));
}

/** Render every file from templates/ (before merging with what is on disk). */
export function renderFiles(plan: Plan, paths: RenderPaths): RenderedFiles {
  const ctx = renderContext(plan, paths);
  return {
    litellm: renderYamlTemplate(template('litellm.yaml'), ctx),
    conf: renderYamlTemplate(template('aider.conf.yml'), ctx),
    settings: renderYamlTemplate(template('aider.model.settings.yml'), ctx),
    metadata: renderJsonTemplate(template('aider.model.metadata.json'), ctx),
  };
}

/** Where the proxy finds the usage callback: next to its config (LiteLLM loads `module.name` from the config's folder). */
export function usageCallbackPath(litellmConfig: string): string {
  return join(dirname(litellmConfig), `${USAGE_MODULE}.py`);
}

/** The callback module, writing its turns to `turnsLog` (a JSON string is a valid Python string literal). */
export function renderUsageCallback(turnsLog: string): string {
  return template(`${USAGE_MODULE}.py`).replace('"{{turns_log}}"', () => JSON.stringify(turnsLog));
}
