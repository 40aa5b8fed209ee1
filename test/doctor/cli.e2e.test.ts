/**
 * The built CLI, spawned as a user runs it (`node bin/aider-mlx.js doctor …`) with a temp HOME,
 * against stand-in servers started in this process. AIDER_MLX_CLI points at another build of the
 * same entry (for a bundle that is not bin/'s).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { worldsClosedAfterEach } from './world.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = process.env.AIDER_MLX_CLI ?? join(ROOT, 'bin', 'aider-mlx.js');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'peer-errors');

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Async on purpose: the stand-ins live in this process and must keep answering while the child runs. */
function runCli(args: string[], o: { env: Record<string, string | undefined>; cwd: string; stdin?: string }): Promise<Ran> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: o.cwd,
      env: { PATH: process.env.PATH, ...o.env, NO_COLOR: '1', CI: '1' } as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(o.stdin ?? '');
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

let wired: string | null = null;
beforeAll(async () => {
  const r = await runCli(['doctor', '--help'], { env: { HOME: '/nonexistent' }, cwd: ROOT });
  if (!r.stdout.includes('aider-mlx doctor')) wired = `the CLI does not dispatch \`doctor\` yet (src/cli.ts): ${r.stderr.trim().split('\n')[0]}`;
}, 60_000);

// The CLI dispatches `doctor`: a missing dispatch fails every test here, it never skips them.
const need = (_ctx: TestContext) => {
  if (wired) throw new Error(wired);
};

const world = worldsClosedAfterEach();

const JSON_KEYS = ['id', 'group', 'title', 'status', 'observed', 'expected', 'fix', 'docs', 'latencyMs', 'causes', 'fixable'];

describe('aider-mlx doctor (built CLI)', () => {
  it('healthy two-server + proxy setup: --json, exit 0, stable schema, keys redacted', async (ctx) => {
    need(ctx);
    const w = await world();
    const r = await runCli(['doctor', '--json'], { env: w.env, cwd: w.project });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown> & { checks: Array<Record<string, unknown>> };
    expect(Object.keys(doc)).toEqual(['schema', 'version', 'ok', 'exitCode', 'mode', 'plan', 'deep', 'timeoutMs', 'elapsedMs', 'summary', 'error', 'likely', 'lead', 'checks', 'fix']);
    expect(doc).toMatchObject({ schema: 'aider-mlx/doctor@1', ok: true, exitCode: 0, mode: 'proxy', error: null, fix: null });
    for (const c of doc.checks) expect(Object.keys(c)).toEqual(JSON_KEYS);
    const key = (w.readYaml(w.paths.litellm) as { general_settings: { master_key: string } }).general_settings.master_key;
    expect(r.stdout).not.toContain(key);
  });

  it('doctor does not load Ink or React (its static import graph in the bundle)', async (ctx) => {
    need(ctx);
    const dist = dirname(CLI.endsWith('aider-mlx.js') ? join(ROOT, 'dist', 'cli.js') : CLI);
    const entry = readFileSync(join(dist, 'cli.js'), 'utf8');
    const doctor = /import\("\.\/(commands\/)?(doctor-[\w-]+\.js)"\)/.exec(entry)?.[2];
    expect(doctor, 'cli.js lazy-imports a doctor chunk').toBeDefined();
    const seen = new Set<string>();
    const walk = (f: string) => {
      if (seen.has(f)) return;
      seen.add(f);
      for (const m of readFileSync(join(dist, f), 'utf8').matchAll(/(?:from|import)\s*"\.\/([\w.-]+\.js)"/g)) walk(m[1]!);
    };
    walk('cli.js');
    walk(doctor!);
    for (const f of seen) {
      const text = readFileSync(join(dist, f), 'utf8');
      expect(text.includes('react.transitional.element') || text.includes('react.element') || text.includes('ink-text'), f).toBe(false);
    }
  });

  it('--error-file with a captured real error: the likely cause first, exit 1', async (ctx) => {
    need(ctx);
    const w = await world();
    w.editYaml(w.paths.litellm, (d: { model_list: Array<{ litellm_params: Record<string, unknown> }> }) => {
      d.model_list[0]!.litellm_params.api_base = `${w.editor!.baseUrl}/v1`;
    });
    const r = await runCli(['doctor', '--json', '--error-file', join(FIXTURES, 'aider-doubled-v1-base.txt')], { env: w.env, cwd: w.project });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { likely: Array<{ cause: string; verdict: string }>; lead: string[]; checks: Array<{ id: string; status: string }>; error: { signals: string[] } };
    expect(doc.likely[0]).toMatchObject({ cause: 'C2', verdict: 'confirmed' });
    expect(doc.error.signals).toContain('not-found-plain');
    expect(doc.checks[0]!.id).toBe(doc.lead[0]);
    expect(doc.checks[0]!.status).toBe('fail');
  });

  it('text report: the error and its likely cause first, then the hops; stdin with --error -', async (ctx) => {
    need(ctx);
    const w = await world({ editorDown: true });
    const port = w.plan.roles.editor.deployments[0]!.port;
    const r = await runCli(['doctor', '--error', '-'], { env: w.env, cwd: w.project, stdin: `Error: connect ECONNREFUSED 127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    const hop = (t: string) => lines.findIndex((l) => /^[✓!✗–] /.test(l) && l.slice(2) === t);
    expect(lines.findIndex((l) => l.trim().startsWith('Your error:'))).toBeLessThan(hop('Environment'));
    const likely = lines.findIndex((l) => l.includes('Most likely: Nothing listens where the request goes'));
    expect(likely).toBeGreaterThan(-1);
    expect(lines.findIndex((l) => /^mlx_lm\.server --model \S+ --port \d+( --prompt-cache-\S+ \S+)*$/.test(l.trim()) && l.trim().startsWith(`mlx_lm.server --model ${w.plan.roles.editor.model} --port ${port}`))).toBeGreaterThan(likely);
    expect(r.stdout).not.toMatch(/\[C7\]|server\.editor\+weak\.reachable/);
    expect(r.stdout).toContain('✗ MLX servers');
    expect(r.stdout).toContain('– 5 checks skipped: the editor + weak server does not answer');
    // -v: every check, with ids and cause codes.
    const v = await runCli(['doctor', '-v', '--error', '-'], { env: w.env, cwd: w.project, stdin: `Error: connect ECONNREFUSED 127.0.0.1:${port}` });
    expect(v.stdout.replace(/\s+/g, ' ')).toMatch(/Most likely: Nothing listens where the request goes.*\[C7\] \(confirmed by server\.editor\+weak\.reachable/);
    expect(v.stdout).toContain('[server.editor+weak.identity]');
  });

  it('--fix without a terminal and without --yes: shows the diff, writes nothing, exit 2 naming --yes', async (ctx) => {
    need(ctx);
    const w = await world();
    w.editYaml(w.paths.conf, (d) => {
      d.model = 'mlx-community/QwQ-32B-4bit';
    });
    const before = readFileSync(w.paths.conf, 'utf8');
    const r = await runCli(['doctor', '--fix'], { env: w.env, cwd: w.project });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(r.stdout).toContain('+model: openai/mlx-qwq-32b-4bit');
    expect(readFileSync(w.paths.conf, 'utf8')).toBe(before);
  });

  it('--fix --yes repairs, keeps a backup, and proves it by checking again (exit 0)', async (ctx) => {
    need(ctx);
    const w = await world();
    writeFileSync(w.paths.conf, `# keep this line\n${readFileSync(w.paths.conf, 'utf8').replace(/^model: .*$/m, 'model: mlx-community/QwQ-32B-4bit')}`);
    const r = await runCli(['doctor', '--fix', '--yes', '--json'], { env: w.env, cwd: w.project });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { ok: boolean; fix: { applied: boolean; backupDir: string; before: { fail: number }; files: Array<{ path: string }> } };
    expect(doc.ok).toBe(true);
    expect(doc.fix).toMatchObject({ applied: true });
    expect(doc.fix.before.fail).toBeGreaterThan(0);
    expect(doc.fix.files.map((f) => f.path)).toContain(w.paths.conf);
    expect(readFileSync(w.paths.conf, 'utf8')).toContain('# keep this line');
    expect(readFileSync(join(doc.fix.backupDir, 'manifest.json'), 'utf8')).toContain('.aider.conf.yml');
  });

  it('usage errors exit 2', async (ctx) => {
    need(ctx);
    const w = await world({ two: false, proxy: false });
    for (const args of [['doctor', '--nope'], ['doctor', '--timeout', '0'], ['doctor', '--yes']]) {
      const r = await runCli(args, { env: w.env, cwd: w.project });
      expect(r.code, args.join(' ')).toBe(2);
    }
    // A --litellm-config that is not there (a typo) is said, not checked as if none was named.
    for (const [path, says] of [[join(w.home, 'litellm-typo.yaml'), 'no such file'], [w.home, 'that is a folder, not a file']] as const) {
      const r = await runCli(['doctor', '--litellm-config', path], { env: w.env, cwd: w.project });
      expect(r.code, path).toBe(2);
      expect(r.stderr).toContain(`--litellm-config ${path}: ${says}`);
      expect(r.stdout).toBe('');
    }
  });

  it('a dead port answers in milliseconds; a hung server costs one --timeout', async (ctx) => {
    need(ctx);
    const dead = await world({ editorDown: true, two: false });
    const d = await runCli(['doctor', '--json', '--timeout', '5'], { env: dead.env, cwd: dead.project });
    expect(d.code).toBe(1);
    expect(d.ms).toBeLessThan(4000);
    const hung = await world({ two: false, editor: { faults: { hang: true } } });
    const h = await runCli(['doctor', '--json', '--timeout', '1'], { env: hung.env, cwd: hung.project });
    expect(h.code).toBe(1);
    expect(h.ms).toBeLessThan(1000 + 3000);
  });
});
