import assert from 'node:assert/strict';
import { test } from 'node:test';
import { claimFirstPushes, listFirstPushes } from '../../src/bot/store/first-pushes.ts';
import { addHost, type HostRecord } from '../../src/bot/store/hosts.ts';
import { ENGINES, freshDatabase, testBox } from './databases.ts';
import { resolvedRelease, rolloutOf } from './fixtures.ts';

// A claim checks, for each job it takes, that no other push to the same host and plugin is in flight. That
// check must be one index lookup per job, whatever else is in flight: the planner cannot know how large a
// rollout created a moment ago is (its statistics predate it), and with the check written as a plain join it
// chose to read every job being delivered, for every job claimed, so claims slowed down as pushes piled up
// (a thousand hosts being pushed to: each claim of 50 read 50 times every job in flight).

const HOSTS = 120;
const CHUNK = 50;

interface PlanNode {
  'Relation Name'?: string;
  Alias?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows the plan read from host_jobs under the alias the in-flight check uses, over all its loops. */
function rowsReadByCheck(node: PlanNode): number {
  const own =
    node['Relation Name'] === 'host_jobs' && node.Alias === 'o'
      ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1)
      : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsReadByCheck(child), 0);
}

for (const engine of ENGINES)
  test(`${engine}: a claim looks up each job's host once, however many pushes are in flight`, {
    timeout: 120_000,
  }, async () => {
    const db = await freshDatabase(engine);
    const hosts: HostRecord[] = [];
    for (let i = 0; i < HOSTS; i++) {
      const { host } = await addHost(db, testBox, {
        name: `claim-${i}`,
        url: `https://claim-${i}.example.com/c2f`,
        policy: 'auto',
        channel: 'stable',
        plugins: [
          { repository: 'conn2flow/plugins', pluginId: 'in-flight' },
          { repository: 'conn2flow/plugins', pluginId: 'new-one' },
        ],
      });
      hosts.push(host);
    }
    // Statistics taken while nothing is being delivered, as they often are when a large rollout starts.
    await db.query('analyze host_jobs');
    const busy = await rolloutOf(
      db,
      await resolvedRelease(db, { id: 7100, pluginId: 'in-flight', version: '1.0.0' }),
      hosts,
    );
    const inFlight = await listFirstPushes(db, busy.rolloutId);
    for (let i = 0; i < inFlight.length; i += CHUNK)
      await claimFirstPushes(db, busy.rolloutId, inFlight.slice(i, i + CHUNK), 60);

    const fresh = await rolloutOf(
      db,
      await resolvedRelease(db, { id: 7101, pluginId: 'new-one', version: '1.0.0' }),
      hosts,
    );
    const ids = await listFirstPushes(db, fresh.rolloutId);
    assert.equal(ids.length, HOSTS, 'another plugin in flight does not hold these jobs back');
    let claim: { sql: string; params: unknown[] } | undefined;
    await claimFirstPushes(
      {
        query: async (sql, params = []) => {
          claim = { sql, params };
          return [];
        },
      },
      fresh.rolloutId,
      ids.slice(0, CHUNK),
      60,
    );
    const plan = await db
      .transaction(async (tx) => {
        const [row] = await tx.query<{ 'QUERY PLAN': unknown }>(
          `explain (analyze, format json) ${claim!.sql}`,
          claim!.params,
        );
        throw Object.assign(new Error('rolled back'), { plan: row['QUERY PLAN'] });
      })
      .catch((error: { plan?: unknown }) => error.plan);
    const root = (typeof plan === 'string' ? JSON.parse(plan) : plan) as Array<{ Plan: PlanNode }>;
    const read = rowsReadByCheck(root[0].Plan);
    assert.ok(
      read <= CHUNK,
      `claiming ${CHUNK} jobs read ${read} rows of jobs in flight (${HOSTS} in flight): the check is not a lookup per job`,
    );

    const claimed = await claimFirstPushes(db, fresh.rolloutId, ids.slice(0, CHUNK), 60);
    assert.equal(claimed.length, CHUNK, 'and the claim itself takes them');
  });
