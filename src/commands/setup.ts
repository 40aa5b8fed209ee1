import { CancelledError } from '../errors.js';
import { formatCheck } from '../lib/check.js';
import { tildify } from '../lib/paths.js';
import { parseSetupFlags } from '../setup/flags.js';
import { runSetup, type SetupResult } from '../setup/run.js';
import { maxContextFromCache } from '../setup/model-config.js';

function printText(r: SetupResult, out: (s: string) => void) {
  const env = process.env;
  out(`aider-mlx setup — ${r.plan.mode} mode, Aider files in ${tildify(r.plan.aider.dir, env)} (${r.plan.aider.scope})\n`);
  for (const n of r.notes) out(`  note: ${n}\n`);
  out('\nChecks\n');
  for (const c of r.checks) out(`  ${formatCheck(c).replace(/\n/g, '\n  ')}\n`);
  const failed = r.checks.some((c) => c.status === 'fail');
  if (r.dryRun) {
    out('\nDry run: nothing written. These are the changes:\n');
    for (const f of r.files) out(f.changed ? (f.diff ? `${f.diff}\n` : `(mode change) ${tildify(f.path, env)}\n`) : `  unchanged ${tildify(f.path, env)}\n`);
    return;
  }
  if (failed && r.written.length === 0) {
    out('\n✗ Verification failed: nothing was written. Fix the above and run setup again (or --force to write anyway).\n');
    return;
  }
  out('\nFiles\n');
  for (const f of r.files) out(`  ${f.changed ? (f.existed ? 'updated  ' : 'created  ') : 'unchanged'} ${tildify(f.path, env)}\n`);
  if (r.backupDir) out(`  backup of the replaced files: ${tildify(r.backupDir, env)}\n`);
  out('\nNext\n');
  r.next.forEach((s, i) => out(`  ${i + 1}. ${s}\n`));
}

/** `aider-mlx setup`: non-interactive (flags) until the wizard face lands; never prompts. */
export async function runSetupCommand(args: string[]): Promise<number> {
  const input = parseSetupFlags(args);
  const ctrl = new AbortController();
  const onSigint = () => ctrl.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  try {
    const result = await runSetup(input, {
      env: process.env,
      cwd: process.cwd(),
      signal: ctrl.signal,
      progress: input.json ? undefined : (l) => process.stderr.write(`${l}\n`),
      maxContextOf: (m) => maxContextFromCache(m, process.env),
    });
    if (input.json) {
      process.stdout.write(
        JSON.stringify(
          {
            ok: result.code === 0,
            exitCode: result.code,
            dryRun: result.dryRun,
            plan: result.plan,
            notes: result.notes,
            checks: result.checks,
            files: result.files.map(({ diff, ...f }) => (result.dryRun ? { ...f, diff } : f)),
            written: result.written,
            backupDir: result.backupDir ?? null,
            next: result.next,
          },
          null,
          2,
        ) + '\n',
      );
    } else printText(result, (s) => process.stdout.write(s));
    return result.code;
  } catch (e) {
    if (ctrl.signal.aborted) throw new CancelledError();
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
