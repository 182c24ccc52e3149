import type { Queryable } from './database.ts';
import { lockRollout } from './rollout-state.ts';

// A release first published as a pre-release and later as a release: the hosts on the stable channel, which
// its rollout skipped, get their jobs after all. Each such job is re-planned in place as a pending job of the
// rollout's current wave, so the controller releases it the way it releases any other (maintenance windows,
// release age and dependencies still hold it), and a completed rollout runs again to finish them.

export interface StableJob {
  hostId: string;
  action: string;
  /** What the job becomes once nothing holds it (queued, or awaiting approval). */
  releaseTo: string;
  notify: boolean;
  previousVersion: string | null;
  previousSha256: string | null;
}

/** Re-plans the rollout's jobs skipped for `skipReason`; returns how many. */
export async function replanSkippedJobs(
  tx: Queryable,
  rolloutId: string,
  skipReason: string,
  jobs: readonly StableJob[],
  reason: string,
): Promise<number> {
  if (!jobs.length) return 0;
  // The rollout is locked first, as the controller locks it before it reads the jobs: otherwise a controller
  // that read them before this commits marks the rollout completed after it, over a job this made pending.
  await lockRollout(tx, rolloutId);
  const column = <K extends keyof StableJob>(key: K) => jobs.map((job) => job[key]);
  const moved = await tx.query<{ id: string }>(
    `with input as (
       select * from unnest($3::text[], $4::text[], $5::text[], $6::boolean[], $7::text[], $8::text[])
         as t(host_id, action, release_to, notify, previous_version, previous_sha256)
     ),
     moved as (
       update host_jobs j set state = 'pending', hold = 'wave', release_to = input.release_to, notify = input.notify, action = input.action,
         previous_version = input.previous_version, previous_sha256 = input.previous_sha256, wave = r.current_wave, reason = $9,
         message_id = 'msg_' || gen_random_uuid()::text, attempts = 0, updated_at = now()
       from input, rollouts r
       where r.id = $1 and j.rollout_id = $1 and j.host_id = input.host_id and j.state = 'skipped' and j.reason = $2
       returning j.id
     ),
     history as (insert into job_history (job_id, state, detail) select id, 'pending', $9 from moved)
     select id from moved`,
    [
      rolloutId,
      skipReason,
      column('hostId'),
      column('action'),
      column('releaseTo'),
      column('notify'),
      column('previousVersion'),
      column('previousSha256'),
      reason,
    ],
  );
  if (moved.length)
    await tx.query("update rollouts set state = 'running', state_reason = null where id = $1 and state = 'completed'", [
      rolloutId,
    ]);
  return moved.length;
}

/** The hosts whose jobs in the rollout were skipped for `skipReason`. */
export async function hostsSkippedFor(db: Queryable, rolloutId: string, skipReason: string): Promise<string[]> {
  const rows = await db.query<{ host_id: string }>(
    "select host_id from host_jobs where rollout_id = $1 and state = 'skipped' and reason = $2",
    [rolloutId, skipReason],
  );
  return rows.map((r) => r.host_id);
}
