import { formatError, EXIT, UsageError } from './errors.js';
import { RECOVERING_COMMANDS, recoverBeforeCommand } from './commands/recover.js';
import { quietOnClosedPipe } from './lib/pipes.js';
import { closest, COMMANDS, commandHelp, isCommand, mainHelp, unknownFlag } from './help.js';
import { VERSION } from './version.js';
import { envSecrets, redact } from './lib/redact.js';

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

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  // Plain `aider-mlx` on a terminal: the wizard, or straight to "change one thing" when a plan exists.
  if (first === undefined && process.stdin.isTTY && process.stdout.isTTY && !process.env.CI) {
    const { existsSync } = await import('node:fs');
    const { configPaths } = await import('./lib/paths.js');
    return existsSync(configPaths().plan)
      ? (await import('./commands/reconfigure.js')).runReconfigureCommand([])
      : (await import('./commands/setup.js')).runSetupCommand([]);
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
    return (await import('./commands/setup.js')).runSetupCommand(argv);
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
  if (RECOVERING_COMMANDS.has(first)) await recoverBeforeCommand();
  switch (first) {
    case 'setup':
      return (await import('./commands/setup.js')).runSetupCommand(rest);
    case 'doctor':
      // With a plan, its schema (zod) loads alongside the doctor: it validates the plan while the
      // probes run. A hand-written setup has none, and never pays for it.
      {
        const [{ existsSync }, { configPaths }] = await Promise.all([import('node:fs'), import('./lib/paths.js')]);
        if (existsSync(configPaths(process.env).plan)) void import('./config/plan-schema.js').catch(() => undefined);
      }
      return (await import('./commands/doctor.js')).runDoctorCommand(rest);
    case 'reconfigure':
      return (await import('./commands/reconfigure.js')).runReconfigureCommand(rest);
    case 'status':
      return (await import('./commands/status.js')).runStatusCommand(rest);
    case 'models':
      return (await import('./commands/models.js')).runModelsCommand(rest);
    case 'bench':
      return (await import('./commands/bench.js')).runBenchCommand(rest);
    case 'serve':
      return (await import('./commands/serve.js')).runServeCommand(rest);
    case 'launch':
      return (await import('./commands/launch.js')).runLaunchCommand(rest);
    case 'stop':
      return (await import('./commands/launch.js')).runStopCommand(rest);
    case 'service':
      return (await import('./commands/service.js')).runServiceCommand(rest);
    case 'install':
      return (await import('./commands/install.js')).runInstallCommand(rest);
    case 'restore':
      return (await import('./commands/restore.js')).runRestoreCommand(rest);
    case 'uninstall':
      return (await import('./commands/uninstall.js')).runUninstallCommand(rest);
    case 'aider':
      return (await import('./commands/aider.js')).runAiderCommand(rest[0] === '--' ? rest.slice(1) : rest);
    case 'fake-mlx-server':
      // The stand-in server that `--demo` and the tests use (hidden: not a user command).
      return (await import('./servers/fake-mlx-server.js')).runFakeServerCommand(rest);
    default:
      throw unknownCommand(first);
  }
}

quietOnClosedPipe(process.stdout);
quietOnClosedPipe(process.stderr);

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    const { text, code } = formatError(err);
    // No error message prints a key, whatever it quotes (a user's file, a child's output).
    process.stderr.write(`${redact(text, envSecrets(process.env))}\n`);
    process.exitCode = code;
  },
);
