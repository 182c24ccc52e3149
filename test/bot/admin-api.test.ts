import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import type { PgBoss } from 'pg-boss';
import type { RunningBot } from '../../src/bot/server.ts';
import { startTestBot } from './test-bot.ts';
import type { Database } from '../../src/bot/store/database.ts';
import { getHost, hostSecrets } from '../../src/bot/store/hosts.ts';
import { getJob } from '../../src/bot/store/rollouts.ts';
import { resolvedRelease, rolloutOf } from './fixtures.ts';
import { newMessageId, signMessage } from '../../src/protocol/signing.ts';
import { freshDatabase, testBox } from './databases.ts';
import { waitFor } from '../helpers.ts';

const ADMIN = 'admin-token-for-tests';
let db: Database;
let boss: PgBoss;
let running: RunningBot & { url: string };
let receiver: Server;
let base = '';
let hostUrl = '';
const pushes: string[] = [];

// The rollouts these tests make report to GitHub: the stand-in answers, so nothing waits on api.github.com.
const github = new GitHubStandIn();
before(() => github.start());
after(() => github.stop());

before(async () => {
  db = await freshDatabase('pglite');
  receiver = createServer((req, res) => {
    pushes.push(req.url!);
    req
      .resume()
      .on('end', () =>
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted","jobId":"x"}'),
      );
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hostUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  running = await startTestBot(github, db, { env: { C2F_ADMIN_TOKEN: ADMIN } });
  base = running.url;
  boss = running.deps.boss;
});
after(async () => {
  await running?.stop();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

async function api(method: string, path: string, body?: unknown, token = ADMIN, operator?: string) {
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    ...(operator ? { 'x-c2f-operator': operator } : {}),
  };
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

test('the admin API needs the bearer token', async () => {
  assert.equal((await api('GET', '/api/admin/hosts', undefined, 'wrong')).status, 401);
  assert.equal((await fetch(`${base}/api/admin/hosts`)).status, 401);
});

test('hosts: add (URL checked), list, show, rotate the secret, remove', async () => {
  const refused = await api('POST', '/api/admin/hosts', {
    name: 'x',
    url: 'http://site.example.com/hook',
    plugins: ['conn2flow/plugins:p'],
  });
  assert.deepEqual(
    [refused.status, refused.body.error],
    [
      422,
      'http://site.example.com/hook: use https (plain http is allowed only with --allow-http, for tests and local networks)',
    ],
  );
  const loopback = await api('POST', '/api/admin/hosts', { name: 'x', url: 'https://127.0.0.1/hook' });
  assert.equal(loopback.status, 422);
  assert.equal(
    (await api('POST', '/api/admin/hosts', { name: 'x', url: 'https://a.example.com', plugins: ['not-a-plugin'] }))
      .status,
    400,
  );

  const added = await api('POST', '/api/admin/hosts', {
    name: 'site-a',
    url: 'https://a.example.com/c2f',
    policy: 'manual',
    plugins: ['conn2flow/plugins:test-plugin'],
  });
  assert.equal(added.status, 201);
  assert.match(added.body.secret, /^whsec_/);
  const id = added.body.host.id;
  assert.deepEqual(
    (await api('GET', '/api/admin/hosts')).body.map((h: { name: string }) => h.name),
    ['site-a'],
  );
  assert.deepEqual((await api('GET', `/api/admin/hosts/${id}`)).body.plugins, [
    { repository: 'conn2flow/plugins', pluginId: 'test-plugin' },
  ]);
  const rotated = await api('POST', `/api/admin/hosts/${id}/rotate-secret`);
  assert.deepEqual(await hostSecrets(db, testBox, id), [rotated.body.secret, added.body.secret]);
  // The rotation lasts until the host signs with the new secret; then the old one stops working.
  const beat = (secret: string) => {
    const body = JSON.stringify({
      type: 'heartbeat',
      protocol: 1,
      hostId: id,
      agentVersion: 't',
      inventory: [],
      pollSeconds: 0,
      sentAt: new Date().toISOString(),
    });
    return fetch(`${base}/api/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signMessage(body, [secret], newMessageId()) },
      body,
    });
  };
  assert.equal((await beat(added.body.secret)).status, 200, 'the old secret still works during the rotation');
  assert.equal((await hostSecrets(db, testBox, id)).length, 2);
  assert.equal((await beat(rotated.body.secret)).status, 200);
  assert.deepEqual(await hostSecrets(db, testBox, id), [rotated.body.secret], 'the rotation is over');
  assert.equal((await beat(added.body.secret)).status, 401, 'the old secret no longer works');
  const patched = await api('PATCH', `/api/admin/hosts/${id}`, { policy: 'manual', labels: ['eu'] }, ADMIN, 'dana');
  assert.deepEqual([patched.body.policy, patched.body.labels], ['manual', ['eu']]);
  assert.equal((await api('PATCH', `/api/admin/hosts/${id}`, { policy: 'sometimes' })).status, 400);
  assert.deepEqual((await api('DELETE', `/api/admin/hosts/${id}`, undefined, ADMIN, 'dana')).body, { removed: id });
  assert.equal((await api('GET', `/api/admin/hosts/${id}`)).status, 404);
  assert.equal((await api('DELETE', `/api/admin/hosts/${id}`)).status, 404);
  // Who changed and removed the host is in the event log, with what changed.
  const events = (await api('GET', `/api/admin/events?host=${id}`)).body as Array<{
    kind: string;
    detail: Record<string, unknown>;
  }>;
  assert.deepEqual(
    events.filter((e) => e.kind.startsWith('host_')).map((e) => [e.kind, e.detail]),
    [
      ['host_changed', { by: 'dana', changes: { policy: 'manual', labels: ['eu'] } }],
      ['host_removed', { by: 'dana', name: 'site-a' }],
    ],
  );
  const byDana = (await api('GET', '/api/admin/events?actor=DAN')).body as Array<{ kind: string; actor: string }>;
  assert.deepEqual(
    byDana.map((e) => [e.kind, e.actor]),
    [
      ['host_changed', 'dana'],
      ['host_removed', 'dana'],
    ],
  );
});

test('enrollment: the operator creates a token, the agent trades it once for its id and secret', async () => {
  const created = await api('POST', '/api/admin/enrollments', {
    name: 'nat-site',
    policy: 'auto',
    plugins: ['conn2flow/plugins:test-plugin'],
    allowPrivateNetwork: true,
  });
  assert.equal(created.status, 201);
  const enrollment = { type: 'enroll', protocol: 1, token: created.body.token, agentVersion: '0.1.0', url: hostUrl };
  const first = await fetch(`${base}/api/enroll`, { method: 'POST', body: JSON.stringify(enrollment) });
  const answer = (await first.json()) as { hostId: string; secret: string; pollMode: boolean };
  assert.equal(first.status, 200);
  assert.deepEqual([answer.hostId, answer.pollMode], [created.body.host.id, false]);
  assert.deepEqual(await hostSecrets(db, testBox, answer.hostId), [answer.secret]);
  assert.equal((await getHost(db, answer.hostId))!.url, hostUrl);
  const again = await fetch(`${base}/api/enroll`, { method: 'POST', body: JSON.stringify(enrollment) });
  assert.deepEqual(
    [again.status, ((await again.json()) as { error: string }).error],
    [403, 'this enrollment token has been used already: ask the operator for a new one'],
  );
  const invalid = await fetch(`${base}/api/enroll`, {
    method: 'POST',
    body: JSON.stringify({ ...enrollment, protocol: 2 }),
  });
  assert.equal(invalid.status, 422);
});

test('an enrollment refused for its plain-http address names the flag that allows it', async () => {
  const created = await api('POST', '/api/admin/enrollments', {
    name: 'lan-site',
    policy: 'auto',
    plugins: ['conn2flow/plugins:test-plugin'],
  });
  const refused = await fetch(`${base}/api/enroll`, {
    method: 'POST',
    body: JSON.stringify({
      type: 'enroll',
      protocol: 1,
      token: created.body.token,
      agentVersion: '0.1.0',
      url: hostUrl,
    }),
  });
  const { error } = (await refused.json()) as { error: string };
  assert.equal(refused.status, 422);
  assert.equal(
    error,
    `${hostUrl}: use https (plain http is allowed only when the operator creates the enrollment token with "c2f-plugin hosts enroll-token --allow-private-network", for tests and local networks)`,
  );
});

/** A rollout of a fresh release for a new host (each test its own). */
async function rolloutForNewHost(releaseId: number, policy: 'auto' | 'manual' | 'notify') {
  const added = await api('POST', '/api/admin/hosts', {
    name: `${policy}-${releaseId}`,
    url: hostUrl,
    policy,
    plugins: ['conn2flow/plugins:test-plugin'],
    allowPrivateNetwork: true,
    allowHttp: true,
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  const release = await resolvedRelease(db, { id: releaseId, version: '3.0.0', sha256: 'f'.repeat(64) });
  const { rolloutId } = await rolloutOf(db, release, [(await getHost(db, added.body.host.id))!], boss);
  return { rolloutId, hostId: added.body.host.id as string };
}

test("rollouts: a manual host's job is pushed only after approval; finished jobs cannot be cancelled", {
  timeout: 30_000,
}, async () => {
  const { rolloutId } = await rolloutForNewHost(77, 'manual');
  const shown = await api('GET', `/api/admin/rollouts/${rolloutId}`);
  const job = shown.body.jobs[0];
  assert.equal(job.state, 'awaiting_approval');
  assert.equal((await api('GET', '/api/admin/rollouts')).body[0].id, rolloutId);
  const before = pushes.length;
  const approved = await api(
    'POST',
    `/api/admin/rollouts/${rolloutId}/jobs/${job.id}/approve`,
    undefined,
    ADMIN,
    'alice',
  );
  assert.equal(approved.status, 200);
  assert.deepEqual(
    approved.body.changed.map((c: { jobId: string; state: string }) => [c.jobId, c.state]),
    [[job.id, 'queued']],
  );
  assert.notEqual(approved.body.changed[0].attemptId, job.attemptId, 'the approval is a new attempt');
  for (let i = 0; i < 100 && (await getJob(db, job.id))!.state !== 'delivered'; i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.equal((await getJob(db, job.id))!.state, 'delivered');
  assert.equal(pushes.length, before + 1);
  const again = await api('POST', `/api/admin/rollouts/${rolloutId}/jobs/${job.id}/approve`);
  assert.deepEqual([again.status, again.body.error], [409, `job ${job.id} is delivered: nothing to approve`]);
  const cancel = await api('POST', `/api/admin/rollouts/${rolloutId}/jobs/${job.id}/cancel`);
  assert.deepEqual([cancel.status, cancel.body.error], [409, `job ${job.id} is delivered: nothing to cancel`]);
  const history = await api('GET', `/api/admin/rollouts/${rolloutId}/jobs/${job.id}/history`);
  assert.deepEqual(
    history.body.history.map((h: { state: string }) => h.state),
    ['awaiting_approval', 'queued', 'delivering', 'delivered'],
  );
  assert.equal(history.body.history[1].detail, 'approved by alice');
  const events = await api('GET', '/api/admin/events?kind=operator_approve');
  assert.deepEqual(
    events.body.map((e: { jobId: string; detail: { by: string } }) => [e.jobId, e.detail.by]),
    [[job.id, 'alice']],
  );
  // Rollout-level actions that find nothing to do say so, and refuse bad input.
  const none = await api('POST', `/api/admin/rollouts/${rolloutId}/retry`);
  assert.deepEqual([none.status, none.body.changed], [200, []]);
  assert.equal((await api('POST', `/api/admin/rollouts/${rolloutId}/rollback`, { to: 'latest' })).status, 400);
  assert.equal((await api('POST', `/api/admin/rollouts/${rolloutId}/jobs/${job.id}/explode`)).status, 404);
  assert.equal((await api('POST', '/api/admin/rollouts/ro_nothing/approve')).status, 404);
});

test('the CLI drives the same API: hosts add, list, enroll-token, remove; rollouts list and show', {
  timeout: 60_000,
}, async () => {
  const { cli } = await import('../helpers.ts');
  const env = { C2F_BOT_URL: base, C2F_ADMIN_TOKEN: ADMIN };
  const added = await cli(
    [
      'hosts',
      'add',
      '--name',
      'cli-site',
      '--url',
      'https://cli.example.com/c2f',
      '--plugin',
      'conn2flow/plugins:test-plugin',
      '--policy',
      'notify',
    ],
    {
      env,
    },
  );
  assert.equal(added.code, 0, added.stderr);
  const id = /added (host_[0-9a-f]{8}) \(cli-site\)/.exec(added.stdout)![1];
  assert.match(added.stdout, /secret: whsec_/);
  const listed = await cli(['hosts', 'list'], { env });
  assert.match(
    listed.stdout,
    new RegExp(`${id}  cli-site  notify/stable  https://cli\\.example\\.com/c2f  conn2flow/plugins:test-plugin`),
  );
  const json = JSON.parse((await cli(['hosts', 'show', id, '--json'], { env })).stdout);
  assert.equal(json.name, 'cli-site');
  const token = await cli(['hosts', 'enroll-token', '--name', 'later', '--plugin', 'conn2flow/plugins:test-plugin'], {
    env,
  });
  assert.match(
    token.stdout,
    /token: (c2fenroll_\S+)\nexpires: .*\nOn the host \(without --url the agent polls the bot for its jobs\):\n {2}c2f-agent enroll --bot https:\/\/bot\.example\.com --token \1 --gestor /,
  );
  const twice = await cli(['hosts', 'enroll-token', '--name', 'Later', '--plugin', 'conn2flow/plugins:test-plugin'], {
    env,
  });
  assert.equal(twice.code, 1);
  assert.match(
    twice.stderr,
    /^c2f-plugin hosts: a host named "Later" exists already \(host_[0-9a-f]{8}\): choose another name, or remove that host first\n$/,
  );
  assert.equal((await cli(['hosts', 'remove', id], { env })).code, 0);
  const gone = await cli(['hosts', 'show', id], { env });
  assert.deepEqual([gone.code, gone.stderr.trim()], [1, `c2f-plugin hosts: no host ${id}`]);
  const { rolloutId, hostId } = await rolloutForNewHost(78, 'auto');
  await waitFor(
    async () => (await api('GET', `/api/admin/rollouts/${rolloutId}`)).body.jobs[0].state === 'delivered',
    'the push',
  );
  const rollouts = await cli(['rollouts', 'list'], { env });
  assert.match(
    rollouts.stdout,
    new RegExp(`${rolloutId}  \\S+  running  conn2flow/plugins  test-plugin 3\\.0\\.0  1 host \\(1 delivered\\)`),
  );
  assert.match(
    (await cli(['rollouts', 'show', rolloutId], { env })).stdout,
    new RegExp(`  \\S+ \\(${hostId}\\)  install  delivered  job job_`),
  );
  const denied = await cli(['hosts', 'list'], { env: { ...env, C2F_ADMIN_TOKEN: 'wrong' } });
  assert.deepEqual([denied.code, denied.stderr.trim()], [78, 'c2f-plugin hosts: missing or wrong admin token']);
  const unset = await cli(['hosts', 'list'], { env: { C2F_BOT_URL: '', C2F_ADMIN_TOKEN: '' } });
  assert.equal(unset.code, 64);
  assert.match(unset.stderr, /pass --bot URL or set C2F_BOT_URL/);
});

test('one plugin id rule for subscriptions, in either form; names stored as given but never a NUL', async () => {
  const bad = [
    { name: 'x', url: 'https://a.example.com', plugins: [{ repository: 'conn2flow/plugins', pluginId: 'evil id' }] },
    { name: 'x', url: 'https://a.example.com', plugins: [{ repository: 'conn2flow/plugins', pluginId: '../x' }] },
    {
      name: 'x',
      url: 'https://a.example.com',
      plugins: [{ repository: 'conn2flow/plugins', pluginId: 'a'.repeat(10_000) }],
    },
    { name: 'x', url: 'https://a.example.com', plugins: ['conn2flow/plugins:"quoted"'] },
    { name: 'null\u0000byte', url: 'https://a.example.com' },
  ];
  for (const body of bad) {
    const answer = await api('POST', '/api/admin/hosts', body);
    assert.equal(answer.status, 400, JSON.stringify(body).slice(0, 80));
    assert.ok(answer.body.error.length < 300, 'the refusal is one short line');
  }
  const odd = await api('POST', '/api/admin/hosts', {
    name: 'shop \u001b[31mred\u001b[0m',
    url: 'https://odd.example.com',
  });
  assert.equal(odd.status, 201);
  assert.equal(odd.body.host.name, 'shop \u001b[31mred\u001b[0m');
  await api('DELETE', `/api/admin/hosts/${odd.body.host.id}`);
});
