/**
 * What the files should say, derived from the plan through the same render context setup writes
 * from (so the doctor and setup cannot disagree about a name or a base).
 */
import { join } from 'node:path';
import { familyOf } from '../config/families.js';
import { servedModels, type ServedModel } from '../config/names.js';
import type { Plan } from '../config/plan.js';
import { AIDER_FILES, aiderApiBase, maxOutputTokens, renderContext } from '../config/render-context.js';
import { configPaths, type Env } from '../lib/paths.js';

export interface ExpectedModel {
  served: ServedModel;
  aiderName: string;
  /** The api_base Aider should use for it. */
  apiBase: string;
  maxTokens: number;
  reasoning: boolean;
}

export interface Expectations {
  plan: Plan;
  models: ExpectedModel[];
  mainModel: string;
  editorModel?: string;
  weakModel: string;
  architect: boolean;
  openaiApiBase: string;
  /** The files setup writes Aider's settings into. */
  confPath: string;
  settingsPath: string;
  metadataPath: string;
  litellmPath: string;
}

export function expectations(plan: Plan, env: Env): Expectations {
  const paths = configPaths(env);
  const ctx = renderContext(plan, { litellmConfig: paths.litellm, aiderDir: plan.aider.dir });
  const models = servedModels(plan).map((m) => ({
    served: m,
    aiderName: m.aiderName,
    apiBase: aiderApiBase(plan, m),
    maxTokens: maxOutputTokens(m),
    reasoning: familyOf(m.model).reasoning,
  }));
  return {
    plan,
    models,
    mainModel: ctx.main_model,
    ...(ctx.editor_model ? { editorModel: ctx.editor_model } : {}),
    weakModel: ctx.weak_model,
    architect: ctx.architect === true,
    openaiApiBase: ctx.openai_api_base,
    confPath: join(plan.aider.dir, AIDER_FILES.conf),
    settingsPath: join(plan.aider.dir, AIDER_FILES.settings),
    metadataPath: join(plan.aider.dir, AIDER_FILES.metadata),
    litellmPath: paths.litellm,
  };
}

/** Deployment label used in check ids: `editor`, `editor+weak`, or `editor@8090` when a model has several servers. */
export function deploymentLabel(m: ServedModel, port: number): string {
  const roles = m.roles.join('+');
  return m.deployments.length > 1 ? `${roles}@${port}` : roles;
}

/** LiteLLM providers a model string may start with (the ones people use with local servers, and the big hosted ones). */
export const PROVIDERS = [
  'openai',
  'hosted_vllm',
  'lm_studio',
  'litellm_proxy',
  'ollama',
  'ollama_chat',
  'openai_like',
  'custom_openai',
  'text-completion-openai',
  'openrouter',
  'anthropic',
  'azure',
  'gemini',
  'vertex_ai',
  'bedrock',
  'groq',
  'deepseek',
  'mistral',
  'together_ai',
  'fireworks_ai',
  'xai',
  'cohere',
  'huggingface',
];

/** Aider knows some bare names itself (gpt-4o, sonnet, …); a local model needs a prefix. */
export function providerOf(model: string): string | undefined {
  const i = model.indexOf('/');
  if (i <= 0) return undefined;
  const p = model.slice(0, i);
  return PROVIDERS.includes(p) ? p : undefined;
}
