import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { REPO, run, tempDir } from '../helpers.ts';

// GitHub runs dist/action.js straight from the tag, so the committed bundle must be what the source builds.
test('the committed dist/action.js, its chunks and its licence notices are what the source builds', async () => {
  const out = await tempDir('c2f-dist-');
  const build = await run(process.execPath, [path.join(REPO, 'scripts', 'build.ts'), out], { cwd: REPO });
  assert.equal(build.code, 0, build.stderr);
  const committed = execFileSync('git', ['show', 'HEAD:dist/action.js'], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  const fresh = await readFile(path.join(out, 'action.js'));
  assert.ok(
    fresh.equals(committed),
    'dist/action.js differs from a fresh build: run "npm run build" and commit dist/action.js',
  );
  const committedChunks = execFileSync('git', ['ls-tree', '--name-only', 'HEAD', 'dist/action-chunks/'], { cwd: REPO })
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((file) => path.basename(file))
    .sort();
  const freshChunks = (await readdir(path.join(out, 'action-chunks'))).sort();
  assert.deepEqual(
    committedChunks,
    freshChunks,
    'dist/action-chunks/ differs from a fresh build: commit what it builds',
  );
  for (const chunk of freshChunks) {
    const bytes = execFileSync('git', ['show', `HEAD:dist/action-chunks/${chunk}`], {
      cwd: REPO,
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.ok(
      bytes.equals(await readFile(path.join(out, 'action-chunks', chunk))),
      `dist/action-chunks/${chunk} differs`,
    );
  }
  const committedNotices = execFileSync('git', ['show', 'HEAD:dist/action.THIRD_PARTY_NOTICES.txt'], { cwd: REPO });
  const freshNotices = await readFile(path.join(out, 'action.THIRD_PARTY_NOTICES.txt'));
  assert.ok(
    freshNotices.equals(committedNotices),
    'dist/action.THIRD_PARTY_NOTICES.txt differs from a fresh build: run "npm run build" and commit it',
  );
});

test('action.yml runs dist/action.js on node24', async () => {
  const yml = await readFile(path.join(REPO, 'action.yml'), 'utf8');
  assert.match(yml, /\nruns:\n {2}using: node24\n {2}main: dist\/action\.js\n/);
});
