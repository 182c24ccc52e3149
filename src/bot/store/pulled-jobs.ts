import type { Queryable } from './database.ts';
import { DELIVERY_COLUMNS, DELIVERY_JOINS, toDeliveryContext, type DeliveryContext } from './rollouts.ts';

// Pull mode: a host behind NAT takes its jobs from the answer to its long poll. A job handed out is leased,
// not delivered: it stays `delivering` until the host reports on it (its first report says "received"), and
// it is handed out again, with the same attempt id, once the lease runs out. So a poll whose answer never
// arrives (the connection cut mid-answer, the host restarted) loses nothing, and the host, which keys on the
// attempt id, runs it once.

/**
 * Leases the host's jobs that are waiting (queued) or whose lease ran out, and returns what building their
 * messages needs; one statement, so two polls at once never take the same job.
 */
export async function leasePulledJobs(db: Queryable, hostId: string, leaseSeconds: number): Promise<DeliveryContext[]> {
  const rows = await db.query<Record<string, unknown>>(
    `with picked as (
       select j.id from host_jobs j
       where j.host_id = $1 and (j.state = 'queued' or (j.state = 'delivering' and j.lease_until < now()))
       order by j.created_at for update of j skip locked
     ),
     jobs as (
       update host_jobs j set state = 'delivering', attempts = j.attempts + 1, lease_until = now() + $2 * interval '1 second', updated_at = now()
       from picked where j.id = picked.id returning j.*
     ),
     history as (insert into job_history (job_id, state, detail) select id, 'delivering', 'handed to the host in a poll answer (pull mode), leased until it reports' from jobs)
     select ${DELIVERY_COLUMNS} from jobs ${DELIVERY_JOINS}`,
    [hostId, leaseSeconds],
  );
  return rows.map(toDeliveryContext);
}

/** The answer did not reach the host (the connection closed first): the jobs may be handed out at once. */
export async function endLeases(db: Queryable, jobIds: readonly string[]): Promise<void> {
  if (!jobIds.length) return;
  await db.query("update host_jobs set lease_until = now() where id = any($1) and state = 'delivering'", [jobIds]);
}
