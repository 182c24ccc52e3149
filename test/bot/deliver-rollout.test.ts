import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { DeliveryDeps } from '../../src/bot/delivery/deliver-job.ts';
import { deliverRollout } from '../../src/bot/delivery/deliver-rollout.ts';
import { QUEUES, startQueue } from '../../src/bot/queue.ts';
import type { Database } from '../../src/bot/store/database.ts';
import { addHost } from '../../src/bot/store/hosts.ts';
import { getJob, jobHistory, rolloutJobs } from '../../src/bot/store/rollouts.ts';
import { resolvedRelease, rolloutOf } from './fixtures.ts';
import { waitFor } from '../helpers.ts';
import { ENGINES, freshDatabase, testBox } from './databases.ts';

// A rollout's first pushes are listed once per run and claimed a chunk at a time: each job is pushed once however many
// runs go at once; a job another run holds under a live lease is left alone until the lease runs out; one
// push in flight per host and plugin; pull-mode hosts and jobs already tried are not this path's business.

const pushes: Array<{ path: string; attemptId: string; jobId: string }> = [];
const gates = new Map<string, { seen: Set<string>; held: Array<() => void> }>();
/** Answers of hosts whose path ends in "-held", kept until a test gives them. */
const heldAnswers: Array<() => void> = [];
let receiver: Server;
let base = '';
before(async () => {
  receiver = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    pushes.push({
      path: req.url!,
      attemptId: String(req.headers['webhook-id']),
      jobId: JSON.parse(Buffer.concat(chunks).toString('utf8')).jobId,
    });
    if (req.url === '/busy') return void res.writeHead(503).end();
    const accept = () =>
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted","jobId":"x"}');
    if (req.url!.endsWith('-held')) return void heldAnswers.push(accept);
    const many = /^\/(\w+)-many-/.exec(req.url!);
    if (!many) return void setTimeout(accept, 20);
    // Twelve hosts, two runs of two lanes of three: one run alone has at most six pushes in flight, so nothing
    // is answered before the seventh arrives; by then the other run has claimed its share from the other end.
    const gate = gates.get(many[1]) ?? { seen: new Set<string>(), held: [] as Array<() => void> };
    gates.set(many[1], gate);
    gate.seen.add(req.url!);
    if (gate.seen.size < 7) return void gate.held.push(accept);
    accept();
    for (const held of gate.held.splice(0)) held();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

const plugins = [{ repository: 'conn2flow/plugins', pluginId: 'test-plugin' }];
let nextRelease = 1000;

/** `count` auto-policy hosts, each pushed to at `<receiver>/<prefix>-<i>`. */
async function pushHosts(db: Database, prefix: string, count: number) {
  const hosts = [];
  for (let i = 0; i < count; i++)
    hosts.push(
      (
        await addHost(db, testBox, {
          name: `${prefix}-${i}`,
          url: `${base}/${prefix}-${i}`,
          policy: 'auto',
          channel: 'stable',
          plugins,
          allowPrivateNetwork: true,
        })
      ).host,
    );
  return hosts;
}

async function rolloutTo(db: Database, hosts: Array<Awaited<ReturnType<typeof addHost>>['host']>, version: string) {
  return rolloutOf(db, await resolvedRelease(db, { id: nextRelease++, version }), hosts);
}

/** The database, with each query going through `around` (which runs it, or not, and may wait around it). */
function withQueries(
  db: Database,
  around: (sql: string, run: () => Promise<unknown[]>, params?: unknown[]) => Promise<unknown[]>,
): Database {
  return new Proxy(db, {
    get(target, key, receiver) {
      if (key !== 'query') return Reflect.get(target, key, receiver);
      return (sql: string, params?: unknown[]) => around(sql, () => target.query(sql, params), params);
    },
  });
}

async function waitingRuns(db: Database): Promise<Array<{ startsInSeconds: number }>> {
  const rows = await db.query<{ starts_in: number }>(
    "select extract(epoch from (start_after - now()))::float as starts_in from pgboss.job where name = $1 and state = 'created'",
    [QUEUES.deliverRollout],
  );
  return rows.map((r) => ({ startsInSeconds: Number(r.starts_in) }));
}

for (const engine of ENGINES) {
  test(`${engine}: two runs at once push every job of a rollout exactly once; a second pass pushes nothing`, {
    timeout: 60_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    try {
      const hosts = await pushHosts(db, `${engine}-many`, 12);
      const pulling = (
        await addHost(db, testBox, { name: 'pull', url: null, policy: 'auto', channel: 'stable', plugins })
      ).host;
      const rollout = await rolloutTo(db, [...hosts, pulling], '1.0.0');
      const deps: DeliveryDeps = { db, box: testBox, boss, botUrl: 'https://bot.example.com' };

      // The second run is one invited to share: it walks the list from the other end, so both take jobs.
      const counts = await Promise.all([
        deliverRollout(deps, rollout.rolloutId, { chunk: 3, lanes: 2 }),
        deliverRollout(deps, rollout.rolloutId, { chunk: 3, lanes: 2, fromEnd: true }),
      ]);
      assert.equal(counts[0] + counts[1], 12, 'the two runs shared the twelve pushed jobs');
      assert.ok(counts[0] >= 3 && counts[1] >= 3, `each run pushed from its end (${counts.join(' and ')})`);
      const waiting = await db.query<{ data: { fromEnd?: boolean } }>(
        "select data from pgboss.job where name = $1 and state = 'created'",
        [QUEUES.deliverRollout],
      );
      assert.ok(waiting.length <= 1, 'at most one run waits per rollout');
      const mine = pushes.filter((p) => p.path.startsWith(`/${engine}-many-`));
      assert.equal(mine.length, 12, 'no job was pushed twice');
      assert.equal(new Set(mine.map((p) => p.path)).size, 12);

      const jobs = await rolloutJobs(db, rollout.rolloutId);
      assert.deepEqual(
        jobs.filter((j) => j.hostId !== pulling.id).map((j) => j.state),
        Array(12).fill('delivered'),
      );
      assert.equal(
        jobs.find((j) => j.hostId === pulling.id)!.state,
        'queued',
        'a pull-mode host takes its job at its next poll',
      );
      const pushedJob = jobs.find((j) => j.hostId !== pulling.id)!;
      assert.deepEqual(await jobHistory(db, pushedJob.id).then((h) => h.map((e) => e.state)), [
        'queued',
        'delivering',
        'delivered',
      ]);

      // (A run that ends while the other still holds jobs leaves a later run for their leases: drop it here.)
      await db.query("delete from pgboss.job where name = $1 and state = 'created'", [QUEUES.deliverRollout]);
      assert.equal(await deliverRollout(deps, rollout.rolloutId), 0, 'a second pass finds nothing to push');
      assert.equal(mine.length, pushes.filter((p) => p.path.startsWith(`/${engine}-many-`)).length);
      assert.deepEqual(
        await waitingRuns(db),
        [],
        'nothing left for a later run: the pull-mode job does not keep one waiting',
      );
    } finally {
      await boss.stop({ graceful: false });
    }
  });

  test(`${engine}: a slow host holds up neither the claims nor the records of the pushes beside it`, {
    timeout: 60_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    try {
      const hosts = [...(await pushHosts(db, `${engine}-beside`, 8)), ...(await pushHosts(db, `${engine}-slow`, 1))];
      const slow = hosts[8];
      await db.query('update hosts set url = $2 where id = $1', [slow.id, `${base}/${engine}-slow-held`]);
      const rollout = await rolloutTo(db, hosts, '1.0.0');
      const deps: DeliveryDeps = { db, box: testBox, boss, botUrl: 'https://bot.example.com' };
      // Three jobs a claim, six in flight: whichever claim the slow host is in, the two beside it are answered,
      // recorded, and replaced by the next claim's jobs while it has not answered.
      const run = deliverRollout(deps, rollout.rolloutId, { chunk: 3, lanes: 2 });
      const states = async () => (await rolloutJobs(db, rollout.rolloutId)).map((j) => [j.hostId, j.state]);
      await waitFor(
        async () => (await states()).filter(([, state]) => state === 'delivered').length === 8,
        'the eight other jobs delivered while the slow host has not answered',
      );
      assert.deepEqual(
        (await states()).filter(([, state]) => state !== 'delivered'),
        [[slow.id, 'delivering']],
      );
      await waitFor(() => heldAnswers.length === 1, "the slow host's push");
      heldAnswers.splice(0).forEach((answer) => answer());
      assert.equal(await run, 9);
      assert.deepEqual(
        (await states()).map(([, state]) => state),
        Array(9).fill('delivered'),
      );
    } finally {
      await boss.stop({ graceful: false });
    }
  });

  test(`${engine}: the first claim is small, and its pushes are under way before another run is invited`, {
    timeout: 60_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    try {
      const hosts = await pushHosts(db, `${engine}-ramp`, 60);
      const rollout = await rolloutTo(db, hosts, '1.0.0');
      const claims: number[] = [];
      const counting = withQueries(db, async (sql, run, params) => {
        if (sql.includes('with picked as')) claims.push((params as [string, string[]])[1].length);
        return run();
      });
      const reached = () => pushes.filter((p) => p.path.startsWith(`/${engine}-ramp-`)).length;
      // The invitation is held until the first claim's pushes reach their hosts: a run that invited before
      // pushing would wait on it until this gives up.
      const invitations: string[] = [];
      const holdingBoss = new Proxy(boss, {
        get(target, key) {
          const value = Reflect.get(target, key);
          if (key !== 'send') return typeof value === 'function' ? value.bind(target) : value;
          return async (...args: Parameters<typeof boss.send>) => {
            if (args[0] === QUEUES.deliverRollout) {
              await waitFor(() => reached() >= 16, "the first claim's pushes, before the invitation", 10_000);
              invitations.push(String(args[0]));
            }
            return target.send(...args);
          };
        },
      });
      const deps: DeliveryDeps = { db: counting, box: testBox, boss: holdingBoss, botUrl: 'https://bot.example.com' };
      assert.equal(await deliverRollout(deps, rollout.rolloutId, { chunk: 20, lanes: 2 }), 60);
      assert.deepEqual(claims, [16, 20, 20, 4], 'sixteen first, then chunks of twenty');
      assert.deepEqual(invitations, [QUEUES.deliverRollout], 'one run invited to share');
      assert.equal(reached(), 60);

      // A rollout of one chunk or less is one run's work: nobody is invited.
      const few = await rolloutTo(db, hosts.slice(0, 20), '1.0.1');
      assert.equal(await deliverRollout(deps, few.rolloutId, { chunk: 20, lanes: 2 }), 20);
      assert.deepEqual(invitations, [QUEUES.deliverRollout]);
    } finally {
      await boss.stop({ graceful: false });
    }
  });

  test(`${engine}: a claim that fails (the database went away) fails the run only after the pushes in flight are written`, {
    timeout: 60_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    try {
      const hosts = await pushHosts(db, `${engine}-cut`, 6);
      const rollout = await rolloutTo(db, hosts, '1.0.0');
      let claims = 0;
      const failing = withQueries(db, async (sql, run) => {
        if (sql.includes('with picked as') && ++claims === 2) throw new Error('connection terminated');
        return run();
      });
      const deps: DeliveryDeps = { db: failing, box: testBox, boss, botUrl: 'https://bot.example.com' };
      await assert.rejects(deliverRollout(deps, rollout.rolloutId, { chunk: 3, lanes: 2 }), /connection terminated/);
      const states = (await rolloutJobs(db, rollout.rolloutId)).map((j) => j.state).sort();
      assert.deepEqual(states, ['delivered', 'delivered', 'delivered', 'queued', 'queued', 'queued']);
      assert.equal(pushes.filter((p) => p.path.startsWith(`/${engine}-cut-`)).length, 3);
    } finally {
      await boss.stop({ graceful: false });
    }
  });

  test(`${engine}: a run that finds a chunk all taken by another run leaves the rest to it, without claiming it chunk by chunk`, {
    timeout: 60_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    try {
      const hosts = await pushHosts(db, `${engine}-met`, 30);
      const rollout = await rolloutTo(db, hosts, '1.0.0');
      const deps: DeliveryDeps = { db, box: testBox, boss, botUrl: 'https://bot.example.com' };
      // The late run lists all thirty jobs, then waits while another run takes every one of them.
      let claims = 0;
      let listed: () => void = () => {};
      const listedOnce = new Promise<void>((resolve) => (listed = resolve));
      let otherFinished: () => void = () => {};
      const otherDone = new Promise<void>((resolve) => (otherFinished = resolve));
      const late = withQueries(db, async (sql, run) => {
        if (sql.includes('with picked as')) claims++;
        const rows = await run();
        if (sql.includes('select j.id from host_jobs j where j.rollout_id')) {
          listed();
          await otherDone;
        }
        return rows;
      });
      const lateRun = deliverRollout({ ...deps, db: late }, rollout.rolloutId, { chunk: 3, lanes: 2 });
      await listedOnce;
      assert.equal(await deliverRollout(deps, rollout.rolloutId, { chunk: 30, lanes: 1, fromEnd: true }), 30);
      otherFinished();
      assert.equal(await lateRun, 0, 'the late run pushed nothing');
      assert.ok(claims <= 2, `the late run stopped at the first chunk it found taken (one per lane), not ${claims}`);
      const jobs = await rolloutJobs(db, rollout.rolloutId);
      assert.deepEqual(
        jobs.map((j) => j.state),
        Array(30).fill('delivered'),
      );
      assert.equal(pushes.filter((p) => p.path.startsWith(`/${engine}-met-`)).length, 30, 'each pushed once');
    } finally {
      await boss.stop({ graceful: false });
    }
  });

  test(`${engine}: a job under another run's live lease waits; when the lease runs out it is pushed with the same message id`, {
    timeout: 60_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    try {
      const { host } = await addHost(db, testBox, {
        name: 'leased',
        url: `${base}/${engine}-leased`,
        policy: 'auto',
        channel: 'stable',
        plugins,
        allowPrivateNetwork: true,
      });
      const rollout = await rolloutTo(db, [host], '1.0.0');
      const [job] = rollout.queued;
      // Another process claimed it and is pushing it.
      await db.query(
        "update host_jobs set state = 'delivering', attempts = 1, lease_until = now() + interval '30 seconds' where id = $1",
        [job.id],
      );
      const deps: DeliveryDeps = { db, box: testBox, boss, botUrl: 'https://bot.example.com' };

      assert.equal(await deliverRollout(deps, rollout.rolloutId), 0);
      assert.equal(pushes.filter((p) => p.path === `/${engine}-leased`).length, 0, 'a live lease is left alone');
      const [later] = await waitingRuns(db);
      assert.ok(
        later && later.startsInSeconds > 25 && later.startsInSeconds < 35,
        `a run waits for the lease to end (starts in ${later?.startsInSeconds} s)`,
      );

      // That process died: its lease runs out.
      await db.query("update host_jobs set lease_until = now() - interval '1 second' where id = $1", [job.id]);
      assert.equal(await deliverRollout(deps, rollout.rolloutId), 1);
      const toHost = pushes.filter((p) => p.path === `/${engine}-leased`);
      assert.deepEqual(
        toHost.map((p) => p.attemptId),
        [job.attemptId],
        'the same message id: a host that had it answers that it knows it',
      );
      assert.equal((await getJob(db, job.id))!.state, 'delivered');
    } finally {
      await boss.stop({ graceful: false });
    }
  });

  test(`${engine}: one push in flight per host and plugin; a failed first push goes to the per-job retry queue`, {
    timeout: 60_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const boss = await startQueue(db);
    try {
      const { host } = await addHost(db, testBox, {
        name: 'one',
        url: `${base}/${engine}-one`,
        policy: 'auto',
        channel: 'stable',
        plugins,
        allowPrivateNetwork: true,
      });
      const { host: busy } = await addHost(db, testBox, {
        name: 'busy',
        url: `${base}/busy`,
        policy: 'auto',
        channel: 'stable',
        plugins,
        allowPrivateNetwork: true,
      });
      const older = await rolloutTo(db, [host], '1.0.0');
      // The older release's job is being pushed through the per-job queue (no lease) when 1.1.0 comes out.
      await db.query("update host_jobs set state = 'delivering', attempts = 2 where id = $1", [older.queued[0].id]);
      const newer = await rolloutTo(db, [host, busy], '1.1.0');
      const deps: DeliveryDeps = { db, box: testBox, boss, botUrl: 'https://bot.example.com', retrySchedule: [60] };

      assert.equal(await deliverRollout(deps, newer.rolloutId), 1, "only the busy host's job could go");
      assert.equal(
        pushes.filter((p) => p.path === `/${engine}-one`).length,
        0,
        'not while the older job is being pushed to the same host',
      );
      assert.ok(
        (await waitingRuns(db)).some((r) => r.startsInSeconds > 0 && r.startsInSeconds < 5),
        'a run looks again shortly',
      );

      const busyJob = newer.queued.find((j) => j.hostId === busy.id)!;
      const afterBusy = (await getJob(db, busyJob.id))!;
      assert.deepEqual(
        [afterBusy.state, afterBusy.deliveryTries],
        ['queued', 1],
        'a 503 puts the job back in the queue, tried once',
      );
      const [retry] = await db.query<{ data: { jobId: string; attempt: number } }>(
        "select data from pgboss.job where name = $1 and state = 'created'",
        [QUEUES.deliverJob],
      );
      assert.deepEqual(
        retry.data,
        { jobId: busyJob.id, attemptId: busyJob.attemptId, attempt: 1 },
        'its retry is a per-job delivery of the same attempt',
      );

      await db.query("update host_jobs set state = 'delivered' where id = $1", [older.queued[0].id]);
      assert.equal(
        await deliverRollout(deps, newer.rolloutId),
        1,
        'the waiting job goes once the other push is done; the retried one is not taken again',
      );
      assert.equal(pushes.filter((p) => p.path === `/${engine}-one`).length, 1);
      assert.equal(pushes.filter((p) => p.path === '/busy' && p.jobId === busyJob.id).length, 1);
    } finally {
      await boss.stop({ graceful: false });
    }
  });
}
