import { formatError, EXIT, UsageError } from './errors.js';
import { RECOVERING_COMMANDS, recoverBeforeCommand } from './commands/recover.js';
import { VERSION } from './version.js';
import { envSecrets, redact } from './lib/redact.js';

const HELP = `aider-mlx ${VERSION} — Aider coding against local MLX models

Usage
  npx aider-mlx <command> [options]

Commands
  (none)         On a terminal: the setup wizard, or reconfigure when a plan exists
  setup          Pick models, start or find each mlx_lm.server, verify, write the LiteLLM + Aider files
  reconfigure    Change one role, model, port, mode or scope of what setup wrote
  status         Show every deployment and the proxy: up or down, latency, who answers
  doctor         Find why Aider → LiteLLM → mlx_lm.server fails, hop by hop, and fix it
                 (--error "<pasted text>", --deep, --fix [--yes], --json)
  aider [args]   Run aider with the isolated profile written by \`setup --scope profile\`
  models         MLX models: cached, on the Hub, curated per memory tier, and what fits
                 (--search TEXT, --role editor|architect, --json)
  models pull REPO        Download a model into the Hugging Face cache (resumable)
  models rm REPO [--yes]  Remove a cached model
  serve          Start the plan's servers and proxy and keep them up (Ctrl-C stops what it started)
  service        install|uninstall|status: start them at login (macOS launchd)
  install [tool] Install mlx-lm, litellm[proxy], aider-chat, pinned (uv, pipx, or a venv of ours)
  restore [SET]  Put back a backup set of the files setup replaced (--list; --yes: the newest)
  uninstall      Remove what aider-mlx added (shows the list and asks; --yes for scripts)

Setup options (on a terminal the wizard asks; with --yes, flags or no terminal nothing is prompted)
  --plain                  line-by-line questions (screen readers, simple terminals; also TERM=dumb)
  --demo [--demo-dir DIR]  the whole flow against built-in stand-in servers, in a temp folder
  --answers FILE           answers from a file with the plan's keys (a plan.yaml works)
  --weak-port N            port of the weak model's server, when it is a third model (default 8082)
  --editor MODEL           HF repo id or local path of the editor model (without it, --yes takes
                           the setup proposed for this machine and prints what it chose and why)
  --editor-port N          port of the editor's mlx_lm.server (default 8080)
  --architect MODEL        a second, planning model (architect mode)
  --architect-port N       port of the architect's mlx_lm.server (default 8081)
  --weak MODEL             model for commit messages and summaries (default: the editor's)
  --proxy-port N           LiteLLM proxy port (default 4000)
  --host H                 host of the mlx servers (default 127.0.0.1)
  --mode proxy|direct      through a LiteLLM proxy (default) or straight to the servers
  --scope project|global|profile
                           where the Aider files go (default project: the git root)
  --context N              context window per model (default: the model's curated context for
                           this memory, else 32768, lowered to what the model and memory allow)
  --timeout SECONDS        bound on each probe (default 600: a large model's first load)
  --request-timeout SECONDS
                           timeout written into the Aider and LiteLLM configs (default 600)
  --force                  replace a model/API base you set yourself; write despite failed checks
  --dry-run                print the diffs, write nothing
  --json                   machine-readable result on stdout

Other
  -y, --yes                never prompt
  -h, --help               this help
  -v, --version            print the version

Exit codes: 0 done, 1 verification failed, 2 usage or bad input, 130 cancelled.
`;

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
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  // `npx aider-mlx --demo` / `--plain`: the wizard's own flags work without naming `setup`.
  if (first === '--demo' || first === '--plain') {
    await recoverBeforeCommand();
    return (await import('./commands/setup.js')).runSetupCommand(argv);
  }
  // `aider-mlx <command> --help`: the one help page. doctor and models have their own; `aider-mlx
  // aider --help` is aider's.
  if (!['aider', 'doctor', 'models'].includes(first) && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (RECOVERING_COMMANDS.has(first)) await recoverBeforeCommand();
  switch (first) {
    case 'setup':
      return (await import('./commands/setup.js')).runSetupCommand(rest);
    case 'doctor':
      // The plan's schema (zod) loads alongside the doctor: it validates the plan while the probes run.
      void import('./config/plan-schema.js').catch(() => undefined);
      return (await import('./commands/doctor.js')).runDoctorCommand(rest);
    case 'reconfigure':
      return (await import('./commands/reconfigure.js')).runReconfigureCommand(rest);
    case 'status':
      return (await import('./commands/status.js')).runStatusCommand(rest);
    case 'models':
      return (await import('./commands/models.js')).runModelsCommand(rest);
    case 'serve':
      return (await import('./commands/serve.js')).runServeCommand(rest);
    case 'service':
      return (await import('./commands/service.js')).runServiceCommand(rest);
    case 'install':
      return (await import('./commands/install.js')).runInstallCommand(rest);
    case 'restore':
      return (await import('./commands/restore.js')).runRestoreCommand(rest);
    case 'uninstall':
      return (await import('./commands/uninstall.js')).runUninstallCommand(rest);
    case 'aider':
      return (await import('./commands/aider.js')).runAiderCommand(rest);
    case 'fake-mlx-server':
      // The stand-in server that `--demo` and the tests use (hidden: not a user command).
      return (await import('./servers/fake-mlx-server.js')).runFakeServerCommand(rest);
    default:
      throw new UsageError(`Unknown command "${first}".`, 'Run `aider-mlx --help` to see the commands.');
  }
}

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
