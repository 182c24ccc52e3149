import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newMessageId, signMessage, verifyMessage } from '../../src/protocol/signing.ts';
import { resolveRelease } from '../../src/bot/rollout/resolve-release.ts';
import { parseStrategy } from '../../src/bot/rollout/strategy.ts';
import { getRelease, updateRelease } from '../../src/bot/store/releases.ts';
import { ENGINES } from './databases.ts';
import { StagedBot } from './staged-rollout-bot.ts';
import { stagedFile } from './staged-suite.ts';

// What the bot records and says about rollouts, checked where an operator's day found it wrong: a halted
// rollout superseded by a newer release concludes its check run; reports count as word from the host; a pre-release
// published later as a release reaches the stable channel; a poll answer during a secret rotation is signed
// with the secret the host still has; a release resolved but not yet planned keeps its strategy; a manual
// host is never told about a release, only sent it once approved.

const { github, fleet } = stagedFile();

function strategyFile(repository: string, yaml: string): void {
  github.files.set(`${repository}/.github/conn2flow-release.yml`, yaml);
}

for (const engine of ENGINES)
  test(`${engine}: superseded halts conclude, reports are word from the host, pre-releases promoted, polls during rotation, kept strategies, quiet manual hosts`, {
    timeout: 120_000,
  }, async () => {
    const bot = await StagedBot.create(engine, github);
    try {
      fleet.botUrl = bot.url;

      // A canary fails and halts the rollout; a newer release supersedes the held jobs: the halted rollout
      // completes and its check run concludes (failure), instead of staying in progress forever.
      const repo = `conn2flow/state-${engine}`;
      strategyFile(
        repo,
        'rollout:\n  waves:\n    - { name: canary, labels: [canary], errorThreshold: 1 }\n    - { name: rest }\n',
      );
      const plugin = `${repo}:state`;
      const canary = await bot.addHost(fleet, `canary-${engine}`, [plugin], { labels: ['canary'], outcome: 'fail' });
      const other = await bot.addHost(fleet, `other-${engine}`, [plugin]);
      const first = await bot.rolloutOf(await bot.publish(repo, 'state', '1.0.0'));
      await bot.until('the halt', async () => (await bot.rollout(first)).state === 'halted');
      // A host's report is word from it: "last heard" follows reports, not only heartbeats (the fleet sends none).
      assert.equal(
        (await bot.admin('GET', `hosts/${other}`)).body.lastSeenAt,
        null,
        'held, nothing sent yet: never heard',
      );
      const heard = (await bot.admin('GET', `hosts/${canary}`)).body.lastSeenAt;
      assert.ok(heard && Date.now() - Date.parse(heard) < 120_000, `the canary's reports: ${heard}`);

      fleet.outcomes.set(canary, 'ok');
      const second = await bot.rolloutOf(await bot.publish(repo, 'state', '1.0.1'));
      const held = (await bot.jobs(first)).find((j) => j.hostId === other)!;
      assert.deepEqual([held.state, held.reason], ['superseded', 'superseded by 1.0.1']);
      assert.equal(
        (await bot.rollout(first)).state,
        'halted',
        'the rollout stays halted: an operator may still roll back',
      );
      const run = await bot.until('its check run to conclude', async () =>
        github.checkRuns.find((r) => r.externalId === first && r.status === 'completed'),
      );
      assert.deepEqual(
        [run.conclusion, run.output?.title],
        [
          'failure',
          '0 of 2 hosts updated, 1 failed, 1 superseded (halted: wave 1 (canary): 1 of 1 jobs failed, reaching its error threshold (1 failure))',
        ],
      );
      await bot.until('the newer rollout to complete', async () => (await bot.rollout(second)).state === 'completed');

      // A pre-release reaches the pre-release channel only; published as a release, the stable host gets it.
      const preRepo = `conn2flow/pre-${engine}`;
      const prePlugin = `${preRepo}:pre`;
      const early = await bot.addHost(fleet, `early-${engine}`, [prePlugin], { extra: { channel: 'prerelease' } });
      const stable = await bot.addHost(fleet, `stable-${engine}`, [prePlugin]);
      const releaseId = await bot.publish(preRepo, 'pre', '2.0.0', [], { prerelease: true });
      const pre = await bot.rolloutOf(releaseId);
      await bot.until(
        'the pre-release on the early host',
        async () => (await bot.jobs(pre)).find((j) => j.hostId === early)?.state === 'ok',
      );
      assert.equal((await bot.jobs(pre)).find((j) => j.hostId === stable)!.state, 'skipped');
      assert.equal((await github.promoteRelease(bot.webhookTarget(), preRepo, releaseId)).status, 200);
      await bot.until(
        'the release on the stable host',
        async () => (await bot.jobs(pre)).find((j) => j.hostId === stable)?.state === 'ok',
        30_000,
        pre,
      );
      assert.equal(fleet.jobsOf(stable, 'pre').length, 1);
      assert.equal(fleet.jobsOf(early, 'pre').length, 1, 'the early host is not sent it again');
      await bot.until(
        'the promoted rollout to complete again',
        async () => (await bot.rollout(pre)).state === 'completed',
      );

      // During a secret rotation a poll signed with the old secret is answered signed with it too.
      const rotated = await bot.admin('POST', `hosts/${stable}/rotate-secret`, {});
      assert.equal(rotated.status, 200);
      const oldSecret = fleet.secretOf(stable);
      const beat = JSON.stringify({
        type: 'heartbeat',
        protocol: 1,
        hostId: stable,
        agentVersion: 'test',
        inventory: [],
        pollSeconds: 1,
        sentAt: new Date().toISOString(),
      });
      const answer = await fetch(`${bot.url}/api/heartbeat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signMessage(beat, [oldSecret], newMessageId()) },
        body: beat,
      });
      const body = await answer.text();
      assert.equal(answer.status, 200, body);
      assert.equal(
        verifyMessage(body, Object.fromEntries(answer.headers), [oldSecret]).ok,
        true,
        'the host can verify the answer with the secret it has',
      );
      assert.equal(verifyMessage(body, Object.fromEntries(answer.headers), [rotated.body.secret]).ok, true);

      // A release resolved but never planned (the bot stopped in between) is planned with the strategy it
      // was resolved with, not the bot's default, whatever the repository's file says now.
      const keptRepo = `conn2flow/kept-${engine}`;
      await bot.addHost(fleet, `kept-a-${engine}`, [`${keptRepo}:kept`], { labels: ['first'] });
      await bot.addHost(fleet, `kept-b-${engine}`, [`${keptRepo}:kept`]);
      const keptRelease = github.addRelease(keptRepo, { tagName: 'plugin-kept-v1.0.0' });
      await bot.db.query(
        "insert into releases (id, repository, installation_id, tag, state, plugin_id, version, zip_url, zip_size, zip_sha256, queued_at) values ($1, $2, 42, 'plugin-kept-v1.0.0', 'resolved', 'kept', '1.0.0', 'https://example.invalid/p.zip', 200, $3, now())",
        [keptRelease.id, keptRepo, 'a'.repeat(64)],
      );
      await updateRelease(bot.db, keptRelease.id, {
        strategy: parseStrategy({ waves: [{ name: 'first', labels: ['first'] }] }),
      });
      const outcome = await resolveRelease(
        { db: bot.db, boss: bot.boss, api: undefined as never },
        await getRelease(bot.db, keptRelease.id),
        {},
      );
      assert.equal(outcome.kind, 'rolled-out');
      const kept = await bot.rollout(outcome.kind === 'rolled-out' ? outcome.rollout.rolloutId : '');
      assert.deepEqual(
        kept.waves.map((w) => w.name),
        ['first', 'rest'],
      );

      // Text a database cannot hold (a NUL byte, a lone surrogate) is replaced where it comes in: the report
      // is stored, and the host's next one too; a heartbeat carrying such text is accepted as well.
      const nulRepo = `conn2flow/nul-${engine}`;
      const nul = await bot.addHost(fleet, `nul-${engine}`, [`${nulRepo}:nul`], { outcome: 'nul' });
      const nulRollout = await bot.rolloutOf(await bot.publish(nulRepo, 'nul', '1.0.0'));
      const stored = await bot.until('the report with a NUL', async () =>
        (await bot.jobs(nulRollout)).find((j) => j.hostId === nul && j.state === 'ok'),
      );
      assert.equal(stored.message, 'install of nul 1.0.0 done\ufffd');
      assert.deepEqual(stored.logTail, ['binary\ufffdoutput', 'half \ufffd a pair']);
      fleet.outcomes.set(nul, 'ok');
      const next = await bot.rolloutOf(await bot.publish(nulRepo, 'nul', '1.0.1'));
      await bot.until(
        'the next report from that host',
        async () => (await bot.jobs(next)).find((j) => j.hostId === nul)?.state === 'ok',
      );
      const odd = JSON.stringify({
        type: 'heartbeat',
        protocol: 1,
        hostId: nul,
        agentVersion: 'v\u0000',
        inventory: [{ pluginId: 'nul', version: '1.0.1', sha256: null, problem: 'row\u0000says \udc00' }],
        pollSeconds: 0,
        sentAt: new Date().toISOString(),
      });
      const oddAnswer = await fetch(`${bot.url}/api/heartbeat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signMessage(odd, [fleet.secretOf(nul)], newMessageId()) },
        body: odd,
      });
      assert.equal(oddAnswer.status, 200, await oddAnswer.text());
      assert.equal((await bot.admin('GET', `hosts/${nul}`)).body.agentVersion, 'v\ufffd');

      // A manual host is not told: its first push is the install an operator approved.
      const manualRepo = `conn2flow/manual-${engine}`;
      const manual = await bot.addHost(fleet, `manual-${engine}`, [`${manualRepo}:quiet`], {
        extra: { policy: 'manual' },
      });
      const told = await bot.addHost(fleet, `told-${engine}`, [`${manualRepo}:quiet`], { extra: { policy: 'notify' } });
      const quiet = await bot.rolloutOf(await bot.publish(manualRepo, 'quiet', '1.0.0'));
      await bot.until('the notify host to be told', async () => fleet.jobsOf(told).length === 1);
      const approved = await bot.admin('POST', `rollouts/${quiet}/approve`, {});
      assert.equal(approved.body.changed.length, 2);
      await bot.until('both installs', async () => (await bot.jobs(quiet)).every((j) => j.state === 'ok'));
      assert.deepEqual(
        fleet.jobsOf(manual).map((j) => j.action),
        ['install'],
      );
      assert.deepEqual(
        fleet.jobsOf(told).map((j) => j.action),
        ['notify', 'install'],
      );
    } finally {
      await bot.stop();
    }
  });
