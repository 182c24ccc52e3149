// Builds dist-agent/c2f-agent-linux-x64: the host agent as a single executable (Node.js's single executable
// applications). The agent and every dependency are bundled into one CommonJS script (what Node runs from
// an executable), a preparation blob is made from it, and the blob is injected into a copy of the Node.js 24
// binary running this script. Hosts need nothing else: no Node.js, no npm.
import { spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundledPackages, renderNotices, type BundledPackage } from './third-party-notices.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(REPO, 'dist-agent'));
if (process.platform !== 'linux' || process.arch !== 'x64')
  throw new Error(`the agent executable is built on linux-x64, not ${process.platform}-${process.arch}`);
const pkg = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
await mkdir(out, { recursive: true });
const script = path.join(out, 'c2f-agent.cjs');
const bundled = await build({
  entryPoints: [path.join(REPO, 'src', 'cli', 'c2f-agent.ts')],
  metafile: true,
  outfile: script,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  charset: 'utf8',
  define: { C2F_PACKAGE_VERSION: JSON.stringify(pkg.version) },
  // version.ts reads package.json through import.meta only when the version was not defined, as it is here.
  logOverride: { 'empty-import-meta': 'silent' },
});
const blob = path.join(out, 'c2f-agent.blob');
const seaConfig = path.join(out, 'sea-config.json');
// execArgvExtension "none": NODE_OPTIONS is ignored, so nothing in the environment can load code into the agent.
await writeFile(
  seaConfig,
  JSON.stringify({
    main: script,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: true,
    execArgvExtension: 'none',
  }),
);
const prepared = spawnSync(process.execPath, ['--experimental-sea-config', seaConfig], { encoding: 'utf8' });
if (prepared.status !== 0) throw new Error(`the preparation blob was not made:\n${prepared.stdout}${prepared.stderr}`);
const executable = path.join(out, 'c2f-agent-linux-x64');
await rm(executable, { force: true });
await copyFile(process.execPath, executable);
await chmod(executable, 0o755);
// postject warns about ELF note sections it leaves alone; its output matters only when it fails.
const injected = spawnSync(
  process.execPath,
  [
    path.join(REPO, 'node_modules', 'postject', 'dist', 'cli.js'),
    executable,
    'NODE_SEA_BLOB',
    blob,
    '--sentinel-fuse',
    'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ],
  { encoding: 'utf8' },
);
if (injected.status !== 0) throw new Error(`postject failed:\n${injected.stdout}${injected.stderr}`);
for (const intermediate of [blob, seaConfig, script]) await rm(intermediate);
process.stdout.write(
  `${path.relative(process.cwd(), executable)} (${pkg.version}, Node.js ${process.versions.node})\n`,
);

// The executable is Node.js itself with the agent inside: its notices name both.
const nodeLicense = await readFile(path.join(path.dirname(process.execPath), '..', 'LICENSE'), 'utf8').catch(() => '');
const node: BundledPackage = {
  name: 'Node.js',
  version: process.versions.node,
  license: 'MIT and others',
  text: nodeLicense.trim(),
};
await writeFile(
  path.join(out, 'THIRD_PARTY_NOTICES.txt'),
  renderNotices('c2f-agent-linux-x64', await bundledPackages(process.cwd(), [bundled.metafile]), [node]),
);
