// The fast tier's files: every test file except those left to the full suite (a database of any kind,
// MariaDB, PHP, root, many real processes, or slow). scripts/test-unit.ts runs them;
// test/docs/unit-tier.test.ts checks that none of them reaches a database.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Tests left to the full suite, and why. */
export const FULL_SUITE_ONLY: Record<string, string> = {
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
  'test/bot/unclaimed-pushes.test.ts': 'bots on PGlite and PostgreSQL',
  'test/bot/store.test.ts': 'PostgreSQL',
  'test/bot/follow-rollouts.test.ts': 'PGlite and PostgreSQL',
  'test/bot/queue.test.ts': 'PostgreSQL',
  'test/bot/delivery.test.ts': 'PostgreSQL',
  'test/bot/deliver-rollout.test.ts': 'PostgreSQL',
  'test/bot/first-push-claims.test.ts': 'PGlite and PostgreSQL',
  'test/bot/change-announcements.test.ts': 'PGlite and PostgreSQL, 201 hosts',
  'test/bot/release-intake.test.ts': 'PostgreSQL',
  'test/bot/replay.test.ts': 'PostgreSQL',
  'test/bot/retention.test.ts': 'PostgreSQL',
  'test/bot/staged-rollouts.test.ts': 'PostgreSQL, fleets on both engines',
  'test/bot/yank.test.ts': 'PostgreSQL and PGlite, a fleet',
  'test/bot/release-control.test.ts': 'PostgreSQL and PGlite, a fleet',
  'test/bot/notifications.test.ts': 'PostgreSQL and PGlite, a fleet',
  'test/bot/start.test.ts': 'bot processes',
  'test/bot/app-registration.test.ts': 'bot processes',
  'test/bot/webhook-limit.test.ts': 'a bot process and 700 MB of requests',
  'test/bot/release-provenance.test.ts': 'a bot on PGlite',
  'test/bot/release-flow.test.ts': 'the whole intake on PGlite with retries (slow)',
  'test/bot/pull-mode.test.ts': 'long polls and leases that run out (slow)',
  'test/bot/unresolvable-release.test.ts': 'resolution retries (slow)',
  'test/bot/redeliver-webhooks.test.ts': 'the scheduled pass (slow)',
  'test/bot/bot-state.test.ts': 'rollouts on PGlite and PostgreSQL',
  'test/bot/release-publisher.test.ts': 'releases resolved on PGlite',
  'test/cli/signing.test.ts': "minisign's own 1 GiB scrypt, three times (slow)",
};

export const UNIT_TIER_FILES = readdirSync(path.join(REPO, 'test'), { recursive: true, encoding: 'utf8' })
  .map((file) => `test/${file.split(path.sep).join('/')}`)
  .filter(
    (file) => file.endsWith('.test.ts') && !Object.keys(FULL_SUITE_ONLY).some((prefix) => file.startsWith(prefix)),
  )
  .sort();
