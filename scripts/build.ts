// Bundles the programs with esbuild. dist/cli.js is what the `c2f-plugin` bin runs; dist/action.js is what
// GitHub runs for action.yml, committed because GitHub runs it straight from the tag.
import { build } from 'esbuild';

const shared = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  minify: true,
  // Keep the bundle byte-identical from one build to the next, so CI can compare it with the commit.
  charset: 'utf8',
  // Some bundled CommonJS dependencies call require() at run time.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
} as const;
const outdir = process.argv[2] ?? 'dist';

// The Action runs without node_modules: everything is bundled.
await build({ ...shared, entryPoints: [{ in: 'src/action/index.ts', out: 'action' }], outdir });
// The CLI is installed with its dependencies; the bot's (PGlite ships wasm files, Probot loads plugins)
// stay packages. Code splitting keeps the bot in its own chunk, loaded only by `c2f-plugin bot`, so
// `pack` never loads Probot or PGlite.
await build({
  ...shared,
  entryPoints: [{ in: 'src/cli/c2f-plugin.ts', out: 'cli' }],
  outdir,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  external: ['@electric-sql/pglite', 'pg', 'pg-boss', 'probot', 'mysql2'],
});
