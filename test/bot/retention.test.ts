import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addHost } from '../../src/bot/store/hosts.ts';
import { applyReport } from '../../src/bot/store/reports.ts';
import { pruneOldRecords } from '../../src/bot/store/retention.ts';
import { ENGINES, freshDatabase, testBox } from './databases.ts';
import { resolvedRelease, rolloutOf } from './fixtures.ts';

// What piles up with traffic is pruned after the retention; what a running job still needs is not.

for (const engine of ENGINES) {
  test(`${engine}: old events, deliveries and finished jobs' history and reports are pruned; running jobs keep theirs`, {
    timeout: 60_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const plugins = [{ repository: 'conn2flow/plugins', pluginId: 'test-plugin' }];
    const done = (
      await addHost(db, testBox, {
        name: 'done',
        url: 'https://d.example.com',
        policy: 'auto',
        channel: 'stable',
        plugins,
      })
    ).host;
    const busy = (
      await addHost(db, testBox, {
        name: 'busy',
        url: 'https://b.example.com',
        policy: 'auto',
        channel: 'stable',
        plugins,
      })
    ).host;
    const held = (
      await addHost(db, testBox, {
        name: 'held',
        url: 'https://h.example.com',
        policy: 'auto',
        channel: 'stable',
        plugins,
      })
    ).host;
    const { jobs } = await rolloutOf(db, await resolvedRelease(db, { id: 71, version: '1.0.0' }), [done, busy, held]);
    const finished = jobs.find((j) => j.hostId === done.id)!;
    const running = jobs.find((j) => j.hostId === busy.id)!;
    // A job blocked by a missing dependency is final too.
    const blocked = jobs.find((j) => j.hostId === held.id)!;
    await db.query("update host_jobs set state = 'blocked' where id = $1", [blocked.id]);
    await db.query(
      "insert into job_reports (message_id, job_id, attempt_id, report) values ('r-blocked', $1, $2, '{}')",
      [blocked.id, blocked.attemptId],
    );
    const report = (job: typeof finished, status: 'ok' | 'instalando') => ({
      type: 'report' as const,
      protocol: 1 as const,
      jobId: job.id,
      attemptId: job.attemptId,
      hostId: job.hostId,
      status,
      exitCode: status === 'ok' ? 0 : null,
      exitLabel: null,
      message: status,
      logTail: [],
      installedVersion: null,
      timings: { receivedAt: new Date().toISOString() },
      sentAt: new Date().toISOString(),
    });
    await applyReport(db, 'r-done', report(finished, 'ok'));
    await applyReport(db, 'r-busy', report(running, 'instalando'));
    const age = (table: string, column: string) =>
      db.query(`update ${table} set ${column} = now() - interval '200 days'`);
    await age('events', 'at');
    await age('webhook_deliveries', 'received_at');
    await age('job_history', 'at');
    await age('job_reports', 'received_at');
    const pruned = await pruneOldRecords(db, 180);
    assert.ok(pruned.events >= 2, JSON.stringify(pruned));
    assert.equal(pruned.webhookDeliveries, 1);
    assert.equal(pruned.jobReports, 2, "the finished and blocked jobs' reports go; the running job's stays");
    const left = await db.query<{ job_id: string }>('select distinct job_id from job_history');
    assert.deepEqual(
      left.map((r) => r.job_id),
      [running.id],
    );
    assert.deepEqual(
      await pruneOldRecords(db, 180),
      { events: 0, webhookDeliveries: 0, jobHistory: 0, jobReports: 0, hostMessages: 0 },
      'a second pass finds nothing',
    );
  });
}
