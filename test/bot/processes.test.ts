import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import examples from '@octokit/webhooks-examples' with { type: 'json' };
import { openPostgres } from '../../src/bot/store/database.ts';
import { migrate } from '../../src/bot/store/migrate.ts';
import { addHost } from '../../src/bot/store/hosts.ts';
import { applyReport } from '../../src/bot/store/reports.ts';
import type { Job } from '../../src/protocol/messages.ts';
import { REPO as ROOT, waitFor } from '../helpers.ts';
import { GitHubStandIn } from '../github/stand-in.ts';
import { freshPostgresUrl, testBox } from './databases.ts';

// Real bot processes on one PostgreSQL: two share the work and deliver each job once; one killed with
// SIGKILL mid-rollout loses nothing, and a host that reported is not sent its job again.

const REPO = 'conn2flow/plugins';
const SECRET = 'webhook-secret';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
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
    pushes.push({ host: req.url!.slice(1), messageId: String(req.headers['webhook-id']), job: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    setTimeout(() => res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted","jobId":"x"}'), delayMs);
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});
after(async () => {
  children.forEach((c) => c.kill('SIGKILL'));
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await github.stop();
});

function startBot(databaseUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'test', 'bot', 'bot-process.ts')], {
    env: { ...process.env, DATABASE_URL: databaseUrl, GITHUB_API: github.url, PRIVATE_KEY: privateKey, WEBHOOK_SECRET: SECRET, C2F_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'), EXPIRE_SECONDS: '4' },
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
  const group = (examples as unknown as Array<{ name: string; examples: Array<Record<string, any>> }>).find((e) => e.name === 'release')!;
  const payload = structuredClone(group.examples.find((e) => e.action === 'published')!);
  Object.assign(payload.release, { id: releaseId, tag_name: tag, prerelease: false });
  Object.assign(payload.repository, { full_name: REPO, name: 'plugins', private: false });
  payload.repository.owner.login = 'conn2flow';
  payload.installation = { id: 7, node_id: 'x' };
  const body = JSON.stringify(payload);
  const response = await fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'release', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` },
    body,
  });
  assert.equal(response.status, 200);
}

function addPackageRelease(tag: string) {
  const zip = Buffer.alloc(4096, tag);
  return github.addRelease(REPO, { tagName: tag }, [
    { name: 'gestor-plugin.zip', content: zip },
    { name: 'gestor-plugin.zip.sha256', content: Buffer.from(`${createHash('sha256').update(zip).digest('hex')}\n`) },
  ]);
}

async function setup(hostCount: number) {
  const url = await freshPostgresUrl();
  const db = openPostgres(url, 2);
  await migrate(db);
  const hosts: string[] = [];
  for (let i = 0; i < hostCount; i++) {
    const { host } = await addHost(db, testBox, { name: `h${i}`, url: `${receiverUrl}/h${i}`, policy: 'auto', channel: 'stable', plugins: [{ repository: REPO, pluginId: 'test-plugin' }], allowPrivateNetwork: true });
    hosts.push(host.id);
  }
  return { url, db, hosts };
}

test('two bot processes on one PostgreSQL share the rollout and deliver each job once', { timeout: 120_000 }, async () => {
  const { url, db } = await setup(40);
  delayMs = 50;
  const [a] = await Promise.all([startBot(url), startBot(url)]);
  const release = addPackageRelease('plugin-test-plugin-v1.0.0');
  await sendRelease(a.port, release.id, release.tagName);
  const delivered = async () => (await db.query<{ n: number }>("select count(*)::int as n from host_jobs where state = 'delivered'"))[0].n;
  await waitFor(async () => (await delivered()) === 40, 'all 40 deliveries', 60_000);
  const forRelease = pushes.filter((p) => p.job.source.releaseId === release.id);
  assert.equal(forRelease.length, 40, 'no job was pushed twice');
  assert.equal(new Set(forRelease.map((p) => p.host)).size, 40);
  await db.close();
  children.splice(0).forEach((c) => c.kill('SIGKILL'));
});

test('a bot killed mid-rollout loses nothing; reported jobs are not sent again', { timeout: 120_000 }, async () => {
  const { url, db } = await setup(12);
  delayMs = 400; // slow hosts: the rollout is still going when the bot dies
  const first = await startBot(url);
  const release = addPackageRelease('plugin-test-plugin-v2.0.0');
  await sendRelease(first.port, release.id, release.tagName);
  const forRelease = () => pushes.filter((p) => p.job.source.releaseId === release.id);
  await waitFor(async () => forRelease().length >= 2, 'the first pushes', 60_000);
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));
  const deliveredAtKill = (await db.query<{ n: number }>("select count(*)::int as n from host_jobs where state = 'delivered'"))[0].n;
  assert.ok(deliveredAtKill < 12, `the rollout was still going when the bot died (${deliveredAtKill} of 12 delivered)`);

  await startBot(url);
  async function states() {
    return db.query<{ id: string; host_id: string; state: string }>('select id, host_id, state from host_jobs');
  }
  await waitFor(async () => (await states()).every((j) => j.state === 'delivered'), 'every job delivered after the restart', 60_000);
  const pushed = forRelease();
  assert.equal(new Set(pushed.map((p) => p.host)).size, 12, 'every host got its job');
  const byHost = new Map<string, Set<string>>();
  for (const p of pushed) byHost.set(p.host, (byHost.get(p.host) ?? new Set()).add(p.messageId));
  assert.ok([...byHost.values()].every((ids) => ids.size === 1), 'a job pushed twice (in flight when the bot died) kept its message id, so the host treats it as a repeat');

  // Every host reports ok; a restarted bot sends nothing more.
  for (const job of await states()) {
    const push = pushed.find((p) => p.job.jobId === job.id)!;
    await applyReport(db, `msg_${job.id}`, {
      type: 'report', protocol: 1, jobId: job.id, attemptId: push.job.attemptId, hostId: job.host_id, status: 'ok', exitCode: 0, exitLabel: 'OK', message: 'ok', logTail: [],
      installedVersion: push.job.plugin.version, timings: { receivedAt: new Date().toISOString() }, sentAt: new Date().toISOString(),
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
