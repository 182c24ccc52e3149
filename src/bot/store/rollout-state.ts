import type { Hold } from '../../protocol/statuses.ts';
import type { Queryable } from './database.ts';
import { toJob, toRollout, type HostJob, type RolloutRow, type RolloutState } from './rollouts.ts';

// A staged rollout's own state, and the set-based moves of its jobs that go with it: holding every job that
// has not started (pause, halt), letting them go again (resume), releasing or re-holding pending jobs (the
// rollout's controller), blocking those whose dependency is missing. Each move names the states it expects,
// so running one twice changes nothing the second time.

/** Not sent yet: what a pause or halt holds back. A job already being delivered or run goes on. */
const UNSENT = `(state = 'pending' or state = 'awaiting_approval' or (state = 'queued' and attempts = 0))`;

/** The rollout, its row locked until the transaction ends: one controller or operator change at a time. */
export async function lockRollout(tx: Queryable, rolloutId: string): Promise<RolloutRow | undefined> {
  const [row] = await tx.query<Record<string, unknown>>('select * from rollouts where id = $1 for update', [rolloutId]);
  return row && toRollout(row);
}

export async function setRolloutState(
  tx: Queryable,
  rolloutId: string,
  fields: {
    state?: RolloutState;
    reason?: string | null;
    currentWave?: number;
    acceptedWave?: number;
    approvedWave?: number;
    soakUntil?: Date | null;
    startAt?: Date | null;
  },
): Promise<void> {
  const sets: string[] = [];
  const values: unknown[] = [rolloutId];
  const add = (column: string, value: unknown) => {
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  };
  if (fields.state !== undefined) add('state', fields.state);
  if (fields.reason !== undefined) add('state_reason', fields.reason);
  if (fields.currentWave !== undefined) add('current_wave', fields.currentWave);
  if (fields.acceptedWave !== undefined) add('accepted_wave', fields.acceptedWave);
  if (fields.approvedWave !== undefined) add('approved_wave', fields.approvedWave);
  if (fields.soakUntil !== undefined) add('soak_until', fields.soakUntil?.toISOString() ?? null);
  if (fields.startAt !== undefined) add('start_at', fields.startAt?.toISOString() ?? null);
  if (sets.length) await tx.query(`update rollouts set ${sets.join(', ')} where id = $1`, values);
}

/** Holds every unsent job of the rollout (pause, halt); returns them. */
export async function holdUnsentJobs(
  tx: Queryable,
  rolloutId: string,
  hold: Extract<Hold, 'paused' | 'halted'>,
  reason: string,
): Promise<HostJob[]> {
  const rows = await tx.query<Record<string, unknown>>(
    `with moved as (
       update host_jobs set release_to = case when state = 'pending' then release_to else state end, state = 'pending', hold = $2, reason = $3, lease_until = null, updated_at = now()
       where rollout_id = $1 and ${UNSENT} and hold is distinct from $2 returning *
     ),
     history as (insert into job_history (job_id, state, detail) select id, 'pending', $3 from moved)
     select * from moved`,
    [rolloutId, hold, reason],
  );
  return rows.map(toJob);
}

/**
 * Holds the jobs a scheduled start keeps back: those of the waves under way that could go out now (queued and
 * never sent, waiting for approval, or held by what the controller decides); returns how many.
 */
export async function holdForSchedule(
  tx: Queryable,
  rolloutId: string,
  currentWave: number,
  until: Date,
  reason: string,
): Promise<number> {
  const rows = await tx.query(
    `with moved as (
       update host_jobs set release_to = case when state = 'pending' then release_to else state end, state = 'pending', hold = 'scheduled', reason = $3, hold_until = $4, lease_until = null, updated_at = now()
       where rollout_id = $1 and wave <= $2
         and ((state = 'queued' and attempts = 0) or state = 'awaiting_approval'
              or (state = 'pending' and hold in ('window', 'release_age', 'dependency', 'scheduled')))
       returning id
     ),
     history as (insert into job_history (job_id, state, detail) select id, 'pending', $3 from moved)
     select id from moved`,
    [rolloutId, currentWave, reason, until.toISOString()],
  );
  return rows.length;
}

/** Lets paused or halted jobs wait for their wave again (the controller decides the rest). */
export async function unholdJobs(tx: Queryable, rolloutId: string): Promise<number> {
  const rows = await tx.query(
    `update host_jobs set hold = 'wave', reason = 'waits for its wave', updated_at = now()
     where rollout_id = $1 and state = 'pending' and hold in ('paused', 'halted') returning id`,
    [rolloutId],
  );
  return rows.length;
}

/** Cancels every unsent job (abort); returns them. */
export async function cancelUnsentJobs(
  tx: Queryable,
  rolloutId: string,
  reason: string,
  by: string | null,
): Promise<HostJob[]> {
  const rows = await tx.query<Record<string, unknown>>(
    `with moved as (
       update host_jobs set state = 'cancelled', hold = null, reason = $2, requested_by = coalesce($3, requested_by), lease_until = null, updated_at = now()
       where rollout_id = $1 and ${UNSENT} returning *
     ),
     history as (insert into job_history (job_id, state, detail) select id, 'cancelled', $2 from moved)
     select * from moved`,
    [rolloutId, reason, by],
  );
  return rows.map(toJob);
}

/** Cancels the unsent jobs of rollback rollouts that would install this release (it was yanked); returns them. */
export async function cancelRollbacksTo(
  tx: Queryable,
  releaseId: number,
  reason: string,
  by: string | null,
): Promise<HostJob[]> {
  const rows = await tx.query<Record<string, unknown>>(
    `with moved as (
       update host_jobs j set state = 'cancelled', hold = null, reason = $2, requested_by = coalesce($3, j.requested_by), lease_until = null, updated_at = now()
       from rollouts r
       where r.id = j.rollout_id and r.kind = 'rollback' and j.release_id = $1
         and (j.state in ('pending', 'awaiting_approval') or (j.state = 'queued' and j.attempts = 0))
       returning j.*
     ),
     history as (insert into job_history (job_id, state, detail) select id, 'cancelled', $2 from moved)
     select * from moved`,
    [releaseId, reason, by],
  );
  return rows.map(toJob);
}

/** Tells every follower of the rollout that something about it changed which none of its rows shows (its release's yank). */
export async function announceRollout(tx: Queryable, rolloutId: string): Promise<void> {
  await tx.query(`select pg_notify('c2f_changes', 'r:' || $1::text)`, [rolloutId]);
}

/** The release's own rollout, locked until the transaction ends. */
export async function lockReleaseRollout(tx: Queryable, releaseId: number): Promise<RolloutRow | undefined> {
  const [row] = await tx.query<{ id: string }>("select id from rollouts where release_id = $1 and kind = 'release'", [
    releaseId,
  ]);
  return row ? lockRollout(tx, row.id) : undefined;
}

/** Says why a wave's held jobs wait (a wave reached that waits for approval); their state does not change. */
export async function explainWaveHold(tx: Queryable, rolloutId: string, wave: number, reason: string): Promise<void> {
  await tx.query(
    "update host_jobs set reason = $3 where rollout_id = $1 and wave = $2 and state = 'pending' and hold = 'wave'",
    [rolloutId, wave, reason],
  );
}

/** Pending jobs the controller releases: each goes to the state it was held from. */
export async function releaseJobs(tx: Queryable, jobIds: readonly string[]): Promise<HostJob[]> {
  if (!jobIds.length) return [];
  const rows = await tx.query<Record<string, unknown>>(
    `with moved as (
       update host_jobs set state = coalesce(release_to, 'queued'), hold = null, release_to = null, reason = null, updated_at = now()
       where id = any($1) and state = 'pending' returning *
     ),
     history as (insert into job_history (job_id, state, detail) select id, state, 'released' from moved)
     select * from moved`,
    [jobIds],
  );
  return rows.map(toJob);
}

/** Pending jobs whose hold or its reason changed (a later window, a dependency on its way). */
export async function reholdJobs(
  tx: Queryable,
  holds: ReadonlyArray<{ id: string; hold: Hold; reason: string; until: Date | null }>,
): Promise<void> {
  if (!holds.length) return;
  await tx.query(
    `update host_jobs j set hold = h.hold, reason = h.reason, hold_until = h.until, updated_at = now()
     from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) as h(id, hold, reason, until)
     where j.id = h.id and j.state = 'pending'
       and (j.hold is distinct from h.hold or j.reason is distinct from h.reason or j.hold_until is distinct from h.until)`,
    [
      holds.map((h) => h.id),
      holds.map((h) => h.hold),
      holds.map((h) => h.reason),
      holds.map((h) => h.until?.toISOString() ?? null),
    ],
  );
}

/** Pending jobs a missing dependency blocks (exit 30), with their events. */
export async function blockJobs(tx: Queryable, blocks: ReadonlyArray<{ id: string; reason: string }>): Promise<void> {
  if (!blocks.length) return;
  await tx.query(
    `with input as (select * from unnest($1::text[], $2::text[]) as b(id, reason)),
     moved as (
       update host_jobs j set state = 'blocked', hold = null, release_to = null, reason = input.reason, exit_code = 30, exit_label = 'DEPENDENCY', updated_at = now()
       from input where j.id = input.id and j.state = 'pending' returning j.*, input.reason as why
     ),
     history as (insert into job_history (job_id, state, detail) select id, 'blocked', why from moved)
     insert into events (kind, host_id, job_id, repository, plugin_id, detail)
     select 'job_blocked', m.host_id, m.id, r.repository, m.plugin_id, jsonb_build_object('reason', m.why, 'rolloutId', r.id) from moved m join rollouts r on r.id = m.rollout_id`,
    [blocks.map((b) => b.id), blocks.map((b) => b.reason)],
  );
}

/** A rollout-level event (wave started, halted, paused, resumed, aborted, completed). */
export async function recordRolloutEvent(
  tx: Queryable,
  rolloutId: string,
  kind: string,
  detail: Record<string, unknown>,
): Promise<void> {
  await tx.query(
    `insert into events (kind, repository, plugin_id, detail) select $2, repository, plugin_id, $3::jsonb || jsonb_build_object('rolloutId', id) from rollouts where id = $1`,
    [rolloutId, kind, JSON.stringify(detail)],
  );
}

/**
 * Running rollouts (the controller marks those with nothing left completed), and halted ones whose strategy
 * rolls back on a halt (jobs that were still running at the halt are rolled back as they finish).
 */
export async function rolloutsToAdvance(db: Queryable): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    "select id from rollouts where state = 'running' or (state = 'halted' and (strategy->>'rollbackOnHalt')::boolean) order by created_at limit 500",
  );
  return rows.map((r) => r.id);
}

/** Rollouts with jobs on these hosts (every host: "*") that wait for a dependency (a job of the host just finished). */
export async function rolloutsWaitingOnHosts(db: Queryable, hostIds: readonly string[] | '*'): Promise<string[]> {
  const rows = await db.query<{ rollout_id: string }>(
    `select distinct rollout_id from host_jobs
     where state = 'pending' and hold = 'dependency' and ($1::text[] is null or host_id = any($1))`,
    [hostIds === '*' ? null : hostIds],
  );
  return rows.map((r) => r.rollout_id);
}

/** Hosts of a halted rollout whose jobs finished (ok, or failed after changing the site), that had a version before, and that no rollback of it covers yet. */
export async function hostsToRollBack(tx: Queryable, rolloutId: string): Promise<string[]> {
  const rows = await tx.query<{ host_id: string }>(
    `select j.host_id from host_jobs j where j.rollout_id = $1 and j.state in ('ok', 'failed') and j.previous_version is not null
       and not exists (select 1 from rollouts r join host_jobs b on b.rollout_id = r.id where r.origin_rollout_id = $1 and r.kind = 'rollback' and b.host_id = j.host_id)
     order by j.host_id`,
    [rolloutId],
  );
  return rows.map((r) => r.host_id);
}
