/**
 * The last mile, as a newcomer does it: `aider-mlx` (the built CLI) in a real pty on a machine where
 * mlx-lm, LiteLLM and aider are installed (stand-ins on PATH: `mlx_lm.server` runs our stand-in
 * server, `litellm` a stand-in proxy that forwards to it, `aider` records how it was run and sends a
 * real completion to the base its config names). Enter at every question: Aider runs in the
 * project with the written files, the servers answering; each model loaded once; `stop` afterwards
 * leaves nothing running. 8080, 8081, 8082 and 4000 are held meanwhile: the proposal must avoid them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Plan } from '../../src/config/plan.js';
import { isPortFree } from '../../src/servers/ports.js';
import { makeCachedRepo, mlxFiles } from '../stand-in-hub/cache-fixtures.js';
import { ptyAvailable, startEmulated, KEY, type Emulated } from './emulator.js';
import { runPiped, sandbox } from './helpers.js';
import { BIN, waitNoLeftovers } from './tmux.js';

const HERE = new URL('.', import.meta.url).pathname;
const runs: Emulated[] = [];
const roots: string[] = [];
const held: net.Server[] = [];
const stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s().catch(() => undefined);
  for (const r of runs.splice(0)) await r.stop();
  for (const h of held.splice(0)) await new Promise((r) => h.close(r));
  for (const d of roots.splice(0)) await rm(d, { recursive: true, force: true });
});

const describePty = ptyAvailable() ? describe : describe.skip;
/** A question waiting on the Ink face: its key-hint line. */
const HINT = /^(↑↓ move · Enter choose|↑↓ file · PgUp\/PgDn|Enter accept · Esc back|y\/n answer · Enter)/m;

/** Hold the usual ports when they are free (when not, someone else already does): not an HTTP server. */
async function holdUsualPorts(): Promise<void> {
  for (const port of [8080, 8081, 8082, 4000]) {
    const sockets = new Set<net.Socket>();
    const srv = net.createServer((c) => {
      sockets.add(c);
      c.on('close', () => sockets.delete(c));
      c.on('error', () => undefined);
      c.end('SSH-2.0-OpenSSH_9.6\r\n');
    });
    srv.on('close', () => undefined);
    const close = srv.close.bind(srv);
    srv.close = ((cb?: (err?: Error) => void) => {
      for (const c of sockets) c.destroy();
      return close(cb);
    }) as typeof srv.close;
    const ok = await new Promise<boolean>((r) => {
      srv.once('error', () => r(false));
      srv.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) held.push(srv);
  }
}

interface AiderRun {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  files: string[];
  conf: string;
  answer: { base: string; model: string; status?: number; body?: string; error?: string };
}

/** mlx_lm.server, litellm and aider on PATH (each a stand-in); a cached model for the proposal. */
function installedMachine(root: string, env: Record<string, string>) {
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  const starts = join(root, 'starts.txt');
  const record = join(root, 'aider-runs.jsonl');
  const node = process.execPath;
  writeFileSync(join(bin, 'mlx_lm.server'), `#!/bin/sh\necho "mlx_lm.server $*" >> '${starts}'\nexec '${node}' '${BIN}' fake-mlx-server "$@"\n`, { mode: 0o755 });
  writeFileSync(join(bin, 'litellm'), `#!/bin/sh\nexec '${node}' '${join(HERE, 'stand-ins', 'litellm.mjs')}' "$@"\n`, { mode: 0o755 });
  writeFileSync(join(bin, 'aider'), `#!/bin/sh\nexec '${node}' '${join(HERE, 'stand-ins', 'aider.mjs')}' "$@"\n`, { mode: 0o755 });
  // Downloaded already: the curated models of every memory tier, so whichever is proposed loads offline.
  const curated = readFileSync(join(HERE, '..', '..', 'data', 'curated-models.yaml'), 'utf8');
  for (const repo of new Set([...curated.matchAll(/repo: (\S+)/g)].map((x) => x[1]!))) makeCachedRepo(env.HF_HUB_CACHE!, repo, { files: mlxFiles() });
  return {
    env: { ...env, PATH: `${bin}:${env.PATH}`, STANDIN_STARTS: starts, STANDIN_RECORD: record },
    /** Each model server started, by its --port. */
    serverStarts(): string[] {
      let text = '';
      try {
        text = readFileSync(starts, 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter((l) => l.startsWith('mlx_lm.server '))
        .map((l) => /--port (\d+)/.exec(l)?.[1] ?? '?');
    },
    aiderRuns(): AiderRun[] {
      let text = '';
      try {
        text = readFileSync(record, 'utf8');
      } catch {
        return [];
      }
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AiderRun);
    },
  };
}

/** Press Enter whenever a question waits (its screen unchanged a moment), until `done`; the count. */
async function enterUntil(e: Emulated, done: () => boolean, o: { max: number; timeoutMs: number }): Promise<number> {
  const until = Date.now() + o.timeoutMs;
  let presses = 0;
  let last = '';
  let since = Date.now();
  let exited = false;
  void e.exited(o.timeoutMs).then(() => (exited = true), () => undefined);
  for (;;) {
    if (done() || exited) return presses;
    if (Date.now() > until) throw new Error(`no end after ${presses} Enters; screen:\n${e.screen().join('\n')}`);
    const now = e.screen().join('\n');
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since > 500 && HINT.test(now)) {
      if (++presses > o.max) throw new Error(`more than ${o.max} Enters; screen:\n${now}`);
      e.write(KEY.enter);
      last = '';
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

describePty('the last mile in a pty: from `aider-mlx` to Aider running', () => {
  it('Enter alone: the proposal, the write, "Start Aider now?"; aider runs in the project against answering servers; one start per server; stop leaves nothing', async () => {
    await holdUsualPorts();
    const s = await sandbox();
    roots.push(s.root);
    const m = installedMachine(s.root, s.env);
    stops.push(() => runPiped(['stop'], { env: m.env, cwd: s.project }));

    const e = await startEmulated([], { env: m.env, cwd: s.project, cols: 100, rows: 30 });
    runs.push(e);
    const presses = await enterUntil(e, () => m.aiderRuns().some((r) => !r.argv.includes('--message')), { max: 6, timeoutMs: 150_000 });
    expect(await e.exited(30_000), e.all().join('\n')).toBe(0);
    const screen = e.all().join('\n');
    expect(presses, screen).toBeLessThanOrEqual(4);
    // The proposal used what is installed: the proxy, and ports nobody else holds.
    expect(screen).toContain('Use this setup?');
    expect(screen).toContain('Start Aider now?');
    const plan = parse(readFileSync(join(s.home, '.config', 'aider-mlx', 'plan.yaml'), 'utf8')) as Plan;
    expect(plan.mode).toBe('proxy');
    const ports = [plan.proxy.port, ...Object.values(plan.roles).flatMap((r) => r?.deployments.map((d) => d.port) ?? [])];
    for (const p of [8080, 8081, 8082, 4000]) expect(ports).not.toContain(p);

    // Aider: in the project, with the written files, and the proxy they name answered a completion.
    const run = m.aiderRuns().filter((r) => !r.argv.includes('--message')).at(-1)!;
    expect(run.cwd).toBe(s.project);
    expect(run.files).toEqual(['.aider.conf.yml', '.aider.model.settings.yml', '.aider.model.metadata.json']);
    expect(run.conf).toBe(join(s.project, '.aider.conf.yml'));
    expect(run.env.HOME).toBe(s.home);
    expect(run.answer.base).toBe(`http://127.0.0.1:${plan.proxy.port}/v1`);
    expect(run.answer, JSON.stringify(run.answer)).toMatchObject({ status: 200 });
    expect(JSON.parse(run.answer.body!).choices).toHaveLength(1);

    // Each model loaded once: the server the wizard started and verified is the one that stays up.
    const starts = m.serverStarts();
    expect(starts.length).toBeGreaterThan(0);
    expect(new Set(starts).size, starts.join(', ')).toBe(starts.length);
    for (const p of starts) expect(await isPortFree('127.0.0.1', Number(p))).toBe(false);
    expect(await isPortFree('127.0.0.1', plan.proxy.port)).toBe(false);

    // `stop`: nothing of it runs any more.
    const stop = await runPiped(['stop'], { env: m.env, cwd: s.project });
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/Stopped aider-mlx serve \(pid \d+/);
    expect(await waitNoLeftovers(e.marker, 15_000)).toEqual([]);
    for (const p of [...starts.map(Number), plan.proxy.port]) expect(await isPortFree('127.0.0.1', p)).toBe(true);
  }, 240_000);
});
