import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

export const ROOT = join(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/aider-mlx.js');

export interface Sandbox {
  root: string;
  home: string;
  repo: string;
  config: string;
  env: Record<string, string>;
}

/** A temp HOME with a git repo inside; XDG_CONFIG_HOME unset so the default ~/.config is used. */
export function sandbox(): Sandbox {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'aider-mlx-e2e-')));
  const home = join(root, 'home');
  const repo = join(root, 'repo');
  mkdirSync(home, { recursive: true });
  mkdirSync(repo, { recursive: true });
  execFileSync('git', ['init', '-q', repo]);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    NO_COLOR: '1',
    LANG: 'C.UTF-8',
  };
  return { root, home, repo, config: join(home, '.config/aider-mlx'), env };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI as a user would, no TTY, bounded in time; `input`: piped to its stdin (else /dev/null). */
export function cli(args: string[], opts: { cwd: string; env: Record<string, string>; timeoutMs?: number; input?: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    // A CLI that exits before reading its input: no EPIPE here.
    if (opts.input !== undefined) child.stdin!.on('error', () => undefined).end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`aider-mlx ${args.join(' ')} did not finish in time\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A stand-in `litellm` on PATH (test/e2e/fake-litellm-bin.mjs, run by this Node): returns the
 * sandbox env with its folder first on PATH.
 */
export function withFakeLitellm(s: Sandbox, extra: Record<string, string> = {}): Record<string, string> {
  const bin = join(s.root, 'fakebin');
  mkdirSync(bin, { recursive: true });
  const script = join(ROOT, 'test/e2e/fake-litellm-bin.mjs');
  writeFileSync(join(bin, 'litellm'), `#!/bin/sh\nexec '${process.execPath}' '${script}' "$@"\n`, { mode: 0o755 });
  return { ...s.env, ...extra, PATH: `${bin}:${s.env.PATH}` };
}

export interface StandInProcess {
  port: number;
  pid: number;
  close(): Promise<void>;
}

/**
 * The stand-in mlx_lm.server as its own process, launched the way `serve` launches it
 * (`aider-mlx fake-mlx-server --model … --port …`): its command line carries `--model` like the
 * real server's, so the port holder's command line can be read. Port 0: the OS picks one.
 */
export function standInProcess(model: string, extra: string[] = []): Promise<StandInProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'fake-mlx-server', '--model', model, '--port', '0', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the stand-in did not start: ${err}`));
    }, 20_000);
    child.stderr.on('data', (d) => {
      err += d;
      const m = /Starting httpd at \S+ on port (\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({
          port: Number(m[1]),
          pid: child.pid!,
          close: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the stand-in exited (${code}): ${err}`));
    });
  });
}

export interface StandInRun {
  argv: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  /** Which of the Aider files were in its working folder. */
  files: string[];
  /** What each STANDIN_PROBE address answered when it started. */
  answers: Array<{ url: string; status?: number; body?: string; error?: string }>;
}

/**
 * A stand-in `aider` (a tiny Node script behind a shell shim): it records its argv, cwd,
 * environment, the Aider files it finds and what the URLs in STANDIN_PROBE answer, one JSON line
 * per run, then exits 0. `path` is PATH with it first.
 */
export function standInAider(s: Sandbox): { path: string; record: string; runs(): StandInRun[] } {
  const bin = join(s.root, 'aiderbin');
  mkdirSync(bin, { recursive: true });
  const record = join(s.root, 'aider-runs.jsonl');
  const script = join(bin, 'stand-in-aider.mjs');
  writeFileSync(
    script,
    `import { appendFileSync, existsSync } from 'node:fs';
const answers = [];
for (const url of (process.env.STANDIN_PROBE ?? '').split(' ').filter(Boolean)) {
  try { const r = await fetch(url); answers.push({ url, status: r.status, body: await r.text() }); }
  catch (e) { answers.push({ url, error: String(e) }); }
}
const files = ['.aider.conf.yml', '.aider.model.settings.yml', '.aider.model.metadata.json'].filter((f) => existsSync(f));
appendFileSync(${JSON.stringify(record)}, JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd(), env: process.env, files, answers }) + '\\n');
`,
  );
  writeFileSync(join(bin, 'aider'), `#!/bin/sh\nexec '${process.execPath}' '${script}' "$@"\n`, { mode: 0o755 });
  return {
    path: `${bin}:${s.env.PATH}`,
    record,
    runs: () => {
      let text = '';
      try {
        text = readFileSync(record, 'utf8');
      } catch {
        return [];
      }
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as StandInRun);
    },
  };
}

/** Output with its wrapped rows joined (prose is wrapped at 80 columns): phrases match across rows. */
export const flat = (s: string): string => s.replace(/\s+/g, ' ');
