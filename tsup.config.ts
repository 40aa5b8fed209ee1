import { readFileSync } from 'node:fs';
import { defineConfig, type Options } from 'tsup';
import { parse } from 'yaml';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
// The shipped curated list, parsed once here: `models` uses it while the file's text is unchanged.
const curatedText = readFileSync('data/curated-models.yaml', 'utf8');
const curated = { text: curatedText, json: JSON.stringify(parse(curatedText)) };

const shared: Options = {
  outDir: 'dist',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: false,
  noExternal: [/.*/],
  define: {
    'process.env.NODE_ENV': '"production"',
    __AIDER_MLX_VERSION__: JSON.stringify(pkg.version),
    __AIDER_MLX_CURATED__: JSON.stringify(curated),
  },
};

/**
 * The lean bundle's require(): Node's own, except for the built-ins a command often does not use
 * (crypto, child processes, fs/promises and its readline, perf_hooks): those load on their first
 * use, not when a module that imports them is initialised. Each costs a few ms of every start.
 * A namespace import (esbuild's __toESM) lists the module's keys, and loads it then.
 */
const LAZY_BUILTINS = `var require = ((real) => {
  const lazy = new Set(['crypto', 'child_process', 'fs/promises', 'perf_hooks', 'readline', 'timers/promises', 'stream/promises']);
  const made = new Map();
  const wrap = (id) => {
    if (!lazy.has(id.replace(/^node:/, ''))) return real(id);
    let p = made.get(id);
    if (p) return p;
    let m;
    const load = () => (m ??= real(id));
    p = new Proxy({}, {
      get: (_, k) => (k === '__esModule' && m === undefined ? undefined : load()[k]),
      has: (_, k) => k in load(),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_, k) => {
        const d = Reflect.getOwnPropertyDescriptor(load(), k);
        return d && { ...d, configurable: true };
      },
    });
    made.set(id, p);
    return p;
  };
  return Object.assign(wrap, real);
})(require);`;

const alias = {
  'react-devtools-core': './src/lib/devtools-stub.ts',
  // yaml's ES module build (the same code as its CommonJS one, which `node` resolves to):
  // a CommonJS module runs all its files on first require, the ES build only what is used.
  // Worth ~5 ms of every command's start (bench/README: doctor --json).
  yaml: './node_modules/yaml/browser/index.js',
};

// Everything the CLI runs is bundled: `dependencies` stays empty so `npx aider-mlx` installs one
// small package.
export default defineConfig([
  // dist/cli.js: every command. Ink/React live in split chunks that only the interactive face imports.
  {
    ...shared,
    entry: { cli: 'src/cli.ts' },
    format: ['esm'],
    splitting: true,
    // dist/lean.cjs is the other build's, written alongside.
    clean: ['!lean.cjs'],
    esbuildOptions(options) {
      options.alias = alias;
      // Some bundled CJS modules call require() for Node built-ins.
      options.banner = {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      };
    },
  },
  // dist/lean.cjs: `doctor`, `status` and the help pages in one CommonJS file. No ES module loader,
  // no chunks to resolve, and on Node 20 V8's code cache (bin/aider-mlx.js): `doctor --json` starts
  // in a fraction of the time (bench/README).
  {
    ...shared,
    entry: { lean: 'src/lean.ts' },
    format: ['cjs'],
    splitting: false,
    clean: false,
    // import.meta.url (packageRoot finds templates/ from it) as the file's own URL.
    shims: true,
    outExtension: () => ({ js: '.cjs' }),
    esbuildOptions(options) {
      options.alias = alias;
      options.banner = { js: LAZY_BUILTINS };
      // import() of a built-in as require(): bin/aider-mlx.js runs this file through vm.Script on
      // Node 20 (for the code cache), where a dynamic import would need an experimental loader.
      options.supported = { 'dynamic-import': false };
    },
  },
]);
