import type { Queryable } from './database.ts';
import { releasesWithIds, type ReleaseRow } from './releases.ts';
import { DELIVERY_HOST_COLUMNS, deliveryContext, type DeliveryContext } from './rollouts.ts';

// A rollout's first pushes are claimed straight from its jobs, a chunk at a time, rather than through one
// queue entry per host: a run lists the rollout's claimable jobs once, then claims them a slice at a time,
// each claim moving the jobs to `delivering` under a lease and returning everything needed to push them, in
// one statement that visits only the slice (a claim that searched the whole rollout each time would cost
// the rollout's size per chunk). Retries and redeliveries (attempts > 0) stay on the per-job queue.
//
// A job is claimable when it is queued and never tried, or when it is delivering under a lease that ran out
// (the process that claimed it died). It waits while another job for the same host and plugin is being
// delivered: one push in flight per host and plugin, whichever path sent it. A job another run claimed
// after the listing is skipped by the claim (locked, or no longer claimable).

// Pull-mode hosts (no URL) are left out: their jobs stay queued until the host's next poll takes them.
// `offset 0` keeps the in-flight check a lookup per job (PostgreSQL does not turn such a subquery into a join):
// as a join, the planner, which cannot know the size of a rollout created a moment ago, read every job being
// delivered for every job claimed (test/bot/first-push-claims.test.ts).
const CLAIMABLE = `
  exists (select 1 from hosts h where h.id = j.host_id and h.url is not null)
  and ((j.state = 'queued' and j.attempts = 0) or (j.state = 'delivering' and j.lease_until < now()))
  and not exists (
    select 1 from host_jobs o
    where o.host_id = j.host_id and o.plugin_id = j.plugin_id and o.state = 'delivering' and o.id <> j.id
      and (o.lease_until is null or o.lease_until >= now())
    offset 0
  )`;

/** A claimed job; `takenOver` when its previous claim's lease ran out (the process holding it died). */
export type ClaimedPush = DeliveryContext & { takenOver: boolean };

/** The ids of the rollout's jobs claimable now, in the order they are pushed. */
export async function listFirstPushes(db: Queryable, rolloutId: string): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `select j.id from host_jobs j where j.rollout_id = $1 and j.state in ('queued', 'delivering') and ${CLAIMABLE} order by j.id`,
    [rolloutId],
  );
  return rows.map((row) => row.id);
}

/**
 * Claims those of the given jobs that are still claimable and not locked by another claim. Their releases
 * come from `releases`, which a run keeps between its claims (a release does not change once resolved):
 * one read of each, rather than a copy in every row of every claim.
 *
 * The jobs are found by id only: the rest of the condition, wrapped in `is true`, is checked on each job found
 * and never used to find them. Otherwise the planner, whose statistics predate a rollout created a moment ago,
 * reads every job of the rollout (or every job not started) for each claim: a cost that grows with the
 * rollout's size, for every chunk of it (test/bot/first-push-claims.test.ts).
 */
export async function claimFirstPushes(
  db: Queryable,
  rolloutId: string,
  jobIds: readonly string[],
  leaseSeconds: number,
  releases = new Map<number, ReleaseRow>(),
): Promise<ClaimedPush[]> {
  const rows = await db.query<Record<string, unknown>>(
    `with picked as (
       select j.id, j.state = 'delivering' as taken_over from host_jobs j
       where j.id = any($2) and (j.rollout_id = $1 and ${CLAIMABLE}) is true
       for update of j skip locked
     ),
     jobs as (
       update host_jobs j set state = 'delivering', attempts = j.attempts + 1, lease_until = now() + $3 * interval '1 second', reason = null, updated_at = now()
       from picked where j.id = picked.id returning j.*, picked.taken_over
     ),
     history as (insert into job_history (job_id, state, detail) select id, 'delivering', case when taken_over then 'taken over: the lease of the process that held it ran out' end from jobs)
     select jobs.*, ${DELIVERY_HOST_COLUMNS} from jobs join hosts h on h.id = jobs.host_id order by jobs.id`,
    [rolloutId, jobIds, leaseSeconds],
  );
  const missing = [...new Set(rows.map((row) => Number(row.release_id)))].filter((id) => !releases.has(id));
  for (const release of await releasesWithIds(db, missing)) releases.set(release.id, release);
  return rows.map((row) => ({
    ...deliveryContext(row, row, releases.get(Number(row.release_id))!),
    takenOver: Boolean(row.taken_over),
  }));
}

/**
 * Rollouts whose first pushes nobody is delivering, for any live process to queue a run for: jobs whose lease
 * ran out while being delivered (the process pushing them died; the run takes them over with the same attempt
 * id), and jobs queued for `queuedSeconds` that no run has claimed. The queue keeps one waiting run per
 * rollout and drops a second; when the waiting run starts and lists the rollout's jobs before the transaction
 * that queued more commits, those are left with no run to push them.
 */
export async function rolloutsWithUnclaimedPushes(
  db: Queryable,
  queuedSeconds = 5,
): Promise<Array<{ rolloutId: string; jobs: number }>> {
  const rows = await db.query<{ rollout_id: string; n: number }>(
    `select j.rollout_id, count(*)::int as n from host_jobs j join hosts h on h.id = j.host_id
     where h.url is not null and (
       (j.state = 'delivering' and j.lease_until < now())
       or (j.state = 'queued' and j.attempts = 0 and j.updated_at < now() - $1 * interval '1 second')
     )
     group by j.rollout_id`,
    [queuedSeconds],
  );
  return rows.map((r) => ({ rolloutId: r.rollout_id, jobs: r.n }));
}

/**
 * What is left of a rollout's first pushes that this process cannot claim now: jobs waiting behind another
 * push to the same host and plugin, and jobs under another process's lease (with the time it runs out).
 */
export async function firstPushesLeft(
  db: Queryable,
  rolloutId: string,
): Promise<{ waiting: number; leaseEndsAt: Date | null }> {
  const [row] = await db.query<{ waiting: number; lease_ends_at: Date | string | null }>(
    `select count(*) filter (where j.state = 'queued' and j.attempts = 0 and h.url is not null)::int as waiting,
            max(j.lease_until) filter (where j.state = 'delivering') as lease_ends_at
     from host_jobs j join hosts h on h.id = j.host_id where j.rollout_id = $1`,
    [rolloutId],
  );
  return { waiting: row.waiting, leaseEndsAt: row.lease_ends_at ? new Date(row.lease_ends_at) : null };
}
