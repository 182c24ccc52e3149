import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { deliverJob, enqueueDelivery, type DeliveryDeps } from '../../src/bot/delivery/deliver-job.ts';
import { QUEUES, startQueue } from '../../src/bot/queue.ts';
import { planJobs } from '../../src/bot/rollout/plan-jobs.ts';
import { addHost, hostSecrets } from '../../src/bot/store/hosts.ts';
import { applyReport, createRollout, getJob, getRelease, jobHistory, recordRelease, rolloutJobs, updateRelease } from '../../src/bot/store/rollouts.ts';
import type { Database } from '../../src/bot/store/database.ts';
import type { Report } from '../../src/protocol/messages.ts';
import { verifyMessage } from '../../src/protocol/signing.ts';
import { checkJob } from '../../src/protocol/validate.ts';
import { waitFor } from '../helpers.ts';
import { ENGINES, freshDatabase, testBox } from './databases.ts';

// Small receivers standing in for hosts: one that takes jobs, one busy at first, one that refuses.
interface Received { path: string; body: string; headers: Record<string, string> }
const received: Received[] = [];
let busyLeft = 0;
let receiver: Server;
let base = '';
before(async () => {
  receiver = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({ path: req.url!, body: Buffer.concat(chunks).toString('utf8'), headers: req.headers as Record<string, string> });
    if (req.url === '/busy' && busyLeft-- > 0) return void res.writeHead(503, { 'retry-after': '1' }).end();
    if (req.url === '/pinned') return void res.writeHead(409, { 'content-type': 'application/json' }).end('{"status":"refused","jobId":"x","reason":"pinned"}');
    res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted","jobId":"x"}');
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

const plugins = [{ repository: 'conn2flow/plugins', pluginId: 'test-plugin' }];

async function resolvedRelease(db: Database, id: number, version: string) {
  await recordRelease(db, { id, repository: 'conn2flow/plugins', installationId: 1, tag: `plugin-test-plugin-v${version}`, headSha: 'abc', prerelease: false, privateRepository: false });
  await updateRelease(db, id, { pluginId: 'test-plugin', version, state: 'resolved', zipAssetId: 9, zipUrl: 'https://github.com/conn2flow/plugins/releases/download/x/gestor-plugin.zip', zipSize: 4096, zipSha256: 'a'.repeat(64) });
  return (await getRelease(db, id))!;
}

for (const engine of ENGINES) {
  test(`${engine}: a rollout reaches every following host through the queue, with retries and refusals`, { timeout: 90_000 }, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    try {
      const host = (name: string, path: string, policy: 'auto' | 'manual' = 'auto') =>
        addHost(db, testBox, { name, url: `${base}${path}`, policy, channel: 'stable', plugins, allowPrivateNetwork: true });
      const ok = await host('ok', '/ok');
      const busy = await host('busy', '/busy');
      const pinned = await host('pinned', '/pinned');
      const manual = await host('manual', '/manual', 'manual');
      busyLeft = 1;
      const release = await resolvedRelease(db, 101, '1.0.0');
      const hosts = [ok.host, busy.host, pinned.host, manual.host];
      const rollout = await createRollout(db, release, planJobs({ repository: 'conn2flow/plugins', pluginId: 'test-plugin', version: '1.0.0', prerelease: false, sha256: release.zipSha256! }, hosts));
      assert.equal(rollout.created, true);
      assert.equal(rollout.queued.length, 3, 'the manual host waits for approval');
      assert.deepEqual((await createRollout(db, release, [])).created, false, 'a second rollout of the same release is the same rollout');

      const deps: DeliveryDeps = { db, box: testBox, boss, botUrl: 'https://bot.example.com', retrySchedule: [0.2, 0.2], random: () => 0.5 };
      await boss.work<{ jobId: string; attempt: number }>(QUEUES.deliverJob, { pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5, batchSize: 4 }, async (jobs) => {
        for (const job of jobs) await deliverJob(deps, job.data);
      });
      for (const job of rollout.queued) await enqueueDelivery(boss, job);

      const states = async () => Object.fromEntries((await rolloutJobs(db, rollout.rolloutId)).map((j) => [j.hostId, j.state]));
      await waitFor(async () => {
        const s = await states();
        return s[ok.host.id] === 'delivered' && s[busy.host.id] === 'delivered' && s[pinned.host.id] === 'skipped';
      }, 'all deliveries');
      assert.equal((await states())[manual.host.id], 'awaiting_approval');

      const busyJob = (await rolloutJobs(db, rollout.rolloutId)).find((j) => j.hostId === busy.host.id)!;
      assert.equal(busyJob.attempts, 2);
      assert.deepEqual((await jobHistory(db, busyJob.id)).map((h) => h.state), ['queued', 'delivering', 'queued', 'delivering', 'delivered']);
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
      assert.equal(await deliverJob(deps, { jobId: busyJob.id, attempt: 0 }), undefined);
      assert.equal(received.length, count);
    } finally {
      await boss.stop({ graceful: false });
    }
  });

  test(`${engine}: reports move jobs forward once; repeats and late reports change nothing`, { timeout: 60_000 }, async () => {
    const db = await freshDatabase(engine);
    const { host } = await addHost(db, testBox, { name: 'h', url: 'https://h.example.com', policy: 'auto', channel: 'stable', plugins });
    const release = await resolvedRelease(db, 202, '2.0.0');
    const { queued } = await createRollout(db, release, planJobs({ repository: 'conn2flow/plugins', pluginId: 'test-plugin', version: '2.0.0', prerelease: false, sha256: 'a'.repeat(64) }, [host]));
    const job = queued[0];
    const report = (status: Report['status'], exitCode: number | null): Report => ({
      type: 'report', protocol: 1, jobId: job.id, hostId: host.id, status, exitCode, exitLabel: exitCode === 0 ? 'OK' : null,
      message: status, logTail: [], installedVersion: status === 'ok' ? '2.0.0' : null, timings: { receivedAt: new Date().toISOString() }, sentAt: new Date().toISOString(),
    });
    assert.equal(await applyReport(db, 'm1', report('instalando', null)), 'applied');
    assert.equal((await getJob(db, job.id))!.state, 'in_progress');
    assert.equal(await applyReport(db, 'm2', report('ok', 0)), 'applied');
    assert.equal(await applyReport(db, 'm2', report('ok', 0)), 'repeat');
    assert.equal(await applyReport(db, 'm3', report('instalando', null)), 'stale', 'a late "instalando" does not undo "ok"');
    const done = (await getJob(db, job.id))!;
    assert.deepEqual([done.state, done.exitCode, done.installedVersion], ['ok', 0, '2.0.0']);
    const events = await db.query<{ kind: string }>('select kind from events order by id');
    assert.deepEqual(events.map((e) => e.kind), ['install', 'install_success']);
    assert.equal(await applyReport(db, 'm4', { ...report('ok', 0), jobId: 'job_unknown' }), 'unknown-job');

    // A newer release supersedes jobs that have not started; a finished one stays as it is.
    const { host: other } = await addHost(db, testBox, { name: 'other', url: 'https://o.example.com', policy: 'manual', channel: 'stable', plugins });
    const third = await resolvedRelease(db, 303, '2.1.0');
    const first = await createRollout(db, third, planJobs({ repository: 'conn2flow/plugins', pluginId: 'test-plugin', version: '2.1.0', prerelease: false, sha256: 'c'.repeat(64) }, [other]));
    const fourth = await resolvedRelease(db, 404, '2.2.0');
    await createRollout(db, fourth, planJobs({ repository: 'conn2flow/plugins', pluginId: 'test-plugin', version: '2.2.0', prerelease: false, sha256: 'd'.repeat(64) }, [host, other]));
    const waiting = (await rolloutJobs(db, first.rolloutId))[0];
    assert.deepEqual([waiting.state, waiting.reason], ['superseded', 'superseded by 2.2.0']);
    assert.equal((await getJob(db, job.id))!.state, 'ok');
  });
}
