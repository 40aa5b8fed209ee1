import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import JSON5 from 'json5';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderFiles } from './render.js';
import { PLAN_VERSION, type Plan } from './plan.js';

const GOLDEN = join(import.meta.dirname, '../../test/golden');

function plan(over: Partial<Plan> & { two?: boolean } = {}): Plan {
  const { two = true, ...rest } = over;
  return {
    version: PLAN_VERSION,
    mode: 'proxy',
    roles: {
      editor: { model: 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit', context: 32768, deployments: [{ host: '127.0.0.1', port: 8080 }] },
      ...(two ? { architect: { model: 'mlx-community/QwQ-32B-4bit', context: 32768, deployments: [{ host: '127.0.0.1', port: 8081 }] } } : {}),
    },
    proxy: { host: '127.0.0.1', port: 4000 },
    requestTimeout: 600,
    aider: { scope: 'project', dir: '/repo' },
    ...rest,
  };
}

const cases: Record<string, Plan> = {
  'proxy-two-models': plan(),
  'direct-two-models': plan({ mode: 'direct' }),
  'proxy-one-model-profile': plan({ two: false, aider: { scope: 'profile', dir: '/home/u/.config/aider-mlx/aider' } }),
  // Two Macs serve the editor: the proxy routes by session id, Aider sends one.
  'proxy-replicas': plan({
    roles: {
      editor: { model: 'mlx-community/Qwen2.5-Coder-14B-Instruct-4bit', context: 32768, deployments: [{ host: '127.0.0.1', port: 8080 }, { host: '127.0.0.1', port: 18080 }] },
    },
  }),
};

function golden(name: string, text: string) {
  const path = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  expect(text).toBe(readFileSync(path, 'utf8'));
}

describe('renderFiles golden files', () => {
  for (const [name, p] of Object.entries(cases)) {
    it(name, () => {
      const r = renderFiles(p, { litellmConfig: '/home/u/.config/aider-mlx/litellm.yaml', aiderDir: p.aider.dir, proxyKey: 'sk-aider-mlx-TESTKEY', aiderEnv: '/home/u/.config/aider-mlx/aider.env' });
      golden(`${name}/litellm.yaml`, r.litellm);
      golden(`${name}/.aider.conf.yml`, r.conf);
      golden(`${name}/.aider.model.settings.yml`, r.settings);
      golden(`${name}/.aider.model.metadata.json`, r.metadata);
    });
  }
});

describe('renderFiles wiring', () => {
  const paths = { litellmConfig: '/c/litellm.yaml', aiderDir: '/repo', proxyKey: 'sk-aider-mlx-TESTKEY', aiderEnv: '/c/aider.env' };

  it('proxy mode: every Aider name is openai/<a LiteLLM model_name>, upstream is default_model', () => {
    const r = renderFiles(plan(), paths);
    const lite = parse(r.litellm);
    const conf = parse(r.conf);
    const names = new Set(lite.model_list.map((e: { model_name: string }) => e.model_name));
    for (const key of ['model', 'editor-model', 'weak-model']) {
      expect(conf[key]).toMatch(/^openai\//);
      expect(names.has(conf[key].slice('openai/'.length))).toBe(true);
    }
    expect(conf.architect).toBe(true);
    for (const e of lite.model_list) {
      expect(e.litellm_params.model).toBe('openai/default_model');
      expect(e.litellm_params.api_base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      expect(e.litellm_params.max_tokens).toBeGreaterThan(512);
    }
    expect(conf['openai-api-base']).toBe('http://127.0.0.1:4000/v1');
  });

  it('settings and metadata are keyed by exactly the names Aider uses', () => {
    const r = renderFiles(plan(), paths);
    const conf = parse(r.conf);
    const used = new Set([conf.model, conf['editor-model'], conf['weak-model']]);
    const settings = parse(r.settings) as Array<{ name: string; extra_params: { api_base: string; max_tokens: number } }>;
    expect(new Set(settings.map((s) => s.name))).toEqual(used);
    expect(new Set(Object.keys(JSON5.parse(r.metadata)))).toEqual(used);
    for (const s of settings) expect(s.extra_params.api_base).toBe('http://127.0.0.1:4000/v1');
  });

  it('a reasoning architect gets reasoning_tag and the editor wiring; the editor does not', () => {
    const settings = parse(renderFiles(plan(), paths).settings) as Array<Record<string, unknown>>;
    const qwq = settings.find((s) => String(s.name).includes('qwq'))!;
    const coder = settings.find((s) => String(s.name).includes('coder'))!;
    expect(qwq.reasoning_tag).toBe('think');
    expect(qwq.editor_model_name).toBe(coder.name);
    expect(qwq.editor_edit_format).toBe('editor-diff');
    expect(coder.reasoning_tag).toBeUndefined();
    expect(coder.editor_model_name).toBeUndefined();
  });

  it('direct mode: Aider names carry the exact repo id and each its own server', () => {
    const r = renderFiles(plan({ mode: 'direct' }), paths);
    const settings = parse(r.settings) as Array<{ name: string; extra_params: { api_base: string } }>;
    const byName = Object.fromEntries(settings.map((s) => [s.name, s.extra_params.api_base]));
    expect(byName).toEqual({
      'openai/mlx-community/Qwen2.5-Coder-14B-Instruct-4bit': 'http://127.0.0.1:8080/v1',
      'openai/mlx-community/QwQ-32B-4bit': 'http://127.0.0.1:8081/v1',
    });
  });

  it('one model: no architect or editor-model keys at all', () => {
    const conf = parse(renderFiles(plan({ two: false }), paths).conf);
    expect(conf).not.toHaveProperty('architect');
    expect(conf).not.toHaveProperty('editor-model');
    expect(conf).not.toHaveProperty('model-settings-file');
    expect(conf['weak-model']).toBe(conf.model);
    // One server per model: no failover settings.
    expect(parse(renderFiles(plan({ two: false }), paths).litellm).router_settings).toEqual({ num_retries: 0 });
  });

  it('several deployments of one model share one model_name, and retries can fail over', () => {
    const p = plan({ two: false });
    p.roles.editor.deployments.push({ host: '127.0.0.1', port: 8090 });
    const lite = parse(renderFiles(p, paths).litellm);
    expect(lite.model_list.map((e: { model_name: string }) => e.model_name)).toEqual(['mlx-qwen2.5-coder-14b-instruct-4bit', 'mlx-qwen2.5-coder-14b-instruct-4bit']);
    expect(lite.router_settings).toMatchObject({ num_retries: 1, allowed_fails: 0, cooldown_time: 10 });
  });

  it('the written templates keep their comments', () => {
    const r = renderFiles(plan(), paths);
    expect(r.litellm).toContain('# `default_model` makes mlx_lm.server answer');
    expect(r.litellm).toContain('litellm --config /c/litellm.yaml --host 127.0.0.1 --port 4000');
    expect(r.conf).toContain('# Architect mode');
  });
});
