import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listEvents } from '../../src/bot/read/events.ts';
import { getRelease } from '../../src/bot/store/releases.ts';
import { createOperatorRollout, getJob } from '../../src/bot/store/rollouts.ts';
import { ENGINES } from './databases.ts';
import { stagedBotFor, stagedFile } from './staged-suite.ts';

// A release found bad mid-rollout is yanked through the admin API, on PGlite and on PostgreSQL: its rollout
// pauses with the wave still waiting held, a rollback to it that has not gone out is cancelled, the canary
// that runs it is rolled back, every way of sending it again is refused while the mark holds, a repeat
// changes nothing, and un-yanking lets the operator go on.

const suite = stagedFile();
const { github, fleet } = suite;

for (const engine of ENGINES)
  describe(engine, () => {
    const current = stagedBotFor(engine, suite);

    test(`${engine}: yank mid-rollout holds the waiting wave, rolls the canary back, refuses every resend; un-yank lets it go on`, {
      timeout: 120_000,
    }, async () => {
      const bot = current();
      const repo = `conn2flow/yank-${engine}`;
      github.files.set(
        `${repo}/.github/conn2flow-release.yml`,
        ['rollout:', '  waves:', '    - { name: canary, labels: [canary], soak: 1h }', '    - { name: rest }'].join(
          '\n',
        ),
      );
      const plugin = `${repo}:yank-plugin`;
      const canary = await bot.addHost(fleet, 'canary', [plugin], { labels: ['canary'] });
      const rest = await bot.addHost(fleet, 'rest', [plugin]);
      const bystander = await bot.addHost(fleet, 'bystander', [`${repo}:other-plugin`]);
      const admin = bot.admin.bind(bot);

      // 1.0.0 everywhere (the operator skips the soak), then 1.1.0 reaches the canary and soaks.
      const firstRelease = await bot.publish(repo, 'yank-plugin', '1.0.0');
      const first = await bot.rolloutOf(firstRelease);
      await bot.until('1.0.0 on the canary', async () => fleet.sites.get(canary)!.get('yank-plugin') === '1.0.0');
      assert.equal((await admin('POST', `rollouts/${first}/next-wave`, {})).status, 200);
      await bot.until('1.0.0 completed', async () => (await bot.rollout(first)).state === 'completed');
      const badRelease = await bot.publish(repo, 'yank-plugin', '1.1.0');
      const bad = await bot.rolloutOf(badRelease);
      await bot.until('1.1.0 on the canary', async () => fleet.sites.get(canary)!.get('yank-plugin') === '1.1.0');
      await bot.until('the canary soaking', async () => {
        const r = await bot.rollout(bad);
        return r.waves[0].ok === 1 && r.state === 'running';
      });
      // A rollback to 1.1.0 asked for but not yet taken by a worker: the yank must cancel it.
      const waiting = await bot.db.transaction((tx) =>
        createOperatorRollout(tx, {
          kind: 'rollback',
          release: { id: badRelease, repository: repo, pluginId: 'yank-plugin', version: '1.1.0' } as never,
          originRolloutId: first,
          requestedBy: 'someone',
          jobs: [
            {
              hostId: bystander,
              releaseId: badRelease,
              action: 'rollback',
              state: 'queued',
              notify: false,
              force: true,
              reason: 'rollback to 1.1.0',
              previousVersion: null,
              previousSha256: null,
              event: 'rollback_requested',
            },
          ],
        }),
      );

      const route = `registry/${repo}/yank-plugin/1.1.0`;
      assert.deepEqual((await admin('POST', `${route}/yank`, { reason: '  ' })).status, 422, 'a reason is needed');
      const yanked = await admin('POST', `${route}/yank`, { reason: 'breaks the checkout page', rollback: true });
      assert.equal(yanked.status, 200, JSON.stringify(yanked.body));
      assert.equal(yanked.body.changed, true);
      assert.deepEqual(yanked.body.rollout, { id: bad, state: 'paused' });
      assert.deepEqual([yanked.body.held, yanked.body.cancelled], [1, 1]);
      assert.deepEqual([yanked.body.yanked.by, yanked.body.yanked.reason], ['tester', 'breaks the checkout page']);
      assert.equal(yanked.body.rollback.created, true);
      assert.deepEqual(
        yanked.body.rollback.changed.map((j: { hostId: string }) => j.hostId),
        [canary],
        'only the host that runs it',
      );
      assert.equal((await getJob(bot.db, waiting.jobs[0].id))!.state, 'cancelled');
      assert.equal((await getRelease(bot.db, badRelease))!.yanked?.reason, 'breaks the checkout page');
      await bot.until('the canary back on 1.0.0', async () => fleet.sites.get(canary)!.get('yank-plugin') === '1.0.0');
      const held = (await bot.jobs(bad)).find((j) => j.hostId === rest)!;
      assert.deepEqual([held.state, held.hold], ['pending', 'paused']);
      assert.match(held.reason ?? '', /^yank-plugin 1\.1\.0 yanked by tester: breaks the checkout page$/);
      assert.equal(fleet.jobsOf(rest, 'yank-plugin').length, 1, 'the rest host got 1.0.0 only');

      // Nothing sends it again while the mark holds, whichever way is asked.
      const refusals = [
        await admin('POST', `rollouts/${bad}/resume`, {}),
        await admin('POST', `rollouts/${bad}/next-wave`, {}),
        await admin('POST', `rollouts/${bad}/force`, { hosts: [canary] }),
        await admin('POST', `rollouts/${bad}/retry`, { jobs: [held.id] }),
        await admin('POST', `rollouts/${first}/rollback`, { hosts: [rest], to: '1.1.0' }),
      ];
      for (const refused of refusals) {
        assert.equal(refused.status, 409, JSON.stringify(refused.body));
        assert.match(refused.body.error, /yank-plugin 1\.1\.0 is yanked by tester \(breaks the checkout page\)/);
      }
      assert.equal(fleet.jobsOf(rest, 'yank-plugin').length, 1);
      const again = await admin('POST', `${route}/yank`, { reason: 'another reason' });
      assert.deepEqual([again.body.changed, again.body.yanked.reason], [false, 'breaks the checkout page']);
      const shown = await admin('GET', `registry/${repo}/yank-plugin`);
      assert.deepEqual(
        shown.body.versions.map((v: { version: string; yanked: unknown }) => [v.version, Boolean(v.yanked)]),
        [
          ['1.1.0', true],
          ['1.0.0', false],
        ],
      );

      // Un-yanked, it stays paused until the operator goes on.
      const unyanked = await admin('POST', `${route}/unyank`, {});
      assert.deepEqual(
        [unyanked.body.changed, unyanked.body.yanked, unyanked.body.rollout.state],
        [true, null, 'paused'],
      );
      assert.equal((await admin('POST', `${route}/unyank`, {})).body.changed, false);
      assert.equal((await admin('POST', `rollouts/${bad}/next-wave`, {})).status, 200);
      await bot.until('1.1.0 on the rest host', async () => fleet.sites.get(rest)!.get('yank-plugin') === '1.1.0');
      const kinds = (await listEvents(bot.db, { rolloutId: bad, limit: 100 })).map((e) => e.kind);
      for (const kind of ['release_yanked', 'release_unyanked']) assert.ok(kinds.includes(kind), `${kind} in ${kinds}`);
      assert.equal(
        (await admin('POST', `registry/${repo}/yank-plugin/9.9.9/yank`, { reason: 'x' })).status,
        404,
        'an unknown version',
      );
    });
  });
