import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listEvents } from '../../src/bot/read/events.ts';
import { ENGINES } from './databases.ts';
import { stagedBotFor, stagedFile } from './staged-suite.ts';

// Releases steered before they go, on PGlite and on PostgreSQL. Waves declared with `approval: required` wait
// for an operator: the first wave sends nothing until approved from the check run, the second waits when it
// is reached and is approved through the admin API, an approval nobody waits for is refused with the reason.
// A rollout scheduled to start later sends nothing before then (whatever else would let it go), and a lifted
// schedule lets it go at once.

const suite = stagedFile();
const { github, fleet } = suite;

for (const engine of ENGINES)
  describe(engine, () => {
    const current = stagedBotFor(engine, suite);

    test(`${engine}: each gated wave waits for its approval, from the check run or the admin API`, {
      timeout: 120_000,
    }, async () => {
      const bot = current();
      const repo = `conn2flow/gates-${engine}`;
      github.files.set(
        `${repo}/.github/conn2flow-release.yml`,
        [
          'rollout:',
          '  waves:',
          '    - { name: canary, labels: [canary], approval: required }',
          '    - { name: rest, approval: required }',
        ].join('\n'),
      );
      const plugin = `${repo}:gated-plugin`;
      const canary = await bot.addHost(fleet, 'canary', [plugin], { labels: ['canary'] });
      const rest = await bot.addHost(fleet, 'rest', [plugin]);
      const rolloutId = await bot.rolloutOf(await bot.publish(repo, 'gated-plugin', '1.0.0'));

      const gated = await bot.until('the first wave waiting for approval', async () => {
        const r = await bot.rollout(rolloutId);
        return r.waves[0].state === 'awaiting_approval' ? r : undefined;
      });
      assert.deepEqual(
        gated.waves.map((w) => [w.name, w.state, (w as { approvalRequired?: boolean }).approvalRequired]),
        [
          ['canary', 'awaiting_approval', true],
          ['rest', 'waiting', true],
        ],
      );
      const canaryJob = (await bot.jobs(rolloutId)).find((j) => j.hostId === canary)!;
      assert.deepEqual(
        [canaryJob.state, canaryJob.hold, canaryJob.reason],
        ['pending', 'wave', "wave 1 (canary) waits for an operator's approval"],
      );
      const run = await bot.until('the check run offering the approval', async () =>
        github.checkRuns.find(
          (r) => r.externalId === rolloutId && r.actions.some((a) => a.identifier === 'approve-wave'),
        ),
      );
      assert.match(run.output!.summary, /\| 1 canary \| labels canary \| awaiting approval \(approval required\) \|/);
      assert.equal(fleet.jobsOf(canary).length, 0, 'nothing went out before the approval');

      const pressed = await github.pressCheckRunButton(bot.webhookTarget(), run, 'approve-wave');
      assert.equal(pressed.status, 200, pressed.body);
      await bot.until('the canary to install', async () => fleet.sites.get(canary)!.get('gated-plugin') === '1.0.0');
      const reached = await bot.until('the second wave waiting for approval', async () => {
        const r = await bot.rollout(rolloutId);
        return r.waves[1].state === 'awaiting_approval' ? r : undefined;
      });
      assert.equal(reached.state, 'running');
      const restJob = (await bot.jobs(rolloutId)).find((j) => j.hostId === rest)!;
      assert.deepEqual([restJob.state, restJob.reason], ['pending', "wave 2 (rest) waits for an operator's approval"]);
      assert.equal(fleet.jobsOf(rest).length, 0, 'the second wave waits too');

      const approved = await bot.admin('POST', `rollouts/${rolloutId}/approve-wave`, {});
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.deepEqual([approved.body.currentWave, approved.body.jobs], [1, 1]);
      await bot.until('the rest host to install', async () => fleet.sites.get(rest)!.get('gated-plugin') === '1.0.0');
      await bot.until('the rollout to complete', async () => (await bot.rollout(rolloutId)).state === 'completed');
      const again = await bot.admin('POST', `rollouts/${rolloutId}/approve-wave`, {});
      assert.deepEqual([again.status, again.body.error], [409, `rollout ${rolloutId} is completed`]);

      const events = (await listEvents(bot.db, { rolloutId, limit: 100 })).filter((e) =>
        ['wave_approved', 'wave_awaiting_approval'].includes(e.kind),
      );
      assert.deepEqual(
        events.map((e) => [e.kind, (e.detail as { wave: number; by?: string }).wave, e.actor]),
        [
          ['wave_approved', 1, 'octocat (GitHub)'],
          ['wave_awaiting_approval', 2, null],
          ['wave_approved', 2, 'tester'],
        ],
      );
    });

    test(`${engine}: an approval nobody waits for is refused, naming the wave that will wait`, async () => {
      const bot = current();
      const repo = `conn2flow/later-gate-${engine}`;
      github.files.set(
        `${repo}/.github/conn2flow-release.yml`,
        [
          'rollout:',
          '  waves:',
          '    - { name: first, labels: [early] }',
          '    - { name: second, approval: required }',
        ].join('\n'),
      );
      const plugin = `${repo}:later-plugin`;
      await bot.addHost(fleet, 'early', [plugin], { labels: ['early'] });
      fleet.holdReports = true;
      try {
        const rolloutId = await bot.rolloutOf(await bot.publish(repo, 'later-plugin', '1.0.0'));
        const refused = await bot.admin('POST', `rollouts/${rolloutId}/approve-wave`, {});
        assert.equal(refused.status, 409);
        assert.equal(
          refused.body.error,
          `no wave of rollout ${rolloutId} waits for approval: wave 1 (first) is under way; wave 2 (second) will, when it is reached`,
        );
      } finally {
        fleet.releaseReports();
      }
    });

    test(`${engine}: a scheduled start holds every job until its time; lifting it lets them go`, {
      timeout: 120_000,
    }, async () => {
      const bot = current();
      const repo = `conn2flow/schedule-${engine}`;
      github.files.set(`${repo}/.github/conn2flow-release.yml`, 'rollout:\n  minReleaseAge: 1h\n');
      const plugin = `${repo}:timed-plugin`;
      const host = await bot.addHost(fleet, 'night-shop', [plugin]);
      const rolloutId = await bot.rolloutOf(await bot.publish(repo, 'timed-plugin', '1.0.0'));
      const route = `rollouts/${rolloutId}/schedule`;

      const badTime = await bot.admin('POST', route, { at: '2026-12-04 02:00' });
      assert.equal(badTime.status, 422);
      assert.match(badTime.body.error, /is not a time with its zone: write it like 2026-12-04T02:00Z/);
      assert.equal((await bot.admin('POST', route, { at: '2020-01-01T00:00Z' })).status, 422, 'a time that passed');

      const at = new Date(Date.now() + 3 * 3600_000);
      const scheduled = await bot.admin('POST', route, { at: at.toISOString() });
      assert.equal(scheduled.status, 200, JSON.stringify(scheduled.body));
      assert.deepEqual([scheduled.body.startAt, scheduled.body.jobs], [at.toISOString(), 1]);
      const held = async () => (await bot.jobs(rolloutId)).find((j) => j.hostId === host)!;
      assert.deepEqual(
        [(await held()).state, (await held()).hold, (await held()).holdUntil],
        ['pending', 'scheduled', at.toISOString()],
        'held until the scheduled start, which the pages count down to',
      );

      bot.clock.advance(2 * 3600); // the release age has passed; the schedule has not
      await bot.until('the controller to look again after the release age', async () => {
        const job = await held();
        return job.reason?.startsWith('scheduled to start at ') ? job : undefined;
      });
      assert.equal(fleet.jobsOf(host).length, 0, 'nothing before the scheduled start');
      bot.clock.advance(3600 + 60);
      await bot.until(
        'the job at the scheduled start',
        async () => fleet.sites.get(host)!.get('timed-plugin') === '1.0.0',
      );

      // A second release: scheduled a day ahead, past its release age still held, then the schedule lifted.
      bot.clock.reset();
      const second = await bot.rolloutOf(await bot.publish(repo, 'timed-plugin', '1.1.0'));
      const later = new Date(Date.now() + 24 * 3600_000);
      assert.equal((await bot.admin('POST', `rollouts/${second}/schedule`, { at: later.toISOString() })).status, 200);
      bot.clock.advance(3600 + 60);
      const waiting = await bot.until('the release age to pass under the schedule', async () => {
        const job = (await bot.jobs(second)).find((j) => j.hostId === host)!;
        return job.hold === 'scheduled' && job.reason?.startsWith('scheduled to start at ') ? job : undefined;
      });
      assert.equal(waiting.state, 'pending');
      assert.equal(fleet.jobsOf(host).length, 1, 'only 1.0.0 went out');
      const lifted = await bot.admin('POST', `rollouts/${second}/schedule`, { at: null });
      assert.deepEqual([lifted.status, lifted.body.startAt], [200, null]);
      await bot.until(
        'the job once the schedule is lifted',
        async () => fleet.sites.get(host)!.get('timed-plugin') === '1.1.0',
      );
      const kinds = (await listEvents(bot.db, { rolloutId: second, limit: 100 })).map((e) => e.kind);
      for (const kind of ['rollout_scheduled', 'rollout_schedule_lifted'])
        assert.ok(kinds.includes(kind), `${kind} in ${kinds}`);
      const done = await bot.admin('POST', route, { at: later.toISOString() });
      assert.deepEqual(
        [done.status, done.body.error],
        [409, `rollout ${rolloutId} is completed: nothing of it is left to schedule`],
      );
    });
  });
