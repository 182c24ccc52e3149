import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { REPO, run } from '../helpers.ts';

// `npm run demo` end to end: the packer, the GitHub stand-in, the bot on PGlite (serving the private
// package itself), two enrolled agents as real processes, a manual approval; it must end with both ok.

test('npm run demo: a release reaches an auto and a manual host and both report ok', { timeout: 180_000 }, async () => {
  const result = await run(process.execPath, [path.join(REPO, 'scripts', 'demo.ts')], { env: { DEMO_TIMEOUT_MS: '90000' } });
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /site-auto\s+ok\s+0 OK\s+1\.0\.0/);
  assert.match(result.stdout, /site-manual\s+awaiting_approval/);
  assert.match(result.stdout, /approving site-manual/);
  assert.match(result.stdout, /site-manual\s+ok\s+0 OK\s+1\.0\.0/);
  assert.match(result.stdout, /both hosts report ok/);
});
