// `npm run test:unit`: the fast tier to run while working. Every test file except those that need a
// database of any kind (PGlite included), MariaDB, PHP, root, or many real processes; it runs in well under a
// minute on a laptop with nothing installed beside Node.js 24 (and zip/unzip). `npm test` (what CI runs) runs
// them all. test/bot/databases.ts refuses to load in this tier, so a test that needs a database and is not
// listed below fails here with a sentence saying so.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

import { UNIT_TIER_FILES as files } from './unit-tier.ts';

const build = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'build.ts')], { cwd: REPO, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const result = spawnSync(
  process.execPath,
  ['--liftoff-only', '--test', '--test-concurrency=2', '--test-timeout=240000', '--test-force-exit', ...files],
  {
    cwd: REPO,
    stdio: 'inherit',
    env: { ...process.env, C2F_TEST_TIER: 'unit' },
  },
);
process.exit(result.status ?? 1);
