import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addHost, hostsWithIds } from '../../src/bot/store/hosts.ts';
import { ENGINES, testBox } from './databases.ts';
import { resolvedRelease, rolloutOf } from './fixtures.ts';
import { StagedBot } from './staged-rollout-bot.ts';
import { stagedFile } from './staged-suite.ts';

// A first push queued with no run to deliver it (the queue keeps one waiting run per rollout and drops a
// second; the waiting one may list the rollout's jobs before the transaction that queued more commits) is
// not left queued forever: every bot process looks for such jobs every two seconds and queues a run, which
// delivers them. Jobs queued only a moment ago, and pull-mode hosts' jobs, are left to their runs and polls.

const { github, fleet } = stagedFile();

for (const engine of ENGINES)
  test(`${engine}: a queued first push that no run took is delivered by the sweep; a pull-mode host's job stays queued`, {
    timeout: 60_000,
  }, async () => {
    const bot = await StagedBot.create(engine, github);
    try {
      fleet.botUrl = bot.url;
      const pushed = await bot.addHost(fleet, `stranded-${engine}`, ['conn2flow/plugins:stranded']);
      const { host: pulling } = await addHost(bot.db, testBox, {
        name: `pulling-${engine}`,
        url: null,
        policy: 'auto',
        channel: 'stable',
        plugins: [{ repository: 'conn2flow/plugins', pluginId: 'stranded' }],
      });
      const hosts = [...(await hostsWithIds(bot.db, [pushed])).values(), pulling];
      // Written as the bot writes a rollout, without queueing its run.
      const release = await resolvedRelease(bot.db, { id: 9100, pluginId: 'stranded', version: '1.0.0' });
      const { rolloutId, queued } = await rolloutOf(bot.db, release, hosts);
      assert.equal(queued.length, 2);
      const started = Date.now();
      const delivered = await bot.until(
        'the stranded job to be delivered',
        async () => (await bot.jobs(rolloutId)).find((j) => j.hostId === pushed && j.state === 'ok'),
        30_000,
        rolloutId,
      );
      assert.ok(Date.now() - started >= 4000, 'a job queued a moment ago is left to the run that queued it');
      assert.equal(fleet.jobsOf(pushed, 'stranded').length, 1, 'pushed once');
      assert.equal(delivered.attempts, 1);
      const waiting = (await bot.jobs(rolloutId)).find((j) => j.hostId === pulling.id)!;
      assert.equal(waiting.state, 'queued', 'a pull-mode host takes its job at its next poll');
    } finally {
      await bot.stop();
    }
  });
