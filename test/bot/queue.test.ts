import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QUEUES, startQueue } from '../../src/bot/queue.ts';
import { ENGINES, freshDatabase } from './databases.ts';

for (const engine of ENGINES) {
  test(`${engine}: pg-boss runs in the store's database; a failed job is retried`, { timeout: 60_000 }, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    try {
      const seen: Array<{ host: string; attempt: number }> = [];
      let failOnce = true;
      await boss.work<{ host: string }>(
        QUEUES.resolveRelease,
        { pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5 },
        async ([job]) => {
          seen.push({ host: job.data.host, attempt: seen.length });
          if (failOnce) {
            failOnce = false;
            throw new Error('transient');
          }
        },
      );
      const id = await boss.send(QUEUES.resolveRelease, { host: 'h1' }, { retryDelay: 1, retryBackoff: false });
      assert.ok(id);
      for (let i = 0; i < 100 && (await boss.getJobById(QUEUES.resolveRelease, id))?.state !== 'completed'; i++)
        await new Promise((r) => setTimeout(r, 200));
      const job = await boss.getJobById(QUEUES.resolveRelease, id);
      assert.equal(job?.state, 'completed');
      assert.equal(seen.length, 2, 'ran, failed, ran again');
      const tables = await db.query<{ n: number }>(
        "select count(*)::int as n from information_schema.tables where table_schema = 'pgboss'",
      );
      assert.ok(tables[0].n > 0, 'pg-boss lives in the same database');
    } finally {
      await boss.stop({ graceful: false });
    }
  });

  test(`${engine}: deliveries are one at a time per host and plugin`, { timeout: 60_000 }, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    try {
      const a1 = await boss.send(QUEUES.deliverJob, { n: 1 }, { singletonKey: 'host_a:plugin-x' });
      const a2 = await boss.send(QUEUES.deliverJob, { n: 2 }, { singletonKey: 'host_a:plugin-x' });
      const b1 = await boss.send(QUEUES.deliverJob, { n: 3 }, { singletonKey: 'host_b:plugin-x' });
      assert.ok(a1 && a2 && b1);
      const first = await boss.fetch<{ n: number }>(QUEUES.deliverJob, { batchSize: 10 });
      assert.deepEqual(first.map((j) => j.data.n).sort(), [1, 3], 'the second job of host_a waits for the first');
      await boss.complete(
        QUEUES.deliverJob,
        first.map((j) => j.id),
      );
      const next = await boss.fetch<{ n: number }>(QUEUES.deliverJob, { batchSize: 10 });
      assert.deepEqual(
        next.map((j) => j.data.n),
        [2],
      );
    } finally {
      await boss.stop({ graceful: false });
    }
  });
}
