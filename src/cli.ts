// The full CLI (dist/cli.js): every command; the wizard's Ink and @inquirer faces load only when drawn.
import { LEAN_TABLE, run } from './main.js';

run({
  ...LEAN_TABLE,
  setup: async (rest) => (await import('./commands/setup.js')).runSetupCommand(rest),
  reconfigure: async (rest) => (await import('./commands/reconfigure.js')).runReconfigureCommand(rest),
  models: async (rest) => (await import('./commands/models.js')).runModelsCommand(rest),
  bench: async (rest) => (await import('./commands/bench.js')).runBenchCommand(rest),
  serve: async (rest) => (await import('./commands/serve.js')).runServeCommand(rest),
  launch: async (rest) => (await import('./commands/launch.js')).runLaunchCommand(rest),
  stop: async (rest) => (await import('./commands/launch.js')).runStopCommand(rest),
  service: async (rest) => (await import('./commands/service.js')).runServiceCommand(rest),
  install: async (rest) => (await import('./commands/install.js')).runInstallCommand(rest),
  restore: async (rest) => (await import('./commands/restore.js')).runRestoreCommand(rest),
  uninstall: async (rest) => (await import('./commands/uninstall.js')).runUninstallCommand(rest),
  aider: async (rest) => (await import('./commands/aider.js')).runAiderCommand(rest[0] === '--' ? rest.slice(1) : rest),
  'fake-mlx-server': async (rest) => (await import('./servers/fake-mlx-server.js')).runFakeServerCommand(rest),
});
