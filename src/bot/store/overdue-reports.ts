import type { Queryable } from './database.ts';
import { DELIVERY_COLUMNS, DELIVERY_JOINS, toDeliveryContext, type DeliveryContext } from './rollouts.ts';

// Jobs a host took (delivered, in progress) whose report has not come. A report can be lost for good: the
// bot stopped while the host's report was on its way and the host gave up, or the host lost its journal. So
// the bot asks again (a push host answers a repeat of the attempt with its report so far), and a job the
// host has said nothing about past its deadline fails with that reason instead of waiting forever.

const AWAITING = `j.state in ('delivered', 'in_progress')`;

/**
 * Claims push hosts' jobs whose report is overdue (no word for `askAfterSeconds` since their last change or
 * the last ask) and sets their next ask; one statement, so two bot processes never ask about the same job.
 */
export async function claimOverdueReports(
  db: Queryable,
  askAfterSeconds: number,
  limit = 200,
): Promise<DeliveryContext[]> {
  const rows = await db.query<Record<string, unknown>>(
    `with picked as (
       select j.id from host_jobs j join hosts h on h.id = j.host_id
       where ${AWAITING} and h.url is not null
         and greatest(coalesce(j.report_due_at, '-infinity'), j.updated_at + $1 * interval '1 second') < now()
       order by j.updated_at limit $2 for update of j skip locked
     ),
     jobs as (
       update host_jobs j set report_due_at = now() + $1 * interval '1 second' from picked where j.id = picked.id returning j.*
     )
     select ${DELIVERY_COLUMNS} from jobs ${DELIVERY_JOINS}`,
    [askAfterSeconds, limit],
  );
  return rows.map(toDeliveryContext);
}

/** Fails the jobs the host has said nothing about for `deadlineSeconds` (the job's deadline); returns them. */
export async function failSilentJobs(
  db: Queryable,
  deadlineSeconds: number,
): Promise<Array<{ id: string; rolloutId: string; hostId: string }>> {
  const rows = await db.query<{ id: string; rollout_id: string; host_id: string }>(
    `with moved as (
       update host_jobs j set state = 'failed', lease_until = null, report_due_at = null, updated_at = now(),
         reason = 'no report from the host since ' || to_char(j.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
           || ' (it was ' || replace(j.state, '_', ' ') || '), and the job''s deadline has passed: check the agent, then retry the job'
       where ${AWAITING} and j.updated_at < now() - $1 * interval '1 second'
       returning j.id, j.rollout_id, j.host_id, j.plugin_id, j.reason
     ),
     history as (insert into job_history (job_id, state, detail) select id, 'failed', reason from moved),
     logged as (
       insert into events (kind, host_id, job_id, repository, plugin_id, detail)
       select 'report_missing', m.host_id, m.id, r.repository, m.plugin_id, jsonb_build_object('message', m.reason) from moved m join rollouts r on r.id = m.rollout_id
     )
     select id, rollout_id, host_id from moved`,
    [deadlineSeconds],
  );
  return rows.map((r) => ({ id: r.id, rolloutId: r.rollout_id, hostId: r.host_id }));
}
