import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import type { PgBoss } from 'pg-boss';
import type { RunningBot } from '../../src/bot/server.ts';
import { startTestBot } from './test-bot.ts';
import type { Database } from '../../src/bot/store/database.ts';
import { createEnrollment, enroll, getHost } from '../../src/bot/store/hosts.ts';
import { applyReport } from '../../src/bot/store/reports.ts';
import { getJob } from '../../src/bot/store/rollouts.ts';
import { resolvedRelease, rolloutOf } from './fixtures.ts';
import type { Job, Report } from '../../src/protocol/messages.ts';
import { generateSecret, signMessage } from '../../src/protocol/signing.ts';
import { checkJob } from '../../src/protocol/validate.ts';
import { freshDatabase, testBox } from './databases.ts';

// A host behind NAT: no URL, it polls. Everything else about its jobs is the same.
let db: Database;
let boss: PgBoss;
let running: RunningBot & { url: string };
let bot: Server;
let base = '';
let hostId = '';
let secret = '';

// The rollouts these tests make report to GitHub: the stand-in answers, so nothing waits on api.github.com.
const github = new GitHubStandIn();
before(() => github.start());
after(() => github.stop());

before(async () => {
  db = await freshDatabase('pglite');
  running = await startTestBot(github, db, { env: { C2F_PULL_LEASE_SECONDS: '2' }, overrides: { pollCheckMs: 100 } });
  ({ server: bot, url: base } = running);
  boss = running.deps.boss;
  const { token } = await createEnrollment(db, {
    name: 'behind-nat',
    policy: 'auto',
    channel: 'stable',
    plugins: [{ repository: 'conn2flow/plugins', pluginId: 'test-plugin' }],
  });
  ({ hostId, secret } = await enroll(db, testBox, token, null, '0.1.0'));
});
after(async () => {
  await running?.stop();
});

async function heartbeat(pollSeconds: number, signWith = secret, inventory: unknown[] = []) {
  const body = JSON.stringify({
    type: 'heartbeat',
    protocol: 1,
    hostId,
    agentVersion: '0.1.0',
    inventory,
    pollSeconds,
    sentAt: new Date().toISOString(),
  });
  const response = await fetch(`${base}/api/heartbeat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signMessage(body, [signWith], `msg_${Math.random()}`) },
    body,
  });
  return { status: response.status, body: (await response.json()) as { jobs: Job[]; error?: string } };
}

test('a heartbeat records the inventory; a forged one is refused', async () => {
  const answer = await heartbeat(0, secret, [{ pluginId: 'other-plugin', version: '2.0.0', sha256: null }]);
  assert.deepEqual(answer, { status: 200, body: { jobs: [] } });
  const host = (await getHost(db, hostId))!;
  assert.deepEqual(
    host.inventory.map(({ at: _at, ...entry }) => entry),
    [{ pluginId: 'other-plugin', version: '2.0.0', sha256: null }],
  );
  assert.ok(host.lastSeenAt);
  assert.equal((await heartbeat(0, generateSecret())).status, 401);
});

test("a long poll hands out the host's job under a lease: again after the lease, never after the host's first report", {
  timeout: 30_000,
}, async () => {
  const started = Date.now();
  const polling = heartbeat(10);
  await new Promise((r) => setTimeout(r, 500));
  const release = await resolvedRelease(db, { id: 31, version: '1.0.0', sha256: 'e'.repeat(64) });
  const { queued } = await rolloutOf(db, release, [(await getHost(db, hostId))!], boss);
  const answer = await polling;
  assert.equal(answer.status, 200);
  assert.ok(Date.now() - started < 8000, 'answered as soon as the job was there');
  assert.equal(answer.body.jobs.length, 1);
  assert.equal(checkJob(answer.body.jobs[0]).ok, true);
  const [job] = answer.body.jobs;
  assert.deepEqual([job.jobId, job.attemptId], [queued[0].id, queued[0].attemptId]);
  assert.equal(
    (await getJob(db, queued[0].id))!.state,
    'delivering',
    'leased, not delivered: the answer may never arrive',
  );
  assert.deepEqual((await heartbeat(0)).body.jobs, [], 'not handed out again while the lease holds');

  // The answer was lost: once the lease runs out, the next poll gets the same attempt.
  await new Promise((r) => setTimeout(r, 2200));
  const again = await heartbeat(0);
  assert.deepEqual(
    again.body.jobs.map((j) => [j.jobId, j.attemptId]),
    [[job.jobId, job.attemptId]],
  );

  // The host's first report ("received") ends it: no more hand-outs, even after the lease.
  const received: Report = {
    type: 'report',
    protocol: 1,
    jobId: job.jobId,
    attemptId: job.attemptId,
    hostId,
    status: 'idle',
    exitCode: null,
    exitLabel: null,
    message: 'received (pull mode); waiting to run',
    logTail: [],
    installedVersion: null,
    timings: { receivedAt: new Date().toISOString() },
    sentAt: new Date().toISOString(),
  };
  assert.equal((await applyReport(db, 'received-1', received)).outcome, 'applied');
  assert.equal((await getJob(db, job.jobId))!.state, 'delivered');
  await new Promise((r) => setTimeout(r, 2200));
  assert.deepEqual((await heartbeat(0)).body.jobs, [], 'handed out until acknowledged, and not after');
});

test('a poll whose connection closes while it waits takes no job; the next poll gets it', {
  timeout: 30_000,
}, async () => {
  const controller = new AbortController();
  // The bot notices a closed connection only when its event loop gets to it; the job is made after that,
  // so that a poll that takes it would be a bug, not a race with the test.
  const { promise: arrived, resolve: onArrived } = Promise.withResolvers<void>();
  const { promise: seenClosed, resolve: onClosed } = Promise.withResolvers<void>();
  const watch = (_req: unknown, res: import('node:http').ServerResponse) => {
    bot.off('request', watch);
    onArrived();
    res.once('close', () => onClosed());
  };
  bot.on('request', watch);
  const body = JSON.stringify({
    type: 'heartbeat',
    protocol: 1,
    hostId,
    agentVersion: '0.1.0',
    inventory: [],
    pollSeconds: 20,
    sentAt: new Date().toISOString(),
  });
  const abandoned = fetch(`${base}/api/heartbeat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signMessage(body, [secret], 'msg_abandoned') },
    body,
    signal: controller.signal,
  }).catch(() => 'aborted');
  await arrived;
  controller.abort();
  assert.equal(await abandoned, 'aborted');
  await seenClosed;
  const release = await resolvedRelease(db, { id: 32, version: '1.1.0', sha256: 'd'.repeat(64) });
  const { queued } = await rolloutOf(db, release, [(await getHost(db, hostId))!], boss);
  assert.deepEqual(
    (await heartbeat(0)).body.jobs.map((j) => j.jobId),
    [queued[0].id],
  );
});

test('GET /metrics reports jobs by state, hosts and heartbeats in Prometheus format', async () => {
  const response = await fetch(`${base}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await response.text();
  assert.match(text, /^c2f_host_jobs\{state="delivered"\} 1$/m);
  assert.match(text, /^c2f_host_jobs\{state="delivering"\} 1$/m);
  assert.match(text, /^c2f_hosts\{enrolled="true"\} 1$/m);
  assert.match(text, /^c2f_heartbeats_total [1-9]\d*$/m);
  assert.match(text, /^# HELP c2f_pushes_total /m);
});
