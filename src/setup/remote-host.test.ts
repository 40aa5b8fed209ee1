import { describe, expect, it } from 'vitest';
import { PLAN_VERSION, type Plan } from '../config/plan.js';
import { serverStartAdvice } from '../serve/remote.js';
import { nextSteps } from './run.js';
import { remoteChecks } from './verify.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const env = { HOME: '/home/u' };

function plan(host: string): Plan {
  return {
    version: PLAN_VERSION,
    mode: 'proxy',
    roles: { editor: { model: EDITOR, context: 32768, deployments: [{ host, port: 8080 }] } },
    proxy: { host: '127.0.0.1', port: 4000 },
    requestTimeout: 600,
    aider: { scope: 'project', dir: '/home/u/proj' },
  };
}

/** A command line that would bind mlx_lm.server to a network address. */
const EXPOSES = /mlx_lm\.server[^#;]*--host\s+10\.9\.9\.9/;

describe('setup with a server on another machine (--host 10.9.9.9)', () => {
  it('warns that the server is reached without authentication, with the tunnel that avoids it', () => {
    const [c, ...rest] = remoteChecks(plan('10.9.9.9'));
    expect(rest).toEqual([]);
    expect(c).toMatchObject({ status: 'warn' });
    expect(c!.title).toMatch(/10\.9\.9\.9:8080 .*without authentication/);
    expect(c!.fix).toContain('ssh -N -L 18080:127.0.0.1:8080 <you>@10.9.9.9');
    expect(remoteChecks(plan('127.0.0.1'))).toEqual([]);
    expect(remoteChecks(plan('localhost'))).toEqual([]);
  });

  it('next steps never bind mlx_lm.server to the network address: they open a tunnel', () => {
    const steps = nextSteps(plan('10.9.9.9'), env);
    for (const s of steps) expect(s).not.toMatch(EXPOSES);
    expect(steps[0]).toMatch(/^ssh -N -L 18080:127\.0\.0\.1:8080 <you>@10\.9\.9\.9 /);
    expect(steps[0]).toContain('--editor-port 18080');
    expect(nextSteps(plan('127.0.0.1'), env)[0]).toMatch(/^mlx_lm\.server --model \S+ --host 127\.0\.0\.1 --port 8080 /);
  });

  it('the start and restart advice in setup\'s fixes keeps a remote server on its own 127.0.0.1', () => {
    const remote = serverStartAdvice(EDITOR, { host: '10.9.9.9', port: 8080 }, { portFlag: '--editor-port' });
    expect(remote).not.toMatch(EXPOSES);
    expect(remote).toContain(`mlx_lm.server --model ${EDITOR} --port 8080`);
    expect(remote).toContain('ssh -N -L 18080:127.0.0.1:8080 <you>@10.9.9.9');
    expect(remote).toContain('--host 127.0.0.1 --editor-port 18080');
    expect(serverStartAdvice(EDITOR, { host: '127.0.0.1', port: 8080 })).toBe(`Start it in another terminal: mlx_lm.server --model ${EDITOR} --port 8080`);
    expect(serverStartAdvice(EDITOR, { host: '::1', port: 8080 })).toMatch(/--host ::1$/);
  });
});
