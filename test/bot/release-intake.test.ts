import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QUEUES, startQueue } from '../../src/bot/queue.ts';
import { ReleaseIntake } from '../../src/bot/rollout/release-intake.ts';
import { recordReleaseWebhooks, type ReleaseWebhook } from '../../src/bot/store/releases.ts';
import { ENGINES, freshDatabase } from './databases.ts';

// The webhook handler writes the release in one statement; the intake queues its resolution. A release the
// handler recorded just before a crash is queued by the next pass, once, however many passes run at once.

async function recordReleaseWebhook(
  db: Parameters<typeof recordReleaseWebhooks>[0],
  deliveryId: string,
  action: string,
  release: ReleaseWebhook['release'],
): Promise<boolean> {
  const [fresh] = await recordReleaseWebhooks(db, [{ deliveryId, action, release }]);
  return fresh;
}

for (const engine of ENGINES) {
  test(`${engine}: recorded releases are queued for resolution exactly once`, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    try {
      const release = (id: number) => ({
        id,
        repository: 'conn2flow/plugins',
        installationId: 7,
        tag: `plugin-p-v1.0.${id}`,
        prerelease: false,
        privateRepository: false,
      });
      assert.equal(await recordReleaseWebhook(db, 'd1', 'published', release(1)), true);
      assert.equal(await recordReleaseWebhook(db, 'd2', 'released', release(1)), false, 'the same release again');
      assert.equal(await recordReleaseWebhook(db, 'd3', 'published', release(2)), true);
      // A burst in one statement: each delivery recorded, each release new once (the first to name it).
      const burst = await recordReleaseWebhooks(db, [
        { deliveryId: 'd4', action: 'published', release: release(3) },
        { deliveryId: 'd5', action: 'released', release: release(3) },
        { deliveryId: 'd6', action: 'published', release: release(2) },
        { deliveryId: 'd4', action: 'published', release: release(3) },
      ]);
      assert.deepEqual(burst, [true, false, false, false]);
      const [delivery] = await db.query<{ n: number }>('select count(*)::int as n from webhook_deliveries');
      assert.equal(delivery.n, 6, 'every delivery is recorded once');

      const intake = new ReleaseIntake({ db, boss });
      const passes = await Promise.all([
        intake.pass(),
        new ReleaseIntake({ db, boss }).pass(),
        new ReleaseIntake({ db, boss }).pass(),
      ]);
      assert.equal(
        passes.reduce((a, b) => a + b, 0),
        3,
        'three releases, each queued by one pass',
      );
      assert.equal(await intake.pass(), 0);
      const queued = await boss.fetch<{ releaseId: number; installationId: number }>(QUEUES.resolveRelease, {
        batchSize: 10,
      });
      assert.deepEqual(
        queued.map((j) => j.data).sort((a, b) => a.releaseId - b.releaseId),
        [1, 2, 3].map((releaseId) => ({ releaseId, installationId: 7 })),
      );
    } finally {
      await boss.stop({ graceful: false });
      await db.close();
    }
  });
}
