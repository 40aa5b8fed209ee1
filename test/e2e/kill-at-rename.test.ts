/**
 * All files or none, under SIGKILL: setup is killed at each rename it makes (strace's syscall
 * fault injection: the k-th rename gets a SIGKILL instead of running), and the next commands must
 * find the set either wholly old or wholly new — or notice the journal and put it in order — with
 * no temp file left anywhere.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeMlxServer, type FakeMlxServer } from '../../src/servers/fake-mlx-server.js';
import { freePorts } from '../../src/wizard/test-helpers.js';
import { BIN, cli, sandbox } from './helpers.js';

const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
const ARCHITECT = 'mlx-community/QwQ-32B-4bit';
const hasStrace = spawnSync('strace', ['-V']).status === 0;

let editor: FakeMlxServer;
let architect: FakeMlxServer;
beforeAll(async () => {
  editor = await startFakeMlxServer({ model: EDITOR });
  architect = await startFakeMlxServer({ model: ARCHITECT });
});
afterAll(async () => {
  await editor?.close();
  await architect?.close();
});

function run(cmd: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Promise<{ status: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stderr });
    });
  });
}

/** Every file under dir (relative), skipping .git. */
function walk(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === '.git') return [];
    const p = join(dir, e.name);
    return e.isDirectory() ? walk(p, base) : [p.slice(base.length + 1)];
  });
}

describe.skipIf(!hasStrace)('setup killed at every rename (strace fault injection)', () => {
  it('the next run finds no mixed set and no temp file, and says what it did', async () => {
    const s = sandbox();
    const [p1, p2] = (await freePorts(2)) as [number, number];
    const userConf = '# my own settings\nanthropic-api-key: sk-ant-MINE-0123456789abcdef\ndark-mode: true   # I like dark\n';
    writeFileSync(join(s.repo, '.aider.conf.yml'), userConf);
    const seedArgs = ['setup', '--yes', '--mode', 'proxy', '--editor', EDITOR, '--editor-port', String(editor.port), '--proxy-port', String(p1), '--timeout', '10'];
    const newArgs = [
      'setup', '--yes', '--mode', 'proxy', '--editor', EDITOR, '--editor-port', String(editor.port),
      '--architect', ARCHITECT, '--architect-port', String(architect.port), '--proxy-port', String(p2), '--timeout', '10',
    ];
    const seed = await cli(seedArgs, { cwd: s.repo, env: s.env });
    expect(seed.code, seed.stderr).toBe(0);

    const targets = {
      plan: join(s.config, 'plan.yaml'),
      litellm: join(s.config, 'litellm.yaml'),
      conf: join(s.repo, '.aider.conf.yml'),
      settings: join(s.repo, '.aider.model.settings.yml'),
      metadata: join(s.repo, '.aider.model.metadata.json'),
    };
    const state = () => Object.values(targets).map((p) => (existsSync(p) ? readFileSync(p, 'utf8') : null));
    const old = state();
    // Keep the seeded world to start each kill from it.
    const saved = join(s.root, 'saved');
    cpSync(s.home, join(saved, 'home'), { recursive: true });
    cpSync(s.repo, join(saved, 'repo'), { recursive: true });
    const reset = () => {
      for (const d of ['home', 'repo'] as const) {
        rmSync(s[d], { recursive: true, force: true });
        cpSync(join(saved, d), s[d], { recursive: true });
      }
    };

    // The new set, from a run nobody kills.
    const full = await cli(newArgs, { cwd: s.repo, env: s.env });
    expect(full.code, full.stderr).toBe(0);
    const fresh = state();
    expect(fresh.every((c, i) => c !== old[i])).toBe(true);

    const temps = () =>
      [...walk(s.repo).map((f) => join(s.repo, f)), ...walk(s.home).map((f) => join(s.home, f))].filter((f) =>
        /\.aider-mlx-tmp\.|\.aider-mlx-\d+-[0-9a-f]+\.tmp$|\.partial-\d+/.test(f),
      );

    let killedAt = 0;
    const outcomes: string[] = [];
    for (let k = 1; k <= 20; k++) {
      reset();
      // Spawned asynchronously: the stand-in servers live in this process and must keep answering.
      const r = await run(
        'strace',
        ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=rename,renameat,renameat2',
          '-e', `inject=rename,renameat,renameat2:signal=SIGKILL:when=${k}`, process.execPath, BIN, ...newArgs],
        // One libuv worker: every async rename runs on one thread, so "the k-th rename" is one count.
        { cwd: s.repo, env: { ...s.env, UV_THREADPOOL_SIZE: '1' } },
      );
      if (r.status === 0) break; // k is past the last rename: the run finished.
      if (process.env.KILL_DEBUG) console.log(k, r.status, r.signal, r.stderr.slice(-300));
      killedAt = k;
      const now = state();
      const mixed = !now.every((c, i) => c === old[i]) && !now.every((c, i) => c === fresh[i]);
      const journal = join(s.config, 'journal');
      const pending = existsSync(journal) && readdirSync(journal).some((n) => n.endsWith('.json'));
      // A mixed set is allowed only while its journal says so.
      if (mixed) expect(pending, `kill at rename ${k} left a mixed set with no journal`).toBe(true);

      // The doctor (any command that touches files) puts it in order and says so.
      const doc = await cli(['doctor', '--json', '--timeout', '5'], { cwd: s.repo, env: s.env });
      const after = state();
      const whole = after.every((c, i) => c === old[i]) || after.every((c, i) => c === fresh[i]);
      expect(whole, `kill at rename ${k}: still mixed after the doctor`).toBe(true);
      if (pending) expect(doc.stderr).toMatch(/stopped while writing its files; (finished writing them|put the previous ones back)/);
      expect(doc.stderr).not.toMatch(/Unexpected error/);
      expect(temps(), `kill at rename ${k}`).toEqual([]);
      outcomes.push(`${k}:${after.every((c, i) => c === fresh[i]) ? 'new' : 'old'}${pending ? '+journal' : ''}`);

      // And the run again completes the new set, with nothing left over.
      const again = await cli(newArgs, { cwd: s.repo, env: s.env });
      expect(again.code, again.stderr).toBe(0);
      expect(state()).toEqual(fresh);
      expect(temps()).toEqual([]);
      expect(existsSync(join(s.config, 'journal')) ? readdirSync(join(s.config, 'journal')) : []).toEqual([]);
      // Every backup set is whole (has its manifest).
      for (const set of readdirSync(join(s.config, 'backups'))) {
        expect(statSync(join(s.config, 'backups', set, 'manifest.json')).isFile()).toBe(true);
      }
    }
    // The journal, the backup set and the five files: at least seven renames were each killed.
    expect(killedAt).toBeGreaterThanOrEqual(7);
    expect(outcomes.some((o) => o.endsWith('+journal')), outcomes.join(' ')).toBe(true);
    console.log(`[kill-at-rename] ${outcomes.join(' ')}`);
    rmSync(s.root, { recursive: true, force: true });
    mkdirSync(s.root, { recursive: true });
  }, 300_000);
});
