import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { SUBSET_FILE, subsetFromPackage } from '../../dev/github/openapi-subset.ts';

test("the stand-in's contract is cut from the current @octokit/openapi description", async () => {
  const committed = JSON.parse(await readFile(SUBSET_FILE, 'utf8'));
  assert.deepEqual(
    committed,
    JSON.parse(JSON.stringify(await subsetFromPackage())),
    'openapi-subset.json is stale: run "node test/github/openapi-subset.ts"',
  );
});
