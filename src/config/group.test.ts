import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chooseParallel, groupIsLocal, launchArgs, launchHostfile, refusedGroupArgs, ringHostfile } from './group.js';
import { describeZodError, planSchema, type Group } from './plan-schema.js';
import { PLAN_VERSION, type Plan } from './plan.js';
import { planToYaml } from './plan-file.js';
import { renderFiles } from './render.js';
import { groupParallel, readGroupModelFacts } from '../serve/group.js';

const MODEL = 'mlx-community/Qwen2.5-Coder-32B-Instruct-4bit';

function plan(deployment: Record<string, unknown>): unknown {
  return {
    version: PLAN_VERSION,
    mode: 'proxy',
    roles: { editor: { model: MODEL, context: 32768, deployments: [deployment] } },
    proxy: { host: '127.0.0.1', port: 4000 },
    requestTimeout: 600,
    aider: { scope: 'project', dir: '/repo' },
  };
}

/** The first problem zod finds, as the user reads it (or 'ok'). */
function check(deployment: Record<string, unknown>): string {
  const r = planSchema.safeParse(plan(deployment));
  return r.success ? 'ok' : describeZodError(r.error);
}

const macs = (n: number) => Array.from({ length: n }, (_, i) => ({ ssh: `mac${i + 1}.local`, address: `192.168.2.${i + 1}` }));

describe('a group in the plan', () => {
  it('accepts N hosts (2, 3, 4): on this Mac, and across Macs', () => {
    expect(check({ host: '127.0.0.1', port: 8080, group: { hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }] } })).toBe('ok');
    for (const n of [2, 3, 4]) {
      expect(check({ host: 'mac1.local', port: 8080, group: { hosts: macs(n), backend: 'ring', parallel: 'tensor', ringPort: 29500 } })).toBe('ok');
    }
    // Rank 0 may also be reached on its ring address.
    expect(check({ host: '192.168.2.1', port: 8080, group: { hosts: macs(2) } })).toBe('ok');
  });

  it('survives a round trip through plan.yaml', () => {
    const p = plan({ host: 'mac1.local', port: 8080, group: { hosts: macs(3), parallel: 'pipeline', ringPort: 29500 } });
    const again = planSchema.parse(parse(planToYaml(planSchema.parse(p))));
    expect(again.roles.editor.deployments[0]!.group).toEqual({ hosts: macs(3), parallel: 'pipeline', ringPort: 29500 });
  });

  it('refuses each pitfall with a plain message', () => {
    const two = [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }];
    expect(check({ host: '127.0.0.1', port: 8080, group: { hosts: [{ ssh: 'localhost' }, { ssh: '127.0.0.1' }] } })).toBe(
      'roles.editor.deployments.0.group.hosts.0.ssh: "localhost" is not accepted for a host of a group: mlx.launch treats it as another machine (it tries ssh and the ring needs an address); write 127.0.0.1 for this Mac',
    );
    expect(check({ host: '127.0.0.1', port: 8080, group: { hosts: [{ ssh: 'LOCALHOST' }, { ssh: '127.0.0.1' }] } })).toMatch(/"localhost" is not accepted/);
    expect(check({ host: '127.0.0.1', port: 8080, group: { hosts: [{ ssh: '127.0.0.1' }] } })).toMatch(/a group has at least two hosts/);
    expect(check({ host: 'mac1.local', port: 8080, group: { hosts: [{ ssh: 'mac1.local' }, { ssh: 'mac2.local', address: '192.168.2.2' }] } })).toMatch(
      /host mac1\.local has no address: the ring backend needs each rank's IPv4 address/,
    );
    expect(check({ host: '127.0.0.1', port: 8080, group: { hosts: [{ ssh: '127.0.0.1' }, { ssh: 'mac2.local', address: '192.168.2.2' }] } })).toMatch(
      /mixes 127\.0\.0\.1 with other machines/,
    );
    expect(check({ host: 'mac2.local', port: 8080, group: { hosts: macs(2) } })).toMatch(/^roles\.editor\.deployments\.0\.host: a group answers on its first host \(rank 0\): host must be mac1\.local or 192\.168\.2\.1, not mac2\.local$/);
    expect(check({ host: '127.0.0.1', port: 8080, group: { hosts: two, backend: 'mpi' } })).toMatch(/group\.backend/);
    expect(check({ host: '127.0.0.1', port: 8080, group: { hosts: two, backend: 'jaccl' } })).toMatch(/jaccl needs a Thunderbolt 5 link/);
    expect(check({ host: 'mac1.local', port: 8080, group: { hosts: macs(2), backend: 'jaccl' } })).toMatch(/jaccl: host mac1\.local needs rdma, a list of 2 device names/);
    const rdma = [{ ...macs(2)[0], rdma: [null, 'rdma_en3'] }, { ...macs(2)[1], rdma: ['rdma_en3', null] }];
    expect(check({ host: 'mac1.local', port: 8080, group: { hosts: rdma, backend: 'jaccl' } })).toBe('ok');
    expect(check({ host: 'mac1.local', port: 8080, group: { hosts: [rdma[0], { ...rdma[1], rdma: ['rdma_en3', 'x'] }], backend: 'jaccl' } })).toMatch(/rdma entry for itself \(position 2\) must be null/);
    expect(check({ host: 'mac1.local', port: 8080, group: { hosts: macs(4), ringPort: 65534 } })).toMatch(/ringPort 65534 leaves no room for 4 ranks/);
    expect(check({ host: 'mac1.local', port: 8080, group: { hosts: [{ ssh: 'mac1.local', address: 'mac1' }, macs(2)[1]] } })).toMatch(/is an IPv4 address/);
    expect(check({ host: '127.0.0.1', port: 8080, group: { hosts: [{ ssh: '127.0.0.1:29500' }, { ssh: '127.0.0.1' }] } })).toMatch(/the ring ports are set with ringPort/);
  });
});

describe('hostfiles for N hosts', () => {
  it("the ring's own: one [ip:port] per rank", () => {
    const g: Group = { hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }] };
    expect(JSON.stringify(ringHostfile(g, [29520, 29521]))).toBe('[["127.0.0.1:29520"],["127.0.0.1:29521"]]');
    expect(ringHostfile({ hosts: macs(3) }, [1, 2, 3])).toEqual([['192.168.2.1:1'], ['192.168.2.2:2'], ['192.168.2.3:3']]);
    expect(() => ringHostfile(g, [1])).toThrow(/2 ranks, 1 ports/);
  });
  it("mlx.launch's: ssh and ips per rank, rdma for jaccl; the launcher's arguments", () => {
    expect(launchHostfile({ hosts: [{ ssh: 'mac1.local', address: '10.0.0.1' }, { ssh: '10.0.0.2' }] })).toEqual([
      { ssh: 'mac1.local', ips: ['10.0.0.1'] },
      { ssh: '10.0.0.2', ips: ['10.0.0.2'] },
    ]);
    const j: Group = { backend: 'jaccl', hosts: [{ ssh: 'a', address: '10.0.0.1', rdma: [null, 'rdma_en3'] }, { ssh: 'b', address: '10.0.0.2', rdma: ['rdma_en3', null] }] };
    expect(launchHostfile(j)[1]).toEqual({ ssh: 'b', ips: ['10.0.0.2'], rdma: ['rdma_en3', null] });
    expect(launchArgs({ hosts: macs(2) }, '/s/h.json', ['/v/bin/mlx_lm.server', '--model', 'm'])).toEqual([
      '--hostfile', '/s/h.json', '--backend', 'ring', '--starting-port', '32323', '--', '/v/bin/mlx_lm.server', '--model', 'm',
    ]);
    expect(launchArgs({ ...j, ringPort: 5000 }, 'h', ['s'])).toEqual(['--hostfile', 'h', '--backend', 'jaccl', '--starting-port', '5000', '--', 's']);
  });
  it('only a group of 127.0.0.1 ranks is started without the launcher', () => {
    expect(groupIsLocal({ hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }] })).toBe(true);
    expect(groupIsLocal({ hosts: macs(2) })).toBe(false);
  });
});

describe('tensor or pipeline, from what the model supports', () => {
  const qwen2 = { modelType: 'qwen2', attentionHeads: 40, kvHeads: 8, layers: 64, hasIndex: true };
  it('qwen2: tensor by default, pipeline when asked', () => {
    expect(chooseParallel(qwen2, 2)).toMatchObject({ ok: true, parallel: 'tensor' });
    expect(chooseParallel(qwen2, 4)).toMatchObject({ ok: true, parallel: 'tensor' });
    expect(chooseParallel(qwen2, 2, 'pipeline')).toMatchObject({ ok: true, parallel: 'pipeline' });
  });
  it('heads that do not divide by the ranks: pipeline instead, or a plain refusal', () => {
    // 8 KV heads on 3 ranks: tensor cannot, pipeline can.
    expect(chooseParallel(qwen2, 3)).toEqual({ ok: true, parallel: 'pipeline', note: 'pipeline parallel (tensor cannot: its 40 attention heads do not divide by 3 ranks)' });
    expect(chooseParallel(qwen2, 3, 'tensor')).toEqual({ ok: false, problem: 'tensor parallel cannot split this model over 3 ranks: its 40 attention heads do not divide by 3 ranks; parallel: pipeline would work' });
    // One KV head on two ranks (loads, then dies on the first request).
    expect(chooseParallel({ ...qwen2, kvHeads: 1, hasIndex: false }, 2)).toEqual({
      ok: false,
      problem: 'this model cannot be split over 2 ranks: tensor parallel: its 1 KV heads do not divide by 2 ranks; pipeline parallel: it has no model.safetensors.index.json (pipeline parallel reads it to find each rank\'s layers)',
    });
  });
  it('llama and qwen3: tensor only; an unknown type: neither', () => {
    for (const modelType of ['llama', 'qwen3']) {
      expect(chooseParallel({ ...qwen2, modelType }, 2)).toMatchObject({ ok: true, parallel: 'tensor' });
      expect(chooseParallel({ ...qwen2, modelType }, 2, 'pipeline')).toEqual({
        ok: false,
        problem: `pipeline parallel cannot split this model over 2 ranks: mlx-lm has no pipeline parallel for ${modelType} models; parallel: tensor would work`,
      });
    }
    expect(chooseParallel({ ...qwen2, modelType: 'phi3' }, 2)).toMatchObject({ ok: false, problem: expect.stringMatching(/no tensor parallel for phi3 models; pipeline parallel: mlx-lm has no pipeline parallel for phi3/) });
  });
  it('pipeline needs at least a layer per rank', () => {
    expect(chooseParallel({ ...qwen2, layers: 2 }, 4, 'pipeline')).toMatchObject({ ok: false, problem: expect.stringMatching(/its 2 layers are fewer than the 4 ranks/) });
  });
  it('adapters and draft models are refused', () => {
    expect(refusedGroupArgs(['--model', 'm', '--draft-model', 'd'])).toMatch(/--draft-model cannot be used with a group/);
    expect(refusedGroupArgs(['--adapter-path=a'])).toMatch(/--adapter-path cannot be used with a group/);
    expect(refusedGroupArgs(['--model', 'm', '--pipeline'])).toBeUndefined();
  });
  it("reads the facts from the model's folder (a local path)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'group-model-'));
    const env = { HOME: dir };
    mkdirSync(join(dir, 'm'));
    writeFileSync(join(dir, 'm', 'config.json'), JSON.stringify({ model_type: 'qwen2', num_attention_heads: 4, num_key_value_heads: 1, num_hidden_layers: 2 }));
    expect(await readGroupModelFacts(join(dir, 'm'), env)).toEqual({ modelType: 'qwen2', attentionHeads: 4, kvHeads: 1, layers: 2, hasIndex: false });
    const g: Group = { hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }] };
    expect(await groupParallel(join(dir, 'm'), g, env)).toMatchObject({ ok: false, problem: expect.stringMatching(/1 KV heads do not divide by 2 ranks/) });
    writeFileSync(join(dir, 'm', 'model.safetensors.index.json'), '{"weight_map": {}}');
    expect(await groupParallel(join(dir, 'm'), g, env)).toMatchObject({ ok: true, parallel: 'pipeline' });
    expect(await groupParallel(join(dir, 'missing'), g, env)).toMatchObject({ ok: true, parallel: 'tensor', note: expect.stringMatching(/not on this Mac to check/) });
  });
});

describe('behind the proxy, unchanged for Aider', () => {
  const paths = { litellmConfig: '/c/litellm.yaml', aiderDir: '/repo', proxyKey: 'sk-aider-mlx-TESTKEY', aiderEnv: '/c/aider.env' };
  const one = planSchema.parse(plan({ host: '127.0.0.1', port: 8080 })) as Plan;
  const grouped = planSchema.parse(plan({ host: '127.0.0.1', port: 8080, group: { hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }], parallel: 'tensor' } })) as Plan;
  const remote = planSchema.parse(plan({ host: 'mac1.local', port: 8080, group: { hosts: macs(3) } })) as Plan;

  it('the Aider files for a group are those for one server (proxy and direct mode)', () => {
    for (const mode of ['proxy', 'direct'] as const) {
      const a = renderFiles({ ...one, mode }, paths);
      const b = renderFiles({ ...grouped, mode }, paths);
      expect(b.conf).toBe(a.conf);
      expect(b.settings).toBe(a.settings);
      expect(b.metadata).toBe(a.metadata);
      expect(b.litellm).toBe(a.litellm);
    }
  });
  it('a group is one deployment in the LiteLLM config: default_model at rank 0', () => {
    const lite = parse(renderFiles(remote, paths).litellm) as { model_list: Array<{ litellm_params: { model: string; api_base: string } }> };
    expect(lite.model_list).toHaveLength(1);
    expect(lite.model_list[0]!.litellm_params).toMatchObject({ model: 'openai/default_model', api_base: 'http://mac1.local:8080/v1' });
  });
});
