import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { releasePayload, sendWebhook } from '../../dev/github/webhooks.ts';
import { WEBHOOK_PATH } from '../../src/bot/server.ts';
import { openPostgres } from '../../src/bot/store/database.ts';
import { migrate } from '../../src/bot/store/migrate.ts';
import { addHost } from '../../src/bot/store/hosts.ts';
import { applyReport } from '../../src/bot/store/reports.ts';
import type { Job } from '../../src/protocol/messages.ts';
import { REPO as ROOT, waitFor } from '../helpers.ts';
import { minimalPackage } from '../../dev/minimal-package.ts';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { freshPostgresUrl, testBox } from './databases.ts';
import { startPrivatePostgres } from './private-postgres.ts';

// Real bot processes on one PostgreSQL: two share a large rollout and deliver each job once; one killed with
// SIGKILL mid-rollout loses nothing, the other takes its jobs over once their lease runs out (not when
// pg-boss would expire the dead process's queue entry, minutes later), and a host that reported is not sent
// its job again.

const REPO = 'conn2flow/plugins';
const SECRET = 'webhook-secret';
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const github = new GitHubStandIn();
const children: ChildProcess[] = [];
const pushes: Array<{ host: string; messageId: string; job: Job }> = [];
let receiver: Server;
let receiverUrl = '';
let delayMs = 0;

before(async () => {
  await github.start();
  receiver = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    pushes.push({
      host: req.url!.slice(1),
      messageId: String(req.headers['webhook-id']),
      job: JSON.parse(Buffer.concat(chunks).toString('utf8')),
    });
    setTimeout(
      () => res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted","jobId":"x"}'),
      delayMs,
    );
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
after(async () => {
  children.forEach((c) => c.kill('SIGKILL'));
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await github.stop();
});

function startBot(databaseUrl: string, extra: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'test', 'bot', 'bot-process.ts')], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      GITHUB_API: github.url,
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: SECRET,
      C2F_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      const port = /listening (\d+)/.exec(String(d))?.[1];
      if (port) resolve({ child, port: Number(port) });
    });
    child.on('exit', (code) => reject(new Error(`bot process exited with ${code}`)));
  });
}

async function sendRelease(port: number, releaseId: number, tag: string) {
  const payload = releasePayload({ repository: REPO, release: { id: releaseId, tagName: tag }, installationId: 7 });
  const answer = await sendWebhook(
    { url: `http://127.0.0.1:${port}${WEBHOOK_PATH}`, secret: SECRET },
    'release',
    payload,
  );
  assert.equal(answer.status, 200);
}

async function addPackageRelease(tag: string) {
  const [, pluginId, version] = /^plugin-(.+)-v(\d+\.\d+\.\d+)$/.exec(tag)!;
  const zip = await minimalPackage(pluginId, version);
  return github.addRelease(REPO, { tagName: tag }, [
    { name: 'gestor-plugin.zip', content: zip },
    { name: 'gestor-plugin.zip.sha256', content: Buffer.from(`${createHash('sha256').update(zip).digest('hex')}\n`) },
  ]);
}

async function setup(hostCount: number, given?: string) {
  const url = given ?? (await freshPostgresUrl());
  const db = openPostgres(url, 4);
  await migrate(db);
  const hosts: string[] = [];
  await Promise.all(
    Array.from({ length: 8 }, async (_, lane) => {
      for (let i = lane; i < hostCount; i += 8) {
        const { host } = await addHost(db, testBox, {
          name: `h${i}`,
          url: `${receiverUrl}/h${i}`,
          policy: 'auto',
          channel: 'stable',
          plugins: [{ repository: REPO, pluginId: 'test-plugin' }],
          allowPrivateNetwork: true,
        });
        hosts.push(host.id);
      }
    }),
  );
  return { url, db, hosts };
}

/** A counter's total in a process's own /metrics (each process counts what it did itself). */
async function counter(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

test('two bot processes on one PostgreSQL share a large rollout and deliver each job once', {
  timeout: 120_000,
}, async () => {
  const { url, db } = await setup(600);
  // Hosts that take 400 ms to answer: one process keeps 200 pushes of a run in flight, so the rollout lasts
  // over a second, long enough for the other process to take up a run even on a busy machine (at 100 ms the
  // process that planned it could be done before the other had looked).
  delayMs = 400;
  const [a, b] = await Promise.all([startBot(url), startBot(url)]);
  const release = await addPackageRelease('plugin-test-plugin-v1.0.0');
  await sendRelease(a.port, release.id, release.tagName);
  const delivered = async () =>
    (await db.query<{ n: number }>("select count(*)::int as n from host_jobs where state = 'delivered'"))[0].n;
  await waitFor(async () => (await delivered()) === 600, 'all 600 deliveries', 60_000);
  const forRelease = pushes.filter((p) => p.job.source.releaseId === release.id);
  assert.equal(forRelease.length, 600, 'no job was pushed twice');
  assert.equal(new Set(forRelease.map((p) => p.host)).size, 600);
  const [byA, byB] = [await counter(a.port, 'c2f_pushes_total'), await counter(b.port, 'c2f_pushes_total')];
  assert.equal(byA + byB, 600);
  assert.ok(byA > 0 && byB > 0, `both processes pushed (${byA} and ${byB})`);
  await db.close();
  children.splice(0).forEach((c) => c.kill('SIGKILL'));
});

test('a bot killed mid-rollout loses nothing: the other takes its jobs over within their lease; reported jobs are not sent again', {
  timeout: 120_000,
}, async () => {
  const { url, db } = await setup(12);
  delayMs = 1500; // slow hosts: the pushes are in flight when the bot dies
  const [first, survivor] = await Promise.all([startBot(url), startBot(url)]);
  const release = await addPackageRelease('plugin-test-plugin-v2.0.0');
  await sendRelease(first.port, release.id, release.tagName);
  const forRelease = () => pushes.filter((p) => p.job.source.releaseId === release.id);
  async function states() {
    return db.query<{ id: string; host_id: string; state: string; lease_until: Date | null }>(
      'select id, host_id, state, lease_until from host_jobs',
    );
  }
  // Kill whichever process holds leases once pushes are in flight.
  await waitFor(async () => forRelease().length >= 2, 'the first pushes', 60_000);
  const holder = (await counter(first.port, 'c2f_pushes_in_flight')) > 0 ? first : survivor;
  const inFlight = (await states()).filter((j) => j.state === 'delivering');
  assert.ok(inFlight.length > 0, 'jobs were being delivered when the bot died');
  const leaseEnds = Math.max(...inFlight.map((j) => new Date(j.lease_until!).getTime()));
  holder.child.kill('SIGKILL');
  await new Promise((resolve) => holder.child.once('exit', resolve));
  const other = holder === first ? survivor : first;

  await waitFor(
    async () => (await states()).every((j) => j.state === 'delivered'),
    'every job delivered after the kill',
    60_000,
  );
  const late = Date.now() - leaseEnds;
  assert.ok(
    late < 8000,
    `every job was delivered ${late} ms after the last lease ran out (lease 5 s, sweep every 2 s, pushes take 1.5 s)`,
  );
  assert.ok((await counter(other.port, 'c2f_lease_takeovers_total')) > 0, 'the takeover is counted');
  const pushed = forRelease();
  assert.equal(new Set(pushed.map((p) => p.host)).size, 12, 'every host got its job');
  const byHost = new Map<string, Set<string>>();
  for (const p of pushed) byHost.set(p.host, (byHost.get(p.host) ?? new Set()).add(p.messageId));
  assert.ok(
    [...byHost.values()].every((ids) => ids.size === 1),
    'a job pushed twice (in flight when the bot died) kept its attempt id, so the host treats it as a repeat',
  );

  // Every host reports ok; a restarted bot sends nothing more.
  for (const job of await states()) {
    const push = pushed.find((p) => p.job.jobId === job.id)!;
    await applyReport(db, `msg_${job.id}`, {
      type: 'report',
      protocol: 1,
      jobId: job.id,
      attemptId: push.job.attemptId,
      hostId: job.host_id,
      status: 'ok',
      exitCode: 0,
      exitLabel: 'OK',
      message: 'ok',
      logTail: [],
      installedVersion: push.job.plugin.version,
      timings: { receivedAt: new Date().toISOString() },
      sentAt: new Date().toISOString(),
    });
  }
  children.splice(0).forEach((c) => c.kill('SIGKILL'));
  const count = forRelease().length;
  await startBot(url);
  await new Promise((r) => setTimeout(r, 6000));
  assert.equal(forRelease().length, count, 'no job was sent again after its host reported');
  assert.ok((await states()).every((j) => j.state === 'ok'));
  await db.close();
});

test('PostgreSQL restarted mid-rollout ends neither of two bot processes, and the rollout completes, each host once', {
  timeout: 180_000,
}, async () => {
  // A server of this test's own: restarting the shared one would cut other test files off.
  const server = await startPrivatePostgres();
  const exited: string[] = [];
  try {
    const admin = openPostgres(server.url, 1);
    await admin.query('create database c2f');
    await admin.close();
    const url = server.url.replace(/\/postgres$/, '/c2f');
    const { db } = await setup(240, url);
    delayMs = 30;
    const bots = await Promise.all([startBot(url), startBot(url)]);
    for (const bot of bots) bot.child.once('exit', (code, signal) => exited.push(`${code ?? signal}`));
    const release = await addPackageRelease('plugin-test-plugin-v3.0.0');
    await sendRelease(bots[0].port, release.id, release.tagName);
    const forRelease = () => pushes.filter((p) => p.job.source.releaseId === release.id);
    await waitFor(() => forRelease().length >= 40, 'the first pushes', 60_000);
    server.restart(); // "terminating connection due to administrator command" to every client, then back
    const delivered = async () =>
      (await db.query<{ n: number }>("select count(*)::int as n from host_jobs where state = 'delivered'"))[0].n;
    await waitFor(
      async () => (await delivered().catch(() => 0)) === 240,
      'all 240 deliveries after the restart',
      120_000,
    );
    assert.deepEqual(exited, [], 'no bot process exited');
    const byHost = new Map<string, Set<string>>();
    for (const p of forRelease()) byHost.set(p.host, (byHost.get(p.host) ?? new Set()).add(p.messageId));
    assert.equal(byHost.size, 240, 'every host got its job');
    assert.ok(
      [...byHost.values()].every((ids) => ids.size === 1),
      'each host got one attempt (a push repeated after a lost write keeps its id)',
    );
    for (const bot of bots) assert.equal((await fetch(`http://127.0.0.1:${bot.port}/healthz`)).status, 200);
    await db.close();
  } finally {
    children.splice(0).forEach((c) => c.kill('SIGKILL'));
    await server.stop();
  }
});

test('a bot that stops cleanly hands back at once the leases of pushes still in flight', {
  timeout: 120_000,
}, async () => {
  const { url, db } = await setup(3);
  delayMs = 14_000; // hosts slower than the bot's graceful stop (10 s)
  const bot = await startBot(url, { PUSH_TIMEOUT_MS: '30000', LEASE_SECONDS: '300' });
  try {
    const release = await addPackageRelease('plugin-test-plugin-v4.0.0');
    await sendRelease(bot.port, release.id, release.tagName);
    await waitFor(
      () => pushes.filter((p) => p.job.source.releaseId === release.id).length === 3,
      'the pushes in flight',
      60_000,
    );
    const leased = await db.query<{ lease_until: Date }>(
      "select lease_until from host_jobs where state = 'delivering'",
    );
    assert.equal(leased.length, 3);
    assert.ok(
      leased.every((j) => new Date(j.lease_until).getTime() > Date.now() + 200_000),
      'leased for five minutes',
    );
    bot.child.kill('SIGTERM');
    await new Promise((resolve) => bot.child.once('exit', resolve));
    const after = await db.query<{ state: string; lease_until: Date | null }>(
      'select state, lease_until from host_jobs',
    );
    assert.ok(
      after.every((j) => j.state !== 'delivering' || new Date(j.lease_until!).getTime() <= Date.now()),
      `every lease was handed back: ${JSON.stringify(after)}`,
    );
  } finally {
    children.splice(0).forEach((c) => c.kill('SIGKILL'));
    await db.close();
  }
});
