import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import {
  deliverJobs,
  enqueueDelivery,
  type DeliveryData,
  type DeliveryDeps,
} from '../../src/bot/delivery/deliver-job.ts';
import { QUEUES, startQueue } from '../../src/bot/queue.ts';
import { addHost, getHost, hostSecrets } from '../../src/bot/store/hosts.ts';
import { applyReport } from '../../src/bot/store/reports.ts';
import { createReleaseRollout, getJob, jobHistory, rolloutJobs } from '../../src/bot/store/rollouts.ts';
import { resolvedRelease, rolloutOf } from './fixtures.ts';
import type { Report } from '../../src/protocol/messages.ts';
import { verifyMessage } from '../../src/protocol/signing.ts';
import { checkJob } from '../../src/protocol/validate.ts';
import { waitFor } from '../helpers.ts';
import { ENGINES, freshDatabase, testBox } from './databases.ts';

// Small receivers standing in for hosts: one that takes jobs, one busy at first, one that refuses.
interface Received {
  path: string;
  body: string;
  headers: Record<string, string>;
}
const received: Received[] = [];
let busyLeft = 0;
let receiver: Server;
let base = '';
before(async () => {
  receiver = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({
      path: req.url!,
      body: Buffer.concat(chunks).toString('utf8'),
      headers: req.headers as Record<string, string>,
    });
    if (req.url === '/busy' && busyLeft-- > 0) return void res.writeHead(503, { 'retry-after': '1' }).end();
    if (req.url === '/pinned')
      return void res
        .writeHead(409, { 'content-type': 'application/json' })
        .end('{"status":"refused","jobId":"x","reason":"pinned"}');
    res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted","jobId":"x"}');
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

const plugins = [{ repository: 'conn2flow/plugins', pluginId: 'test-plugin' }];

for (const engine of ENGINES) {
  test(`${engine}: a rollout reaches every following host through the queue, with retries and refusals`, {
    timeout: 90_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    try {
      const host = (name: string, path: string, policy: 'auto' | 'manual' = 'auto') =>
        addHost(db, testBox, {
          name,
          url: `${base}${path}`,
          policy,
          channel: 'stable',
          plugins,
          allowPrivateNetwork: true,
        });
      const ok = await host('ok', '/ok');
      const busy = await host('busy', '/busy');
      const pinned = await host('pinned', '/pinned');
      const manual = await host('manual', '/manual', 'manual');
      busyLeft = 1;
      const release = await resolvedRelease(db, { id: 101, version: '1.0.0' });
      const hosts = [ok.host, busy.host, pinned.host, manual.host];
      const rollout = await rolloutOf(db, release, hosts);
      assert.equal(rollout.created, true);
      assert.equal(rollout.queued.length, 3, 'the manual host waits for approval');
      assert.deepEqual(
        (await createReleaseRollout(db, release, [])).created,
        false,
        'a second rollout of the same release is the same rollout',
      );

      const deps: DeliveryDeps = {
        db,
        box: testBox,
        boss,
        botUrl: 'https://bot.example.com',
        retrySchedule: [0.2, 0.2],
        random: () => 0.5,
      };
      await boss.work<{ jobId: string; attempt: number }>(
        QUEUES.deliverJob,
        { pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5, batchSize: 4 },
        async (jobs) => {
          for (const job of jobs) await deliverJobs(deps, [job.data]);
        },
      );
      for (const job of rollout.queued) await enqueueDelivery(boss, job);

      const states = async () =>
        Object.fromEntries((await rolloutJobs(db, rollout.rolloutId)).map((j) => [j.hostId, j.state]));
      await waitFor(async () => {
        const s = await states();
        return s[ok.host.id] === 'delivered' && s[busy.host.id] === 'delivered' && s[pinned.host.id] === 'skipped';
      }, 'all deliveries');
      assert.equal((await states())[manual.host.id], 'awaiting_approval');

      const busyJob = (await rolloutJobs(db, rollout.rolloutId)).find((j) => j.hostId === busy.host.id)!;
      assert.deepEqual([busyJob.attempts, busyJob.deliveryTries], [1, 2], 'one attempt, delivered on its second try');
      assert.deepEqual(
        (await jobHistory(db, busyJob.id)).map((h) => h.state),
        ['queued', 'delivering', 'queued', 'delivering', 'delivered'],
      );
      const pinnedJob = (await rolloutJobs(db, rollout.rolloutId)).find((j) => j.hostId === pinned.host.id)!;
      assert.equal(pinnedJob.reason, 'refused by the host: pinned');

      // What the hosts got: signed with their own secret, a valid job, the same message id on every retry.
      const toBusy = received.filter((r) => r.path === '/busy' && JSON.parse(r.body).jobId === busyJob.id);
      assert.equal(toBusy.length, 2);
      assert.equal(toBusy[0].headers['webhook-id'], toBusy[1].headers['webhook-id']);
      const secrets = await hostSecrets(db, testBox, busy.host.id);
      assert.equal(verifyMessage(toBusy[1].body, toBusy[1].headers, secrets).ok, true);
      assert.equal(checkJob(JSON.parse(toBusy[1].body)).ok, true);

      // Running the worker again for a delivered job does nothing.
      const count = received.length;
      assert.deepEqual(await deliverJobs(deps, [{ jobId: busyJob.id, attempt: 0 }]), [undefined]);
      // Nor does a delivery queued for an attempt that a newer one replaced.
      assert.deepEqual(
        await deliverJobs(deps, [
          { jobId: busyJob.id, attemptId: 'msg_an-older-attempt', attempt: 0 } satisfies DeliveryData,
        ]),
        [undefined],
      );
      assert.equal(received.length, count);
    } finally {
      await boss.stop({ graceful: false });
    }
  });

  test(`${engine}: reports move jobs forward once; repeats and late reports change nothing`, {
    timeout: 60_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const { host } = await addHost(db, testBox, {
      name: 'h',
      url: 'https://h.example.com',
      policy: 'auto',
      channel: 'stable',
      plugins,
    });
    const release = await resolvedRelease(db, { id: 202, version: '2.0.0' });
    const { queued } = await rolloutOf(db, release, [host]);
    const job = queued[0];
    const report = (status: Report['status'], exitCode: number | null, attemptId = job.attemptId): Report => ({
      type: 'report',
      protocol: 1,
      jobId: job.id,
      attemptId,
      hostId: host.id,
      status,
      exitCode,
      exitLabel: exitCode === 0 ? 'OK' : null,
      message: status,
      logTail: [],
      installedVersion: status === 'ok' ? '2.0.0' : null,
      timings: { receivedAt: new Date().toISOString() },
      sentAt: new Date().toISOString(),
    });
    const outcome = async (messageId: string, sent: Report) => (await applyReport(db, messageId, sent)).outcome;
    assert.equal(
      await outcome('m0', report('erro', 41, 'msg_an-older-attempt')),
      'earlier-attempt',
      "an earlier attempt's report changes nothing",
    );
    assert.equal((await getJob(db, job.id))!.state, 'queued');
    assert.equal(await outcome('m1', report('instalando', null)), 'applied');
    assert.equal((await getJob(db, job.id))!.state, 'in_progress');
    assert.equal(await outcome('m2', report('ok', 0)), 'applied');
    assert.equal(await outcome('m2', report('ok', 0)), 'repeat');
    assert.equal(await outcome('m3', report('instalando', null)), 'stale', 'a late "instalando" does not undo "ok"');
    const done = (await getJob(db, job.id))!;
    assert.deepEqual([done.state, done.exitCode, done.installedVersion], ['ok', 0, '2.0.0']);
    const events = await db.query<{ kind: string }>('select kind from events order by id');
    assert.deepEqual(
      events.map((e) => e.kind),
      ['rollout_planned', 'install_success'],
    );
    assert.equal(await outcome('m4', { ...report('ok', 0), jobId: 'job_unknown' }), 'unknown-job');
    // The ok report, which carried no inventory, says what the host now has: the release's package.
    const [after] = await db.query<{ inventory: unknown }>('select inventory from hosts where id = $1', [host.id]);
    assert.deepEqual(
      (after.inventory as Array<{ pluginId: string; version: string; sha256: string }>).map((e) => [
        e.pluginId,
        e.version,
        e.sha256,
      ]),
      [['test-plugin', '2.0.0', 'a'.repeat(64)]],
    );

    // A newer release supersedes jobs that have not started; a finished one stays as it is.
    const { host: other } = await addHost(db, testBox, {
      name: 'other',
      url: 'https://o.example.com',
      policy: 'manual',
      channel: 'stable',
      plugins,
    });
    const third = await resolvedRelease(db, { id: 303, version: '2.1.0', sha256: 'c'.repeat(64) });
    const first = await rolloutOf(db, third, [other]);
    const fourth = await resolvedRelease(db, { id: 404, version: '2.2.0', sha256: 'd'.repeat(64) });
    await rolloutOf(db, fourth, [(await getHost(db, host.id))!, other]);
    const waiting = (await rolloutJobs(db, first.rolloutId))[0];
    assert.deepEqual([waiting.state, waiting.reason], ['superseded', 'superseded by 2.2.0']);
    assert.equal((await getJob(db, job.id))!.state, 'ok');
  });
}
