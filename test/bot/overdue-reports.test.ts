import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listEvents } from '../../src/bot/read/events.ts';
import { ENGINES } from './databases.ts';
import { Clock, StagedBot } from './staged-rollout-bot.ts';
import { stagedFile } from './staged-suite.ts';

// A job a host took whose report never comes: the bot asks the host again (a repeat of the attempt, which
// the host answers with its signed report so far), and a job the host says nothing about fails once its
// deadline passes, with that reason, instead of waiting forever. Short intervals stand in for minutes.

const { github, fleet } = stagedFile();

for (const engine of ENGINES)
  test(`${engine}: a lost report is asked for again; a job the host says nothing about fails at its deadline`, {
    timeout: 60_000,
  }, async () => {
    const bot = await StagedBot.create(engine, github, new Clock(), {
      C2F_REPORT_CHECK_SECONDS: '0.5',
      C2F_JOB_DEADLINE_SECONDS: '6',
    });
    try {
      fleet.botUrl = bot.url;
      const repo = `conn2flow/overdue-${engine}`;
      const plugin = `${repo}:overdue`;
      const lost = await bot.addHost(fleet, `lost-${engine}`, [plugin], { outcome: 'lost' });
      const silent = await bot.addHost(fleet, `silent-${engine}`, [plugin], { outcome: 'silent' });
      const rolloutId = await bot.rolloutOf(await bot.publish(repo, 'overdue', '1.0.0'));

      const recovered = await bot.until('the lost report, asked for again', async () =>
        (await bot.jobs(rolloutId)).find((j) => j.hostId === lost && j.state === 'ok'),
      );
      assert.equal(recovered.message, 'install of overdue 1.0.0 done');
      assert.equal(fleet.jobsOf(lost).length, 1, 'the host ran the attempt once');

      const expired = await bot.until('the silent job to fail at its deadline', async () =>
        (await bot.jobs(rolloutId)).find((j) => j.hostId === silent && j.state === 'failed'),
      );
      assert.match(
        expired.reason ?? '',
        /^no report from the host since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(it was delivered\), and the job's deadline has passed: check the agent, then retry the job$/,
      );
      assert.equal(fleet.jobsOf(silent).length, 1);
      const events = await listEvents(bot.db, { limit: 100 });
      assert.ok(events.some((e) => e.kind === 'report_missing' && e.hostId === silent));
      await bot.until('the rollout to complete', async () => (await bot.rollout(rolloutId)).state === 'completed');
    } finally {
      await bot.stop();
    }
  });
