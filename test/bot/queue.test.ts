import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QUEUES, startQueue, workQueue } from '../../src/bot/queue.ts';
import { scheduleAdvance } from '../../src/bot/rollout/advance-rollout.ts';
import { waitFor } from '../helpers.ts';
import { ENGINES, freshDatabase } from './databases.ts';

test('pglite: an idle queue with four workers is looked at once per backstop, one worker at a time; a delayed job nothing announced is found by it', {
  timeout: 60_000,
}, async () => {
  const db = await freshDatabase('pglite');
  // pg-boss's statements on this engine go through PGlite's query and exec: the fetches are counted there.
  const fetches: number[] = [];
  for (const method of ['query', 'exec'] as const) {
    const original = db.pglite![method].bind(db.pglite) as (sql: string, ...rest: unknown[]) => Promise<unknown>;
    (db.pglite as unknown as Record<string, unknown>)[method] = (sql: string, ...rest: unknown[]) => {
      if (/^\s*WITH\s+next AS/.test(sql)) fetches.push(Date.now());
      return original(sql, ...rest);
    };
  }
  const boss = await startQueue(db);
  try {
    const ran: string[] = [];
    const started = Date.now();
    await workQueue<{ rolloutId: string }>(
      boss,
      QUEUES.advanceRollout,
      { batchSize: 1, localConcurrency: 4, backstopSeconds: 0.25 },
      async ([job]) => void ran.push(job.data.rolloutId),
    );
    // Each worker looks once as it starts; after that, one look per backstop for the whole queue (each worker
    // polling on its own would make these six looks in about 0.4 s).
    const looks = () => fetches.filter((at) => at >= started);
    await waitFor(() => looks().length >= 10, 'ten looks for work');
    const elapsed = looks()[9] - started;
    assert.ok(elapsed >= 6 * 250 - 50, `six looks after the first four took ${elapsed} ms: more than one per backstop`);
    // A job due in a second, sent without our wake-up timer: pg-boss announces nothing when it comes due.
    await boss.send(QUEUES.advanceRollout, { rolloutId: 'ro_unannounced' }, { startAfter: 1 });
    await waitFor(() => ran.includes('ro_unannounced'), 'the backstop to find the delayed job', 20_000);
  } finally {
    await boss.stop({ graceful: false });
  }
});

for (const engine of ENGINES) {
  test(`${engine}: a job sent with a delay runs when it comes due and a backlog drains, with no poll finding them`, {
    timeout: 60_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    try {
      const ran: Array<{ rolloutId: string; at: number }> = [];
      let onRan = () => {};
      // The workers' own poll and the queue's backstop come only after two minutes: whatever runs sooner was woken.
      const noPoll = { pollingIntervalSeconds: 120, notifyPollingIntervalSeconds: 120, backstopSeconds: 120 };
      await workQueue<{ rolloutId: string }>(
        boss,
        QUEUES.advanceRollout,
        { batchSize: 1, ...noPoll },
        async ([job]) => {
          ran.push({ rolloutId: job.data.rolloutId, at: Date.now() });
          onRan();
        },
      );
      const ranAll = (ids: string[]) =>
        new Promise<void>((resolve) => {
          onRan = () => ids.every((id) => ran.some((r) => r.rolloutId === id)) && resolve();
          onRan();
        });
      const sent = Date.now();
      await scheduleAdvance(boss, 'ro_due', new Date(sent + 1000), new Date(sent));
      await ranAll(['ro_due']);
      assert.ok(ran[0].at - sent >= 1000, `ran ${ran[0].at - sent} ms after it was sent, before it was due`);
      // Three at once (one statement, one NOTIFY) to one worker taking one at a time: it looks again after each.
      await boss.insert(
        QUEUES.advanceRollout,
        ['ro_a', 'ro_b', 'ro_c'].map((rolloutId) => ({ data: { rolloutId }, singletonKey: rolloutId })),
      );
      await ranAll(['ro_a', 'ro_b', 'ro_c']);
    } finally {
      await boss.stop({ graceful: false });
    }
  });

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
