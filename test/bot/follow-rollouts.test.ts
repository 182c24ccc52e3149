import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PgBoss } from 'pg-boss';
import { FINAL_JOB_STATES } from '../../src/protocol/statuses.ts';
import { ChangeFeed } from '../../src/bot/changes.ts';
import { followRollouts } from '../../src/bot/follow-rollouts.ts';
import { QUEUES, startQueue } from '../../src/bot/queue.ts';
import { openPostgres, type Database } from '../../src/bot/store/database.ts';
import { addHost } from '../../src/bot/store/hosts.ts';
import { ENGINES, freshDatabase, freshPostgresUrl, testBox } from './databases.ts';
import { resolvedRelease, rolloutOf } from './fixtures.ts';

// The one change channel: whatever statement changes a rollout's jobs, in this process or another, its
// controller and its check run are scheduled, a burst coalesced; a job finishing on a host wakes the rollouts
// whose jobs wait on that host for a dependency.

const plugins = [
  { repository: 'conn2flow/plugins', pluginId: 'test-plugin' },
  { repository: 'conn2flow/plugins', pluginId: 'other' },
];

/** Records every message sent to the queue, and resolves `next(queue, key)` when one with that key arrives. */
function recordSends(boss: PgBoss) {
  const sent: Array<{ queue: string; key: string }> = [];
  const waiting: Array<{ queue: string; key: string; resolve: () => void }> = [];
  const send = boss.send.bind(boss);
  boss.send = (async (queue: string, data: object, options?: { singletonKey?: string }) => {
    const key = options?.singletonKey ?? '';
    sent.push({ queue, key });
    for (const w of waiting.filter((w) => w.queue === queue && w.key === key)) w.resolve();
    return send(queue, data, options);
  }) as PgBoss['send'];
  return {
    sent,
    next: (queue: string, key: string) =>
      sent.some((s) => s.queue === queue && s.key === key)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiting.push({ queue, key, resolve })),
    clear: () => sent.splice(0),
  };
}

async function planned(db: Database, hostCount: number) {
  const hosts = [];
  for (let i = 0; i < hostCount; i++)
    hosts.push(
      (await addHost(db, testBox, { name: `h-${i}`, url: null, policy: 'auto', channel: 'stable', plugins })).host,
    );
  const release = await resolvedRelease(db, { id: 1, version: '1.0.0' });
  return { hosts, rollout: await rolloutOf(db, release, hosts) };
}

for (const engine of ENGINES) {
  test(`${engine}: a job's change schedules its rollout's controller and check run; a burst sends a few`, {
    timeout: 60_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    const errors: unknown[] = [];
    const changes = await ChangeFeed.open(db, (error) => errors.push(error));
    const sends = recordSends(boss);
    const stop = followRollouts({ db, boss, changes, checkRunDelaySeconds: 0, log: (error) => errors.push(error) });
    try {
      const { rollout } = await planned(db, 60);
      await sends.next(QUEUES.advanceRollout, rollout.rolloutId);
      await sends.next(QUEUES.checkRun, rollout.rolloutId);
      sends.clear();
      // 200 statements, each changing one job: far fewer than 200 queue messages.
      for (let i = 0; i < 200; i++)
        await db.query(
          'update host_jobs set reason = $2 where rollout_id = $1 and host_id = (select min(host_id) from host_jobs where rollout_id = $1)',
          [rollout.rolloutId, `look ${i}`],
        );
      // Announced after them: once it is followed, so is everything announced before it (they come in order).
      await db.query("select pg_notify('c2f_changes', 'r:marker')");
      await sends.next(QUEUES.advanceRollout, 'marker');
      const advances = sends.sent.filter(
        (s) => s.queue === QUEUES.advanceRollout && s.key === rollout.rolloutId,
      ).length;
      assert.ok(advances >= 1 && advances < 50, `${advances} advance messages for 201 changes`);
      assert.deepEqual(errors, []);
    } finally {
      stop();
      await changes.close();
      await boss.stop({ graceful: false });
      await db.close();
    }
  });
}

test('postgres: a change committed by another process is followed; a lost listening connection re-checks running rollouts', {
  timeout: 60_000,
}, async () => {
  const url = await freshPostgresUrl();
  const [mine, theirs] = [openPostgres(url, 4), openPostgres(url, 2)];
  const { migrate } = await import('../../src/bot/store/migrate.ts');
  await migrate(mine);
  const boss = await startQueue(mine);
  const changes = await ChangeFeed.open(mine, () => {});
  const sends = recordSends(boss);
  const stop = followRollouts({
    db: mine,
    boss,
    changes,
    checkRunDelaySeconds: 0,
    log: (error) => assert.fail(String(error)),
  });
  try {
    const { rollout } = await planned(theirs, 2);
    await sends.next(QUEUES.advanceRollout, rollout.rolloutId);
    sends.clear();
    // The other process ends a job: its rollout is followed here.
    await theirs.query("update host_jobs set state = 'failed', reason = 'elsewhere' where id = $1", [
      rollout.jobs[0].id,
    ]);
    await sends.next(QUEUES.advanceRollout, rollout.rolloutId);
    // The listening connection is killed: once back, every running rollout is looked at (nothing heard was lost).
    sends.clear();
    await mine.query("update rollouts set state = 'running' where id = $1", [rollout.rolloutId]);
    await sends.next(QUEUES.advanceRollout, rollout.rolloutId);
    sends.clear();
    await theirs.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'c2f-bot-changes' and datname = current_database()",
    );
    await sends.next(QUEUES.advanceRollout, rollout.rolloutId);
  } finally {
    stop();
    await changes.close();
    await boss.stop({ graceful: false });
    await Promise.all([mine.close(), theirs.close()]);
  }
});

test('pglite: a job finishing on a host wakes the rollouts whose jobs wait on that host for a dependency', {
  timeout: 60_000,
}, async () => {
  const db = await freshDatabase('pglite');
  const boss = await startQueue(db);
  const changes = await ChangeFeed.open(db, () => {});
  const sends = recordSends(boss);
  let stop = () => {};
  try {
    const { hosts, rollout } = await planned(db, 2);
    const later = await rolloutOf(db, await resolvedRelease(db, { id: 2, version: '2.0.0', pluginId: 'other' }), hosts);
    const waiting = later.jobs.find((job) => job.hostId === hosts[0].id)!;
    await db.query("update host_jobs set state = 'pending', hold = 'dependency' where id = $1", [waiting.id]);
    await db.query("update host_jobs set state = 'queued' where rollout_id = $1", [rollout.rolloutId]);
    // The follower starts once everything announced so far has been heard (announcements come in order).
    const heard = new Promise<void>((resolve) => {
      const unfollow = changes.follow('r', (id) => {
        if (id !== 'marker') return;
        unfollow();
        resolve();
      });
    });
    await db.query("select pg_notify('c2f_changes', 'r:marker')");
    await heard;
    stop = followRollouts({ db, boss, changes, log: (error) => assert.fail(String(error)) });
    const first = rollout.jobs.find((job) => job.hostId === hosts[0].id)!;
    await db.query("update host_jobs set state = 'delivering' where id = $1", [first.id]);
    await db.query("update host_jobs set state = 'ok' where id = $1", [first.id]);
    // Both rollouts are followed: the first for its job's change, the later as a dependent of the finished job.
    await sends.next(QUEUES.advanceRollout, rollout.rolloutId);
    await sends.next(QUEUES.advanceRollout, later.rolloutId);
    const laterSends = () => sends.sent.filter((s) => s.queue === QUEUES.advanceRollout && s.key === later.rolloutId);
    // Its job did not change, so only the dependency wake names it.
    assert.equal(laterSends().length, 1, JSON.stringify(sends.sent));
  } finally {
    stop();
    await changes.close();
    await boss.stop({ graceful: false });
    await db.close();
  }
});

test('the trigger announces a finished job for exactly the final job states the protocol names', async () => {
  const db = await freshDatabase('pglite');
  try {
    const [{ source }] = await db.query<{ source: string }>(
      "select prosrc as source from pg_proc where proname = 'c2f_announce_jobs'",
    );
    const lists = [...source.matchAll(/state in \(([^)]*)\)/g)].map((m) =>
      m[1]
        .split(',')
        .map((s) => s.trim().replace(/'/g, ''))
        .sort(),
    );
    assert.equal(lists.length, 2);
    for (const list of lists) assert.deepEqual(list, [...FINAL_JOB_STATES].sort());
  } finally {
    await db.close();
  }
});

test('pglite: a round whose scheduling fails is tried again, nothing of it lost', { timeout: 60_000 }, async () => {
  const db = await freshDatabase('pglite');
  const boss = await startQueue(db);
  const changes = await ChangeFeed.open(db, () => {});
  const sends = recordSends(boss);
  const send = boss.send.bind(boss);
  let failures = 1;
  boss.send = (async (...args: Parameters<PgBoss['send']>) => {
    if (failures-- > 0) throw new Error('the queue is away');
    return send(...args);
  }) as PgBoss['send'];
  const errors: string[] = [];
  const stop = followRollouts({ db, boss, changes, log: (error) => errors.push(String(error)) });
  try {
    const { rollout } = await planned(db, 1);
    await sends.next(QUEUES.advanceRollout, rollout.rolloutId);
    await sends.next(QUEUES.checkRun, rollout.rolloutId);
    assert.deepEqual(errors, ['Error: the queue is away']);
  } finally {
    stop();
    await changes.close();
    await boss.stop({ graceful: false });
    await db.close();
  }
});
