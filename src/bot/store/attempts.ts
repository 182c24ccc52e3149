import type { JobState } from '../../protocol/statuses.ts';
import type { Queryable } from './database.ts';
import { toJob, type HostJob } from './rollouts.ts';

// Operator decisions on existing jobs, set-based. A new attempt (approval, retry, forced reinstall) gives a
// job a new attempt id, which the host has never seen and therefore runs; what the last attempt left behind
// (exit code, report) is cleared, and the job goes back to the queue with its delivery tries at zero.

/** Which jobs an operator action applies to: one job, listed jobs, or every job of a rollout in the right state. */
export interface JobSelection {
  rolloutId: string;
  jobIds?: readonly string[];
}

export interface AttemptRequest {
  reason: string;
  requestedBy: string | null;
  /** Set the job's force option (install even the same package or a downgrade). */
  force?: boolean;
}

export async function startAttempts(
  tx: Queryable,
  selection: JobSelection,
  from: readonly JobState[],
  request: AttemptRequest,
): Promise<HostJob[]> {
  const rows = await tx.query<Record<string, unknown>>(
    `with moved as (
       update host_jobs set state = 'queued', message_id = 'msg_' || gen_random_uuid()::text, attempt_number = attempt_number + 1, attempts = 0, lease_until = null,
         exit_code = null, exit_label = null, installed_version = null, last_report = null,
         force = coalesce($4, force), reason = $5, requested_by = $6, updated_at = now()
       where rollout_id = $1 and ($2::text[] is null or id = any($2)) and state = any($3)
       returning *
     ),
     history as (insert into job_history (job_id, state, detail) select id, 'queued', $5 from moved)
     select * from moved`,
    [selection.rolloutId, selection.jobIds ?? null, from, request.force ?? null, request.reason, request.requestedBy],
  );
  return rows.map(toJob);
}

/** Moves the selected jobs in `from` states to `to` (cancel), with their history. */
export async function moveJobs(
  tx: Queryable,
  selection: JobSelection,
  from: readonly JobState[],
  to: JobState,
  reason: string,
  requestedBy: string | null,
): Promise<HostJob[]> {
  const rows = await tx.query<Record<string, unknown>>(
    `with moved as (
       update host_jobs set state = $4, reason = $5, requested_by = $6, lease_until = null, updated_at = now()
       where rollout_id = $1 and ($2::text[] is null or id = any($2)) and state = any($3)
       returning *
     ),
     history as (insert into job_history (job_id, state, detail) select id, $4, $5 from moved)
     select * from moved`,
    [selection.rolloutId, selection.jobIds ?? null, from, to, reason, requestedBy],
  );
  return rows.map(toJob);
}

/** Records who asked for what (the event log). */
export async function recordOperatorEvent(
  tx: Queryable,
  event: {
    kind: string;
    rolloutId: string;
    jobIds: readonly string[];
    by: string | null;
    detail?: Record<string, unknown>;
  },
): Promise<void> {
  await tx.query(
    `insert into events (kind, job_id, repository, plugin_id, host_id, detail)
     select $1, j.id, r.repository, j.plugin_id, j.host_id, $3::jsonb from host_jobs j join rollouts r on r.id = j.rollout_id where j.id = any($2)`,
    [event.kind, event.jobIds, JSON.stringify({ by: event.by, rolloutId: event.rolloutId, ...event.detail })],
  );
}
