#!/usr/bin/env node
'use strict';
// Tiny on purpose, and CommonJS (bin/package.json) because a CJS entry starts faster than an ES
// module: check Node, answer --version, then load the bundle.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(
    `aider-mlx needs Node 20.19 or newer; this is ${process.versions.node}.\n` +
      'Install a current Node (https://nodejs.org or `brew install node`) and run it again.\n',
  );
  process.exit(2);
}
// `npm start` (and any npm script) runs in the package folder; npm says where the user was in
// INIT_CWD. Act there: the Aider files belong to the user's project, not to this package.
const initCwd = process.env.INIT_CWD;
if (initCwd) {
  const fs = require('node:fs');
  const path = require('node:path');
  const real = (p) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return undefined;
    }
  };
  const root = real(path.join(__dirname, '..'));
  const here = real(process.cwd());
  const there = real(initCwd);
  if (root && here === root && there && there !== root && fs.statSync(there).isDirectory()) process.chdir(there);
}
const arg = process.argv[2];
if (process.argv.length === 3 && (arg === '--version' || arg === '-v')) {
  // Asked by scripts and shells on every start: answer it without loading the bundle.
  const pkg = JSON.parse(require('node:fs').readFileSync(require('node:path').join(__dirname, '..', 'package.json'), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else {
  // Node 22.1+ keeps V8's compiled code of the bundle between runs (in the OS temp folder); Node 20
  // has no such cache and skips this. AIDER_MLX_NO_COMPILE_CACHE=1 turns it off.
  if (!process.env.AIDER_MLX_NO_COMPILE_CACHE) require('node:module').enableCompileCache?.();
  import('../dist/cli.js');
}
