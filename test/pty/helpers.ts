import { execFile } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, type PtyRun } from './tmux.js';

export const EDITOR = 'mlx-community/Qwen2.5-Coder-7B-Instruct-4bit';
export const ARCHITECT = 'mlx-community/Qwen3-8B-4bit';

export interface Sandbox {
  root: string;
  home: string;
  project: string;
  env: Record<string, string>;
}

/** A temp HOME and project; no mlx_lm, litellm or aider on PATH; an empty, offline HF cache. */
export async function sandbox(): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'aider-mlx-pty-sandbox-'));
  const home = join(root, 'home');
  const project = join(root, 'project');
  await mkdir(home, { recursive: true });
  await mkdir(project, { recursive: true });
  return {
    root,
    home,
    project,
    env: {
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      PATH: '/usr/bin:/bin',
      HF_HUB_CACHE: join(root, 'hf'),
      HF_HUB_OFFLINE: '1',
      LANG: 'C.UTF-8',
    },
  };
}

/**
 * The built CLI without a terminal (pipes on every stream). Asynchronous: stand-in servers in this
 * test process must keep answering while it runs.
 */
export function runPiped(args: string[], s: Pick<Sandbox, 'env'> & { cwd: string }, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { cwd: s.cwd, env: s.env, encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
    child.stdin?.end();
  });
}

/** A question is on screen, waiting: Ink shows its key hints; the line face ends with its prompt. */
const PROMPTING = /Enter (choose|accept|write|default)|Enter keeps it/;
const LINE_PROMPT = /(Choose \[\d+\]:|\[[Yy]\/[Nn]\]|:)$/;
// The last line that is not blank: the line face prints its hints once, and a long look-around
// (ports held by other programs) scrolls them off.
const prompting = (screen: string) => PROMPTING.test(screen) || LINE_PROMPT.test(screen.split('\n').filter((l) => l.trim()).at(-1)?.trimEnd() ?? '');

/**
 * Press Enter at every question until `done` appears (in the scrollback too), as a newcomer would.
 * Returns the number of Enters pressed.
 */
export async function enterUntil(run: PtyRun, done: string | RegExp, o: { max?: number; timeoutMs?: number } = {}): Promise<number> {
  const until = Date.now() + (o.timeoutMs ?? 60_000);
  let presses = 0;
  let last = '';
  let stableSince = Date.now();
  for (;;) {
    const full = await run.screen(400);
    if (typeof done === 'string' ? full.includes(done) : done.test(full)) return presses;
    if (Date.now() > until) throw new Error(`pty: "${String(done)}" never appeared after ${presses} Enters; screen:\n${await run.screen()}`);
    const now = await run.screen();
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince > 300 && prompting(now)) {
      if (++presses > (o.max ?? 20)) throw new Error(`pty: more than ${o.max ?? 20} Enters and still no "${String(done)}"; screen:\n${now}`);
      await run.keys('Enter');
      last = '';
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The line face: the number shown for the last row whose label matches (`  4) A server that…`). */
export function rowNumber(screen: string, label: RegExp): string {
  const all = [...screen.matchAll(new RegExp(`(\\d+)\\) ${label.source}`, 'g'))];
  if (all.length === 0) throw new Error(`pty: no numbered row ${String(label)} on screen:\n${screen}`);
  return all.at(-1)![1]!;
}
