// spawnService's gate: nothing a service runs can start before its process group is registered
// with the watchdog, so a parent killed at any moment leaves nothing behind.
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnService } from './exec.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'aider-mlx-exec-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A node script using this module's spawnService (bundled from the source). */
async function parentScript(body: string): Promise<string> {
  const entry = join(dir, `entry-${Math.random().toString(36).slice(2)}.ts`);
  fs.writeFileSync(entry, `import { writeFileSync } from 'node:fs';\nimport { spawnService } from ${JSON.stringify(fileURLToPath(new URL('./exec.ts', import.meta.url)))};\n${body}\n`);
  const out = entry.replace(/\.ts$/, '.cjs');
  await build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'cjs', logLevel: 'silent' });
  return out;
}

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
};

describe('spawnService', () => {
  it('a parent SIGKILLed right after the spawn: the command never ran, and nothing is left', { timeout: 30_000 }, async () => {
    const marker = join(dir, 'ran');
    const pidFile = join(dir, 'pid');
    const script = await parentScript(
      `const s = spawnService('/bin/sh', ['-c', 'echo ran > "$1"; exec sleep 600', 'svc', ${JSON.stringify(marker)}], {});\n` +
        `writeFileSync(${JSON.stringify(pidFile)}, String(s.child.pid));\n` +
        `process.kill(process.pid, 'SIGKILL');`,
    );
    const parent = spawn(process.execPath, [script], { stdio: ['ignore', 'ignore', 'inherit'] });
    await new Promise((r) => parent.on('exit', r));
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    try {
      const t0 = Date.now();
      while (!gone(pid) && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 50));
      expect(gone(pid)).toBe(true);
      // Given time to run, had it been let through.
      await new Promise((r) => setTimeout(r, 300));
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  it('the gate is invisible: arguments as given (spaces, quotes, $), stdin empty, output and exit code passed on', async () => {
    const lines: string[] = [];
    const { child } = spawnService('/bin/sh', ['-c', 'printf "%s|" "$@"; echo; if read -r x; then echo "stdin: $x"; else echo "stdin empty"; fi; exit 3', 'svc', 'a b', '"q"', '$HOME', ''], {
      onLine: (l) => lines.push(l),
    });
    const r = await child;
    expect(r.exitCode).toBe(3);
    await new Promise((res) => setTimeout(res, 50));
    expect(lines).toEqual(['a b|"q"|$HOME||', 'stdin empty']);
  });
});
