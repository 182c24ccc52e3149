import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { UNIT_TIER_FILES } from '../../scripts/unit-tier.ts';
import { REPO } from '../helpers.ts';

// `npm run test:unit` promises a tier with no database of any kind: no file in it may reach
// test/bot/databases.ts (which refuses to load there), directly or through the helpers it imports.

async function reaches(file: string, target: string, seen = new Set<string>()): Promise<string[] | undefined> {
  if (file === target) return [file];
  if (seen.has(file) || !file.startsWith('test/')) return undefined;
  seen.add(file);
  const text = await readFile(path.join(REPO, file), 'utf8');
  for (const [, spec] of text.matchAll(/^(?:import|export)[^'"]*from '(\.[^']+\.ts)'/gm)) {
    const next = path.relative(REPO, path.resolve(path.dirname(path.join(REPO, file)), spec));
    const chain = await reaches(next, target, seen);
    if (chain) return [file, ...chain];
  }
  return undefined;
}

test('no file of the fast tier reaches a database', async () => {
  assert.ok(UNIT_TIER_FILES.length > 30, `the fast tier has ${UNIT_TIER_FILES.length} files`);
  const target = 'test/bot/databases.ts';
  assert.ok(existsSync(path.join(REPO, target)));
  const offenders: string[] = [];
  for (const file of UNIT_TIER_FILES) {
    const chain = await reaches(file, target);
    if (chain) offenders.push(chain.join(' → '));
  }
  assert.deepEqual(offenders, [], 'list these in scripts/unit-tier.ts (FULL_SUITE_ONLY), with the reason');
});
