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
// (a thousand hosts being pushed to: each claim of 50 read 50 times every job in flight). Likewise the jobs
// claimed must be found by id: with the same statistics the planner read every job of the new rollout for each
// claim, so a rollout to 5,000 hosts read 5,000 jobs fifty times over.

const HOSTS = 120;
const CHUNK = 50;

interface PlanNode {
  'Node Type'?: string;
  'Relation Name'?: string;
  Alias?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows the plan's scans read from host_jobs over all their loops: by the in-flight check (alias `o`), or the rest. */
function rowsRead(node: PlanNode, byCheck: boolean): number {
  const own =
    node['Relation Name'] === 'host_jobs' && node['Node Type']?.endsWith('Scan') && (node.Alias === 'o') === byCheck
      ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1)
      : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child, byCheck), 0);
}

for (const engine of ENGINES)
  test(`${engine}: a claim visits only its slice of the rollout and looks up each job's host once, however many pushes are in flight`, {
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
    const read = rowsRead(root[0].Plan, true);
    assert.ok(
      read <= CHUNK,
      `claiming ${CHUNK} jobs read ${read} rows of jobs in flight (${HOSTS} in flight): the check is not a lookup per job`,
    );
    // Each job claimed is read twice (found and locked, then updated); the rollout's other jobs not at all.
    const found = rowsRead(root[0].Plan, false);
    assert.ok(
      found <= 2 * CHUNK,
      `claiming ${CHUNK} of a rollout's ${HOSTS} jobs read ${found} rows of jobs: the claim did not visit only its slice`,
    );

    const claimed = await claimFirstPushes(db, fresh.rolloutId, ids.slice(0, CHUNK), 60);
    assert.equal(claimed.length, CHUNK, 'and the claim itself takes them');
  });
