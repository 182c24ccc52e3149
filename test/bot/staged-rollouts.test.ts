import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { listEvents } from '../../src/bot/read/events.ts';
import { ENGINES } from './databases.ts';
import { StagedBot } from './staged-rollout-bot.ts';
import { stagedFile } from './staged-suite.ts';

// Staged rollouts against fleets of hosts standing in for agents, with a clock the tests move, on PGlite and
// on PostgreSQL: a canary failure halts before wave 2 and resume goes on; thresholds by percentage and
// success; soak; abort; fleet rollback on halt; minimum release age with a superseding release; maintenance
// windows across midnight in other time zones; dependencies (missing, too old, too new, three plugins
// released together installed in order, a cycle); a bot stopped mid-rollout picks up its soak and windows.

const { github, fleet } = stagedFile();

function strategyFile(repository: string, yaml: string): void {
  github.files.set(`${repository}/.github/conn2flow-release.yml`, yaml);
}

for (const engine of ENGINES)
  describe(engine, () => {
    let bot: StagedBot;
    const prefix = `${engine}`;
    before(async () => {
      bot = await StagedBot.create(engine, github);
    });
    beforeEach(() => {
      fleet.botUrl = bot.url;
      bot.clock.reset();
    });
    after(() => bot.stop());

    test(`${prefix}: a canary failure halts the rollout before wave 2; resume goes on past it, wave by wave`, {
      timeout: 90_000,
    }, async () => {
      const repo = `conn2flow/canary-${engine}`;
      strategyFile(
        repo,
        [
          'rollout:',
          '  waves:',
          '    - name: canary',
          '      labels: [canary]',
          '      errorThreshold: 1',
          '    - name: half',
          '      percent: 50',
          '    - name: everyone',
        ].join('\n'),
      );
      const plugin = `${repo}:canary-plugin`;
      const good = await bot.addHost(fleet, 'canary-good', [plugin], { labels: ['canary'] });
      const bad = await bot.addHost(fleet, 'canary-bad', [plugin], { labels: ['canary'], outcome: 'fail' });
      const others: string[] = [];
      for (let i = 0; i < 6; i++) others.push(await bot.addHost(fleet, `fleet-${i}`, [plugin]));
      const rolloutId = await bot.rolloutOf(await bot.publish(repo, 'canary-plugin', '1.0.0'));

      const halted = await bot.until('the halt', async () => {
        const r = await bot.rollout(rolloutId);
        return r.state === 'halted' ? r : undefined;
      });
      assert.equal(halted.stateReason, 'wave 1 (canary): 1 of 2 jobs failed, reaching its error threshold (1 failure)');
      assert.deepEqual([fleet.jobsOf(good).length, fleet.jobsOf(bad).length], [1, 1]);
      assert.deepEqual(
        others.map((h) => fleet.jobsOf(h).length),
        [0, 0, 0, 0, 0, 0],
        'no host of wave 2 or 3 got anything',
      );
      const held = (await bot.jobs(rolloutId)).filter((j) => others.includes(j.hostId));
      assert.ok(held.every((j) => j.state === 'pending' && j.hold === 'halted'));
      assert.deepEqual(
        halted.waves.map((w) => [w.name, w.state, w.jobs]),
        [
          ['canary', 'halted', 2],
          ['half', 'waiting', 4],
          ['everyone', 'waiting', 2],
        ],
      );
      const run = await bot
        .until(
          'the halted check run',
          async () =>
            github.checkRuns.find((r) => r.externalId === rolloutId && /^halted: wave 1/.test(r.output?.title ?? '')),
          30_000,
        )
        .catch((error) => {
          throw new Error(
            `${error.message}: ${JSON.stringify(github.checkRuns.map((r) => [r.externalId, r.output?.title]))} ${github.violations}`,
          );
        });
      assert.ok(run.actions.some((a) => a.identifier === 'resume'));
      assert.match(run.output!.summary, /\| 1 canary \| labels canary \| halted \|/);

      const resumed = await bot.admin('POST', `rollouts/${rolloutId}/resume`, {});
      assert.deepEqual([resumed.status, resumed.body.state], [200, 'running']);
      await bot.until('every host of waves 2 and 3 to get its job', async () =>
        others.every((h) => fleet.jobsOf(h).length === 1),
      );
      const done = await bot.until('the rollout to complete', async () => {
        const r = await bot.rollout(rolloutId);
        return r.state === 'completed' ? r : undefined;
      });
      assert.deepEqual(
        done.waves.map((w) => [w.name, w.ok, w.failed]),
        [
          ['canary', 1, 1],
          ['half', 4, 0],
          ['everyone', 2, 0],
        ],
      );
      const kinds = (await listEvents(bot.db, { limit: 5000 }))
        .filter((e) => (e.detail as { rolloutId?: string } | null)?.rolloutId === rolloutId)
        .map((e) => e.kind);
      for (const kind of ['rollout_halted', 'rollout_resume', 'wave_started', 'rollout_completed'])
        assert.ok(kinds.includes(kind), `${kind} in ${kinds}`);
    });

    test(`${prefix}: thresholds by percentage and by success, a soak the clock runs through, then abort`, {
      timeout: 90_000,
    }, async () => {
      const repo = `conn2flow/percent-${engine}`;
      strategyFile(
        repo,
        [
          'rollout:',
          '  waves:',
          '    - { name: first, percent: 50, errorThreshold: "30%", successThreshold: "70%", soak: 1h }',
          '    - { name: second, percent: 25 }',
          '    - { name: third }',
        ].join('\n'),
      );
      const plugin = `${repo}:percent-plugin`;
      const hosts: string[] = [];
      for (let i = 0; i < 8; i++) hosts.push(await bot.addHost(fleet, `p-${i}`, [plugin]));
      fleet.holdReports = true;
      const rolloutId = await bot.rolloutOf(await bot.publish(repo, 'percent-plugin', '1.0.0'));
      const first = (await bot.jobs(rolloutId)).filter((j) => j.wave === 0).map((j) => j.hostId);
      assert.equal(first.length, 4, '50 % of 8');
      // One failure in four (25 %) is under the 30 % error threshold, and 75 % ok passes the 70 % success threshold.
      fleet.outcomes.set(first[0], 'fail');
      await bot.until('the first wave at its hosts', async () => first.every((h) => fleet.jobsOf(h).length === 1));
      fleet.releaseReports();
      const soaking = await bot.until('the soak', async () => {
        const r = await bot.rollout(rolloutId);
        return r.waves[0].state === 'soaking' ? r : undefined;
      });
      assert.equal(soaking.state, 'running');
      const second = (await bot.jobs(rolloutId)).filter((j) => j.wave === 1).map((j) => j.hostId);
      bot.clock.advance(59 * 60);
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(
        second.every((h) => fleet.jobsOf(h).length === 0),
        'still soaking after 59 minutes',
      );
      for (const h of second) fleet.outcomes.set(h, 'fail');
      bot.clock.advance(2 * 60);
      await bot.until('wave 2 after the soak', async () => second.every((h) => fleet.jobsOf(h).length === 1));
      // Wave 2 has no error threshold: it halts when it ends below its success threshold (100 %).
      const halted = await bot.until('the halt on the success threshold', async () => {
        const r = await bot.rollout(rolloutId);
        return r.state === 'halted' ? r : undefined;
      });
      assert.equal(
        halted.stateReason,
        'wave 2 (second): 0 of 2 jobs succeeded (0 %), below its success threshold of 100 %',
      );

      const aborted = await bot.admin('POST', `rollouts/${rolloutId}/abort`, {});
      assert.deepEqual([aborted.status, aborted.body.state, aborted.body.jobs], [200, 'aborted', 2]);
      const third = (await bot.jobs(rolloutId)).filter((j) => j.wave === 2);
      assert.ok(third.every((j) => j.state === 'cancelled' && /rollout aborted by tester/.test(j.reason ?? '')));
      assert.equal(
        (await bot.admin('POST', `rollouts/${rolloutId}/resume`, {})).status,
        409,
        'an aborted rollout stays aborted',
      );
      // Nothing of the aborted release goes out again from its rollout: no retry, no force, no approval.
      for (const action of ['retry', 'force', 'approve']) {
        const refused = await bot.admin('POST', `rollouts/${rolloutId}/${action}`, { jobs: [third[0].id] });
        assert.equal(refused.status, 409, action);
        assert.match(
          refused.body.error,
          new RegExp(
            `^rollout ${rolloutId} was aborted \\(aborted by tester\\): nothing of \\S+ \\S+ goes out from it again, so it cannot ${action}; `,
          ),
        );
      }
      await new Promise((r) => setTimeout(r, 800));
      assert.ok(third.every((j) => fleet.jobsOf(j.hostId).length === 0));
    });

    test(`${prefix}: a failed health check in the canary wave halts the rollout and rolls the updated hosts back`, {
      timeout: 90_000,
    }, async () => {
      const repo = `conn2flow/rollback-${engine}`;
      const plugin = `${repo}:shop`;
      const hosts: string[] = [];
      for (let i = 0; i < 4; i++) hosts.push(await bot.addHost(fleet, `r-${i}`, [plugin]));
      // 1.0.0 everywhere first, all at once (no strategy yet).
      const firstRollout = await bot.rolloutOf(await bot.publish(repo, 'shop', '1.0.0'));
      await bot.until('1.0.0 everywhere', async () => (await bot.jobs(firstRollout)).every((j) => j.state === 'ok'));
      strategyFile(
        repo,
        'rollout:\n  onHalt: rollback\n  waves:\n    - { name: canary, percent: 50, errorThreshold: 1 }\n    - { name: rest }\n',
      );
      fleet.holdReports = true;
      const rolloutId = await bot.rolloutOf(await bot.publish(repo, 'shop', '1.1.0'));
      const canary = (await bot.jobs(rolloutId)).filter((j) => j.wave === 0).map((j) => j.hostId);
      assert.equal(canary.length, 2);
      fleet.outcomes.set(canary[1], 'health');
      await bot.until('the canary wave at its hosts', async () =>
        canary.every((h) => fleet.jobsOf(h, 'shop').length === 2),
      );
      fleet.releaseReports();
      // The hosts whose jobs finished are rolled back (each as its job finishes; one rollback rollout or several).
      const rolledBack = await bot.until('the fleet rollback of the canary hosts', async () => {
        const rows = await bot.db.query<{ host_id: string }>(
          "select j.host_id from rollouts r join host_jobs j on j.rollout_id = r.id where r.origin_rollout_id = $1 and r.kind = 'rollback'",
          [rolloutId],
        );
        const hosts = rows.map((r) => r.host_id).sort();
        return hosts.length === 2 ? hosts : undefined;
      });
      assert.deepEqual(
        rolledBack,
        [...canary].sort(),
        'both canary hosts (the one that updated, the one that failed) are rolled back',
      );
      assert.equal((await bot.rollout(rolloutId)).state, 'halted');
      await bot.until('the rollback jobs at the hosts', async () =>
        fleet.jobsOf(canary[0], 'shop').some((j) => j.action === 'rollback' && j.plugin.version === '1.0.0'),
      );
      const events = await listEvents(bot.db, { kind: 'health_fail', limit: 100 });
      assert.ok(events.some((e) => e.hostId === canary[1]));
      const rest = (await bot.jobs(rolloutId)).filter((j) => j.wave === 1);
      assert.ok(
        rest.every((j) => j.state === 'pending' && fleet.jobsOf(j.hostId, 'shop').length === 1),
        'the rest got only 1.0.0',
      );
    });

    test(`${prefix}: a minimum release age holds every job; a newer release within it supersedes the waiting one`, {
      timeout: 90_000,
    }, async () => {
      const repo = `conn2flow/age-${engine}`;
      strategyFile(repo, 'rollout:\n  minReleaseAge: 1h\n');
      const host = await bot.addHost(fleet, 'aged', [`${repo}:aged`]);
      const first = await bot.rolloutOf(await bot.publish(repo, 'aged', '2.0.0'));
      const [waiting] = await bot.jobs(first);
      assert.deepEqual([waiting.state, waiting.hold], ['pending', 'release_age']);
      assert.match(waiting.reason!, /^the release is too new: it goes out from /);
      const second = await bot.rolloutOf(await bot.publish(repo, 'aged', '2.0.1'));
      const [superseded] = await bot.jobs(first);
      assert.deepEqual([superseded.state, superseded.reason], ['superseded', 'superseded by 2.0.1']);
      bot.clock.advance(30 * 60);
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(fleet.jobsOf(host).length, 0);
      bot.clock.advance(31 * 60);
      await bot.until('2.0.1 at the host once an hour passed', async () => fleet.jobsOf(host).length === 1);
      assert.deepEqual(
        fleet.jobsOf(host).map((j) => j.plugin.version),
        ['2.0.1'],
        '2.0.0 never went out',
      );
      await bot.until('the job to finish', async () => (await bot.jobs(second))[0].state === 'ok');
    });

    test(`${prefix}: maintenance windows in the hosts' own time zones, across midnight, the host's own or its label's`, {
      timeout: 90_000,
    }, async () => {
      const repo = `conn2flow/windows-${engine}`;
      const plugin = `${repo}:nightly`;
      const tokyo = await bot.addHost(fleet, 'tokyo', [plugin], {
        extra: { timeZone: 'Asia/Tokyo', windows: ['fri 22:00-02:00'] },
      });
      const berlin = await bot.addHost(fleet, 'berlin', [plugin], { labels: ['eu'] });
      const label = await bot.admin('PUT', 'labels/eu', { timeZone: 'Europe/Berlin', windows: ['daily 03:00-04:00'] });
      assert.equal(label.status, 200, JSON.stringify(label.body));
      bot.clock.set('2026-11-27T12:00:00Z'); // Friday 21:00 in Tokyo, 13:00 in Berlin
      const rolloutId = await bot.rolloutOf(await bot.publish(repo, 'nightly', '1.0.0'));
      const jobs = await bot.jobs(rolloutId);
      const reason = (host: string) => jobs.find((j) => j.hostId === host)!.reason;
      assert.equal(reason(tokyo), 'outside its maintenance window: waits until Fri 22:00 Asia/Tokyo');
      assert.equal(reason(berlin), 'outside its maintenance window: waits until Sat 03:00 Europe/Berlin');
      bot.clock.set('2026-11-27T16:30:00Z'); // Saturday 01:30 in Tokyo: inside the window that began on Friday
      await bot.until('the Tokyo host inside its window', async () => fleet.jobsOf(tokyo).length === 1);
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(fleet.jobsOf(berlin).length, 0, 'Berlin is at 17:30');
      bot.clock.set('2026-11-28T02:30:00Z'); // Saturday 03:30 in Berlin
      await bot.until('the Berlin host inside its label window', async () => fleet.jobsOf(berlin).length === 1);
      bot.clock.set(new Date().toISOString());
    });

    test(`${prefix}: dependencies: missing, too old, too new are blocked (30); three plugins released together install in order; a cycle is named`, {
      timeout: 120_000,
    }, async () => {
      const repo = `conn2flow/suite-${engine}`;
      const core = `${repo}:core`;
      const addon = `${repo}:addon`;
      const extra = `${repo}:extra`;
      const fits = await bot.addHost(fleet, 'd-fits', [addon], { site: { core: '1.2.0' } });
      const lacks = await bot.addHost(fleet, 'd-lacks', [addon]);
      const old = await bot.addHost(fleet, 'd-old', [addon], { site: { core: '0.9.0' } });
      const newer = await bot.addHost(fleet, 'd-newer', [addon], { site: { core: '2.0.0' } });
      const fresh = await bot.addHost(fleet, 'd-fresh', [core, addon, extra]);
      // Released together, the dependent ones first.
      const extraRelease = await bot.publish(repo, 'extra', '1.0.0', [{ id: 'addon', min: '1.0.0' }]);
      const addonRelease = await bot.publish(repo, 'addon', '1.0.0', [{ id: 'core', min: '1.0.0', max: '1.9.9' }]);
      const coreRelease = await bot.publish(repo, 'core', '1.5.0');
      const addonRollout = await bot.rolloutOf(addonRelease);
      await bot.until('extra on the fresh host', async () => fleet.jobsOf(fresh, 'extra').length === 1, 60_000);
      assert.deepEqual(
        fleet.jobsOf(fresh).map((j) => j.plugin.id),
        ['core', 'addon', 'extra'],
        'installed in dependency order',
      );
      assert.deepEqual(
        fleet.jobsOf(fresh, 'addon')[0].dependencies,
        [{ id: 'core', min: '1.0.0', max: '1.9.9' }],
        'the job carries them for the agent',
      );
      await bot.rolloutOf(coreRelease);
      await bot.rolloutOf(extraRelease);
      const jobs = await bot.until('the addon jobs to settle', async () => {
        const all = await bot.jobs(addonRollout);
        return all.every((j) => ['ok', 'blocked'].includes(j.state)) ? all : undefined;
      });
      const of = (host: string) => jobs.find((j) => j.hostId === host)!;
      assert.equal(of(fits).state, 'ok');
      assert.deepEqual([of(lacks).state, of(lacks).exitCode, of(lacks).exitLabel], ['blocked', 30, 'DEPENDENCY']);
      assert.equal(
        of(lacks).reason,
        'dependency not met: core is not installed (needed: 1.0.0 to 1.9.9), and this host does not follow core',
      );
      assert.match(of(old).reason!, /core 0\.9\.0 is installed, older than needed \(1\.0\.0 to 1\.9\.9\)/);
      assert.match(of(newer).reason!, /core 2\.0\.0 is installed, newer than allowed \(1\.0\.0 to 1\.9\.9\)/);
      assert.deepEqual(
        [lacks, old, newer].map((h) => fleet.jobsOf(h).length),
        [0, 0, 0],
        'nothing sent to a host that lacks the dependency',
      );
      assert.ok((await listEvents(bot.db, { kind: 'job_blocked', limit: 100 })).some((e) => e.hostId === lacks));

      const loop = await bot.addHost(fleet, 'd-loop', [`${repo}:ping`, `${repo}:pong`]);
      const ping = await bot.rolloutOf(await bot.publish(repo, 'ping', '1.0.0', [{ id: 'pong' }]));
      const pong = await bot.rolloutOf(await bot.publish(repo, 'pong', '1.0.0', [{ id: 'ping' }]));
      for (const rolloutId of [ping, pong]) {
        const [job] = await bot.until(`the cycle in ${rolloutId}`, async () => {
          const all = await bot.jobs(rolloutId);
          return all[0]?.state === 'blocked' ? all : undefined;
        });
        assert.match(job.reason!, /^dependency cycle: (ping → pong → ping|pong → ping → pong)$/);
      }
      assert.equal(fleet.jobsOf(loop).length, 0);
    });

    test(`${prefix}: a bot stopped mid-rollout picks up its soak and its window waits when it starts again`, {
      timeout: 90_000,
    }, async () => {
      const repo = `conn2flow/restart-${engine}`;
      strategyFile(
        repo,
        'rollout:\n  waves:\n    - { name: first, labels: [first], soak: 10m }\n    - { name: second }\n',
      );
      const plugin = `${repo}:durable`;
      const first = await bot.addHost(fleet, 'first', [plugin], { labels: ['first'] });
      const second = await bot.addHost(fleet, 'second', [plugin]);
      const night = await bot.addHost(fleet, 'night', [plugin], {
        extra: { timeZone: 'America/Sao_Paulo', windows: ['daily 02:00-03:00'] },
      });
      bot.clock.set('2026-11-27T12:00:00Z'); // 09:00 in Sao Paulo
      const rolloutId = await bot.rolloutOf(await bot.publish(repo, 'durable', '1.0.0'));
      await bot.until('the soak after wave 1', async () => (await bot.rollout(rolloutId)).waves[0].state === 'soaking');
      await bot.stop();
      bot.clock.advance(11 * 60); // the soak ends while the bot is down
      await bot.start();
      fleet.botUrl = bot.url;
      await bot.until('wave 2 after the restart', async () => fleet.jobsOf(second).length === 1);
      const held = (await bot.jobs(rolloutId)).find((j) => j.hostId === night)!;
      assert.deepEqual(
        [held.state, held.hold, held.reason],
        ['pending', 'window', 'outside its maintenance window: waits until Sat 02:00 America/Sao_Paulo'],
      );
      await bot.stop();
      bot.clock.set('2026-11-28T05:10:00Z'); // 02:10 in Sao Paulo
      await bot.start();
      fleet.botUrl = bot.url;
      await bot.until('the window wait after the restart', async () => fleet.jobsOf(night).length === 1);
      await bot.until('the rollout to complete', async () => (await bot.rollout(rolloutId)).state === 'completed');
      assert.equal(fleet.jobsOf(first).length, 1);
      bot.clock.set(new Date().toISOString());
    });
  });
