import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Agent } from '../../src/agent/agent.ts';
import { loadConfig } from '../../src/agent/config.ts';
import { enrollAgent } from '../../src/agent/enroll.ts';
import type { RunningBot } from '../../src/bot/server.ts';
import { startTestBot } from '../bot/test-bot.ts';
import { createEnrollment } from '../../src/bot/store/hosts.ts';
import type { Database } from '../../src/bot/store/database.ts';
import { rolloutJobs } from '../../src/bot/store/rollouts.ts';
import { freshDatabase } from '../bot/databases.ts';
import { packageWith, MANIFEST } from '../agent/raw-zip.ts';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { tempDir, waitFor } from '../helpers.ts';
import { publishRelease } from './publish-release.ts';

// The real bot and a real agent in pull mode (enrolled without a URL, behind NAT): the job comes in the
// signed answer to a long poll, the package from the bot's own link (private repository), and the bot is
// down while the agent reports: the reports wait in the agent's outbox and arrive once it is back.

const REPOSITORY = 'conn2flow/private-plugins';
const WEBHOOK_SECRET = 'pull-mode-secret';
const github = new GitHubStandIn();
let db: Database;
let running: RunningBot & { url: string };
let server: Server;
let port = 0;
let agent: Agent | undefined;
let startServer: () => Promise<void>;

before(async () => {
  await github.start();
  db = await freshDatabase('pglite');
  port = await new Promise<number>((resolve) => {
    const probe = createNetServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as { port: number };
      probe.close(() => resolve(free));
    });
  });
  running = await startTestBot(github, db, {
    env: { WEBHOOK_SECRET, C2F_BOT_URL: `http://127.0.0.1:${port}`, C2F_CHECK_RUN_DELAY_SECONDS: '1' },
    overrides: { queue: { resolveRetry: { retryDelay: 1, retryDelayMax: 1 } }, pollCheckMs: 100 },
    port,
  });
  server = running.server;
  startServer = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
});

after(async () => {
  await agent?.stop();
  await running?.stop();
  await github.stop();
});

async function stopServer(): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

test('pull mode end to end, with the bot down while the agent reports', { timeout: 90_000 }, async () => {
  const { token } = await createEnrollment(db, {
    name: 'behind-nat',
    policy: 'auto',
    channel: 'stable',
    plugins: [{ repository: REPOSITORY, pluginId: 'demo-plugin' }],
    allowPrivateNetwork: true,
  });
  const dir = await tempDir('c2f-agent-');
  const marker = path.join(dir, 'installing');
  const enrolled = await enrollAgent({
    botUrl: `http://127.0.0.1:${port}`,
    token,
    configFile: path.join(dir, 'c2f-agent.json'),
    url: null,
    listen: null,
    allowHttpDownloads: true,
    // The installer takes a moment, long enough to take the bot down before the agent reports the result.
    installer: { type: 'command', command: ['/bin/sh', '-c', `touch ${marker}; sleep 1.5; echo installed`] },
  });
  assert.equal(enrolled.pollMode, true);
  const config = await loadConfig(enrolled.configFile);
  agent = new Agent({ ...config, pollSeconds: 2 }, { log: () => {} });
  assert.deepEqual(await agent.start(), { url: null });

  const zip = packageWith([], MANIFEST('demo-plugin', '1.0.0'));
  const release = await publishRelease(
    github,
    { url: `http://127.0.0.1:${port}`, webhookSecret: WEBHOOK_SECRET },
    { repository: REPOSITORY, plugin: 'demo-plugin', version: '1.0.0', zip },
  );

  // The agent pulled the job and downloaded the package from the bot; now the bot goes away.
  await waitFor(
    () =>
      stat(marker).then(
        () => true,
        () => false,
      ),
    'the installer to start',
  );
  await stopServer();
  await waitFor(() => agent!.journal.recentAttempts(1)[0]?.phase === 'done', 'the job to finish on the host');
  const [jobBefore] = await db.query<{ state: string }>('select state from host_jobs where host_id = $1', [
    enrolled.hostId,
  ]);
  assert.notEqual(jobBefore.state, 'ok', 'the bot cannot know yet');
  assert.ok(agent.journal.pendingReports() >= 1);

  await startServer();
  const rollout = await waitFor(
    async () => (await db.query<{ id: string }>('select id from rollouts where release_id = $1', [release.id]))[0],
    'the rollout',
  );
  const job = await waitFor(
    async () => (await rolloutJobs(db, rollout.id)).find((j) => j.state === 'ok'),
    'the report to arrive after the bot came back',
    60_000,
  );
  assert.deepEqual([job.exitCode, job.exitLabel, job.installedVersion], [0, 'OK', '1.0.0']);
  // The heartbeat's inventory now carries the new version.
  await waitFor(async () => {
    const [host] = await db.query<{ inventory: unknown }>('select inventory from hosts where id = $1', [
      enrolled.hostId,
    ]);
    const inventory = typeof host.inventory === 'string' ? JSON.parse(host.inventory) : host.inventory;
    return (inventory as Array<{ version: string }>).some((p) => p.version === '1.0.0');
  }, 'the inventory in a heartbeat');
});
