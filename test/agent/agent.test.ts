import assert from 'node:assert/strict';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Agent } from '../../src/agent/agent.ts';
import { completeConfig } from '../../src/agent/config.ts';
import { agentStatus } from '../../src/agent/status.ts';
import { generateSecret } from '../../src/protocol/signing.ts';
import { tempDir, waitFor } from '../helpers.ts';
import { FakeBot } from './fake-bot.ts';
import { HOSTILE_ZIPS, MANIFEST, packageWith } from './raw-zip.ts';

// The agent in-process against a small stand-in bot, with a command installer that records its calls:
// the receiver's answers (202, 200, 401, 409, 422), the job's path (download, SHA-256, inspection,
// installer, backups) and the reports the bot receives at each status change.

const bot = new FakeBot();
const agents: Agent[] = [];
before(async () => void (await bot.start()));
after(async () => {
  await Promise.all(agents.map((a) => a.stop().catch(() => {})));
  await bot.stop();
});

interface Started {
  agent: Agent;
  url: string;
  dir: string;
  calls: () => Promise<string[]>;
}

async function startAgent(settings: Record<string, unknown> = {}): Promise<Started> {
  const dir = await tempDir('c2f-agent-');
  const script =
    'echo "$C2F_ACTION $C2F_PLUGIN $C2F_VERSION $(basename "$C2F_ZIP")" >> calls.log; echo "installing $C2F_PLUGIN"; exit $(cat exit-code 2>/dev/null || echo 0)';
  const config = completeConfig(
    {
      hostId: bot.hostId,
      secret: bot.secret,
      botUrl: bot.url,
      listen: { port: 0 },
      heartbeatSeconds: 3600,
      allowHttpDownloads: true,
      installer: { type: 'command', command: ['/bin/sh', '-c', `cd ${dir} && ${script}`] },
      ...settings,
    },
    path.join(dir, 'c2f-agent.json'),
  );
  const agent = new Agent(config, { log: () => {} });
  agents.push(agent);
  const { url } = await agent.start();
  return {
    agent,
    url: url!,
    dir,
    calls: async () =>
      (await readFile(path.join(dir, 'calls.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean),
  };
}

const finalReport = (jobId: string) =>
  waitFor(
    () => bot.reportsFor(jobId).find((r) => r.status === 'ok' || r.status === 'erro' || r.status === 'idle'),
    `the final report of ${jobId}`,
  );

test('a pushed job is stored (202), installed, kept as a backup and reported at each status change', async () => {
  const { url, dir, calls, agent } = await startAgent();
  const job = await bot.jobFor(packageWith([]));
  const answer = await bot.push(url, job);
  assert.equal(answer.status, 202);
  assert.deepEqual(answer.body, { status: 'accepted', jobId: job.jobId });
  const final = await finalReport(job.jobId);
  assert.equal(final.status, 'ok', final.message);
  assert.equal(final.exitCode, 0);
  assert.equal(final.exitLabel, 'OK');
  assert.equal(final.installedVersion, '1.0.0');
  assert.ok(final.timings.downloadMs! >= 0 && final.timings.installMs! >= 0 && final.timings.finishedAt);
  assert.ok(final.logTail.includes('installing demo-plugin'));
  assert.deepEqual(
    bot.reportsFor(job.jobId).map((r) => r.status),
    ['instalando', 'ok'],
  );
  assert.deepEqual(await calls(), ['install demo-plugin 1.0.0 1.0.0.zip']);
  assert.ok((await stat(path.join(dir, 'c2f-agent-data', 'backups', 'demo-plugin', '1.0.0.zip'))).isFile());
  assert.deepEqual(
    agent.journal.installed().map((p) => [p.pluginId, p.version, p.sha256]),
    [['demo-plugin', '1.0.0', job.package.sha256]],
  );

  // The same message again: 200 with the known outcome, nothing run again.
  const repeat = await bot.push(url, job);
  assert.equal(repeat.status, 200);
  assert.equal(repeat.body.status, 'known');
  assert.equal(repeat.body.report.status, 'ok');
  assert.equal((await calls()).length, 1);
});

test('attempts: a notify then the approved install, a retry after a failure and a forced reinstall all run; a repeat of one attempt does not', async () => {
  const { url, calls, dir } = await startAgent();
  const job = await bot.jobFor(packageWith([]));
  const reportsOf = (attemptId: string) => bot.reports.filter((r) => r.attemptId === attemptId);
  const finalOf = (attemptId: string) =>
    waitFor(
      () => reportsOf(attemptId).find((r) => ['ok', 'erro', 'idle'].includes(r.status)),
      `the final report of ${attemptId}`,
    );

  // The notify carries the job id the install will have; it must not stop the install that follows.
  const notify = FakeBot.attempt(job, { action: 'notify', attemptId: `${job.attemptId}_notify` });
  assert.equal((await bot.push(url, notify)).status, 202);
  assert.equal((await finalOf(notify.attemptId)).status, 'idle');
  const approved = FakeBot.attempt(job);
  await writeFile(path.join(dir, 'exit-code'), '12');
  assert.equal((await bot.push(url, approved)).status, 202, 'the approved install is a new attempt of the same job');
  assert.deepEqual(
    [(await finalOf(approved.attemptId)).status, (await finalOf(approved.attemptId)).exitCode],
    ['erro', 12],
  );

  // The operator fixes the site and retries: a new attempt runs.
  await rm(path.join(dir, 'exit-code'));
  const retried = FakeBot.attempt(job);
  assert.equal((await bot.push(url, retried)).status, 202);
  assert.equal((await finalOf(retried.attemptId)).status, 'ok');

  // A repeat of an attempt answers with its outcome and runs nothing.
  const repeat = await bot.push(url, retried);
  assert.deepEqual(
    [repeat.status, repeat.body.status, repeat.body.report.status, repeat.body.report.attemptId],
    [200, 'known', 'ok', retried.attemptId],
  );

  // A forced reinstall of the same package runs again.
  const forced = FakeBot.attempt(job, { options: { ...job.options, force: true } });
  assert.equal((await bot.push(url, forced)).status, 202);
  assert.equal((await finalOf(forced.attemptId)).status, 'ok');
  assert.deepEqual(await calls(), [
    'install demo-plugin 1.0.0 1.0.0.zip',
    'install demo-plugin 1.0.0 1.0.0.zip',
    'install demo-plugin 1.0.0 1.0.0.zip',
  ]);
  // A push whose message id is not the attempt it carries is refused.
  assert.equal((await bot.push(url, FakeBot.attempt(job), { messageId: 'msg_other' })).status, 422);
});

test('forged, replayed, stale and malformed pushes are rejected and never stored', async () => {
  const { url, agent, calls } = await startAgent();
  const job = await bot.jobFor(packageWith([]));
  const forged = await bot.push(url, job, { secret: generateSecret() });
  assert.equal(forged.status, 401);
  const stale = await bot.push(url, job, { at: new Date(Date.now() - 6 * 60_000) });
  assert.equal(stale.status, 401);
  assert.match(stale.body.error, /timestamp/i);
  const future = await bot.push(url, job, { at: new Date(Date.now() + 6 * 60_000) });
  assert.equal(future.status, 401);
  const tampered = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(job),
  });
  assert.equal(tampered.status, 401);
  const invalid = await bot.push(url, job, { body: JSON.stringify({ ...job, action: 'format-disk' }) });
  assert.equal(invalid.status, 422);
  assert.ok(invalid.body.details.some((d: string) => d.includes('/action')));
  assert.equal(agent.journal.recentAttempts(10).length, 0);
  assert.deepEqual(await calls(), []);
  assert.equal((await fetch(url.replace(/\/$/, '/elsewhere'), { method: 'POST' })).status, 404);
});

test('pinned plugins and jobs for another host are refused with 409', async () => {
  const { url } = await startAgent({ pinned: ['demo-plugin'] });
  const job = await bot.jobFor(packageWith([]));
  const pinned = await bot.push(url, job);
  assert.equal(pinned.status, 409);
  assert.match(pinned.body.reason, /pinned/);
  const other = await bot.push(url, { ...job, pluginId: undefined, hostId: 'host-2' } as never);
  assert.equal(other.status, 409);
});

test('a corrupted download ends in 22 and the installer never runs', async () => {
  const { url, calls } = await startAgent();
  const good = packageWith([]);
  const job = await bot.jobFor(good);
  const name = job.package.url.split('/').pop()!;
  const corrupted = Buffer.from(good);
  corrupted[40] ^= 0xff;
  bot.files.set(name, corrupted);
  await bot.push(url, job);
  const final = await finalReport(job.jobId);
  assert.equal(final.status, 'erro');
  assert.equal(final.exitCode, 22);
  assert.equal(final.exitLabel, 'CHECKSUM');
  assert.deepEqual(await calls(), []);
});

test('a download larger than announced, or missing, ends in 20', async () => {
  const { url, calls } = await startAgent();
  const big = await bot.jobFor(packageWith([]));
  bot.files.set(big.package.url.split('/').pop()!, Buffer.concat([packageWith([]), Buffer.alloc(10_000)]));
  await bot.push(url, big);
  const tooBig = await finalReport(big.jobId);
  assert.equal(tooBig.exitCode, 20);
  assert.match(tooBig.message, /more than/);
  const gone = await bot.jobFor(packageWith([]));
  bot.files.delete(gone.package.url.split('/').pop()!);
  await bot.push(url, gone);
  const missing = await finalReport(gone.jobId);
  assert.equal(missing.exitCode, 20);
  assert.match(missing.message, /404/);
  assert.deepEqual(await calls(), []);
});

test('hostile packages (sha256 matching the job) are refused with 21 or 11 before the installer', async () => {
  const { url, calls } = await startAgent();
  for (const hostile of HOSTILE_ZIPS.filter(
    (h) => !['not a zip', 'truncated', 'under 128 bytes'].includes(h.name),
  ).slice(0, 8)) {
    const job = await bot.jobFor(hostile.zip());
    await bot.push(url, job);
    const final = await finalReport(job.jobId);
    assert.equal(final.exitCode, hostile.exitCode, `${hostile.name}: ${final.message}`);
  }
  assert.deepEqual(await calls(), []);
});

test('installer failures keep Conn2Flow exit codes; unknown ones become INSTALLER_CRASHED', async () => {
  const { url, dir } = await startAgent();
  await writeFile(path.join(dir, 'exit-code'), '12');
  const move = await bot.jobFor(packageWith([]));
  await bot.push(url, move);
  const failed = await finalReport(move.jobId);
  assert.deepEqual([failed.status, failed.exitCode, failed.exitLabel], ['erro', 12, 'MOVE']);
  await writeFile(path.join(dir, 'exit-code'), '3');
  const odd = await bot.jobFor(packageWith([]));
  await bot.push(url, odd);
  const crashed = await finalReport(odd.jobId);
  assert.deepEqual([crashed.exitCode, crashed.exitLabel], [41, 'INSTALLER_CRASHED']);
});

test('jobs past their deadline are not run (45); notify jobs change nothing', async () => {
  const { url, calls } = await startAgent();
  const late = await bot.jobFor(packageWith([]), { deadline: new Date(Date.now() - 1000).toISOString() });
  await bot.push(url, late);
  const final = await finalReport(late.jobId);
  assert.deepEqual([final.exitCode, final.exitLabel], [45, 'DEADLINE_PASSED']);
  const notify = await bot.jobFor(packageWith([]), { action: 'notify', version: '1.0.0' });
  assert.equal((await bot.push(url, notify)).status, 202);
  const told = await finalReport(notify.jobId);
  assert.equal(told.status, 'idle');
  assert.match(told.message, /update is available/);
  assert.deepEqual(await calls(), []);
});

test('a rollback uses the kept package after the release is gone from GitHub; backups are pruned', async () => {
  const { url, calls, dir } = await startAgent({ backups: { keep: 2 } });
  const versions = ['1.0.0', '1.1.0', '1.2.0'];
  const jobs = [];
  for (const version of versions) {
    const job = await bot.jobFor(packageWith([], MANIFEST('demo-plugin', version)), {
      version,
      action: version === '1.0.0' ? 'install' : 'update',
    });
    await bot.push(url, job);
    assert.equal((await finalReport(job.jobId)).status, 'ok');
    jobs.push(job);
  }
  const kept = (await import('node:fs/promises')).readdir(path.join(dir, 'c2f-agent-data', 'backups', 'demo-plugin'));
  assert.deepEqual((await kept).sort(), ['1.1.0.zip', '1.2.0.zip']);
  // Roll back to 1.1.0: its release (and download URL) no longer exist.
  bot.files.delete(jobs[1].package.url.split('/').pop()!);
  const rollback = FakeBot.attempt(jobs[1], { jobId: `${jobs[1].jobId}-rb`, action: 'rollback' });
  await bot.push(url, rollback);
  const final = await finalReport(rollback.jobId);
  assert.equal(final.status, 'ok', final.message);
  assert.equal(final.timings.downloadMs, undefined);
  assert.deepEqual((await calls()).at(-1), 'rollback demo-plugin 1.1.0 1.1.0.zip');
});

test('jobs for one plugin run one at a time, in order', async () => {
  const { url, calls } = await startAgent({
    installer: {
      type: 'command',
      command: ['/bin/sh', '-c', 'echo "start $C2F_VERSION" >> "$LOG"; sleep 0.3; echo "end $C2F_VERSION" >> "$LOG"'],
    },
  });
  const log = path.join(await tempDir(), 'order.log');
  process.env.LOG = log;
  const first = await bot.jobFor(packageWith([], MANIFEST('demo-plugin', '2.0.0')), { version: '2.0.0' });
  const second = await bot.jobFor(packageWith([], MANIFEST('demo-plugin', '2.0.1')), { version: '2.0.1' });
  await Promise.all([bot.push(url, first), bot.push(url, second)]);
  await finalReport(first.jobId);
  await finalReport(second.jobId);
  assert.deepEqual((await readFile(log, 'utf8')).trim().split('\n'), [
    'start 2.0.0',
    'end 2.0.0',
    'start 2.0.1',
    'end 2.0.1',
  ]);
  assert.deepEqual(await calls(), []);
  delete process.env.LOG;
});

test('reports wait while the bot is down and arrive, in order, once it is back', async () => {
  const { url, agent } = await startAgent();
  bot.down = true;
  const job = await bot.jobFor(packageWith([]));
  // The package server stays up: only the bot's API is down.
  await bot.push(url, job).catch(() => undefined);
  await waitFor(() => agent.journal.latestAttempt(job.jobId)?.phase === 'done', 'the job to finish');
  assert.equal(bot.reportsFor(job.jobId).length, 0);
  assert.equal(agentStatus(agent.journal).pendingReports, 2);
  bot.down = false;
  const final = await waitFor(
    () => bot.reportsFor(job.jobId).length === 2 && bot.reportsFor(job.jobId),
    'the reports after the bot came back',
    20_000,
  );
  assert.deepEqual(
    final.map((r) => r.status),
    ['instalando', 'ok'],
  );
  await waitFor(() => agentStatus(agent.journal).pendingReports === 0, 'the outbox to empty');
});

test('uninstall runs the installer with the uninstall action and forgets the plugin', async () => {
  const { url, calls, agent } = await startAgent();
  const install = await bot.jobFor(packageWith([]));
  await bot.push(url, install);
  await finalReport(install.jobId);
  const uninstall = FakeBot.attempt(install, { jobId: `${install.jobId}-un`, action: 'uninstall' });
  await bot.push(url, uninstall);
  const final = await finalReport(uninstall.jobId);
  assert.equal(final.status, 'ok');
  assert.equal(final.installedVersion, null);
  assert.match((await calls()).at(-1)!, /^uninstall demo-plugin 1\.0\.0 uninstalled-/);
  assert.deepEqual(agent.journal.installed(), []);
});

test('pull mode: the heartbeat carries the inventory and brings jobs, which run like pushed ones', async () => {
  const dir = await tempDir('c2f-agent-');
  const config = completeConfig(
    {
      hostId: bot.hostId,
      secret: bot.secret,
      botUrl: bot.url,
      listen: null,
      pollSeconds: 1,
      allowHttpDownloads: true,
      installer: { type: 'command', command: ['/bin/true'] },
    },
    path.join(dir, 'c2f-agent.json'),
  );
  const agent = new Agent(config, { log: () => {} });
  agents.push(agent);
  const before = bot.heartbeats.length;
  assert.deepEqual(await agent.start(), { url: null });
  const job = await bot.jobFor(packageWith([]));
  bot.pending.push(job);
  await waitFor(() => bot.reportsFor(job.jobId).find((r) => r.status === 'ok'), 'the ok report');
  // A pulled job is acknowledged with a report first: the bot hands it out again until one arrives.
  assert.deepEqual(
    bot
      .reportsFor(job.jobId)
      .map((r) => [r.status, r.message])
      .slice(0, 1),
    [['idle', 'received (pull mode); waiting to run']],
  );
  const beat = await waitFor(
    () => bot.heartbeats.slice(before).find((h) => (h.inventory as unknown[]).length > 0),
    'a heartbeat with the new inventory',
  );
  assert.deepEqual(beat.inventory, [{ pluginId: 'demo-plugin', version: '1.0.0', sha256: job.package.sha256 }]);
  assert.equal(beat.pollSeconds, 1);
  await agent.stop();
  agents.splice(agents.indexOf(agent), 1);
  await rm(dir, { recursive: true, force: true });
});
