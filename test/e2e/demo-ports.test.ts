/**
 * `setup --demo` never adopts a server of the machine's: its stand-ins take free ports, even when
 * an mlx_lm.server serving the very model the demo picks already listens on 8080.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Plan } from '../../src/config/plan.js';
import { startFakeMlxServer, type FakeMlxServer } from '../../src/servers/fake-mlx-server.js';
import { cli, sandbox } from './helpers.js';

let squatter: FakeMlxServer | undefined;
afterAll(async () => {
  await squatter?.close();
});

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv: Server = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port }, () => srv.close(() => resolve(true)));
  });
}

const demoPlan = (dir: string) => parse(readFileSync(join(dir, 'home/.config/aider-mlx/plan.yaml'), 'utf8')) as Plan;

describe('setup --demo and a server already on 8080', () => {
  it('the demo\'s stand-ins take free ports; a machine\'s mlx_lm.server on 8080 is not used', async () => {
    const s = sandbox();
    const env = { ...s.env, CI: 'true', HF_HUB_OFFLINE: '1', HF_HUB_CACHE: join(s.root, 'hf') };
    // Which model does the demo pick with the defaults? (8080 may be free or not: either is fine.)
    const first = await cli(['setup', '--demo', '--demo-dir', join(s.root, 'demo1')], { cwd: s.repo, env, timeoutMs: 120_000 });
    expect(first.code, first.stderr).toBe(0);
    const model = demoPlan(join(s.root, 'demo1')).roles.editor.model;

    // Something holds 8080: our mlx_lm.server stand-in serving that model when the port is free,
    // or whatever already holds it on this machine.
    if (await isFree(8080)) squatter = await startFakeMlxServer({ port: 8080, model });
    const r = await cli(['setup', '--demo', '--demo-dir', join(s.root, 'demo2')], { cwd: s.repo, env, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const plan = demoPlan(join(s.root, 'demo2'));
    const ports = [...Object.values(plan.roles).flatMap((role) => role?.deployments.map((d) => d.port) ?? []), plan.proxy.port];
    expect(ports).not.toContain(8080);
    expect(r.stderr).not.toMatch(/running on 127\.0\.0\.1:8080|8080 \(mlx_lm\.server/);
    // (Requests the squatter saw are not checked: other processes on a shared machine probe 8080 too.)
  }, 300_000);
});
