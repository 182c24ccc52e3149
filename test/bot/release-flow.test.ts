import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import {
  checkRunActionPayload,
  releasePayload as githubReleasePayload,
  sendWebhook as sendGitHubWebhook,
  type ReleaseEvent,
} from '../../dev/github/webhooks.ts';
import { packageLink } from '../../src/bot/delivery/package-link.ts';
import { WEBHOOK_PATH, type RunningBot } from '../../src/bot/server.ts';
import { startTestBot } from './test-bot.ts';
import type { Database } from '../../src/bot/store/database.ts';
import { addHost } from '../../src/bot/store/hosts.ts';
import { getRelease } from '../../src/bot/store/releases.ts';
import { jobHistory, rolloutJobs } from '../../src/bot/store/rollouts.ts';
import type { Job } from '../../src/protocol/messages.ts';
import { signMessage } from '../../src/protocol/signing.ts';
import { checkJob } from '../../src/protocol/validate.ts';
import { GitHubStandIn, commitOf } from '../../dev/github/stand-in.ts';
import { minimalPackage } from '../../dev/minimal-package.ts';
import { waitFor } from '../helpers.ts';
import { freshDatabase, testBox } from './databases.ts';

// The whole intake path over real HTTP: a signed release webhook (from @octokit/webhooks-examples) to the
// running app, release resolution against the GitHub stand-in, a signed push to a host, its signed report.

const REPO = 'conn2flow/plugins';
const WEBHOOK_SECRET = 'webhook-secret-for-tests';
const github = new GitHubStandIn();
const jobsReceived: Job[] = [];
let host: Server;
let hostUrl = '';
let botUrl = '';
let db: Database;
let running: RunningBot & { url: string };
let hostSecret = '';

before(async () => {
  await github.start();
  host = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    jobsReceived.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted","jobId":"x"}');
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  hostUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}/c2f`;

  db = await freshDatabase('pglite');
  running = await startTestBot(github, db, {
    env: { WEBHOOK_SECRET, C2F_BOT_URL: 'http://bot.example.com', C2F_CHECK_RUN_DELAY_SECONDS: '1' },
    overrides: {
      queue: { resolveRetry: { retryDelay: 1, retryDelayMax: 1 } },
      delivery: { retrySchedule: [0.2] },
      resolveRetryLimit: 20,
    },
  });
  botUrl = running.url;
  hostSecret = (
    await addHost(db, testBox, {
      name: 'site',
      url: hostUrl,
      policy: 'auto',
      channel: 'stable',
      plugins: [{ repository: REPO, pluginId: 'test-plugin' }],
      allowPrivateNetwork: true,
    })
  ).secret;
});
after(async () => {
  await running?.stop();
  await new Promise<void>((resolve) => (host ? host.close(() => resolve()) : resolve()));
  await github.stop();
});

function releasePayload(
  releaseId: number,
  tag: string,
  action: ReleaseEvent['action'] = 'published',
  privateRepository = false,
) {
  return githubReleasePayload({
    repository: REPO,
    release: { id: releaseId, tagName: tag },
    action,
    privateRepository,
  });
}

function sendWebhook(payload: unknown, secret = WEBHOOK_SECRET, event = 'release') {
  return sendGitHubWebhook({ url: `${botUrl}${WEBHOOK_PATH}`, secret }, event, payload);
}

function packageAssets(content: Buffer, shaText?: string) {
  const sha = createHash('sha256').update(content).digest('hex');
  return [
    { name: 'gestor-plugin.zip', content, contentType: 'application/zip' },
    { name: 'gestor-plugin.zip.sha256', content: Buffer.from(shaText ?? `${sha}\n`), contentType: 'text/plain' },
  ];
}

test("a published release reaches the host as a signed job, and the host's report closes it", {
  timeout: 60_000,
}, async () => {
  const zip = await minimalPackage('test-plugin', '1.0.0');
  const release = github.addRelease(REPO, { tagName: 'plugin-test-plugin-v1.0.0' }, packageAssets(zip));
  const answer = await sendWebhook(releasePayload(release.id, release.tagName));
  assert.equal(answer.status, 200);
  assert.ok(answer.ms < 2000, `webhook answered in ${answer.ms.toFixed(0)} ms`);

  const job = await waitFor(() => jobsReceived.find((j) => j.source.releaseId === release.id), 'the job at the host');
  assert.equal(checkJob(job).ok, true);
  assert.deepEqual(
    [job.action, job.plugin.id, job.plugin.version, job.package.sha256, job.package.size],
    ['install', 'test-plugin', '1.0.0', createHash('sha256').update(zip).digest('hex'), zip.length],
  );
  assert.equal(
    job.package.url,
    `https://github.com/${REPO}/releases/download/plugin-test-plugin-v1.0.0/gestor-plugin.zip`,
  );
  assert.equal(job.reportUrl, 'http://bot.example.com/api/reports');

  const report = {
    type: 'report',
    protocol: 1,
    jobId: job.jobId,
    attemptId: job.attemptId,
    hostId: job.hostId,
    status: 'ok',
    exitCode: 0,
    exitLabel: 'OK',
    message: 'installed',
    logTail: [],
    installedVersion: '1.0.0',
    timings: { receivedAt: new Date().toISOString() },
    sentAt: new Date().toISOString(),
  };
  const body = JSON.stringify(report);
  const post = (secret: string, id = 'msg_report_1') =>
    fetch(`${botUrl}/api/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signMessage(body, [secret], id) },
      body,
    });
  const forged = await post(`whsec_${Buffer.alloc(32, 1).toString('base64')}`);
  assert.equal(forged.status, 401, 'a report signed with another secret is rejected');
  const accepted = await post(hostSecret);
  assert.deepEqual([accepted.status, await accepted.json()], [200, { status: 'applied' }]);
  const repeat = await post(hostSecret);
  assert.deepEqual(await repeat.json(), { status: 'repeat' });
  const [rollout] = await db.query<{ id: string }>('select id from rollouts where release_id = $1', [release.id]);
  const [hostJob] = await rolloutJobs(db, rollout.id);
  assert.deepEqual([hostJob.state, hostJob.exitCode, hostJob.installedVersion], ['ok', 0, '1.0.0']);

  // GitHub shows the rollout: one check run on the tag's commit, completed once the host reported.
  const run = await waitFor(
    () => github.checkRuns.find((r) => r.externalId === rollout.id && r.status === 'completed'),
    'the completed check run',
  );
  assert.equal(run.headSha, commitOf('plugin-test-plugin-v1.0.0'));
  assert.equal(run.name, 'Conn2Flow rollout: test-plugin 1.0.0');
  assert.equal(run.conclusion, 'success');
  assert.equal(run.output!.title, '1 of 1 hosts updated');
  assert.match(
    run.output!.summary,
    /\| site \| auto \| install \| ok \(installed\) \| 1\.0\.0 \| 0 OK \| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \|/,
  );
  assert.equal(github.checkRuns.filter((r) => r.externalId === rollout.id).length, 1, 'one check run per rollout');
  assert.ok(run.updates <= 3, `updates are coalesced (${run.updates} updates for 4 state changes)`);
  assert.deepEqual(github.violations.splice(0), []);
});

test('duplicate and out-of-order webhooks for one release make one rollout and one push', {
  timeout: 60_000,
}, async () => {
  const release = github.addRelease(
    REPO,
    { tagName: 'plugin-test-plugin-v1.1.0' },
    packageAssets(await minimalPackage('test-plugin', '1.1.0')),
  );
  const answers = await Promise.all([
    sendWebhook(releasePayload(release.id, release.tagName, 'released')),
    sendWebhook(releasePayload(release.id, release.tagName, 'published')),
    sendWebhook(releasePayload(release.id, release.tagName, 'published')),
  ]);
  assert.deepEqual(
    answers.map((a) => a.status),
    [200, 200, 200],
  );
  await waitFor(() => jobsReceived.find((j) => j.source.releaseId === release.id), 'the job');
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(jobsReceived.filter((j) => j.source.releaseId === release.id).length, 1);
  const rollouts = await db.query('select id from rollouts where release_id = $1', [release.id]);
  assert.equal(rollouts.length, 1);
});

test('a forged webhook is rejected and records nothing', async () => {
  const answer = await sendWebhook(releasePayload(987654, 'plugin-test-plugin-v9.9.9'), 'not-the-secret');
  assert.ok(answer.status >= 400 && answer.status < 500, `status ${answer.status}`);
  assert.equal(await getRelease(db, 987654), undefined);
});

test("a .sha256 that disagrees with GitHub's digest fails the release loudly; nothing is pushed", {
  timeout: 60_000,
}, async () => {
  const release = github.addRelease(
    REPO,
    { tagName: 'plugin-test-plugin-v1.2.0' },
    packageAssets(Buffer.alloc(3000, 'c'), `${'0'.repeat(64)}\n`),
  );
  assert.equal((await sendWebhook(releasePayload(release.id, release.tagName))).status, 200);
  const stored = await waitFor(async () => {
    const r = await getRelease(db, release.id);
    return r?.state === 'failed' ? r : undefined;
  }, 'the release to fail');
  assert.match(
    stored.error!,
    /the digest GitHub computed for gestor-plugin\.zip of plugin-test-plugin-v1\.2\.0 \(sha256:[0-9a-f]{64}\) differs from gestor-plugin\.zip\.sha256 \(0{64}\): nothing is rolled out/,
  );
  assert.equal(jobsReceived.filter((j) => j.source.releaseId === release.id).length, 0);
});

test('assets attached after the event are waited for', { timeout: 60_000 }, async () => {
  const release = github.addRelease(REPO, { tagName: 'plugin-test-plugin-v1.3.0' });
  assert.equal((await sendWebhook(releasePayload(release.id, release.tagName))).status, 200);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await getRelease(db, release.id))!.state, 'received', 'still waiting');
  const content = await minimalPackage('test-plugin', '1.3.0');
  for (const asset of packageAssets(content))
    release.assets.push({
      id: 900000 + release.assets.length,
      name: asset.name,
      contentType: asset.contentType,
      content: asset.content,
      createdAt: new Date().toISOString(),
    });
  const job = await waitFor(
    () => jobsReceived.find((j) => j.source.releaseId === release.id),
    'the job after the assets arrived',
  );
  assert.equal(job.plugin.version, '1.3.0');
  // The host reported 1.0.0 installed (first test): the bot plans from that report, not from a heartbeat.
  assert.deepEqual([job.action, job.plugin.previousVersion], ['update', '1.0.0']);
});

test('private repositories: the job points at the bot, which streams the asset; the link is bound to the job and expires', {
  timeout: 60_000,
}, async () => {
  const zip = await minimalPackage('test-plugin', '4.0.0', { padding: 200_000 });
  const release = github.addRelease(REPO, { tagName: 'plugin-test-plugin-v4.0.0' }, packageAssets(zip));
  assert.equal((await sendWebhook(releasePayload(release.id, release.tagName, 'published', true))).status, 200);
  const job = await waitFor(() => jobsReceived.find((j) => j.source.releaseId === release.id), 'the job at the host');
  const link = new URL(job.package.url);
  assert.equal(`${link.origin}${link.pathname}`, `http://bot.example.com/api/packages/${job.jobId}`);
  assert.ok(job.package.urlExpiresAt && Date.parse(job.package.urlExpiresAt) > Date.now() + 23 * 3600_000);
  assert.ok(!job.package.url.includes('github.com') && !/token|ghs_/.test(job.package.url));
  const local = (url: URL) => `${botUrl}${url.pathname}${url.search}`;

  const served = await fetch(local(link));
  assert.equal(served.status, 200);
  const bytes = Buffer.from(await served.arrayBuffer());
  assert.equal(createHash('sha256').update(bytes).digest('hex'), job.package.sha256);

  const otherJob = new URL(link);
  otherJob.pathname = '/api/packages/job_someone_else';
  assert.equal((await fetch(local(otherJob))).status, 403, 'the signature names one job');
  const tampered = new URL(link);
  tampered.searchParams.set('expires', String(Number(link.searchParams.get('expires')) + 3600));
  assert.equal((await fetch(local(tampered))).status, 403, 'the expiry is signed');
  const expired = new URL(
    packageLink(testBox, 'http://bot.example.com', job.jobId, new Date(Date.now() - 25 * 3600_000)).url,
  );
  const gone = await fetch(local(expired));
  assert.equal(gone.status, 410);
  assert.match(((await gone.json()) as { error: string }).error, /expired/);

  await db.query("update host_jobs set state = 'cancelled' where id = $1", [job.jobId]);
  assert.equal((await fetch(local(link))).status, 410, "a cancelled job's package is no longer served");
  assert.deepEqual(github.violations.splice(0), []);
});

test('a failed host\'s job is retried from the check run\'s "Retry failed" button', { timeout: 60_000 }, async () => {
  const release = github.addRelease(
    REPO,
    { tagName: 'plugin-test-plugin-v5.0.0' },
    packageAssets(await minimalPackage('test-plugin', '5.0.0')),
  );
  assert.equal((await sendWebhook(releasePayload(release.id, release.tagName))).status, 200);
  const job = await waitFor(() => jobsReceived.find((j) => j.source.releaseId === release.id), 'the job at the host');
  const report = {
    type: 'report',
    protocol: 1,
    jobId: job.jobId,
    attemptId: job.attemptId,
    hostId: job.hostId,
    status: 'erro',
    exitCode: 43,
    exitLabel: 'VERIFY_FAILED',
    message: 'the installer said "ok" but manifest.json has version 4.0.0, not 5.0.0; restored to 4.0.0',
    logTail: ['$ php admin-plugins.php --action=update --plugin=test-plugin', '[erro] Operation not permitted'],
    installedVersion: null,
    timings: { receivedAt: new Date().toISOString() },
    sentAt: new Date().toISOString(),
  };
  const body = JSON.stringify(report);
  const posted = await fetch(`${botUrl}/api/reports`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signMessage(body, [hostSecret], 'msg_failure_1') },
    body,
  });
  assert.equal(posted.status, 200);
  const [rollout] = await db.query<{ id: string }>('select id from rollouts where release_id = $1', [release.id]);
  const run = await waitFor(
    () => github.checkRuns.find((r) => r.externalId === rollout.id && r.status === 'completed'),
    `the failed check run (${JSON.stringify(github.violations)} ${JSON.stringify(github.checkRuns.map((r) => [r.externalId, r.status]))})`,
  );
  assert.equal(run.conclusion, 'failure');
  assert.deepEqual(
    run.actions.map((a) => a.identifier),
    ['retry-failed', 'rollback'],
  );
  assert.match(
    run.output!.text!,
    /### site: 43 VERIFY\\_FAILED\n\nthe installer said "ok" but manifest\.json has version 4\.0\.0, not 5\.0\.0; restored to 4\.0\.0\n\n```\n\$ php admin-plugins\.php --action=update --plugin=test-plugin\n\[erro\] Operation not permitted\n```/,
  );

  const payload = checkRunActionPayload({
    repository: REPO,
    checkRun: { id: run.id, externalId: rollout.id, headSha: run.headSha },
    identifier: 'retry-failed',
    sender: 'octocat',
  });
  assert.equal((await sendWebhook(payload, WEBHOOK_SECRET, 'check_run')).status, 200);
  const again = await waitFor(
    () => jobsReceived.find((j) => j.jobId === job.jobId && j.attemptId !== job.attemptId),
    'the retried attempt at the host',
  );
  assert.equal(again.source.releaseId, release.id);
  const history = await jobHistory(db, job.jobId);
  assert.ok(
    history.some((h) => h.state === 'queued' && h.detail === 'retried by octocat (GitHub)'),
    JSON.stringify(history),
  );
  // A button for another repository's check run does nothing.
  payload.repository.full_name = 'someone/else';
  assert.equal((await sendWebhook(payload, WEBHOOK_SECRET, 'check_run')).status, 200);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(jobsReceived.filter((j) => j.jobId === job.jobId).length, 2);
  assert.deepEqual(github.violations.splice(0), []);
});
