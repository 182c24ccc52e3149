// Builds the npm tarball users install (`npm install -g conn2flow-plugin-release-<version>.tgz`), from the
// built dist/ (run "npm run build" first). Its package.json is the repository's reduced to what an install
// reads (name, version, bins, the bot's run-time dependencies, engines): no scripts (an installed package
// builds nothing and runs nothing at install) and no development dependencies.
import { execFileSync } from 'node:child_process';
import { access, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const destination = path.resolve(process.argv[2] ?? REPO);
const pkg = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8')) as Record<string, unknown> & {
  files: string[];
};
await access(path.join(REPO, 'dist', 'cli.js')).catch(() => {
  throw new Error('dist/cli.js is missing: run "npm run build" first');
});
const KEEP = [
  'name',
  'version',
  'description',
  'type',
  'license',
  'engines',
  'bin',
  'files',
  'dependencies',
  'repository',
  'homepage',
  'bugs',
  'keywords',
];
// An author's commands (pack, verify, diff) run on Node.js 20; dist/cli.js tells the bot and agent commands'
// users in one line that they need 24. So an install on 20 is not a screen of EBADENGINE warnings.
const shipped = {
  ...Object.fromEntries(KEEP.filter((key) => key in pkg).map((key) => [key, pkg[key]])),
  engines: { node: '>=20' },
};
const staging = await mkdtemp(path.join(tmpdir(), 'c2f-pack-'));
try {
  for (const entry of pkg.files) await cp(path.join(REPO, entry), path.join(staging, entry), { recursive: true });
  await writeFile(path.join(staging, 'package.json'), `${JSON.stringify(shipped, null, 2)}\n`);
  const output = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], {
    cwd: staging,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [{ filename }] = JSON.parse(output) as Array<{ filename: string }>;
  process.stdout.write(`${path.join(destination, filename)}\n`);
} finally {
  await rm(staging, { recursive: true, force: true });
}
