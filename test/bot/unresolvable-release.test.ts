import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { WEBHOOK_PATH, type RunningBot } from '../../src/bot/server.ts';
import { startTestBot } from './test-bot.ts';
import { releasePayload, sendWebhook } from '../../dev/github/webhooks.ts';
import type { Database } from '../../src/bot/store/database.ts';
import { getRelease } from '../../src/bot/store/releases.ts';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { waitFor } from '../helpers.ts';
import { freshDatabase } from './databases.ts';

// A release the bot cannot resolve must not vanish: each failed try is logged with its reason and kept on
// the release, the admin API lists it among the releases without a rollout, and after the last try it is
// failed with a check run on its tag saying why (where GitHub can be reached at all).

const REPO = 'conn2flow/plugins';
const SECRET = 'unresolvable-secret';
const ADMIN = 'admin-token-long-enough';
const github = new GitHubStandIn();
const logged: Array<{ level: number; msg: string; reason?: string }> = [];
let db: Database;
let running: RunningBot & { url: string };
let base = '';

before(async () => {
  await github.start();
  db = await freshDatabase('pglite');
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logged.push(JSON.parse(line));
        done();
      },
    }),
  );
  running = await startTestBot(github, db, {
    env: {
      WEBHOOK_SECRET: SECRET,
      C2F_BOT_URL: 'http://bot.example.com',
      C2F_ADMIN_TOKEN: ADMIN,
      C2F_CHECK_RUN_DELAY_SECONDS: '0',
    },
    overrides: { queue: { resolveRetry: { retryDelay: 1, retryDelayMax: 1 } }, resolveRetryLimit: 2 },
    log,
  });
  base = running.url;
});
after(async () => {
  await running?.stop();
  await github.stop();
});

async function publish(releaseId: number, tag: string): Promise<number> {
  const payload = releasePayload({ repository: REPO, release: { id: releaseId, tagName: tag }, installationId: 5 });
  return (await sendWebhook({ url: `${base}${WEBHOOK_PATH}`, secret: SECRET }, 'release', payload)).status;
}

test('wrong App credentials: every try is logged and kept, the release is listed with its reason, then failed', {
  timeout: 60_000,
}, async () => {
  github.faults.badCredentials = true;
  const zip = Buffer.alloc(2048, 'z');
  const release = github.addRelease(REPO, { tagName: 'plugin-test-plugin-v1.0.0' }, [
    { name: 'gestor-plugin.zip', content: zip, contentType: 'application/zip' },
    { name: 'gestor-plugin.zip.sha256', content: Buffer.from(`${createHash('sha256').update(zip).digest('hex')}\n`) },
  ]);
  assert.equal(await publish(release.id, release.tagName), 200);

  const waiting = await waitFor(async () => {
    const listed = (await (
      await fetch(`${base}/api/admin/releases`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as Array<{
      id: number;
      state: string;
      error: string | null;
      resolveFailures: number;
    }>;
    return listed.find((r) => r.id === release.id && r.resolveFailures > 0);
  }, 'the failed try to be recorded');
  assert.equal(waiting.state, 'received');
  assert.match(waiting.error!, /^GitHub refused the App's credentials \(401: A JSON web token could not be decoded/);
  assert.ok(
    logged.some(
      (l) => l.msg === 'release could not be resolved yet: will try again' && /credentials/.test(l.reason ?? ''),
    ),
    JSON.stringify(logged.slice(-5)),
  );

  const failed = await waitFor(async () => {
    const row = await getRelease(db, release.id);
    return row?.state === 'failed' ? row : undefined;
  }, 'the release to fail after its last try');
  assert.match(failed.error!, /credentials.*; gave up after 3 tries$/);
  assert.ok(logged.some((l) => l.msg === 'release could not be resolved: giving up'));
});

test('a release that failed where GitHub answers gets a failed check run on its tag that says why', {
  timeout: 60_000,
}, async () => {
  github.faults.badCredentials = false;
  const release = github.addRelease(REPO, { tagName: 'plugin-test-plugin-v2.0.0' }, [
    { name: 'gestor-plugin.zip', content: Buffer.alloc(2048, 'y'), contentType: 'application/zip' },
    { name: 'gestor-plugin.zip.sha256', content: Buffer.from('sha256sum-style-output  gestor-plugin.zip\n') },
  ]);
  assert.equal(await publish(release.id, release.tagName), 200);
  const run = await waitFor(
    () => github.checkRuns.find((r) => r.externalId === `release:${release.id}`),
    'the check run of the failed release',
  );
  assert.deepEqual(
    [run.status, run.conclusion, run.name],
    ['completed', 'failure', 'Conn2Flow rollout: plugin-test-plugin-v2.0.0'],
  );
  assert.match(
    run.output!.title,
    /^not rolled out: gestor-plugin\.zip\.sha256 of plugin-test-plugin-v2\.0\.0 does not hold a bare lowercase SHA-256/,
  );
  assert.deepEqual(github.violations, []);
});
