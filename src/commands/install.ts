/**
 * `aider-mlx install [mlx-lm|litellm|aider|all] [--method uv|pipx|venv] [--yes] [--dry-run]`:
 * install the missing Python tools, pinned, never a compromised release, verified by running them.
 */
import { parseFlags } from '../lib/args.js';
import { EXIT, UsageError } from '../errors.js';
import { tildify, type Env } from '../lib/paths.js';
import { isCompromised } from '../lib/compromised.js';
import { isInteractive, terminalAsker, type Asker } from '../tools/ask.js';
import { describeInstaller, findTool, installCommands, installTool, METHODS, pickInstaller, type Method } from '../tools/install.js';
import { TOOL_NAMES, TOOLS, requirementFor, toolByName, type ToolName } from '../tools/pins.js';

const USAGE = 'Usage: aider-mlx install [mlx-lm|litellm|aider|all] [--method uv|pipx|venv] [--yes] [--dry-run] [--force]';

export interface InstallIo {
  env: Env;
  platform?: NodeJS.Platform;
  out: (s: string) => void;
  err: (s: string) => void;
  interactive: boolean;
  asker?: Asker;
}

export async function runInstall(args: string[], io: InstallIo): Promise<number> {
  const parsed = parseFlags(
    args,
    { method: { type: 'string' }, yes: { type: 'boolean', short: 'y' }, 'dry-run': { type: 'boolean' }, force: { type: 'boolean' } },
    { command: 'install', usage: USAGE, allowPositionals: true },
  );
  const values = parsed.values as { method?: string; yes?: boolean; 'dry-run'?: boolean; force?: boolean };
  const { positionals } = parsed;
  if (values.method !== undefined && !METHODS.includes(values.method as Method)) {
    throw new UsageError(`--method must be one of ${METHODS.join(', ')} (got "${values.method}").`, USAGE);
  }
  const { env } = io;
  const platform = io.platform ?? process.platform;
  const asked: ToolName[] = [];
  for (const p of positionals.length ? positionals : ['all']) {
    if (p === 'all') asked.push(...TOOL_NAMES);
    else {
      const t = toolByName(p);
      if (!t) throw new UsageError(`Unknown tool "${p}".`, `Pick from: ${TOOL_NAMES.join(', ')}, all.`);
      asked.push(t);
    }
  }
  const wanted = [...new Set(asked)];

  // What is there already: kept unless --force (a compromised litellm is never kept).
  const todo: ToolName[] = [];
  const lines: string[] = [];
  for (const name of wanted) {
    const spec = TOOLS[name];
    const found = await findTool(spec, env);
    const bad = found?.version !== undefined && isCompromised(spec.package, found.version);
    if (found && !values.force && !bad) {
      lines.push(`✓ ${spec.package} ${found.version ?? '(version unknown)'} is installed: ${tildify(found.bin, env)}${found.version && found.version !== spec.version ? ` (aider-mlx is tested with ${spec.version})` : ''}`);
      continue;
    }
    if (bad) lines.push(`✗ ${tildify(found!.bin, env)} is ${spec.package} ${found!.version}, a known-compromised release: remove it; installing ${spec.version}.`);
    todo.push(name);
  }
  if (todo.length === 0) {
    io.out(lines.join('\n') + '\n');
    return EXIT.ok;
  }
  const inst = pickInstaller(env, values.method as Method | undefined);
  lines.push(`Will install with ${describeInstaller(inst, env)}:`);
  for (const name of todo) {
    const spec = TOOLS[name];
    lines.push(`  ${requirementFor(spec, platform)}   ${spec.purpose}`);
    for (const cmd of installCommands(spec, inst, { env, platform }, '<constraints: no compromised release>')) lines.push(`    $ ${cmd.map((a) => tildify(a, env)).join(' ')}`);
  }
  io.err(lines.join('\n') + '\n');
  if (values['dry-run']) return EXIT.ok;
  if (!values.yes) {
    if (!io.interactive || !io.asker) throw new UsageError('install asks before it installs anything, and there is no terminal to ask in.', 'Pass --yes to install the list above.');
    if (!(await io.asker.confirm('Install?', true))) {
      io.err('Nothing was installed.\n');
      return EXIT.cancelled;
    }
  }
  let failed = 0;
  for (const name of todo) {
    const spec = TOOLS[name];
    io.err(`Installing ${spec.package} ${spec.version}…\n`);
    try {
      const r = await installTool(spec, inst, { env, platform, onLine: (l) => io.err(`  │ ${l}\n`) });
      io.out(`✓ ${spec.package} ${r.record.version}: ${tildify(r.record.bin!, env)} (checked with \`${spec.versionCommand.join(' ')}\`)\n`);
      for (const w of r.warnings) io.out(`  ! ${w}\n`);
    } catch (e) {
      failed++;
      io.out(`✗ ${(e as Error).message}\n`);
    }
  }
  return failed ? EXIT.verify : EXIT.ok;
}

export async function runInstallCommand(args: string[]): Promise<number> {
  const interactive = isInteractive();
  return runInstall(args, {
    env: process.env,
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    interactive,
    ...(interactive ? { asker: terminalAsker() } : {}),
  });
}
