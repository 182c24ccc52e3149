import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createStandInSite, pluginPackages, type StandInSite } from '../agent/standin-site.ts';
import { freshPostgresUrl } from '../bot/databases.ts';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { tempDir, waitFor } from '../helpers.ts';
import {
  BUNDLE_AGENT,
  bundleBuilt,
  bundleCli,
  freePort,
  runAgent,
  startBundleAgent,
  startBundleBot,
  type AgentProgram,
  type BundleAgent,
  type BundleBot,
} from './bundle.ts';
import { publishRelease, webhookTarget } from './publish-release.ts';
import { CuttingProxy } from './cutting-proxy.ts';

// An operator's walk through every way out of a failed or unwanted install, with the programs users run:
// the bot and three agents from the built bundle (dist/cli.js) as real processes, every operator action
// through `c2f-plugin` or a check run's button, two Conn2Flow sites (the stand-in gestor tree on MariaDB,
// with its real failure modes) and a host behind NAT whose poll answer is cut mid-way. The repository is
// private, so every package comes through the bot's own expiring links.

const REPO = 'conn2flow/walk';
const PLUGIN = 'walk-plugin';

interface Host {
  id: string;
  name: string;
  agent: BundleAgent;
  configFile: string;
}

interface Job {
  id: string;
  hostId: string;
  action: string;
  state: string;
  attemptId: string;
  exitCode: number | null;
  message: string | null;
  logTail: string[];
}

export async function operatorWalkthrough(
  engine: 'pglite' | 'postgres',
  agent: AgentProgram = BUNDLE_AGENT,
): Promise<void> {
  await bundleBuilt();
  const github = await new GitHubStandIn().start();
  const bot = await startBundleBot(github, {
    databaseUrl: engine === 'postgres' ? await freshPostgresUrl() : undefined,
    env: { C2F_PULL_LEASE_SECONDS: '3', C2F_CHECK_RUN_DELAY_SECONDS: '1', C2F_RETRY_SCHEDULE: '1,1,1' },
  });
  const proxy = await new CuttingProxy({ host: '127.0.0.1', port: Number(new URL(bot.url).port) }).start();
  const hosts: Host[] = [];
  try {
    await walk(bot, github, proxy, hosts, agent);
    assert.equal(await agent.calledNode(), false, 'the agents ran Node.js');
  } catch (error) {
    const logs = hosts.map((h) => `--- agent ${h.name}\n${h.agent.output().slice(-3000)}`).join('\n');
    throw new Error(`${(error as Error).message}\n--- bot\n${bot.output().slice(-6000)}\n${logs}`, { cause: error });
  } finally {
    await Promise.all(hosts.map((h) => h.agent.stop()));
    await bot.stop();
    await proxy.stop();
    await github.stop();
  }
}

async function walk(
  bot: BundleBot,
  github: GitHubStandIn,
  proxy: CuttingProxy,
  hosts: Host[],
  agent: AgentProgram,
): Promise<void> {
  const cli = (...args: string[]) => bundleCli(args, bot.cliEnv);
  const cliJson = async <T = any>(...args: string[]): Promise<T> => {
    const result = await cli(...args, '--json');
    assert.equal(result.code, 0, `c2f-plugin ${args.join(' ')}: ${result.stderr}${result.stdout}`);
    return JSON.parse(result.stdout) as T;
  };
  const api = async <T = any>(route: string): Promise<T> =>
    (
      await fetch(`${bot.url}${route}`, { headers: { authorization: `Bearer ${bot.adminToken}` } })
    ).json() as Promise<T>;
  const jobs = async (rolloutId: string) => (await api<{ jobs: Job[] }>(`/api/admin/rollouts/${rolloutId}`)).jobs;
  const jobOf = async (rolloutId: string, host: Host) => (await jobs(rolloutId)).find((j) => j.hostId === host.id)!;
  const until = (rolloutId: string, host: Host, state: string, what: string) =>
    waitFor(
      async () => {
        const job = await jobOf(rolloutId, host);
        return job?.state === state ? job : undefined;
      },
      `${what} (${host.name} in ${rolloutId} to be ${state})`,
      45_000,
    );

  const s1 = await createStandInSite();
  const s2 = await createStandInSite();
  const packages = await pluginPackages(PLUGIN, ['1.0.0', '1.1.0']);
  const pullDir = await tempDir('c2f-pull-site-');
  const runsLog = path.join(pullDir, 'runs.log');

  async function enrollHost(
    name: string,
    policy: string,
    target: { site: StandInSite } | { pullThrough: string },
  ): Promise<Host> {
    const { host, token } = await cliJson<{ host: { id: string }; token: string }>(
      'hosts',
      'enroll-token',
      '--name',
      name,
      '--plugin',
      `${REPO}:${PLUGIN}`,
      '--policy',
      policy,
      '--allow-private-network',
    );
    const dir = await tempDir(`c2f-${name}-`);
    const configFile = path.join(dir, 'c2f-agent.json');
    const args = [
      'enroll',
      '--bot',
      'site' in target ? bot.url : target.pullThrough,
      '--token',
      token,
      '--config',
      configFile,
      '--data-dir',
      path.join(dir, 'data'),
      '--allow-http-downloads',
    ];
    if ('site' in target)
      args.push('--url', `http://127.0.0.1:${await freePort()}/c2f/jobs`, '--gestor', target.site.gestor);
    else args.push('--installer-command', `echo "$C2F_ACTION $C2F_VERSION" >> ${runsLog}`);
    const enrolled = await runAgent(agent, args);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    const config = JSON.parse(await readFile(configFile, 'utf8'));
    await writeFile(configFile, JSON.stringify({ ...config, pollSeconds: 2 }, null, 2));
    const started = { id: host.id, name, agent: await startBundleAgent(configFile, agent), configFile };
    hosts.push(started);
    return started;
  }
  const notifySite = await enrollHost('notify-site', 'notify', { site: s1 });
  const autoSite = await enrollHost('auto-site', 'auto', { site: s2 });
  const pullSite = await enrollHost('pull-site', 'auto', { pullThrough: proxy.url });

  async function publish(version: string): Promise<string> {
    const release = await publishRelease(github, bot, {
      repository: REPO,
      plugin: PLUGIN,
      version,
      zip: await readFile(packages[version].zip),
    });
    return waitFor(
      async () =>
        (await api<Array<{ id: string; releaseId: number; kind: string }>>('/api/admin/rollouts')).find(
          (r) => r.releaseId === release.id && r.kind === 'release',
        )?.id,
      `the rollout of ${version}`,
    );
  }
  async function pressButton(rolloutId: string, identifier: string): Promise<void> {
    const run = await waitFor(
      () =>
        github.checkRuns.find((r) => r.externalId === rolloutId && r.actions.some((a) => a.identifier === identifier)),
      `the "${identifier}" button on ${rolloutId}'s check run`,
    );
    const pressed = await github.pressCheckRunButton(webhookTarget(bot), run, identifier);
    assert.equal(pressed.status, 200, pressed.body);
  }
  const runs = async () => (await readFile(runsLog, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);

  // 1. Release 1.0.0. The notify host is told and waits; the auto host's site fails silently (Conn2Flow says
  //    ok and does nothing); the pull host's first poll answer is cut mid-way.
  await s2.mode('silent');
  proxy.cutNextJobs = true;
  const r1 = await publish('1.0.0');
  await until(r1, notifySite, 'awaiting_approval', 'the notify host to wait');
  const failed = await until(r1, autoSite, 'failed', 'the silent failure to be reported');
  assert.equal(failed.exitCode, 43);
  await until(r1, pullSite, 'ok', 'the pull host to install after its answer was cut');
  assert.equal(proxy.cuts, 1, 'one poll answer was cut');
  assert.deepEqual(await runs(), ['install 1.0.0'], 'the pull host ran its job exactly once');
  const status = await runAgent(agent, ['status', '--config', notifySite.configFile, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const notified = JSON.parse(status.stdout) as { jobs: Array<{ action: string; status: string }> };
  assert.deepEqual(
    notified.jobs.map((j) => [j.action, j.status]),
    [['notify', 'idle']],
    'the notify host was told, nothing installed',
  );

  // The cause of the failure is visible to the operator.
  const shown = await cli('rollouts', 'show', r1);
  assert.match(shown.stdout, new RegExp(`\\(${autoSite.id}\\)  install  failed  exit 43 VERIFY_FAILED`));
  assert.match(shown.stdout, /manifest\.json is missing/);
  assert.match(
    shown.stdout,
    /\| -- gestor\/logs\/plugins\/installer\.log \(this run\):\n {6}\| \[[^\]]+\] \[PLUGIN:walk-plugin\] Iniciando ação install/,
  );

  // 2. Approve after notify: the install that follows the notify runs.
  const approved = await cliJson<{ changed: Job[] }>('rollouts', 'approve', r1);
  assert.deepEqual(
    approved.changed.map((j) => j.hostId),
    [notifySite.id],
  );
  await until(r1, notifySite, 'ok', 'the approved install');
  assert.equal(await s1.filesVersion(PLUGIN), '1.0.0');

  // 3. Fix the site, retry: a new attempt, which installs.
  await s2.mode('normal');
  assert.equal((await cli('rollouts', 'retry', r1)).code, 0);
  await until(r1, autoSite, 'ok', 'the retried install');
  assert.equal(await s2.filesVersion(PLUGIN), '1.0.0');

  // 4. A forced reinstall of the same package really reinstalls.
  const folder = path.join(s2.gestor, 'plugins', PLUGIN);
  const inode = (await stat(folder)).ino;
  const autoJob = await jobOf(r1, autoSite);
  assert.equal((await cli('rollouts', 'force', r1, autoJob.id)).code, 0);
  await waitFor(async () => {
    const job = await jobOf(r1, autoSite);
    return job.state === 'ok' && job.attemptId !== autoJob.attemptId;
  }, 'the forced reinstall');
  assert.notEqual((await stat(folder)).ino, inode, 'the plugin folder was replaced');
  const history = await cliJson<{ history: Array<{ detail: string | null }> }>('rollouts', 'history', r1, autoJob.id);
  assert.ok(
    history.history.some((h) => h.detail === 'forced reinstall by walkthrough'),
    JSON.stringify(history.history),
  );

  // 5. Release 1.1.0: the auto host's data sync fails midway, so its site is restored to 1.0.0; the
  //    check run's buttons approve the notify host and retry the failed one.
  await s2.mode('sync-fails-once');
  const r2 = await publish('1.1.0');
  const restored = await until(r2, autoSite, 'failed', 'the failed update');
  assert.match(restored.message ?? '', /data sync failed.*; restored to 1\.0\.0$/);
  assert.equal(await s2.filesVersion(PLUGIN), '1.0.0');
  assert.equal((await s2.row(PLUGIN))!.status_execucao, 'erro', "Conn2Flow's admin shows the failure");
  // The log ends with the restore's successful run; the cause leads, without --json.
  const failedShown = await cli('rollouts', 'show', r2);
  assert.match(
    failedShown.stdout,
    /cause \(from the failed run\):\n( {6}\|.*\n)* {6}\| .*SQLSTATE\[HY000\]: General error: 1366 Incorrect integer value/,
  );
  assert.match(
    failedShown.stdout,
    /restored to 1\.0\.0\n {6}cause \(from the failed run\):\n {6}\| Erro: SQLSTATE\[HY000\][^\n]*\n {6}log \(last 12 lines; --json has all\):\n/,
  );
  await until(r2, pullSite, 'ok', "the pull host's update");
  await until(r2, notifySite, 'awaiting_approval', 'the notify host to wait for 1.1.0');
  await pressButton(r2, 'approve-all');
  await until(r2, notifySite, 'ok', 'the update approved from GitHub');
  await pressButton(r2, 'retry-failed');
  await until(r2, autoSite, 'ok', 'the update retried from GitHub');
  assert.deepEqual([await s1.filesVersion(PLUGIN), await s2.filesVersion(PLUGIN)], ['1.1.0', '1.1.0']);

  // 6. Roll one host back from the CLI, then the whole rollout from the check run.
  const one = await cliJson<{ rolloutId: string; changed: Job[] }>('rollouts', 'rollback', r2, '--host', notifySite.id);
  await until(one.rolloutId, notifySite, 'ok', 'the rollback of one host');
  assert.equal(await s1.filesVersion(PLUGIN), '1.0.0');
  await pressButton(r2, 'rollback');
  const all = await waitFor(
    async () =>
      (
        await api<Array<{ id: string; kind: string; originRolloutId: string | null; requestedBy: string | null }>>(
          '/api/admin/rollouts',
        )
      ).find((r) => r.kind === 'rollback' && r.originRolloutId === r2 && r.id !== one.rolloutId),
    'the rollback rollout requested from GitHub',
  );
  assert.equal(all.requestedBy, 'octocat (GitHub)');
  for (const host of [notifySite, autoSite, pullSite])
    await until(all.id, host, 'ok', 'the rollback of the whole rollout');
  assert.deepEqual([await s1.filesVersion(PLUGIN), await s2.filesVersion(PLUGIN)], ['1.0.0', '1.0.0']);
  assert.deepEqual((await runs()).slice(-1), ['rollback 1.0.0']);

  // 7. Uninstall, then install the same package again (Conn2Flow alone would skip it as unchanged).
  const removed = await cliJson<{ rolloutId: string }>('hosts', 'uninstall', autoSite.id, '--plugin', PLUGIN);
  await until(removed.rolloutId, autoSite, 'ok', 'the uninstall');
  assert.equal(await s2.filesVersion(PLUGIN), null);
  assert.equal((await s2.row(PLUGIN))!.status, 'D');
  assert.equal((await cli('rollouts', 'force', r1, '--host', autoSite.id)).code, 0);
  await waitFor(
    async () => (await s2.filesVersion(PLUGIN)) === '1.0.0' && (await jobOf(r1, autoSite)).state === 'ok',
    'the reinstall of the same package',
  );

  // What the operator can read back: the inventory the bot plans from, and who did what.
  const host = await cliJson<{ inventory: Array<{ pluginId: string; version: string | null; problem?: string }> }>(
    'hosts',
    'show',
    autoSite.id,
  );
  assert.deepEqual(
    host.inventory.map((e) => [e.pluginId, e.version, e.problem ?? null]),
    [[PLUGIN, '1.0.0', null]],
  );
  const events = await cliJson<Array<{ kind: string; detail: { by?: string } }>>(
    'rollouts',
    'events',
    '--kind',
    'operator_retry',
  );
  assert.deepEqual(
    events.map((e) => e.detail.by),
    ['walkthrough', 'octocat (GitHub)'],
  );
  const listed = await cli('rollouts', 'list');
  assert.match(listed.stdout, /rollback of walk-plugin from 1\.1\.0 by octocat \(GitHub\)/);
  assert.match(listed.stdout, /uninstall of walk-plugin by walkthrough/);
  assert.deepEqual(github.violations, []);
}
