import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { redeliverFailedWebhooks } from '../../src/bot/github/redeliver-webhooks.ts';
import { QUEUES, startQueue } from '../../src/bot/queue.ts';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { ChangeFeed } from '../../src/bot/changes.ts';
import { startWorkers } from '../../src/bot/app.ts';
import { freshDatabase, testBox } from './databases.ts';
import { testProbot } from './test-probot.ts';

const github = new GitHubStandIn();
before(() => github.start());
after(() => github.stop());

test('failed deliveries of the last day are redelivered once; recovered and old ones are left alone', async () => {
  const now = new Date('2026-11-22T12:00:00Z');
  const at = (hoursAgo: number) => new Date(now.getTime() - hoursAgo * 3600_000).toISOString();
  github.hookDeliveries.push(
    { id: 1, guid: 'recovered', deliveredAt: at(3), redelivery: false, statusCode: 503 },
    { id: 2, guid: 'recovered', deliveredAt: at(2), redelivery: true, statusCode: 200 },
    { id: 3, guid: 'failed', deliveredAt: at(1), redelivery: false, statusCode: 500 },
    { id: 4, guid: 'timed-out', deliveredAt: at(0.5), redelivery: false, statusCode: 0 },
    { id: 5, guid: 'too-old', deliveredAt: at(30), redelivery: false, statusCode: 502 },
    { id: 6, guid: 'fine', deliveredAt: at(1), redelivery: false, statusCode: 202 },
  );
  const probot = testProbot(github);
  const redelivered = await redeliverFailedWebhooks((await probot.auth()) as never, now);
  assert.deepEqual(redelivered.sort(), ['failed', 'timed-out']);
  assert.deepEqual(github.redeliveryRequests.sort(), ['failed', 'timed-out']);
  assert.deepEqual(github.violations, []);
});

test('the bot schedules the redelivery pass every five minutes (and the daily prune) in the shared queue', async () => {
  const db = await freshDatabase('pglite');
  const boss = await startQueue(db);
  try {
    const probot = testProbot(github);
    const changes = await ChangeFeed.open(db, () => {});
    const stopping: Array<() => void> = [];
    await startWorkers(probot, { db, boss, box: testBox, botUrl: 'https://bot.example.com', changes, stopping });
    for (const stop of stopping) stop();
    await changes.close();
    const schedules = await boss.getSchedules();
    assert.deepEqual(schedules.map((s) => [s.name, s.cron]).sort(), [
      [QUEUES.prune, '17 3 * * *'],
      [QUEUES.redeliverWebhooks, '*/5 * * * *'],
    ]);
  } finally {
    await boss.stop({ graceful: false });
  }
});
