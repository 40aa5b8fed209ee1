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
// The commands that never draw a screen run from dist/lean.cjs, one CommonJS file (src/main.ts:
// LEAN_COMMANDS, which a test keeps equal to this list).
const LEAN = new Set(['doctor', 'status', 'help', '--help', '-h']);

/**
 * Load dist/lean.cjs. Node 22.1+ caches its compiled code itself; on Node 20 V8's code cache is kept
 * by hand, in ${XDG_CACHE_HOME:-~/.cache}/aider-mlx/v8 (the user's own folder, not a shared temp
 * one: V8 trusts what it reads there). A cache V8 rejects, or cannot read or write, only costs the
 * compile it would have saved.
 */
function lean() {
  const path = require('node:path');
  const file = path.join(__dirname, '..', 'dist', 'lean.cjs');
  const Module = require('node:module');
  if (process.env.AIDER_MLX_NO_COMPILE_CACHE || Module.enableCompileCache) {
    if (!process.env.AIDER_MLX_NO_COMPILE_CACHE) Module.enableCompileCache?.();
    require(file);
    return;
  }
  const fs = require('node:fs');
  const vm = require('node:vm');
  const source = fs.readFileSync(file, 'utf8');
  const home = process.env.HOME || require('node:os').homedir();
  const dir = path.join(process.env.XDG_CACHE_HOME || path.join(home, '.cache'), 'aider-mlx', 'v8');
  const st = fs.statSync(file);
  const cacheFile = path.join(dir, `lean-${process.versions.v8}-${process.arch}-${st.size}-${Math.trunc(st.mtimeMs)}.bin`);
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    /* first run, or another build */
  }
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const m = new Module(file, module);
  m.filename = file;
  m.paths = Module._nodeModulePaths(path.dirname(file));
  m.loaded = true;
  const req = (id) => m.require(id);
  script.runInThisContext().call(m.exports, m.exports, req, m, file, path.dirname(file));
  if (cachedData && !script.cachedDataRejected) return;
  // After the command: the cache then holds the functions it ran too, not only the top level. Not
  // after a cancelled one (Ctrl-C: 130), which leaves nothing behind.
  process.once('beforeExit', () => {
    if (process.exitCode !== undefined && process.exitCode !== 0 && process.exitCode !== 1) return;
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(tmp, cacheFile);
      // Older builds' caches go.
      for (const f of fs.readdirSync(dir)) if (f.startsWith('lean-') && path.join(dir, f) !== cacheFile && !f.endsWith('.tmp')) fs.rmSync(path.join(dir, f), { force: true });
    } catch {
      /* a read-only or full disk: no cache, same result */
    }
  });
}
if (process.argv.length === 3 && (arg === '--version' || arg === '-v')) {
  // Asked by scripts and shells on every start: answer it without loading the bundle.
  const pkg = JSON.parse(require('node:fs').readFileSync(require('node:path').join(__dirname, '..', 'package.json'), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else if (LEAN.has(arg)) {
  lean();
} else {
  // Node 22.1+ keeps V8's compiled code of the bundle between runs (in the OS temp folder); Node 20
  // has no such cache and skips this. AIDER_MLX_NO_COMPILE_CACHE=1 turns it off.
  if (!process.env.AIDER_MLX_NO_COMPILE_CACHE) require('node:module').enableCompileCache?.();
  import('../dist/cli.js');
}
