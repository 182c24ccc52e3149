// `npm run test:unit`: the fast tier to run while working. Every test file except those that need a
// database of any kind (PGlite included), MariaDB, PHP, root, or many real processes; it runs in well under a
// minute on a laptop with nothing installed beside Node.js 24 (and zip/unzip). `npm test` (what CI runs) runs
// them all. test/bot/databases.ts refuses to load in this tier, so a test that needs a database and is not
// listed below fails here with a sentence saying so.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Tests left to the full suite, and why. */
const FULL_SUITE_ONLY: Record<string, string> = {
  'test/e2e/': 'real bot and agent processes, the stand-in site on MariaDB',
  'test/package/': 'npm installs the packed tarball',
  'test/php/': 'PHP',
  'test/agent/conn2flow.test.ts': 'MariaDB and PHP',
  'test/agent/inspect-package.test.ts': "PHP's ZipArchive",
  'test/agent/disk-full.test.ts': 'root (mounts a tmpfs)',
  'test/agent/process.test.ts': 'kills and restarts agent processes',
  'test/bot/processes.test.ts': 'PostgreSQL, several bot processes',
  'test/bot/admin-api.test.ts': 'a bot on PGlite',
  'test/bot/overdue-reports.test.ts': 'bots on PGlite and PostgreSQL',
  'test/bot/store.test.ts': 'PostgreSQL',
  'test/bot/queue.test.ts': 'PostgreSQL',
  'test/bot/delivery.test.ts': 'PostgreSQL',
  'test/bot/deliver-rollout.test.ts': 'PostgreSQL',
  'test/bot/release-intake.test.ts': 'PostgreSQL',
  'test/bot/replay.test.ts': 'PostgreSQL',
  'test/bot/retention.test.ts': 'PostgreSQL',
  'test/bot/staged-rollouts.test.ts': 'PostgreSQL, fleets on both engines',
  'test/bot/start.test.ts': 'bot processes',
  'test/bot/app-registration.test.ts': 'bot processes',
  'test/bot/webhook-limit.test.ts': 'a bot process and 700 MB of requests',
  'test/bot/release-flow.test.ts': 'the whole intake on PGlite with retries (slow)',
  'test/bot/pull-mode.test.ts': 'long polls and leases that run out (slow)',
  'test/bot/unresolvable-release.test.ts': 'resolution retries (slow)',
  'test/bot/redeliver-webhooks.test.ts': 'the scheduled pass (slow)',
};

const files = readdirSync(path.join(REPO, 'test'), { recursive: true, encoding: 'utf8' })
  .map((file) => `test/${file.split(path.sep).join('/')}`)
  .filter(
    (file) => file.endsWith('.test.ts') && !Object.keys(FULL_SUITE_ONLY).some((prefix) => file.startsWith(prefix)),
  )
  .sort();
const build = spawnSync(process.execPath, [path.join(REPO, 'scripts', 'build.ts')], { cwd: REPO, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], {
  cwd: REPO,
  stdio: 'inherit',
  env: { ...process.env, C2F_TEST_TIER: 'unit' },
});
process.exit(result.status ?? 1);
