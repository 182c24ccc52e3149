import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { minimalPackage } from '../../dev/minimal-package.ts';
import { freshPgliteFolder } from '../bot/databases.ts';
import { tempDir, waitFor } from '../helpers.ts';
import {
  BUNDLE_AGENT,
  botSecrets,
  bundleBuilt,
  bundleCli,
  freePort,
  runAgent,
  startBundleAgent,
  startBundleBot,
  type BundleAgent,
  type BundleBot,
} from './bundle.ts';
import { publishRelease } from './publish-release.ts';

// A staged rollout as an operator runs it, with the programs users run (a private repository, so the agents
// download through the bot): the bot from the bundle (its default
// strategy from C2F_ROLLOUT_STRATEGY: a canary wave, a soak, the rest), three real agents, and every
// operator command through `c2f-plugin`: hosts enrolled with labels, a canary failure that halts the rollout,
// `rollouts show`, `resume`, `hosts update`, label windows, a bot killed during a soak and started again on
// the same data, `registry yank --rollback` and `unyank`, `next-wave`, `abort --rollback`, and the event log
// exported as JSON lines.

const REPO = 'conn2flow/staged';
const PLUGIN = 'staged-plugin';
const STRATEGY = { waves: [{ name: 'canary', labels: ['canary'], errorThreshold: 1, soak: '6s' }, { name: 'rest' }] };

test('staged rollout from the shipped bundle: halt, resume, labels, a bot killed mid-soak, yank and un-yank, next-wave, abort with rollback, events as JSON lines', {
  timeout: 240_000,
}, async () => {
  await bundleBuilt();
  const github = await new GitHubStandIn().start();
  const port = await freePort();
  const dataDir = await freshPgliteFolder();
  const secrets = botSecrets();
  const env = {
    C2F_ROLLOUT_STRATEGY: JSON.stringify(STRATEGY),
    C2F_ROLLOUT_TICK_SECONDS: '1',
    C2F_CHECK_RUN_DELAY_SECONDS: '0',
    C2F_RETRY_SCHEDULE: '1,1',
  };
  const start = () => startBundleBot(github, { port, dataDir, secrets, env });
  let bot: BundleBot = await start();
  const agents: BundleAgent[] = [];
  try {
    const cli = (...args: string[]) => bundleCli(args, bot.cliEnv);
    const cliJson = async <T = any>(...args: string[]): Promise<T> => {
      const result = await cli(...args, '--json');
      assert.equal(result.code, 0, `c2f-plugin ${args.join(' ')}: ${result.stderr}${result.stdout}`);
      return JSON.parse(result.stdout) as T;
    };

    // Three hosts: two canaries (one whose installer always refuses), one for the rest.
    const hosts: Record<string, { id: string; configFile: string }> = {};
    for (const [name, labels, command] of [
      ['canary-ok', ['canary'], 'echo "$C2F_ACTION $C2F_VERSION"'],
      ['canary-bad', ['canary'], 'exit 11'],
      ['rest', [], 'echo "$C2F_ACTION $C2F_VERSION"'],
    ] as const) {
      const labelArgs = labels.flatMap((label) => ['--label', label]);
      const { host, token } = await cliJson<{ host: { id: string; labels: string[] }; token: string }>(
        'hosts',
        'enroll-token',
        '--name',
        name,
        '--plugin',
        `${REPO}:${PLUGIN}`,
        '--allow-private-network',
        ...labelArgs,
      );
      assert.deepEqual(host.labels, [...labels]);
      const dir = await tempDir(`c2f-${name}-`);
      const configFile = path.join(dir, 'c2f-agent.json');
      const enrolled = await runAgent(BUNDLE_AGENT, [
        'enroll',
        '--bot',
        bot.url,
        '--token',
        token,
        '--url',
        `http://127.0.0.1:${await freePort()}/c2f/jobs`,
        '--installer-command',
        command,
        '--config',
        configFile,
        '--allow-http-downloads',
      ]);
      assert.equal(enrolled.code, 0, enrolled.stderr);
      agents.push(await startBundleAgent(configFile));
      hosts[name] = { id: host.id, configFile };
    }
    const statusOf = async (name: string) => {
      const result = await runAgent(BUNDLE_AGENT, ['status', '--config', hosts[name].configFile, '--json']);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as {
        jobs: Array<{ action: string; version: string; status: string; exitCode: number | null }>;
        installed: Array<{ pluginId: string; version: string }>;
      };
    };
    const publish = async (version: string) => {
      const release = await publishRelease(github, bot, {
        repository: REPO,
        plugin: PLUGIN,
        version,
        zip: await minimalPackage(PLUGIN, version),
      });
      return waitFor(async () => {
        const listed = await cliJson<{ rollouts: Array<{ id: string; releaseId: number }> }>('rollouts', 'list');
        return listed.rollouts.find((r) => r.releaseId === release.id)?.id;
      }, `the rollout of ${version}`);
    };
    const rollout = (id: string) =>
      cliJson<{ state: string; stateReason: string | null; currentWave: number; waves: Array<{ state: string }> }>(
        'rollouts',
        'show',
        id,
      );

    // 1.0.0: the bad canary halts the rollout; the rest host gets nothing until the operator resumes.
    const first = await publish('1.0.0');
    const halted = await waitFor(async () => {
      const r = await rollout(first);
      return r.state === 'halted' ? r : undefined;
    }, 'the halt');
    assert.equal(halted.stateReason, 'wave 1 (canary): 1 of 2 jobs failed, reaching its error threshold (1 failure)');
    const shown = await cli('rollouts', 'show', first);
    assert.match(shown.stdout, /^ro_\S+ {2}staged-plugin 1\.0\.0 {2}halted\n {2}wave 1 \(canary\): 1 of 2 jobs failed/);
    assert.match(
      shown.stdout,
      /\n {2}wave 1 canary \(labels canary\): halted; 1 ok, 1 failed, 0 held of 2; continue at 100 % ok, halt at 1 failure, soak 6 s\n {2}wave 2 rest \(the rest\): waiting; 0 ok, 0 failed, 1 held of 1/,
    );
    assert.match(shown.stdout, new RegExp(`\\(${hosts.rest.id}\\) {2}install {2}pending \\(halted\\) {2}wave 2`));
    assert.deepEqual((await statusOf('rest')).jobs, []);
    const resumed = await cli('rollouts', 'resume', first);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /: running, wave 1; 1 job released to their waves/);
    await waitFor(
      async () => (await statusOf('rest')).jobs.some((j) => j.version === '1.0.0' && j.status === 'ok'),
      'the rest host to install 1.0.0',
    );
    await waitFor(async () => (await rollout(first)).state === 'completed', 'the first rollout to complete');

    // The bad canary leaves the canary wave; labels get windows, listed and removed.
    const updated = await cliJson<{ labels: string[] }>('hosts', 'update', hosts['canary-bad'].id, '--no-labels');
    assert.deepEqual(updated.labels, []);
    const windows = await cli(
      'hosts',
      'label-windows',
      'canary',
      '--time-zone',
      'Europe/Berlin',
      '--window',
      'daily 00:00-24:00',
    );
    assert.equal(windows.code, 0, windows.stderr);
    assert.match(
      (await cli('hosts', 'labels')).stdout,
      /^canary {2}Europe\/Berlin {2}sun,mon,tue,wed,thu,fri,sat 00:00-24:00\n$/,
    );
    const badWindow = await cli(
      'hosts',
      'label-windows',
      'canary',
      '--time-zone',
      'Europe/Berlin',
      '--window',
      'someday 10:00-11:00',
    );
    assert.equal(badWindow.code, 1);
    assert.match(badWindow.stderr, /"someday" is not a day/);
    assert.equal((await cli('hosts', 'remove-label-windows', 'canary')).code, 0);

    // 1.1.0: the canary succeeds and soaks; the bot is killed during the soak and started again on the same
    // data; the rest wave starts when the soak ends.
    const second = await publish('1.1.0');
    await waitFor(async () => (await rollout(second)).waves[0].state === 'soaking', 'the soak');
    await bot.kill();
    bot = await start();
    await waitFor(
      async () => (await statusOf('rest')).jobs.some((j) => j.version === '1.1.0' && j.status === 'ok'),
      'the rest wave after the restart',
      45_000,
    );
    // canary-bad is in the rest wave now, fails, and the wave ends below its 100 % success threshold.
    const haltedAgain = await waitFor(async () => {
      const r = await rollout(second);
      return r.state === 'halted' ? r : undefined;
    }, 'the second halt');
    assert.match(
      haltedAgain.stateReason!,
      /^wave 2 \(rest\): 1 of 2 jobs succeeded \(50 %\), below its success threshold of 100 %$/,
    );
    // Abort it and put the hosts it updated back.
    const aborted = await cliJson<{
      state: string;
      rollback?: { rolloutId: string; changed: Array<{ hostId: string }> };
    }>('rollouts', 'abort', second, '--rollback');
    assert.equal(aborted.state, 'aborted');
    assert.ok(aborted.rollback?.changed.some((c) => c.hostId === hosts.rest.id));
    // Its waves read as aborted, not as running or waiting.
    const abortedWaves = (await cliJson<{ waves: Array<{ state: string }> }>('rollouts', 'show', second)).waves;
    assert.deepEqual(abortedWaves.map((w) => w.state).slice(-1), ['aborted']);
    await waitFor(
      async () =>
        (await statusOf('rest')).jobs.some(
          (j) => j.action === 'rollback' && j.version === '1.0.0' && j.status === 'ok',
        ),
      'the rest host rolled back',
    );
    assert.equal((await statusOf('rest')).installed.find((p) => p.pluginId === PLUGIN)?.version, '1.0.0');

    // 1.2.0: the operator does not wait for the soak.
    const third = await publish('1.2.0');
    await waitFor(async () => (await rollout(third)).waves[0].state === 'soaking', 'the third soak');

    // Found bad during the soak: yanked, with the canary put back; nothing of it goes out until un-yanked.
    const yanked = await cli(
      'registry',
      'yank',
      REPO,
      PLUGIN,
      '1.2.0',
      '--reason',
      'logs out every user',
      '--rollback',
    );
    assert.equal(yanked.code, 0, yanked.stderr);
    assert.match(
      yanked.stdout,
      new RegExp(
        `^staged-plugin 1\\.2\\.0 yanked: rollout ${third} is paused; 2 unsent job\\(s\\) held, 0 rollback job\\(s\\) to it cancelled\n`,
      ),
    );
    assert.match(yanked.stdout, /\nrollback rollout ro_\S+: 1 host\(s\) return to their previous version\n$/);
    await waitFor(
      async () => (await statusOf('canary-ok')).installed.find((p) => p.pluginId === PLUGIN)?.version === '1.0.0',
      'the canary back on the 1.0.0 it had (1.1.0 was rolled back)',
    );
    const refused = await cli('rollouts', 'next-wave', third);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /staged-plugin 1\.2\.0 is yanked by \S+ \(logs out every user\): un-yank it first/);
    assert.match(
      (await cli('registry', REPO, PLUGIN)).stdout,
      /^1\.2\.0 .*\n {2}YANKED \S+ by \S+: logs out every user\n/,
    );
    const repeat = await cli('registry', 'yank', REPO, PLUGIN, '1.2.0', '--reason', 'again');
    assert.equal(repeat.code, 1, 'a repeat changes nothing');
    assert.match(repeat.stdout, /^staged-plugin 1\.2\.0 was already yanked by \S+: nothing changed\n$/);
    assert.equal((await cli('registry', 'yank', REPO, PLUGIN, '1.2.0')).code, 64, 'a yank needs --reason');
    const unyanked = await cli('registry', 'unyank', REPO, PLUGIN, '1.2.0');
    assert.equal(unyanked.code, 0, unyanked.stderr);
    assert.match(
      unyanked.stdout,
      new RegExp(
        `^staged-plugin 1\\.2\\.0 is no longer yanked; rollout ${third} is paused\nresume it to go on: c2f-plugin rollouts resume ${third}\n$`,
      ),
    );
    const next = await cli('rollouts', 'next-wave', third);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stdout, /: running, wave 2; /);
    await waitFor(
      async () => (await statusOf('rest')).jobs.some((j) => j.version === '1.2.0' && j.status === 'ok'),
      'the rest host before the soak ended',
      5_000,
    );
    const lastWave = await cli('rollouts', 'next-wave', third);
    assert.equal(lastWave.code, 1);
    assert.match(lastWave.stderr, /is in its last wave \(2 of 2, rest\)/);

    // The event log, exported.
    const exported = await cli('rollouts', 'events', '--jsonl');
    assert.equal(exported.code, 0, exported.stderr);
    const events = exported.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; hostId: string | null });
    const kinds = new Set(events.map((e) => e.kind));
    for (const kind of [
      'rollout_planned',
      'install_success',
      'install_fail',
      'update_changed',
      'rollout_halted',
      'rollout_resume',
      'wave_soaking',
      'wave_started',
      'rollout_abort',
      'rollback_exec',
      'rollout_next_wave',
      'release_yanked',
      'release_unyanked',
    ]) {
      assert.ok(kinds.has(kind), `${kind} is exported (${[...kinds].join(', ')})`);
    }
    assert.ok(events.some((e) => e.kind === 'install_fail' && e.hostId === hosts['canary-bad'].id));
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\n--- bot\n${bot.output().slice(-5000)}\n${agents.map((a) => a.output().slice(-1500)).join('\n---\n')}`,
      { cause: error },
    );
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await bot.stop();
    await github.stop();
  }
});
