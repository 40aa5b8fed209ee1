#!/usr/bin/env node
// Tiny on purpose: check Node, then load the bundle. Everything else lives in dist/.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(
    `aider-mlx needs Node 20.19 or newer; this is ${process.versions.node}.\n` +
      'Install a current Node (https://nodejs.org or `brew install node`) and run it again.\n',
  );
  process.exit(2);
}
await import('../dist/cli.js');
