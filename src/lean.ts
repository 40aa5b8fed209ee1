// The lean CLI (dist/lean.cjs): one CommonJS file with the commands that never draw a screen, so
// `doctor --json`, `status` and the help pages start without the ES module loader, Ink or React.
// bin/aider-mlx.js sends it only LEAN_COMMANDS; everything else goes to dist/cli.js.
import { LEAN_TABLE, run } from './main.js';

run(LEAN_TABLE);
