import { randomUUID } from 'node:crypto';
import { newMessageId } from '../../protocol/signing.ts';
import { FINAL_JOB_STATES, jobStateForReport, type JobState } from '../../protocol/statuses.ts';
import type { Report } from '../../protocol/messages.ts';
import type { PlannedJob } from '../rollout/plan-jobs.ts';
import type { Database, Queryable } from './database.ts';

// Releases, rollouts and per-host jobs. Every change is written with its history before anyone is told
// about it, and every function here can run twice with the same effect as once.

export interface ReleaseRow {
  id: number;
  repository: string;
  installationId: number | null;
  tag: string;
  headSha: string | null;
  pluginId: string | null;
  version: string | null;
  prerelease: boolean;
  privateRepository: boolean;
  state: string;
  zipAssetId: number | null;
  zipUrl: string | null;
  zipSize: number | null;
  zipSha256: string | null;
  error: string | null;
}

export interface HostJob {
  id: string;
  rolloutId: string;
  hostId: string;
  pluginId: string;
  action: 'install' | 'update' | 'notify' | 'rollback' | 'uninstall';
  state: JobState;
  notify: boolean;
  force: boolean;
  reason: string | null;
  messageId: string;
  attempts: number;
  exitCode: number | null;
  exitLabel: string | null;
  installedVersion: string | null;
  updatedAt: string;
}

/** Jobs in these states have not started on the host: a newer release may supersede them. */
const NOT_STARTED: JobState[] = ['planned', 'awaiting_approval', 'queued'];

/** GitHub sends each delivery once and never retries; a redelivery keeps its id. True when new. */
export type ReleaseWebhook = {
  deliveryId: string;
  action: string;
  release: Pick<ReleaseRow, 'id' | 'repository' | 'installationId' | 'tag' | 'headSha' | 'prerelease' | 'privateRepository'>;
};

/**
 * Release webhooks, stored in one statement (one round trip, one commit): every delivery, and each release
 * once per release id whatever GitHub sends. For each webhook, true when it brought a new release (the
 * first of the batch to name it). Queuing resolutions is left to the release intake, so the answer to
 * GitHub waits on nothing else.
 */
export async function recordReleaseWebhooks(db: Queryable, webhooks: readonly ReleaseWebhook[]): Promise<boolean[]> {
  if (!webhooks.length) return [];
  const column = <T>(pick: (w: ReleaseWebhook) => T) => webhooks.map(pick);
  const rows = await db.query<{ id: string }>(
    `with input as (
       select * from unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::boolean[], $7::boolean[], $8::text[], $9::text[])
         with ordinality as t(id, repository, installation_id, tag, head_sha, prerelease, private_repository, delivery_id, action, n)
     ),
     delivery as (insert into webhook_deliveries (delivery_id, event, action) select delivery_id, 'release', action from input on conflict do nothing)
     insert into releases (id, repository, installation_id, tag, head_sha, prerelease, private_repository)
     select distinct on (id) id, repository, installation_id, tag, head_sha, prerelease, private_repository from input order by id, n
     on conflict (id) do nothing returning id`,
    [
      column((w) => w.release.id), column((w) => w.release.repository), column((w) => w.release.installationId), column((w) => w.release.tag),
      column((w) => w.release.headSha), column((w) => w.release.prerelease), column((w) => w.release.privateRepository), column((w) => w.deliveryId), column((w) => w.action),
    ],
  );
  const fresh = new Set(rows.map((r) => Number(r.id)));
  return webhooks.map((w) => fresh.delete(w.release.id));
}

/** Stores a release once, marked as already queued: its resolution is the caller's business. True when new. */
export async function recordRelease(db: Queryable, release: Pick<ReleaseRow, 'id' | 'repository' | 'installationId' | 'tag' | 'headSha' | 'prerelease' | 'privateRepository'>): Promise<boolean> {
  const rows = await db.query(
    `insert into releases (id, repository, installation_id, tag, head_sha, prerelease, private_repository, queued_at) values ($1, $2, $3, $4, $5, $6, $7, now())
     on conflict (id) do nothing returning id`,
    [release.id, release.repository, release.installationId, release.tag, release.headSha, release.prerelease, release.privateRepository],
  );
  return rows.length > 0;
}

/**
 * Releases recorded but not yet handed to the queue, claimed by this transaction (other processes skip
 * them) and marked queued; the caller queues them in the same transaction.
 */
export async function claimReceivedReleases(tx: Queryable, limit = 500): Promise<Array<{ id: number; installationId: number }>> {
  const rows = await tx.query<{ id: string; installation_id: string }>(
    `update releases set queued_at = now() where id in (
       select id from releases where queued_at is null order by received_at limit $1 for update skip locked
     ) returning id, installation_id`,
    [limit],
  );
  return rows.map((r) => ({ id: Number(r.id), installationId: Number(r.installation_id) }));
}

export async function getRelease(db: Queryable, id: number): Promise<ReleaseRow | undefined> {
  const [row] = await db.query<Record<string, unknown>>('select * from releases where id = $1', [id]);
  return row && toRelease(row);
}

export async function updateRelease(db: Queryable, id: number, fields: Partial<Pick<ReleaseRow, 'pluginId' | 'version' | 'state' | 'zipAssetId' | 'zipUrl' | 'zipSize' | 'zipSha256' | 'error'>>): Promise<void> {
  const columns: Record<string, string> = { pluginId: 'plugin_id', version: 'version', state: 'state', zipAssetId: 'zip_asset_id', zipUrl: 'zip_url', zipSize: 'zip_size', zipSha256: 'zip_sha256', error: 'error' };
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  if (!entries.length) return;
  const sets = entries.map(([k], i) => `${columns[k]} = $${i + 2}`);
  if (fields.state === 'resolved') sets.push('resolved_at = now()');
  await db.query(`update releases set ${sets.join(', ')} where id = $1`, [id, ...entries.map(([, v]) => v)]);
}

export interface CreatedRollout {
  rolloutId: string;
  created: boolean;
  /** Jobs to hand to the delivery queue now. */
  queued: HostJob[];
}

/**
 * Creates the rollout of a release with one job per planned host, once: a second call returns the same
 * rollout and queues nothing new. Jobs of older releases of the plugin that have not started on a host are
 * superseded by the new ones. Set-based: a rollout to thousands of hosts is a handful of statements.
 */
export async function createRollout(db: Database, release: ReleaseRow, planned: readonly PlannedJob[], onQueued?: (tx: Queryable, jobs: HostJob[]) => Promise<void>): Promise<CreatedRollout> {
  return db.transaction(async (tx) => {
    const existing = await tx.query<{ id: string }>('select id from rollouts where release_id = $1', [release.id]);
    if (existing.length) return { rolloutId: existing[0].id, created: false, queued: [] };
    const rolloutId = `ro_${randomUUID()}`;
    await tx.query('insert into rollouts (id, release_id, repository, plugin_id, version) values ($1, $2, $3, $4, $5)', [rolloutId, release.id, release.repository, release.pluginId, release.version]);

    const active = planned.filter((p) => p.state !== 'skipped').map((p) => p.hostId);
    if (active.length) {
      const reason = `superseded by ${release.version}`;
      await tx.query(
        `with superseded as (
           update host_jobs set state = 'superseded', reason = $3, updated_at = now()
           where plugin_id = $2 and host_id = any($1) and state = any($4) returning id
         )
         insert into job_history (job_id, state, detail) select id, 'superseded', $3 from superseded`,
        [active, release.pluginId, reason, NOT_STARTED],
      );
    }
    const now = new Date().toISOString();
    const jobs: HostJob[] = planned.map((plan) => ({
      id: `job_${randomUUID()}`, rolloutId, hostId: plan.hostId, pluginId: release.pluginId!, action: plan.action, state: plan.state,
      notify: plan.state !== 'skipped' && plan.notify, force: false, reason: plan.state === 'skipped' ? plan.reason : null,
      messageId: newMessageId(), attempts: 0, exitCode: null, exitLabel: null, installedVersion: null, updatedAt: now,
    }));
    if (jobs.length) {
      const column = <K extends keyof HostJob>(key: K) => jobs.map((job) => job[key]);
      await tx.query(
        `insert into host_jobs (id, rollout_id, host_id, plugin_id, action, state, notify, reason, message_id)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::text[], $9::text[])`,
        [column('id'), column('rolloutId'), column('hostId'), column('pluginId'), column('action'), column('state'), column('notify'), column('reason'), column('messageId')],
      );
      await tx.query('insert into job_history (job_id, state, detail) select * from unnest($1::text[], $2::text[], $3::text[])', [column('id'), column('state'), column('reason')]);
      await tx.query(
        `insert into events (kind, host_id, job_id, repository, plugin_id, detail)
         select kind, host_id, job_id, $4, $5, jsonb_build_object('version', $6::text, 'reason', reason) from unnest($1::text[], $2::text[], $3::text[], $7::text[]) as e(kind, host_id, job_id, reason)`,
        [planned.map((p) => p.event), column('hostId'), column('id'), release.repository, release.pluginId, release.version, column('reason')],
      );
    }
    // Queue entries are written in the same transaction: a crash can never leave a job without one.
    const toQueue = jobs.filter((job) => job.state === 'queued' || (job.state === 'awaiting_approval' && job.notify));
    if (toQueue.length) await onQueued?.(tx, toQueue);
    return { rolloutId, created: true, queued: jobs.filter((job) => job.state === 'queued') };
  });
}

export async function getJob(db: Queryable, id: string): Promise<HostJob | undefined> {
  const [row] = await db.query<Record<string, unknown>>('select * from host_jobs where id = $1', [id]);
  return row && toJob(row);
}

export async function rolloutJobs(db: Queryable, rolloutId: string): Promise<HostJob[]> {
  const rows = await db.query<Record<string, unknown>>('select * from host_jobs where rollout_id = $1 order by host_id', [rolloutId]);
  return rows.map(toJob);
}

export async function jobHistory(db: Queryable, jobId: string): Promise<Array<{ state: string; detail: string | null }>> {
  return db.query('select state, detail from job_history where job_id = $1 order by id', [jobId]);
}

/**
 * Moves a job to a new state when it is in one of the expected states; returns false (and changes
 * nothing) otherwise, which makes every caller safe to run twice.
 */
export async function transitionJob(db: Queryable, jobId: string, from: readonly JobState[], to: JobState, fields: { reason?: string | null; attempts?: number; exitCode?: number | null; exitLabel?: string | null; installedVersion?: string | null; lastReport?: unknown } = {}): Promise<boolean> {
  // One statement: the state change and its history entry are written together, or neither is.
  const rows = await db.query(
    `with moved as (
       update host_jobs set state = $3, reason = $4, attempts = coalesce($5, attempts), exit_code = coalesce($6, exit_code),
         exit_label = coalesce($7, exit_label), installed_version = coalesce($8, installed_version), last_report = coalesce($9, last_report), lease_until = null, updated_at = now()
       where id = $1 and state = any($2) returning id
     )
     insert into job_history (job_id, state, detail) select id, $3, $4 from moved returning job_id`,
    [jobId, from, to, fields.reason ?? null, fields.attempts ?? null, fields.exitCode ?? null, fields.exitLabel ?? null, fields.installedVersion ?? null, fields.lastReport === undefined ? null : JSON.stringify(fields.lastReport)],
  );
  return rows.length > 0;
}

/** Everything a delivery needs, in one query: the job, its host (with sealed secrets) and its release. */
export interface DeliveryContext {
  job: HostJob;
  host: { id: string; url: string | null; allowPrivateNetwork: boolean; inventory: Array<{ pluginId: string; version: string | null; sha256: string | null }>; secretsSealed: string[] };
  release: ReleaseRow;
}

export async function loadDelivery(db: Queryable, jobId: string): Promise<DeliveryContext | undefined> {
  return (await loadDeliveries(db, [jobId])).get(jobId);
}

/** Delivery contexts of many jobs in one query (a worker's batch). */
export async function loadDeliveries(db: Queryable, jobIds: readonly string[]): Promise<Map<string, DeliveryContext>> {
  const rows = await db.query<Record<string, unknown>>(
    `select to_jsonb(j) as job, h.url as host_url, h.allow_private_network, h.inventory, h.secret_sealed, h.previous_secret_sealed, to_jsonb(rel) as release
     from host_jobs j join hosts h on h.id = j.host_id join rollouts r on r.id = j.rollout_id join releases rel on rel.id = r.release_id
     where j.id = any($1)`,
    [jobIds],
  );
  const contexts = new Map<string, DeliveryContext>();
  for (const row of rows) {
    const context = toDeliveryContext(row);
    contexts.set(context.job.id, context);
  }
  return contexts;
}

/** A row of `to_jsonb(job) as job, host columns, to_jsonb(release) as release` as a delivery context. */
export function toDeliveryContext(row: Record<string, unknown>): DeliveryContext {
  const job = toJob(row.job as Record<string, unknown>);
  const inventory = typeof row.inventory === 'string' ? JSON.parse(row.inventory) : row.inventory;
  return {
    job,
    host: {
      id: job.hostId, url: (row.host_url as string | null) ?? null, allowPrivateNetwork: Boolean(row.allow_private_network), inventory,
      secretsSealed: [row.secret_sealed, row.previous_secret_sealed].filter((s): s is string => typeof s === 'string'),
    },
    release: toRelease(row.release as Record<string, unknown>),
  };
}

/**
 * transitionJob for many jobs at once (one statement): each moves to `to` with its own reason (and attempt
 * count) when it is in one of the `from` states. Returns the ids that moved.
 */
export async function transitionJobs(db: Queryable, moves: ReadonlyArray<{ id: string; reason?: string | null; attempts?: number }>, from: readonly JobState[], to: JobState): Promise<Set<string>> {
  if (!moves.length) return new Set();
  const rows = await db.query<{ job_id: string }>(
    `with input as (select * from unnest($1::text[], $2::text[], $3::int[]) as t(id, reason, attempts)),
     moved as (
       update host_jobs j set state = $5, reason = input.reason, attempts = coalesce(input.attempts, j.attempts), lease_until = null, updated_at = now()
       from input where j.id = input.id and j.state = any($4) returning j.id, input.reason
     )
     insert into job_history (job_id, state, detail) select id, $5, reason from moved returning job_id`,
    [moves.map((m) => m.id), moves.map((m) => m.reason ?? null), moves.map((m) => m.attempts ?? null), from, to],
  );
  return new Set(rows.map((r) => r.job_id));
}

export type ReportOutcome = 'applied' | 'repeat' | 'stale' | 'unknown-job';

/**
 * Applies a host's report once (keyed by its message id). Reports only move a job forward: an
 * `instalando` that arrives after `ok` is recorded and ignored.
 */
export async function applyReport(db: Database, messageId: string, report: Report): Promise<ReportOutcome> {
  return db.transaction(async (tx) => {
    const job = await getJob(tx, report.jobId);
    if (!job || job.hostId !== report.hostId) return 'unknown-job';
    const fresh = await tx.query('insert into reports_seen (message_id, job_id) values ($1, $2) on conflict do nothing returning message_id', [messageId, report.jobId]);
    if (!fresh.length) return 'repeat';
    const to = jobStateForReport(report.status);
    const from: JobState[] = to === 'in_progress' ? ['queued', 'delivering', 'delivered'] : to === 'delivered' ? ['queued', 'delivering'] : ['queued', 'delivering', 'delivered', 'in_progress'];
    if (FINAL_JOB_STATES.has(job.state)) return 'stale';
    const moved = await transitionJob(tx, job.id, from, to, {
      reason: report.message, exitCode: report.exitCode, exitLabel: report.exitLabel, installedVersion: report.installedVersion, lastReport: report,
    });
    if (moved && (to === 'ok' || to === 'failed')) {
      const kind = to === 'ok' ? (job.action === 'update' ? 'update_success' : 'install_success') : (job.action === 'update' ? 'update_fail' : 'install_fail');
      await tx.query('insert into events (kind, host_id, job_id, plugin_id, detail) values ($1, $2, $3, $4, $5)', [kind, job.hostId, job.id, job.pluginId, JSON.stringify({ exitCode: report.exitCode, exitLabel: report.exitLabel, message: report.message })]);
    }
    return moved ? 'applied' : 'stale';
  });
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

function toRelease(row: Record<string, unknown>): ReleaseRow {
  return {
    id: Number(row.id), repository: row.repository as string, installationId: num(row.installation_id), tag: row.tag as string,
    headSha: (row.head_sha as string | null) ?? null, pluginId: (row.plugin_id as string | null) ?? null, version: (row.version as string | null) ?? null,
    prerelease: Boolean(row.prerelease), privateRepository: Boolean(row.private_repository), state: row.state as string,
    zipAssetId: num(row.zip_asset_id), zipUrl: (row.zip_url as string | null) ?? null, zipSize: num(row.zip_size), zipSha256: (row.zip_sha256 as string | null) ?? null,
    error: (row.error as string | null) ?? null,
  };
}

function toJob(row: Record<string, unknown>): HostJob {
  return {
    id: row.id as string, rolloutId: row.rollout_id as string, hostId: row.host_id as string, pluginId: row.plugin_id as string,
    action: row.action as HostJob['action'], state: row.state as JobState, notify: Boolean(row.notify), force: Boolean(row.force),
    reason: (row.reason as string | null) ?? null, messageId: row.message_id as string, attempts: Number(row.attempts),
    exitCode: num(row.exit_code), exitLabel: (row.exit_label as string | null) ?? null, installedVersion: (row.installed_version as string | null) ?? null,
    updatedAt: new Date(row.updated_at as string).toISOString(),
  };
}
