import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { pack } from '../../src/plugin/pack.ts';
import { FIXTURES, REPO, run, tempDir } from '../helpers.ts';
import { singlePluginRepo } from './run-action.ts';

// GitHub's own local runner for actions (@github/local-action) runs our entry point from source, with its
// stand-in @actions/core, and gets the same package as the CLI.
test('the action runs under @github/local-action', { timeout: 180_000 }, async () => {
  const workspace = await singlePluginRepo();
  const dir = await tempDir('c2f-local-action-');
  const out = path.join(dir, 'out');
  await mkdir(path.join(dir, 'runner'), { recursive: true });
  const env = path.join(dir, '.env');
  await writeFile(
    env,
    [
      'INPUT_UPLOAD=false',
      'INPUT_TOKEN=',
      `INPUT_OUT-DIR=${out}`,
      `GITHUB_WORKSPACE=${workspace}`,
      'GITHUB_REPOSITORY=conn2flow/plugins',
      'GITHUB_EVENT_NAME=workflow_dispatch',
      `RUNNER_TEMP=${path.join(dir, 'runner')}`,
    ].join('\n'),
  );
  const result = await run(
    path.join(REPO, 'node_modules', '.bin', 'local-action'),
    ['run', REPO, 'src/action/main.ts', env],
    { cwd: REPO },
  );
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.doesNotMatch(result.stdout, /::error/);
  const expected = await pack(path.join(FIXTURES, 'plugins', 'full-plugin'), { outDir: await tempDir() });
  assert.match(result.stdout, new RegExp(`::set-output name=sha256::${expected.zip.sha256}`));
  assert.match(result.stdout, /::set-output name=plugin-id::full-plugin/);
});
