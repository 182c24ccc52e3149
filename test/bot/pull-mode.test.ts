import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { Probot } from 'probot';
import type { PgBoss } from 'pg-boss';
import { enqueueDeliveries } from '../../src/bot/delivery/deliver-rollout.ts';
import { startQueue } from '../../src/bot/queue.ts';
import { planJobs } from '../../src/bot/rollout/plan-jobs.ts';
import { createBotServer } from '../../src/bot/server.ts';
import type { Database } from '../../src/bot/store/database.ts';
import { createEnrollment, enroll, getHost } from '../../src/bot/store/hosts.ts';
import { createRollout, getJob, getRelease, recordRelease, updateRelease } from '../../src/bot/store/rollouts.ts';
import type { Job } from '../../src/protocol/messages.ts';
import { generateSecret, signMessage } from '../../src/protocol/signing.ts';
import { checkJob } from '../../src/protocol/validate.ts';
import { freshDatabase, testBox } from './databases.ts';

// A host behind NAT: no URL, it polls. Everything else about its jobs is the same.
let db: Database;
let boss: PgBoss;
let bot: Server;
let base = '';
let hostId = '';
let secret = '';

before(async () => {
  db = await freshDatabase('pglite');
  boss = await startQueue(db);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const probot = new Probot({ appId: 1, privateKey, secret: 's', logLevel: 'fatal' } as ConstructorParameters<typeof Probot>[0]);
  bot = await createBotServer(probot, { db, boss, box: testBox, botUrl: 'https://bot.example.com', pollCheckMs: 100 });
  await new Promise<void>((resolve) => bot.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(bot.address() as AddressInfo).port}`;
  const { token } = await createEnrollment(db, { name: 'behind-nat', policy: 'auto', channel: 'stable', plugins: [{ repository: 'conn2flow/plugins', pluginId: 'test-plugin' }] });
  ({ hostId, secret } = await enroll(db, testBox, token, null, '0.1.0'));
});
after(async () => {
  await boss?.stop({ graceful: false });
  await new Promise<void>((resolve) => bot.close(() => resolve()));
});

async function heartbeat(pollSeconds: number, signWith = secret, inventory: unknown[] = []) {
  const body = JSON.stringify({ type: 'heartbeat', protocol: 1, hostId, agentVersion: '0.1.0', inventory, pollSeconds, sentAt: new Date().toISOString() });
  const response = await fetch(`${base}/api/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json', ...signMessage(body, [signWith], `msg_${Math.random()}`) }, body });
  return { status: response.status, body: (await response.json()) as { jobs: Job[]; error?: string } };
}

test('a heartbeat records the inventory; a forged one is refused', async () => {
  const answer = await heartbeat(0, secret, [{ pluginId: 'other-plugin', version: '2.0.0', sha256: null }]);
  assert.deepEqual(answer, { status: 200, body: { jobs: [] } });
  const host = (await getHost(db, hostId))!;
  assert.deepEqual(host.inventory, [{ pluginId: 'other-plugin', version: '2.0.0', sha256: null }]);
  assert.ok(host.lastSeenAt);
  assert.equal((await heartbeat(0, generateSecret())).status, 401);
});

test('a long poll waits for the host\'s job and hands it out once', { timeout: 30_000 }, async () => {
  const started = Date.now();
  const polling = heartbeat(10);
  await new Promise((r) => setTimeout(r, 500));
  await recordRelease(db, { id: 31, repository: 'conn2flow/plugins', installationId: 1, tag: 'plugin-test-plugin-v1.0.0', headSha: null, prerelease: false, privateRepository: false });
  await updateRelease(db, 31, { state: 'resolved', pluginId: 'test-plugin', version: '1.0.0', zipAssetId: 1, zipUrl: 'https://github.com/x/y/releases/download/t/gestor-plugin.zip', zipSize: 1000, zipSha256: 'e'.repeat(64) });
  const planned = planJobs({ repository: 'conn2flow/plugins', pluginId: 'test-plugin', version: '1.0.0', prerelease: false, sha256: 'e'.repeat(64) }, [(await getHost(db, hostId))!]);
  const { queued } = await createRollout(db, (await getRelease(db, 31))!, planned, (tx, jobs) => enqueueDeliveries(boss, jobs, tx));
  const answer = await polling;
  assert.equal(answer.status, 200);
  assert.ok(Date.now() - started < 8000, 'answered as soon as the job was there');
  assert.equal(answer.body.jobs.length, 1);
  assert.equal(checkJob(answer.body.jobs[0]).ok, true);
  assert.equal(answer.body.jobs[0].jobId, queued[0].id);
  assert.equal((await getJob(db, queued[0].id))!.state, 'delivered');
  const again = await heartbeat(1);
  assert.deepEqual(again.body.jobs, [], 'handed out once');
});

test('GET /metrics reports jobs by state, hosts and heartbeats in Prometheus format', async () => {
  const response = await fetch(`${base}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await response.text();
  assert.match(text, /^c2f_host_jobs\{state="delivered"\} 1$/m);
  assert.match(text, /^c2f_hosts\{enrolled="true"\} 1$/m);
  assert.match(text, /^c2f_heartbeats_total [1-9]\d*$/m);
  assert.match(text, /^# HELP c2f_pushes_total /m);
});
