// Makes a fresh clone runnable: installs dev dependencies when missing and rebuilds dist/ when
// any source or template is newer than the bundle. Uses only Node built-ins.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (args) => execFileSync(npm, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });

const lockNewer = () =>
  !existsSync(join(root, 'node_modules/.package-lock.json')) ||
  statSync(join(root, 'package-lock.json')).mtimeMs > statSync(join(root, 'node_modules/.package-lock.json')).mtimeMs;

// A node_modules that is a symlink is someone else's install (a git worktree sharing the main
// checkout's): `npm ci` would empty it for everyone who shares it. Leave it alone.
const shared = existsSync(join(root, 'node_modules')) && lstatSync(join(root, 'node_modules')).isSymbolicLink();
if (shared && lockNewer()) {
  process.stderr.write('aider-mlx: node_modules is a shared link; not reinstalling (run npm ci where it points, if needed).\n');
} else if (!existsSync(join(root, 'node_modules')) || lockNewer()) {
  process.stderr.write('aider-mlx: installing dev dependencies (npm ci)…\n');
  run(['ci', '--no-fund', '--no-audit', '--loglevel=error']);
}

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
const bundle = join(root, 'dist/cli.js');
const srcTime = Math.max(newest(join(root, 'src')), statSync(join(root, 'tsup.config.ts')).mtimeMs);
if (!existsSync(bundle) || statSync(bundle).mtimeMs < srcTime) {
  process.stderr.write('aider-mlx: building dist/ …\n');
  run(['run', '--silent', 'build']);
}
