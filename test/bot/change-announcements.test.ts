import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHANNEL } from '../../src/bot/changes.ts';
import { addHost, type HostRecord } from '../../src/bot/store/hosts.ts';
import { ENGINES, freshDatabase, testBox } from './databases.ts';
import { resolvedRelease, rolloutOf } from './fixtures.ts';

// What a statement that changes jobs announces on c2f_changes: each host by name up to 200 hosts (a delivery
// claims and records a hundred jobs at a time, and a host's long poll must wake for its own host only), and
// "h:*" past that. Each announcement is followed by a marker sent after it commits, so the test waits for
// the marker instead of for a while.

for (const engine of ENGINES) {
  test(`${engine}: a statement changing the jobs of 200 hosts names each; one changing 201 hosts says "h:*"`, {
    timeout: 120_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const hosts: HostRecord[] = [];
    for (let i = 0; i < 201; i++)
      hosts.push(
        (
          await addHost(db, testBox, {
            name: `h${i}`,
            url: `https://h${i}.example.com/agent`,
            policy: 'auto',
            channel: 'stable',
            plugins: [{ repository: 'conn2flow/plugins', pluginId: 'test-plugin' }],
          })
        ).host,
      );
    const rollout = await rolloutOf(db, await resolvedRelease(db, { id: 1, version: '1.0.0' }), hosts);
    const heard: string[] = [];
    let marker: (() => void) | undefined;
    const stop = await db.listen(
      CHANNEL,
      (payload) => (payload === 'z:marker' ? marker?.() : heard.push(payload)),
      (error) => assert.fail(error),
    );
    const announced = async (sql: string, params: unknown[]) => {
      heard.length = 0;
      const seen = new Promise<void>((resolve) => (marker = resolve));
      await db.query(sql, params);
      await db.query(`select pg_notify($1, 'z:marker')`, [CHANNEL]);
      await seen;
      return heard.filter((payload) => payload.startsWith('h:')).sort();
    };
    try {
      const touch = 'update host_jobs set updated_at = now() where rollout_id = $1 and host_id = any($2)';
      const first200 = hosts.slice(0, 200).map((h) => h.id);
      assert.deepEqual(await announced(touch, [rollout.rolloutId, first200]), first200.map((id) => `h:${id}`).sort());
      assert.deepEqual(await announced(touch, [rollout.rolloutId, hosts.map((h) => h.id)]), ['h:*']);
    } finally {
      await stop();
    }
  });
}
