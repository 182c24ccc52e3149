// Bundles the programs with esbuild. dist/cli.js is what the `c2f-plugin` bin runs; dist/action.js is what
// GitHub runs for action.yml, committed because GitHub runs it straight from the tag.
import { build } from 'esbuild';

const entries = [
  { in: 'src/cli/c2f-plugin.ts', out: 'cli' },
  { in: 'src/action/index.ts', out: 'action' },
];

await build({
  entryPoints: entries,
  outdir: process.argv[2] ?? 'dist',
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: true,
  // Keep the bundle byte-identical from one build to the next, so CI can compare it with the commit.
  charset: 'utf8',
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  // Some bundled CommonJS dependencies call require() at run time.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
