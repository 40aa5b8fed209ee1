import * as fs from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServedModel } from '../../config/names.js';
import type { Deployment, Group } from '../../config/plan.js';
import { groupChecks } from './group.js';

let dir: string;
let server: http.Server;
let port: number;
let health = 200;

beforeAll(async () => {
  dir = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-doctor-group-'));
  server = http.createServer((req, res) => {
    res.writeHead(req.url === '/health' ? health : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(health === 200 ? { status: 'ok' } : { status: 'unhealthy' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

function model(kvHeads: number): string {
  const m = join(dir, `m${kvHeads}`);
  fs.mkdirSync(m, { recursive: true });
  fs.writeFileSync(join(m, 'config.json'), JSON.stringify({ model_type: 'qwen2', num_attention_heads: 4, num_key_value_heads: kvHeads, num_hidden_layers: 2 }));
  return m;
}
const served = (m: string): ServedModel => ({ model: m, roles: ['editor'], modelName: 'mlx-m', aiderName: 'openai/mlx-m', upstream: 'default_model', deployments: [], context: 8192 });
const opts = { timeoutMs: 2000, deep: true };
const brief = (cs: Array<{ id: string; status: string; observed?: string }>) => cs.map((c) => `${c.status} ${c.id}${c.observed ? `: ${c.observed}` : ''}`);

describe('doctor: a group hop by hop', () => {
  const local: Group = { hosts: [{ ssh: '127.0.0.1' }, { ssh: '127.0.0.1' }] };
  it('on this Mac: the split and rank 0 healthy', async () => {
    health = 200;
    const d: Deployment & { group: Group } = { host: '127.0.0.1', port, group: local };
    expect(brief(await groupChecks(served(model(2)), d, 'editor', opts, { env: { HOME: dir }, cwd: dir }))).toEqual(['pass group.editor.split', 'pass group.editor.ranks']);
  });
  it('a model with one KV head and no index, and rank 0 at 503: both fail with the reason', async () => {
    health = 503;
    const d: Deployment & { group: Group } = { host: '127.0.0.1', port, group: local };
    expect(brief(await groupChecks(served(model(1)), d, 'editor', opts, { env: { HOME: dir }, cwd: dir }))).toEqual([
      "fail group.editor.split: this model cannot be split over 2 ranks: tensor parallel: its 1 KV heads do not divide by 2 ranks; pipeline parallel: it has no model.safetensors.index.json (pipeline parallel reads it to find each rank's layers)",
      'fail group.editor.ranks: rank 0 answers 503 on /health: a rank of the group is gone, so no completion can be generated',
    ]);
  });
  it('across Macs (--deep): ssh, the same mlx / mlx-lm and the model files on each', async () => {
    health = 200;
    const bin = join(dir, 'venv', 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(join(bin, 'mlx_lm.server'), '#!/bin/sh\n', { mode: 0o755 });
    const calls: string[][] = [];
    const exec = async (cmd: string, args: string[]) => {
      calls.push([cmd, ...args]);
      if (cmd !== 'ssh') return { code: 0, stdout: '0.32.4 0.32.2\n', stderr: '' };
      const host = args[4];
      const remote = args[5] ?? '';
      if (host === 'mac3.local') return { code: 255, stdout: '', stderr: 'ssh: connect to host mac3.local port 22: Connection refused\n' };
      if (remote === 'true') return { code: 0, stdout: '', stderr: '' };
      if (remote.includes('snapshot_download')) return host === 'mac1.local' ? { code: 0, stdout: '/Users/me/.cache/huggingface/hub/models--org--not-here/snapshots/abc\n', stderr: '' } : { code: 1, stdout: '', stderr: 'LocalEntryNotFoundError\n' };
      if (remote.includes('mlx.core')) return { code: 0, stdout: host === 'mac2.local' ? '0.31.0 0.30.1\n' : '0.32.4 0.32.2\n', stderr: '' };
      return { code: 1, stdout: '', stderr: '' };
    };
    const g: Group = { hosts: [{ ssh: 'mac1.local', address: '10.0.0.1' }, { ssh: 'mac2.local', address: '10.0.0.2' }, { ssh: 'mac3.local', address: '10.0.0.3' }] };
    const d = { host: '127.0.0.1', port, group: g };
    const env = { HOME: dir, PATH: bin };
    const checks = await groupChecks(served('org/not-here'), d, 'editor', opts, { env, cwd: dir, exec });
    expect(brief(checks)).toEqual([
      "warn group.editor.split: tensor parallel (the model's files are not on this Mac to check)",
      'pass group.editor.host.mac1.local.ssh',
      'pass group.editor.host.mac1.local.versions',
      'pass group.editor.host.mac1.local.files',
      'pass group.editor.host.mac2.local.ssh',
      'fail group.editor.host.mac2.local.versions: mlx, mlx-lm 0.31.0 0.30.1 on mac2.local; 0.32.4 0.32.2 here',
      'fail group.editor.host.mac2.local.files: org/not-here is not downloaded on mac2.local',
      'fail group.editor.host.mac3.local.ssh: ssh mac3.local failed: ssh: connect to host mac3.local port 22: Connection refused',
      'pass group.editor.ranks',
    ]);
    // One argument for the remote shell, quoted so it gets exactly this argv.
    expect(calls.find((c) => c[6]?.includes('mlx.core'))).toEqual([
      'ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', 'mac1.local', `${join(bin, 'python')} -c 'import mlx.core as m, mlx_lm as l; print(m.__version__, l.__version__)'`,
    ]);
    // Without --deep nothing is run over ssh.
    const quick = await groupChecks(served('org/not-here'), d, 'editor', { ...opts, deep: false }, { env, cwd: dir, exec });
    expect(brief(quick).filter((l) => l.includes('.host.'))).toEqual([
      'skip group.editor.host.mac1.local: not checked: runs ssh: use --deep',
      'skip group.editor.host.mac2.local: not checked: runs ssh: use --deep',
      'skip group.editor.host.mac3.local: not checked: runs ssh: use --deep',
    ]);
  });
});
