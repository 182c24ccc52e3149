// Bundles the programs with esbuild. dist/cli.js is what the `c2f-plugin` bin runs.
import { build } from 'esbuild';

const entries = [{ in: 'src/cli/c2f-plugin.ts', out: 'cli' }];

await build({
  entryPoints: entries,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  // Some bundled CommonJS dependencies call require() at run time.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
