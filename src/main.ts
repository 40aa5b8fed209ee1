/**
 * The command line, once, for both bundles: `dist/cli.js` (ES modules, every command, Ink in split
 * chunks) and `dist/lean.cjs` (one CommonJS file with only the commands that never draw a screen:
 * `doctor`, `status`, the help pages). Each passes its table of commands; bin/aider-mlx.js picks the
 * bundle by the first argument (`LEAN_COMMANDS`).
 */
import { AppError, formatError, EXIT, UsageError } from './errors.js';
import { RECOVERING_COMMANDS, recoverBeforeCommand } from './commands/recover.js';
import { quietOnClosedPipe } from './lib/pipes.js';
import { closest, COMMANDS, commandHelp, isCommand, mainHelp, unknownFlag } from './help.js';
import { VERSION } from './version.js';
import { envSecrets, redact } from './lib/redact.js';
import { asRun } from './lib/paths.js';
import { columnsFor, wrapText } from './lib/wrap.js';

export type Runner = (rest: string[]) => Promise<number>;
/** A command's name (or `setup` and `reconfigure` for the bare `aider-mlx` on a terminal) → its code, loaded on use. */
export type CommandTable = Partial<Record<string, Runner>>;

/** What bin/aider-mlx.js sends to the lean bundle: these never load Ink, React or @inquirer. */
export const LEAN_COMMANDS = ['doctor', 'status', 'help', '--help', '-h'] as const;

/** The commands both bundles carry. */
export const LEAN_TABLE: CommandTable = {
  doctor: async (rest) => {
    // With a plan, its schema (zod) loads alongside the doctor: it validates the plan while the
    // probes run. A hand-written setup has none, and never pays for it.
    const [{ existsSync }, { configPaths }] = await Promise.all([import('node:fs'), import('./lib/paths.js')]);
    if (existsSync(configPaths(process.env).plan)) void import('./config/plan-schema.js').catch(() => undefined);
    return (await import('./commands/doctor.js')).runDoctorCommand(rest);
  },
  status: async (rest) => (await import('./commands/status.js')).runStatusCommand(rest),
};

/** `modles` → "Did you mean `aider-mlx models`?" */
function unknownCommand(name: string): UsageError {
  const near = closest(name, COMMANDS);
  return new UsageError(`Unknown command "${name}".`, `${near ? `Did you mean \`aider-mlx ${near}\`? ` : ''}Run \`aider-mlx --help\` to see the commands.`);
}

/** `--dmeo` → "Unknown option --dmeo. Did you mean --demo?" (only the name: a `=value` is not echoed). */
function unknownOption(arg: string): UsageError {
  const flag = arg.split('=')[0]!;
  const near = closest(flag.replace(/^--?/, ''), ['demo', 'plain', 'help', 'version']);
  return new UsageError(`Unknown option ${flag}.`, `${near ? `Did you mean --${near}? ` : ''}Run \`aider-mlx --help\` to see the commands and options.`);
}

function runner(commands: CommandTable, name: string): Runner {
  const r = commands[name];
  // A bundle is asked only for what it carries (bin/aider-mlx.js routes by LEAN_COMMANDS).
  if (!r) throw new Error(`this bundle does not carry \`${name}\``);
  return r;
}

export async function main(argv: string[], commands: CommandTable): Promise<number> {
  const [first, ...rest] = argv;
  // Plain `aider-mlx` on a terminal: the wizard, or straight to "change one thing" when a plan exists.
  if (first === undefined && process.stdin.isTTY && process.stdout.isTTY && !process.env.CI) {
    const { existsSync } = await import('node:fs');
    const { configPaths } = await import('./lib/paths.js');
    return existsSync(configPaths().plan) ? runner(commands, 'reconfigure')([]) : runner(commands, 'setup')([]);
  }
  if (first === undefined || first === '-h' || first === '--help') {
    process.stdout.write(mainHelp());
    return EXIT.ok;
  }
  if (first === 'help') {
    const about = rest[0];
    if (about !== undefined && !isCommand(about)) throw unknownCommand(about);
    process.stdout.write(about === undefined ? mainHelp() : commandHelp(about));
    return EXIT.ok;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  // `npx aider-mlx --demo` / `--plain`: the wizard's own flags work without naming `setup`.
  if (first === '--demo' || first === '--plain') {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(commandHelp('setup'));
      return EXIT.ok;
    }
    await recoverBeforeCommand();
    return runner(commands, 'setup')(argv);
  }
  // A leading dash is an option, never a command name.
  if (first.startsWith('-')) throw unknownOption(first);
  // `aider-mlx <command> --help`: that command's page (`aider-mlx aider -- --help` is aider's own).
  // A flag the command does not take is named with the closest one it does, before the command loads.
  if (isCommand(first)) {
    const flags = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
    if (flags.includes('--help') || flags.includes('-h')) {
      process.stdout.write(commandHelp(first));
      return EXIT.ok;
    }
    const bad = first === 'aider' ? undefined : unknownFlag(first, rest);
    if (bad) {
      throw new UsageError(
        `Unknown option ${bad.flag} for \`aider-mlx ${first}\`.`,
        `${bad.suggestion ? `Did you mean ${bad.suggestion}? ` : ''}\`aider-mlx ${first} --help\` lists its options.`,
      );
    }
  }
  // fake-mlx-server: the stand-in server that `--demo` and the tests use (hidden: not a user command).
  if (!isCommand(first) && first !== 'fake-mlx-server') throw unknownCommand(first);
  if (RECOVERING_COMMANDS.has(first)) await recoverBeforeCommand();
  return runner(commands, first)(rest);
}

/** Run the command line with this bundle's commands, and exit with its code (errors as one plain message). */
export function run(commands: CommandTable): void {
  quietOnClosedPipe(process.stdout);
  quietOnClosedPipe(process.stderr);
  // --json: whatever stops the command before it printed its document (a bad flag value, a refusal),
  // stdout still gets one, the human line goes to stderr as always.
  const argv = process.argv.slice(2);
  const json = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length).includes('--json');
  let printed = false;
  if (json) {
    const write = process.stdout.write.bind(process.stdout) as (...a: unknown[]) => boolean;
    process.stdout.write = ((...a: unknown[]) => {
      printed = true;
      return write(...a);
    }) as typeof process.stdout.write;
  }
  main(argv, commands).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      const { text, code } = formatError(err);
      if (json && !printed && err instanceof AppError) {
        const secrets = envSecrets(process.env);
        process.stdout.write(`${JSON.stringify({ ok: false, exitCode: code, error: redact(asRun(err.message), secrets), ...(err.tryThis ? { tryThis: redact(asRun(err.tryThis), secrets) } : {}) }, null, 2)}\n`);
      }
      // No error message prints a key, whatever it quotes (a user's file, a child's output).
      // Wrapped by the one rule (the terminal's width, 80 without one): a command stays whole.
      process.stderr.write(`${wrapText(redact(asRun(text), envSecrets(process.env)), columnsFor(process.stderr))}\n`);
      process.exitCode = code;
    },
  );
}
