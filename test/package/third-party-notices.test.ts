import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { build, type Metafile } from 'esbuild';
import { REPO } from '../helpers.ts';

// Every package esbuild puts into a shipped bundle has its licence in the notices shipped beside it. The
// packages are found here by bundling the entry points again (nothing written), not by trusting the build.
async function packagesIn(entryPoints: string[], external: string[] = []): Promise<Map<string, string>> {
  const { metafile } = await build({
    entryPoints: entryPoints.map((entry) => path.join(REPO, entry)),
    absWorkingDir: REPO,
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    outdir: path.join(REPO, 'out-notices-check'),
    splitting: true,
    metafile: true,
    logLevel: 'silent',
    external,
  });
  return packageDirs(metafile);
}

async function packageDirs(metafile: Metafile): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const input of Object.keys(metafile.inputs)) {
    const dir = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
    if (!dir || found.has(dir)) continue;
    const pkg = JSON.parse(await readFile(path.join(REPO, dir, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    found.set(dir, `${pkg.name} ${pkg.version}`);
  }
  return found;
}

async function assertCovered(noticesFile: string, packages: Map<string, string>) {
  const notices = await readFile(path.join(REPO, noticesFile), 'utf8');
  assert.ok(packages.size > 5, `the bundle holds ${packages.size} packages: the check found too few to be real`);
  for (const [dir, id] of packages) {
    assert.match(
      notices,
      new RegExp(`^- ${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(`, 'm'),
      `${noticesFile} does not list ${id} (${dir})`,
    );
    const license = await readFile(path.join(REPO, dir, 'LICENSE'), 'utf8').catch(() => undefined);
    if (license) assert.ok(notices.includes(license.trim()), `${noticesFile} lacks the licence text of ${id}`);
  }
}

test('dist/action.THIRD_PARTY_NOTICES.txt names every package in dist/action.js, with its licence text', async () => {
  await assertCovered('dist/action.THIRD_PARTY_NOTICES.txt', await packagesIn(['src/action/index.ts']));
});

test('dist/THIRD_PARTY_NOTICES.txt (in the npm tarball) names every package the CLI and agent bundles hold', async () => {
  const packages = await packagesIn(
    ['src/cli/c2f-plugin.ts', 'src/cli/c2f-agent.ts'],
    ['@electric-sql/pglite', 'pg', 'mysql2'],
  );
  assert.ok(
    [...packages.values()].some((id) => id.startsWith('probot ')),
    'the bot chunk holds probot',
  );
  await assertCovered('dist/THIRD_PARTY_NOTICES.txt', packages);
});

test('the agent executable’s notices name Node.js, with its licence, and every package in the agent', async () => {
  const notices = await readFile(path.join(REPO, 'dist-agent', 'THIRD_PARTY_NOTICES.txt'), 'utf8');
  assert.match(notices, new RegExp(`^- Node\\.js ${process.versions.node.replace(/\./g, '\\.')} `, 'm'));
  assert.match(notices, /Node\.js is licensed for use as follows/);
  await assertCovered('dist-agent/THIRD_PARTY_NOTICES.txt', await packagesIn(['src/cli/c2f-agent.ts']));
});
