import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { parse } from 'yaml';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
// The shipped curated list, parsed once here: `models` uses it while the file's text is unchanged.
const curatedText = readFileSync('data/curated-models.yaml', 'utf8');
const curated = { text: curatedText, json: JSON.stringify(parse(curatedText)) };

// Everything the CLI runs is bundled: `dependencies` stays empty so `npx aider-mlx` installs one
// small package. Ink/React live in split chunks that only the interactive face imports.
export default defineConfig({
  entry: { cli: 'src/cli.ts' },
  outDir: 'dist',
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  splitting: true,
  minify: true,
  clean: true,
  sourcemap: false,
  noExternal: [/.*/],
  define: {
    'process.env.NODE_ENV': '"production"',
    __AIDER_MLX_VERSION__: JSON.stringify(pkg.version),
    __AIDER_MLX_CURATED__: JSON.stringify(curated),
  },
  esbuildOptions(options) {
    options.alias = {
      'react-devtools-core': './src/lib/devtools-stub.ts',
      // yaml's ES module build (the same code as its CommonJS one, which `node` resolves to):
      // a CommonJS module runs all its files on first require, the ES build only what is used.
      // Worth ~5 ms of every command's start (bench/README: doctor --json).
      yaml: './node_modules/yaml/browser/index.js',
    };
    // Some bundled CJS modules call require() for Node built-ins.
    options.banner = {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    };
  },
});
