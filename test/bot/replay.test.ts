import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GitHubStandIn } from '../../dev/github/stand-in.ts';
import { startTestBot } from './test-bot.ts';
import { openPostgres, type Database } from '../../src/bot/store/database.ts';
import { pruneHostMessages } from '../../src/bot/store/host-messages.ts';
import { createEnrollment, enroll, getHost } from '../../src/bot/store/hosts.ts';
import { signMessage } from '../../src/protocol/signing.ts';
import { ENGINES, freshDatabase, testBox } from './databases.ts';
import { resolvedRelease, rolloutOf } from './fixtures.ts';

// A captured poll replayed within the signature window would hand out the host's jobs and their package
// links again: host messages that act are single-use, on both stores and whichever bot process gets the
// replay (the ids live in the shared database).

// The rollouts these tests make report to GitHub: the stand-in answers, so nothing waits on api.github.com.
const github = new GitHubStandIn();
before(() => github.start());
after(() => github.stop());

async function botOn(db: Database): Promise<{ url: string; close: () => Promise<void> }> {
  const running = await startTestBot(github, db, { overrides: { pollCheckMs: 100 } });
  return { url: running.url, close: () => running.stop() };
}

for (const engine of ENGINES) {
  test(`${engine}: a replayed poll is refused by every bot process; a fresh one is answered`, {
    timeout: 60_000,
  }, async () => {
    const db = await freshDatabase(engine);
    // PostgreSQL: a second pool on the same database, as a second process has; PGlite: one process, two servers.
    const secondDb = engine === 'postgres' ? openPostgres(db.connectionString!, 2) : db;
    const first = await botOn(db);
    const second = await botOn(secondDb);
    try {
      const { token } = await createEnrollment(db, {
        name: 'nat',
        policy: 'auto',
        channel: 'stable',
        plugins: [{ repository: 'conn2flow/plugins', pluginId: 'test-plugin' }],
      });
      const { hostId, secret } = await enroll(db, testBox, token, null, '0.1.0');
      await rolloutOf(db, await resolvedRelease(db, { id: 61, version: '1.0.0' }), [(await getHost(db, hostId))!]);
      const body = JSON.stringify({
        type: 'heartbeat',
        protocol: 1,
        hostId,
        agentVersion: '0.1.0',
        inventory: [],
        pollSeconds: 0,
        sentAt: new Date().toISOString(),
      });
      const headers = { 'content-type': 'application/json', ...signMessage(body, [secret], 'msg_captured_poll') };
      const post = (base: string) => fetch(`${base}/api/heartbeat`, { method: 'POST', headers, body });
      const original = await post(first.url);
      assert.equal(original.status, 200);
      assert.equal(((await original.json()) as { jobs: unknown[] }).jobs.length, 1);
      for (const base of [first.url, second.url]) {
        const replay = await post(base);
        assert.equal(replay.status, 409, 'the replay is refused');
        assert.match(((await replay.json()) as { error: string }).error, /already received: a replay is not acted on/);
      }
      const freshBody = JSON.stringify({
        type: 'heartbeat',
        protocol: 1,
        hostId,
        agentVersion: '0.1.0',
        inventory: [],
        pollSeconds: 0,
        sentAt: new Date().toISOString(),
      });
      const fresh = await fetch(`${second.url}/api/heartbeat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signMessage(freshBody, [secret], 'msg_next_poll') },
        body: freshBody,
      });
      assert.equal(fresh.status, 200);
      // Ids are forgotten once no signature could still verify with them.
      await db.query("update host_messages set received_at = now() - interval '20 minutes'");
      assert.equal(await pruneHostMessages(db), 2);
    } finally {
      await first.close();
      await second.close();
      if (secondDb !== db) await secondDb.close();
    }
  });
}
