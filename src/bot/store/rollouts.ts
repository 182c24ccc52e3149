import { randomUUID } from 'node:crypto';
import { newMessageId } from '../../protocol/signing.ts';
import { FINAL_JOB_STATES, type Hold, type JobState } from '../../protocol/statuses.ts';
import type { Report } from '../../protocol/messages.ts';
import type { Database, Queryable } from './database.ts';
import type { Wave } from '../domain.ts';
import { toRelease, type ReleaseRow } from './releases.ts';

// Rollouts and their per-host jobs. A rollout is what one release asked for (one job per following host),
// or what an operator asked for (a rollback, an uninstall). A job is "host H gets plugin P from release R by
// action A"; its current attempt (`attemptId`) is what the host runs, and each new attempt gets a new id.
// Every change is written with its history before anyone is told about it, and every function here can
// run twice with the same effect as once.

export type JobAction = 'install' | 'update' | 'notify' | 'rollback' | 'uninstall';
export type RolloutKind = 'release' | 'rollback' | 'uninstall';

export interface HostJob {
  id: string;
  rolloutId: string;
  hostId: string;
  pluginId: string;
  /** The release whose package this job carries. */
  releaseId: number;
  action: JobAction;
  state: JobState;
  notify: boolean;
  force: boolean;
  reason: string | null;
  /** The current attempt: the message id of its pushes, and what the host keys its journal on. */
  attemptId: string;
  /** Attempts the job has had: the first delivery, then each approval, retry or forced reinstall. */
  attempts: number;
  /** Delivery tries of the current attempt (network retries, takeovers, pull-mode hand-outs). */
  deliveryTries: number;
  exitCode: number | null;
  exitLabel: string | null;
  installedVersion: string | null;
  /** What the host had before this job (what a rollback returns to). */
  previousVersion: string | null;
  previousSha256: string | null;
  requestedBy: string | null;
  /** The host's last report: its message and the tail of the installer's log. */
  message: string | null;
  logTail: string[];
  /** The wave of a staged rollout the job belongs to (0 for the first, and for rollouts without waves). */
  wave: number;
  /** Why a pending job waits; the state it goes to when nothing holds it any more. */
  hold: Hold | null;
  /** Until when the hold lasts, when it is one that ends at a time (a window, the release age, a schedule, a dependency's wait). */
  holdUntil: string | null;
  releaseTo: JobState | null;
  updatedAt: string;
}

export type RolloutState = 'running' | 'paused' | 'halted' | 'aborted' | 'completed';

export interface RolloutRow {
  id: string;
  kind: RolloutKind;
  releaseId: number;
  repository: string;
  pluginId: string;
  version: string;
  originRolloutId: string | null;
  requestedBy: string | null;
  checkRunId: number | null;
  /** The waves the rollout runs (null: every host at once). */
  strategy: StoredStrategy | null;
  state: RolloutState;
  stateReason: string | null;
  currentWave: number;
  /** Waves up to this one went on by the operator's decision, whatever their thresholds say. */
  acceptedWave: number;
  /** Waves up to this one were approved to start (a wave declared with `approval: required` waits for it). */
  approvedWave: number;
  soakUntil: string | null;
  /** No job is sent before this (the repository's minimum release age). */
  notBefore: string | null;
  /** No job is sent before this either: an operator scheduled the start. */
  startAt: string | null;
  createdAt: string;
}

/** A rollout's strategy as stored: its waves (the "rest" wave included) and what a halt does. */
export interface StoredStrategy {
  waves: Wave[];
  rollbackOnHalt: boolean;
}

/** Jobs in these states have not started on the host: a newer release or request supersedes them. */
export const NOT_STARTED: readonly JobState[] = ['pending', 'awaiting_approval', 'queued'];

/** A job to create: who gets what. */
export interface NewJob {
  hostId: string;
  releaseId: number;
  action: JobAction;
  state: JobState;
  notify: boolean;
  force: boolean;
  reason: string | null;
  previousVersion: string | null;
  previousSha256: string | null;
  /** What the event log calls the decision (job_planned, update_nochange, skipped, rollback_requested, ...). */
  event: string;
  wave?: number;
  hold?: Hold | null;
  holdUntil?: string | null;
  /** For a pending job: the state it goes to once released. */
  releaseTo?: JobState | null;
  /** For a job blocked at planning (a missing dependency). */
  exitCode?: number | null;
  exitLabel?: string | null;
}

export interface NewRollout {
  kind: RolloutKind;
  /** The release the rollout is about (for a rollback: the one rolled back). */
  release: ReleaseRow;
  originRolloutId?: string | null;
  requestedBy?: string | null;
  jobs: readonly NewJob[];
  /** A staged release rollout's waves; its id was chosen before the jobs were put in waves. */
  strategy?: StoredStrategy | null;
  notBefore?: string | null;
  rolloutId?: string;
}

export interface CreatedRollout {
  rolloutId: string;
  created: boolean;
  /** Jobs to hand to the delivery queue now. */
  queued: HostJob[];
  jobs: HostJob[];
  /** Other rollouts whose jobs this one superseded (their check runs and controllers look again). */
  supersededIn: string[];
}

/**
 * The rollout of a release, once: a second call returns the same rollout and queues nothing new.
 * `onCreated` runs in the same transaction (queue entries commit with the jobs, or neither does).
 */
export async function createReleaseRollout(
  db: Database,
  release: ReleaseRow,
  jobs: readonly NewJob[],
  onCreated?: (tx: Queryable, jobs: HostJob[]) => Promise<void>,
  staging: Pick<NewRollout, 'strategy' | 'notBefore' | 'rolloutId'> = {},
): Promise<CreatedRollout> {
  return db.transaction(async (tx) => {
    const existing = await tx.query<{ id: string }>(
      "select id from rollouts where release_id = $1 and kind = 'release'",
      [release.id],
    );
    if (existing.length) return { rolloutId: existing[0].id, created: false, queued: [], jobs: [], supersededIn: [] };
    return insertRollout(tx, { kind: 'release', release, jobs, ...staging }, onCreated);
  });
}

/** A new rollout id (a staged rollout needs it before its jobs are put in waves). */
export function newRolloutId(): string {
  return `ro_${randomUUID()}`;
}

/** An operator's rollout (rollback, uninstall), inside the caller's transaction. */
export async function createOperatorRollout(
  tx: Queryable,
  rollout: NewRollout,
  onCreated?: (tx: Queryable, jobs: HostJob[]) => Promise<void>,
): Promise<CreatedRollout> {
  return insertRollout(tx, rollout, onCreated);
}

/** Set-based: a rollout to thousands of hosts is a handful of statements. */
async function insertRollout(
  tx: Queryable,
  rollout: NewRollout,
  onCreated?: (tx: Queryable, jobs: HostJob[]) => Promise<void>,
): Promise<CreatedRollout> {
  const { release } = rollout;
  const rolloutId = rollout.rolloutId ?? newRolloutId();
  await tx.query(
    'insert into rollouts (id, kind, release_id, repository, plugin_id, version, origin_rollout_id, requested_by, strategy, not_before) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
    [
      rolloutId,
      rollout.kind,
      release.id,
      release.repository,
      release.pluginId,
      release.version,
      rollout.originRolloutId ?? null,
      rollout.requestedBy ?? null,
      rollout.strategy ? JSON.stringify(rollout.strategy) : null,
      rollout.notBefore ?? null,
    ],
  );
  const supersededBy =
    rollout.kind === 'release'
      ? `superseded by ${release.version}`
      : `superseded by the ${rollout.kind} requested${rollout.requestedBy ? ` by ${rollout.requestedBy}` : ''}`;
  const { jobs, supersededIn } = await insertJobs(
    tx,
    rolloutId,
    release,
    rollout.jobs,
    rollout.requestedBy ?? null,
    supersededBy,
  );
  const states: Record<string, number> = {};
  for (const job of jobs) states[job.state] = (states[job.state] ?? 0) + 1;
  await tx.query(`insert into events (kind, repository, plugin_id, detail) values ('rollout_planned', $1, $2, $3)`, [
    release.repository,
    release.pluginId,
    JSON.stringify({
      rolloutId,
      kind: rollout.kind,
      version: release.version,
      jobs: jobs.length,
      states,
      waves: rollout.strategy?.waves.length ?? 0,
    }),
  ]);
  if (jobs.length) await onCreated?.(tx, jobs);
  return { rolloutId, created: true, queued: jobs.filter((job) => job.state === 'queued'), jobs, supersededIn };
}

/**
 * Adds jobs to a rollout, with their history and events. Jobs of the same plugin on the same hosts that have
 * not started are superseded by the new ones (one job in flight per host and plugin).
 */
export async function insertJobs(
  tx: Queryable,
  rolloutId: string,
  release: ReleaseRow,
  wanted: readonly NewJob[],
  requestedBy: string | null,
  supersededBy: string,
): Promise<{ jobs: HostJob[]; supersededIn: string[] }> {
  const active = wanted.filter((j) => j.state !== 'skipped').map((j) => j.hostId);
  // Usually nothing of the plugin waits to start: one cheap look saves visiting every host's jobs.
  const waiting = active.length
    ? await tx.query('select 1 from host_jobs where plugin_id = $1 and state = any($2) limit 1', [
        release.pluginId,
        NOT_STARTED,
      ])
    : [];
  let supersededIn: string[] = [];
  if (waiting.length) {
    const rows = await tx.query<{ rollout_id: string }>(
      `with superseded as (
         update host_jobs set state = 'superseded', reason = $3, lease_until = null, updated_at = now()
         where plugin_id = $2 and host_id = any($1) and state = any($4) returning id, rollout_id
       ),
       history as (insert into job_history (job_id, state, detail) select id, 'superseded', $3 from superseded)
       select distinct rollout_id from superseded`,
      [active, release.pluginId, supersededBy, NOT_STARTED],
    );
    supersededIn = rows.map((r) => r.rollout_id);
  }
  const now = new Date().toISOString();
  const jobs: HostJob[] = wanted.map((job) => ({
    id: `job_${randomUUID()}`,
    rolloutId,
    hostId: job.hostId,
    pluginId: release.pluginId!,
    releaseId: job.releaseId,
    action: job.action,
    state: job.state,
    notify: job.notify,
    force: job.force,
    reason: job.reason,
    attemptId: newMessageId(),
    attempts: 1,
    deliveryTries: 0,
    installedVersion: null,
    previousVersion: job.previousVersion,
    previousSha256: job.previousSha256,
    requestedBy,
    message: null,
    logTail: [],
    wave: job.wave ?? 0,
    hold: job.hold ?? null,
    holdUntil: job.holdUntil ?? null,
    releaseTo: job.releaseTo ?? null,
    exitCode: job.exitCode ?? null,
    exitLabel: job.exitLabel ?? null,
    updatedAt: now,
  }));
  if (!jobs.length) return { jobs, supersededIn };
  const column = <K extends keyof HostJob>(key: K) => jobs.map((job) => job[key]);
  // One statement writes the jobs and their first history entries (values the jobs share are passed once).
  await tx.query(
    `with input as (
       select * from unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::boolean[], $9::boolean[], $10::text[], $11::text[], $12::text[], $13::text[],
         $14::int[], $15::text[], $16::text[], $17::int[], $18::text[], $20::timestamptz[])
         as t(id, host_id, release_id, action, state, notify, force, reason, message_id, previous_version, previous_sha256, wave, hold, release_to, exit_code, exit_label, hold_until)
     ),
     jobs as (
       insert into host_jobs (id, rollout_id, host_id, plugin_id, release_id, action, state, notify, force, reason, message_id, previous_version, previous_sha256, requested_by,
         wave, hold, release_to, exit_code, exit_label, hold_until)
       select id, $1, host_id, $2, release_id, action, state, notify, force, reason, message_id, previous_version, previous_sha256, $19, wave, hold, release_to, exit_code, exit_label, hold_until
       from input
       returning id, state, reason
     )
     insert into job_history (job_id, state, detail) select id, state, reason from jobs`,
    [
      rolloutId,
      release.pluginId,
      column('id'),
      column('hostId'),
      column('releaseId'),
      column('action'),
      column('state'),
      column('notify'),
      column('force'),
      column('reason'),
      column('attemptId'),
      column('previousVersion'),
      column('previousSha256'),
      column('wave'),
      column('hold'),
      column('releaseTo'),
      column('exitCode'),
      column('exitLabel'),
      requestedBy,
      column('holdUntil'),
    ],
  );
  // Each job's decision is its first history entry; the event log keeps the ones that are outcomes or
  // requests (no change, blocked, rollback, uninstall, forced): a plain planned job is counted in the
  // rollout's own event instead of one row each.
  const logged = jobs.map((job, i) => ({ job, event: wanted[i].event })).filter(({ event }) => event !== 'job_planned');
  if (logged.length) {
    await tx.query(
      `insert into events (kind, host_id, job_id, repository, plugin_id, detail)
       select kind, host_id, job_id, $4, $5, jsonb_build_object('version', $6::text, 'reason', reason, 'by', $8::text) from unnest($1::text[], $2::text[], $3::text[], $7::text[]) as e(kind, host_id, job_id, reason)`,
      [
        logged.map((l) => l.event),
        logged.map((l) => l.job.hostId),
        logged.map((l) => l.job.id),
        release.repository,
        release.pluginId,
        release.version,
        logged.map((l) => l.job.reason),
        requestedBy,
      ],
    );
  }
  return { jobs, supersededIn };
}

/**
 * Serialises operator requests on one key (two identical clicks at once), until the transaction ends; then
 * an open identical request (same kind, origin, hosts and packages, not all of its jobs final) is the answer
 * to a repeat, so repeating a request never doubles it.
 */
export async function findOpenRequest(
  tx: Queryable,
  kind: RolloutKind,
  pluginId: string,
  originRolloutId: string | null,
  hostReleases: readonly string[],
): Promise<string | undefined> {
  await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`${kind}:${pluginId}:${originRolloutId ?? ''}`]);
  const [row] = await tx.query<{ id: string }>(
    `select r.id from rollouts r
     where r.kind = $1 and r.plugin_id = $2 and r.origin_rollout_id is not distinct from $3
       and exists (select 1 from host_jobs j where j.rollout_id = r.id and not (j.state = any($5)))
       and (select array_agg(j.host_id || ':' || j.release_id order by (j.host_id || ':' || j.release_id) collate "C") from host_jobs j where j.rollout_id = r.id) = $4::text[]
     order by r.created_at desc limit 1`,
    [kind, pluginId, originRolloutId, [...hostReleases].sort(), [...FINAL_JOB_STATES]],
  );
  return row?.id;
}

export async function getRollout(db: Queryable, id: string): Promise<RolloutRow | undefined> {
  const [row] = await db.query<Record<string, unknown>>('select * from rollouts where id = $1', [id]);
  return row && toRollout(row);
}

export async function listRollouts(
  db: Queryable,
  limit = 100,
): Promise<Array<RolloutRow & { jobs: number; states: Record<string, number> }>> {
  const rows = await db.query<Record<string, unknown>>(
    `select r.*, coalesce((select jsonb_object_agg(state, n) from (select state, count(*)::int as n from host_jobs j where j.rollout_id = r.id group by state) s), '{}'::jsonb) as states
     from rollouts r order by r.created_at desc, r.id limit $1`,
    [limit],
  );
  return rows.map((row) => {
    const states = (typeof row.states === 'string' ? JSON.parse(row.states) : row.states) as Record<string, number>;
    return { ...toRollout(row), jobs: Object.values(states).reduce((a, b) => a + b, 0), states };
  });
}

export async function setCheckRun(db: Queryable, rolloutId: string, checkRunId: number): Promise<void> {
  await db.query('update rollouts set check_run_id = $2 where id = $1 and check_run_id is null', [
    rolloutId,
    checkRunId,
  ]);
}

/** The rollout a check run shows (GitHub's requested actions name the check run). */
export async function rolloutOfCheckRun(
  db: Queryable,
  checkRunId: number,
  externalId: string | null,
): Promise<RolloutRow | undefined> {
  const [row] = await db.query<Record<string, unknown>>(
    'select * from rollouts where check_run_id = $1 or id = $2 order by check_run_id = $1 desc limit 1',
    [checkRunId, externalId ?? ''],
  );
  return row && toRollout(row);
}

/** What changes when the rollout or any of its jobs changes (a page following it compares them). */
export async function rolloutSignature(db: Queryable, rolloutId: string): Promise<string | undefined> {
  const [row] = await db.query<{ signature: string }>(
    `select concat_ws('|', r.state, r.current_wave, r.soak_until, r.start_at, r.approved_wave, (select concat(max(updated_at), '/', count(*)) from host_jobs where rollout_id = r.id),
       (select yanked_at from releases where id = r.release_id and r.kind = 'release')) as signature
     from rollouts r where r.id = $1`,
    [rolloutId],
  );
  return row?.signature;
}

export async function getJob(db: Queryable, id: string): Promise<HostJob | undefined> {
  const [row] = await db.query<Record<string, unknown>>('select * from host_jobs where id = $1', [id]);
  return row && toJob(row);
}

/** A page of a rollout's jobs, optionally in one state (the console pages a rollout of thousands of hosts). */
export async function rolloutJobsPage(
  db: Queryable,
  rolloutId: string,
  options: { state?: string; page?: number; perPage?: number } = {},
): Promise<{ jobs: HostJob[]; total: number }> {
  const perPage = Math.min(Math.max(options.perPage ?? 100, 1), 500);
  const page = Math.max(options.page ?? 1, 1);
  const rows = await db.query<Record<string, unknown>>(
    `select j.*, count(*) over ()::int as total from host_jobs j where j.rollout_id = $1 and ($2::text is null or j.state = $2)
     order by j.wave, j.host_id limit $3 offset $4`,
    [rolloutId, options.state || null, perPage, (page - 1) * perPage],
  );
  const total = rows.length
    ? Number(rows[0].total)
    : Number(
        (
          await db.query<{ n: number }>(
            'select count(*)::int as n from host_jobs where rollout_id = $1 and ($2::text is null or state = $2)',
            [rolloutId, options.state || null],
          )
        )[0].n,
      );
  return { jobs: rows.map(toJob), total };
}

/** Each job's wave and state only: what a rollout's wave table counts. */
export async function jobStates(db: Queryable, rolloutId: string): Promise<Array<Pick<HostJob, 'wave' | 'state'>>> {
  return db.query<Pick<HostJob, 'wave' | 'state'>>('select wave, state from host_jobs where rollout_id = $1', [
    rolloutId,
  ]);
}

/** The rollout's jobs, or only those in one state. */
export async function rolloutJobs(db: Queryable, rolloutId: string, state?: JobState): Promise<HostJob[]> {
  const rows = await db.query<Record<string, unknown>>(
    `select * from host_jobs where rollout_id = $1 ${state ? 'and state = $2' : ''} order by host_id`,
    state ? [rolloutId, state] : [rolloutId],
  );
  return rows.map(toJob);
}

/** How many of the rollout's jobs have not reached a final state. */
export async function unfinishedJobs(db: Queryable, rolloutId: string): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    'select count(*)::int as n from host_jobs where rollout_id = $1 and state <> all($2)',
    [rolloutId, [...FINAL_JOB_STATES]],
  );
  return row.n;
}

/** The host's most recent job for a plugin in a release rollout (what a rollback of that host undoes). */
export async function jobOfHost(db: Queryable, rolloutId: string, hostId: string): Promise<HostJob | undefined> {
  const [row] = await db.query<Record<string, unknown>>(
    'select * from host_jobs where rollout_id = $1 and host_id = $2',
    [rolloutId, hostId],
  );
  return row && toJob(row);
}

export async function jobHistory(
  db: Queryable,
  jobId: string,
): Promise<Array<{ state: string; detail: string | null; at: string }>> {
  const rows = await db.query<{ state: string; detail: string | null; at: Date | string }>(
    'select state, detail, at from job_history where job_id = $1 order by id',
    [jobId],
  );
  return rows.map((r) => ({ state: r.state, detail: r.detail, at: new Date(r.at).toISOString() }));
}

/**
 * Moves a job to a new state when it is in one of the expected states; returns false (and changes
 * nothing) otherwise, which makes every caller safe to run twice.
 */
export async function transitionJob(
  db: Queryable,
  jobId: string,
  from: readonly JobState[],
  to: JobState,
  fields: {
    reason?: string | null;
    attempts?: number;
    exitCode?: number | null;
    exitLabel?: string | null;
    installedVersion?: string | null;
    lastReport?: Report;
  } = {},
): Promise<boolean> {
  // One statement: the state change and its history entry are written together, or neither is.
  const rows = await db.query(
    `with moved as (
       update host_jobs set state = $3, reason = $4, attempts = coalesce($5, attempts), exit_code = coalesce($6, exit_code),
         exit_label = coalesce($7, exit_label), installed_version = coalesce($8, installed_version), last_report = coalesce($9, last_report), lease_until = null, updated_at = now()
       where id = $1 and state = any($2) returning id
     )
     insert into job_history (job_id, state, detail) select id, $3, $4 from moved returning job_id`,
    [
      jobId,
      from,
      to,
      fields.reason ?? null,
      fields.attempts ?? null,
      fields.exitCode ?? null,
      fields.exitLabel ?? null,
      fields.installedVersion ?? null,
      fields.lastReport === undefined ? null : JSON.stringify(fields.lastReport),
    ],
  );
  return rows.length > 0;
}

/**
 * transitionJob for many jobs at once (one statement): each moves to `to` with its own reason (and attempt
 * count) when it is in one of the `from` states. With `claim`, a job being delivered under another process's
 * live lease is left to it. Returns the ids that moved.
 */
export async function transitionJobs(
  db: Queryable,
  moves: ReadonlyArray<{ id: string; reason?: string | null; attempts?: number }>,
  from: readonly JobState[],
  to: JobState,
  leaseSeconds = 0,
  options: { claim?: boolean } = {},
): Promise<Set<string>> {
  if (!moves.length) return new Set();
  // A job moved to `delivering` is leased: if this process dies mid-push, any other takes it over once the
  // lease runs out.
  const rows = await db.query<{ job_id: string }>(
    `with input as (select * from unnest($1::text[], $2::text[], $3::int[]) as t(id, reason, attempts)),
     moved as (
       update host_jobs j set state = $5, reason = input.reason, attempts = coalesce(input.attempts, j.attempts),
         lease_until = case when $6::int > 0 then now() + $6::int * interval '1 second' end, updated_at = now()
       from input where j.id = input.id and j.state = any($4)
         and ($7::boolean is not true or j.state <> 'delivering' or j.lease_until is null or j.lease_until < now())
       returning j.id, input.reason
     )
     insert into job_history (job_id, state, detail) select id, $5, reason from moved returning job_id`,
    [
      moves.map((m) => m.id),
      moves.map((m) => m.reason ?? null),
      moves.map((m) => m.attempts ?? null),
      from,
      to,
      leaseSeconds,
      options.claim ?? false,
    ],
  );
  return new Set(rows.map((r) => r.job_id));
}

/** An event per job, with the job's host, plugin, repository and the reason it holds now. */
export async function recordJobEvents(db: Queryable, kind: string, jobIds: readonly string[]): Promise<void> {
  if (!jobIds.length) return;
  await db.query(
    `insert into events (kind, host_id, job_id, repository, plugin_id, detail)
     select $1, j.host_id, j.id, r.repository, j.plugin_id, jsonb_build_object('message', j.reason, 'rolloutId', j.rollout_id)
     from host_jobs j join rollouts r on r.id = j.rollout_id where j.id = any($2::text[])`,
    [kind, jobIds],
  );
}

/** Everything a delivery needs, in one query: the job, its host (with sealed secrets) and its release. */
export interface DeliveryContext {
  job: HostJob;
  host: {
    id: string;
    url: string | null;
    allowPrivateNetwork: boolean;
    inventory: InventoryRecord[];
    secretsSealed: string[];
  };
  release: ReleaseRow;
}

export interface InventoryRecord {
  pluginId: string;
  version: string | null;
  sha256: string | null;
  problem?: string | null;
  /** When the host said so (its clock): a newer word replaces an older one, never the reverse. */
  at?: string;
}

/** The host's columns a delivery needs, beside its job's (the job's own columns keep their names). */
export const DELIVERY_HOST_COLUMNS = `h.url as host_url, h.allow_private_network, h.inventory, h.secret_sealed, h.previous_secret_sealed`;

/**
 * The columns of a delivery context, for a statement whose `jobs` relation holds the job rows: the projection
 * the delivery paths read (retries, pull-mode polls, package links; first pushes read the release once per run).
 */
export const DELIVERY_COLUMNS = `to_jsonb(jobs) as job, ${DELIVERY_HOST_COLUMNS}, to_jsonb(rel) as release`;
export const DELIVERY_JOINS = `join hosts h on h.id = jobs.host_id join releases rel on rel.id = jobs.release_id`;

export async function loadDelivery(db: Queryable, jobId: string): Promise<DeliveryContext | undefined> {
  return (await loadDeliveries(db, [jobId])).get(jobId);
}

/** Delivery contexts of many jobs in one query (a worker's batch). */
export async function loadDeliveries(db: Queryable, jobIds: readonly string[]): Promise<Map<string, DeliveryContext>> {
  const rows = await db.query<Record<string, unknown>>(
    `select ${DELIVERY_COLUMNS} from host_jobs jobs ${DELIVERY_JOINS} where jobs.id = any($1)`,
    [jobIds],
  );
  return new Map(
    rows.map((row) => {
      const context = toDeliveryContext(row);
      return [context.job.id, context];
    }),
  );
}

/** A row of DELIVERY_COLUMNS as a delivery context. */
export function toDeliveryContext(row: Record<string, unknown>): DeliveryContext {
  return deliveryContext(row.job as Record<string, unknown>, row, toRelease(row.release as Record<string, unknown>));
}

/** A delivery context from its job's row, its host's columns (as DELIVERY_HOST_COLUMNS names them) and its release. */
export function deliveryContext(
  jobRow: Record<string, unknown>,
  hostRow: Record<string, unknown>,
  release: ReleaseRow,
): DeliveryContext {
  const job = toJob(jobRow);
  const inventory = typeof hostRow.inventory === 'string' ? JSON.parse(hostRow.inventory) : hostRow.inventory;
  const sealed = [hostRow.secret_sealed, hostRow.previous_secret_sealed];
  return {
    job,
    host: {
      id: job.hostId,
      url: (hostRow.host_url as string | null) ?? null,
      allowPrivateNetwork: Boolean(hostRow.allow_private_network),
      inventory,
      secretsSealed: sealed.filter((s): s is string => typeof s === 'string'),
    },
    release,
  };
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const text = (v: unknown) => (v === null || v === undefined ? null : String(v));

export function toRollout(row: Record<string, unknown>): RolloutRow {
  return {
    id: row.id as string,
    kind: row.kind as RolloutKind,
    releaseId: Number(row.release_id),
    repository: row.repository as string,
    pluginId: row.plugin_id as string,
    version: row.version as string,
    originRolloutId: text(row.origin_rollout_id),
    requestedBy: text(row.requested_by),
    checkRunId: num(row.check_run_id),
    strategy:
      (typeof row.strategy === 'string' ? JSON.parse(row.strategy) : (row.strategy as StoredStrategy | null)) ?? null,
    state: (row.state as RolloutState | undefined) ?? 'running',
    stateReason: text(row.state_reason),
    currentWave: Number(row.current_wave ?? 0),
    acceptedWave: Number(row.accepted_wave ?? -1),
    approvedWave: Number(row.approved_wave ?? -1),
    soakUntil: row.soak_until ? new Date(row.soak_until as string).toISOString() : null,
    notBefore: row.not_before ? new Date(row.not_before as string).toISOString() : null,
    startAt: row.start_at ? new Date(row.start_at as string).toISOString() : null,
    createdAt: new Date(row.created_at as string).toISOString(),
  };
}

export function toJob(row: Record<string, unknown>): HostJob {
  const report = (typeof row.last_report === 'string' ? JSON.parse(row.last_report) : row.last_report) as
    | Report
    | null
    | undefined;
  return {
    id: row.id as string,
    rolloutId: row.rollout_id as string,
    hostId: row.host_id as string,
    pluginId: row.plugin_id as string,
    releaseId: Number(row.release_id),
    action: row.action as JobAction,
    state: row.state as JobState,
    notify: Boolean(row.notify),
    force: Boolean(row.force),
    reason: text(row.reason),
    attemptId: row.message_id as string,
    attempts: Number(row.attempt_number ?? 1),
    deliveryTries: Number(row.attempts),
    exitCode: num(row.exit_code),
    exitLabel: text(row.exit_label),
    installedVersion: text(row.installed_version),
    previousVersion: text(row.previous_version),
    previousSha256: text(row.previous_sha256),
    requestedBy: text(row.requested_by),
    message: report?.message ?? null,
    logTail: report?.logTail ?? [],
    wave: Number(row.wave ?? 0),
    hold: (row.hold as Hold | null) ?? null,
    releaseTo: (row.release_to as JobState | null) ?? null,
    holdUntil: row.hold_until ? new Date(row.hold_until as string).toISOString() : null,
    updatedAt: new Date(row.updated_at as string).toISOString(),
  };
}
