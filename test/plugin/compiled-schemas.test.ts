import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { compiledSources } from '../../scripts/compile-schemas.ts';
import { REPO } from '../helpers.ts';

test('the committed standalone validators are what the schemas compile to', async () => {
  for (const [file, source] of await compiledSources()) {
    assert.equal(
      await readFile(path.join(REPO, file), 'utf8'),
      source,
      `${file} is stale: run "node scripts/compile-schemas.ts"`,
    );
  }
});
