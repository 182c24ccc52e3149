import type { PgBoss } from 'pg-boss';
import { FINAL_JOB_STATES, type JobState } from '../../protocol/statuses.ts';
import { enqueueRolloutPushes } from '../delivery/deliver-rollout.ts';
import { moveJobs, recordOperatorEvent, startAttempts } from '../store/attempts.ts';
import type { Database, Queryable } from '../store/database.ts';
import { getHost, hostsWithIds, type HostRecord } from '../store/hosts.ts';
import { lockRollout } from '../store/rollout-state.ts';
import {
  findRelease,
  findReleaseByPackage,
  getRelease,
  pluginReleases,
  yankedAmong,
  type ReleaseRow,
} from '../store/releases.ts';
import { yankedText } from '../domain.ts';
import {
  createOperatorRollout,
  findOpenRequest,
  getRollout,
  insertJobs,
  rolloutJobs,
  NOT_STARTED,
  type HostJob,
  type NewJob,
  type RolloutRow,
} from '../store/rollouts.ts';

// What an operator can do about jobs, from the CLI, the admin API or a check run's buttons: approve, retry,
// force, cancel, roll back, uninstall. Each is one transaction that changes the jobs, records who asked, and
// queues the pushes, so it commits whole or not at all; each is safe to repeat (a repeat changes nothing, or
// returns the request already open).

export interface OperatorDeps {
  db: Database;
  boss: PgBoss;
  /** Told the rollouts whose jobs changed (their check runs follow). */
}

/** A refusal an operator can act on: 404 (no such thing) or 409 (not in a state for it). */
export class ActionRefused extends Error {
  readonly status: 404 | 409 | 422;
  constructor(message: string, status: 404 | 409 | 422 = 409) {
    super(message);
    this.status = status;
  }
}

export interface ActionResult {
  action: string;
  rolloutId: string;
  /** The jobs the action changed (for rollback and uninstall: the new rollout's jobs). */
  changed: Array<{ jobId: string; hostId: string; state: JobState; attemptId: string }>;
  /** Jobs it left alone, and why. */
  unchanged: Array<{ jobId: string | null; hostId: string; state: JobState | null; why: string }>;
  /** Rollback and uninstall create a rollout; false when an identical open request was returned. */
  created?: boolean;
}

export interface ActionRequest {
  /** Who asked (an operator's name, a GitHub login); recorded with the change. */
  by: string | null;
  /** The jobs to act on; all the rollout's jobs in the right state when absent. */
  jobIds?: readonly string[];
}

const APPROVABLE: readonly JobState[] = ['awaiting_approval'];
const RETRY_ALL: readonly JobState[] = ['failed', 'dead_lettered'];
const RETRYABLE: readonly JobState[] = ['failed', 'dead_lettered', 'skipped', 'cancelled'];
const FORCEABLE: readonly JobState[] = [...FINAL_JOB_STATES];
const CANCELLABLE: readonly JobState[] = [...NOT_STARTED, 'delivering'];
/** Actions that send the rollout's release again: an aborted rollout refuses them. */
const SENDS_AGAIN = new Set(['approve', 'retry', 'redeliver', 'force']);

export function approve(deps: OperatorDeps, rolloutId: string, request: ActionRequest): Promise<ActionResult> {
  return newAttempts(deps, 'approve', rolloutId, request, APPROVABLE, APPROVABLE, { reason: `approved${by(request)}` });
}

/** Failed and dead-lettered jobs (or the listed ones, skipped and cancelled too) get a new attempt. */
export function retry(deps: OperatorDeps, rolloutId: string, request: ActionRequest): Promise<ActionResult> {
  return newAttempts(deps, 'retry', rolloutId, request, RETRY_ALL, RETRYABLE, { reason: `retried${by(request)}` });
}

/**
 * Installs the rollout's release on the listed hosts (or jobs) even when it is the same package or a
 * downgrade: a finished job gets a new forced attempt; a host with no job in the rollout gets one.
 */
export async function force(
  deps: OperatorDeps,
  rolloutId: string,
  request: ActionRequest & { hostIds?: readonly string[] },
): Promise<ActionResult> {
  if (!request.jobIds?.length && !request.hostIds?.length)
    throw new ActionRefused('force needs the jobs or hosts to install on', 422);
  const rollout = await releaseRollout(deps.db, rolloutId, 'force');
  const release = (await getRelease(deps.db, rollout.releaseId))!;
  return act(deps, 'force', rolloutId, request.by, async (tx) => {
    const jobs = await rolloutJobs(tx, rolloutId);
    const jobIds = new Set(request.jobIds ?? []);
    for (const hostId of request.hostIds ?? []) {
      const job = jobs.find((j) => j.hostId === hostId);
      if (job) jobIds.add(job.id);
    }
    const changed = jobIds.size
      ? await startAttempts(tx, { rolloutId, jobIds: [...jobIds] }, FORCEABLE, {
          reason: `forced reinstall${by(request)}`,
          requestedBy: request.by,
          force: true,
        })
      : [];
    const unchanged = explainUnchanged(jobs, [...jobIds], changed, 'force');
    const newHosts = (request.hostIds ?? []).filter((hostId) => !jobs.some((j) => j.hostId === hostId));
    for (const hostId of newHosts) {
      const host = await getHost(tx, hostId);
      if (!host) {
        unchanged.push({ jobId: null, hostId, state: null, why: `no host ${hostId}` });
        continue;
      }
      const {
        jobs: [job],
      } = await insertJobs(
        tx,
        rolloutId,
        release,
        [forcedJob(host, release)],
        request.by,
        `superseded by a forced install of ${release.version}`,
      );
      changed.push(job);
    }
    return { action: 'force', changed, unchanged };
  });
}

export function cancel(deps: OperatorDeps, rolloutId: string, request: ActionRequest): Promise<ActionResult> {
  return act(deps, 'cancel', rolloutId, request.by, async (tx) => {
    const jobs = await rolloutJobs(tx, rolloutId);
    const changed = await moveJobs(
      tx,
      { rolloutId, jobIds: request.jobIds },
      CANCELLABLE,
      'cancelled',
      `cancelled${by(request)}`,
      request.by,
    );
    return { action: 'cancel', changed, unchanged: explainUnchanged(jobs, request.jobIds, changed, 'cancel') };
  });
}

/**
 * A rollback rollout: each listed host (or every host of the rollout whose job finished, ok or failed) gets
 * the version it had before the rollout, or the named version, forced (it is a downgrade). The host uses the
 * package it kept when it installed that version; the bot names the release so it can also download it.
 */
export async function rollback(
  deps: OperatorDeps,
  rolloutId: string,
  request: ActionRequest & { hostIds?: readonly string[]; to?: string },
): Promise<ActionResult> {
  const origin = await releaseRollout(deps.db, rolloutId, 'roll back');
  const about = (await getRelease(deps.db, origin.releaseId))!;
  const jobs = await rolloutJobs(deps.db, rolloutId);
  const named = request.to ? await findRelease(deps.db, origin.repository, origin.pluginId, request.to) : undefined;
  if (request.to && !named)
    throw new ActionRefused(
      `the bot knows no release of ${origin.pluginId} ${request.to} in ${origin.repository}: ${await knownVersions(deps.db, origin)}`,
      404,
    );
  if (named?.yanked) throw new ActionRefused(yankedText(named));

  const wanted = request.hostIds?.length
    ? request.hostIds.map((hostId) => jobs.find((j) => j.hostId === hostId) ?? hostId)
    : jobs.filter((j) => j.state === 'ok' || j.state === 'failed');
  const unchanged: ActionResult['unchanged'] = [];
  const planned: NewJob[] = [];
  const hosts = await hostsWithIds(
    deps.db,
    wanted.map((job) => (typeof job === 'string' ? job : job.hostId)),
  );
  // Most hosts of a rollout had the same version before it: each earlier release is looked up once.
  const previous = new Map<string, Promise<ReleaseRow | undefined>>();
  const previousOnce = (job: HostJob) => {
    const key = `${job.previousSha256}|${job.previousVersion}`;
    if (!previous.has(key)) previous.set(key, previousRelease(deps.db, origin, job));
    return previous.get(key)!;
  };
  for (const job of wanted) {
    if (typeof job === 'string') {
      unchanged.push({ jobId: null, hostId: job, state: null, why: `host ${job} has no job in rollout ${rolloutId}` });
      continue;
    }
    if (!FINAL_JOB_STATES.has(job.state)) {
      unchanged.push({
        jobId: job.id,
        hostId: job.hostId,
        state: job.state,
        why: `its job is ${job.state}: cancel it or wait for it to finish`,
      });
      continue;
    }
    const target = named ?? (await previousOnce(job));
    if (!target) {
      unchanged.push({
        jobId: job.id,
        hostId: job.hostId,
        state: job.state,
        why: job.previousVersion
          ? `the bot knows no release of ${origin.pluginId} ${job.previousVersion}: name a version it knows (${await knownVersions(deps.db, origin)})`
          : 'it had no version of the plugin before this rollout: uninstall it instead',
      });
      continue;
    }
    if (target.yanked) {
      unchanged.push({
        jobId: job.id,
        hostId: job.hostId,
        state: job.state,
        why: `the version it had before, ${yankedText(target)}; or name another with --to`,
      });
      continue;
    }
    const installed = hosts.get(job.hostId)?.inventory.find((e) => e.pluginId === origin.pluginId);
    planned.push({
      hostId: job.hostId,
      releaseId: target.id,
      action: 'rollback',
      state: 'queued',
      notify: false,
      force: true,
      reason: `rollback to ${target.version}${by(request)}`,
      previousVersion: installed?.version ?? null,
      previousSha256: installed?.sha256 ?? null,
      event: 'rollback_requested',
    });
  }
  if (!planned.length)
    throw new ActionRefused(
      `nothing to roll back in ${rolloutId}: ${unchanged.map((u) => `${u.hostId}: ${u.why}`).join('; ') || 'no finished jobs'}`,
    );
  return operatorRollout(deps, { kind: 'rollback', about, origin: origin.id, request, planned, unchanged });
}

/** An uninstall rollout for one host and plugin: the plugin's files go; Conn2Flow cannot undo its data. */
export async function uninstall(
  deps: OperatorDeps,
  hostId: string,
  request: { by: string | null; pluginId: string; repository?: string },
): Promise<ActionResult> {
  const host = await getHost(deps.db, hostId);
  if (!host) throw new ActionRefused(`no host ${hostId}`, 404);
  const repositories = [
    ...new Set(host.plugins.filter((p) => p.pluginId === request.pluginId).map((p) => p.repository)),
  ];
  const repository = request.repository ?? (repositories.length === 1 ? repositories[0] : undefined);
  if (!repository) {
    throw new ActionRefused(
      repositories.length
        ? `host ${hostId} follows ${request.pluginId} from ${repositories.join(' and ')}: name the repository`
        : `host ${hostId} does not follow ${request.pluginId}: name its repository`,
      422,
    );
  }
  const installed = host.inventory.find((e) => e.pluginId === request.pluginId);
  // The job names a package (the protocol asks for one): the release installed, else the newest one known.
  const about =
    (installed?.sha256 && (await findReleaseByPackage(deps.db, repository, request.pluginId, installed.sha256))) ||
    (installed?.version && (await findRelease(deps.db, repository, request.pluginId, installed.version))) ||
    (await pluginReleases(deps.db, repository, request.pluginId))[0];
  if (!about)
    throw new ActionRefused(
      `the bot knows no release of ${request.pluginId} in ${repository}, and an uninstall job names the plugin's package`,
      404,
    );
  const planned: NewJob[] = [
    {
      hostId,
      releaseId: about.id,
      action: 'uninstall',
      state: 'queued',
      notify: false,
      force: true,
      reason: `uninstall${by(request)}`,
      previousVersion: installed?.version ?? null,
      previousSha256: installed?.sha256 ?? null,
      event: 'uninstall_requested',
    },
  ];
  return operatorRollout(deps, { kind: 'uninstall', about, origin: null, request, planned, unchanged: [] });
}

async function operatorRollout(
  deps: OperatorDeps,
  spec: {
    kind: 'rollback' | 'uninstall';
    about: ReleaseRow;
    origin: string | null;
    request: { by: string | null };
    planned: NewJob[];
    unchanged: ActionResult['unchanged'];
  },
): Promise<ActionResult> {
  const result = await deps.db.transaction(async (tx) => {
    const open = await findOpenRequest(
      tx,
      spec.kind,
      spec.about.pluginId!,
      spec.origin,
      spec.planned.map((j) => `${j.hostId}:${j.releaseId}`),
    );
    if (open) return { rolloutId: open, created: false, jobs: await rolloutJobs(tx, open) };
    const created = await createOperatorRollout(
      tx,
      {
        kind: spec.kind,
        release: spec.about,
        originRolloutId: spec.origin,
        requestedBy: spec.request.by,
        jobs: spec.planned,
      },
      async (inner, jobs) => {
        await enqueueRolloutPushes(deps.boss, jobs[0].rolloutId, 0, inner);
      },
    );
    return { rolloutId: created.rolloutId, created: true, jobs: created.jobs };
  });
  return {
    action: spec.kind,
    rolloutId: result.rolloutId,
    created: result.created,
    changed: result.jobs.map(summary),
    unchanged: spec.unchanged,
  };
}

async function newAttempts(
  deps: OperatorDeps,
  action: string,
  rolloutId: string,
  request: ActionRequest,
  all: readonly JobState[],
  listed: readonly JobState[],
  attempt: { reason: string },
): Promise<ActionResult> {
  await existingRollout(deps.db, rolloutId);
  return act(deps, action, rolloutId, request.by, async (tx) => {
    const jobs = await rolloutJobs(tx, rolloutId);
    const changed = await startAttempts(tx, { rolloutId, jobIds: request.jobIds }, request.jobIds ? listed : all, {
      ...attempt,
      requestedBy: request.by,
    });
    return { action, changed, unchanged: explainUnchanged(jobs, request.jobIds, changed, action) };
  });
}

/** Runs one action in a transaction: the change, its event, and the pushes it needs, all or nothing. */
async function act(
  deps: OperatorDeps,
  action: string,
  rolloutId: string,
  requestedBy: string | null,
  work: (tx: Queryable) => Promise<{ action: string; changed: HostJob[]; unchanged: ActionResult['unchanged'] }>,
): Promise<ActionResult> {
  const outcome = await deps.db.transaction(async (tx) => {
    // Locked for the action, so an abort cannot slip in between the check and the new attempts.
    const rollout = await lockRollout(tx, rolloutId);
    if (rollout?.state === 'aborted' && SENDS_AGAIN.has(action))
      throw new ActionRefused(
        `rollout ${rolloutId} was aborted (${rollout.stateReason ?? 'aborted'}): nothing of ${rollout.pluginId} ${rollout.version} goes out from it again, so it cannot ${action}; publish a new release, or roll hosts back`,
      );
    const own = SENDS_AGAIN.has(action) && rollout?.kind === 'release' ? [rollout.releaseId] : [];
    const [yankedFirst] = await yankedAmong(tx, own);
    if (yankedFirst) throw new ActionRefused(yankedText(yankedFirst));
    const done = await work(tx);
    // A rollback rollout's jobs carry releases of their own.
    const [yanked] = SENDS_AGAIN.has(action)
      ? await yankedAmong(
          tx,
          done.changed.map((j) => j.releaseId),
        )
      : [];
    if (yanked) throw new ActionRefused(yankedText(yanked));
    if (done.changed.length) {
      await recordOperatorEvent(tx, {
        kind: `operator_${done.action}`,
        rolloutId,
        jobIds: done.changed.map((j) => j.id),
        by: requestedBy,
      });
      if (done.changed.some((j) => j.state === 'queued')) await enqueueRolloutPushes(deps.boss, rolloutId, 0, tx);
    }
    return done;
  });
  return { action: outcome.action, rolloutId, changed: outcome.changed.map(summary), unchanged: outcome.unchanged };
}

function explainUnchanged(
  jobs: readonly HostJob[],
  listed: readonly string[] | undefined,
  changed: readonly HostJob[],
  action: string,
): ActionResult['unchanged'] {
  if (!listed) return [];
  const moved = new Set(changed.map((j) => j.id));
  return listed
    .filter((id) => !moved.has(id))
    .map((id) => {
      const job = jobs.find((j) => j.id === id);
      if (!job) return { jobId: id, hostId: '', state: null, why: 'no such job in this rollout' };
      return { jobId: id, hostId: job.hostId, state: job.state, why: `it is ${job.state}: nothing to ${action}` };
    });
}

function summary(job: HostJob): ActionResult['changed'][number] {
  return { jobId: job.id, hostId: job.hostId, state: job.state, attemptId: job.attemptId };
}

function forcedJob(host: HostRecord, release: ReleaseRow): NewJob {
  const installed = host.inventory.find((e) => e.pluginId === release.pluginId);
  return {
    hostId: host.id,
    releaseId: release.id,
    action: installed?.version ? 'update' : 'install',
    state: 'queued',
    notify: false,
    force: true,
    reason: 'forced install',
    previousVersion: installed?.version ?? null,
    previousSha256: installed?.sha256 ?? null,
    event: 'forced_install',
  };
}

/** The release a host had before a job: its package when the bot knows it, else the same version. */
async function previousRelease(db: Queryable, rollout: RolloutRow, job: HostJob): Promise<ReleaseRow | undefined> {
  if (!job.previousVersion) return undefined;
  if (job.previousSha256) {
    const same = await findReleaseByPackage(db, rollout.repository, rollout.pluginId, job.previousSha256);
    if (same) return same;
  }
  return findRelease(db, rollout.repository, rollout.pluginId, job.previousVersion);
}

async function knownVersions(db: Queryable, rollout: RolloutRow): Promise<string> {
  const versions = [...new Set((await pluginReleases(db, rollout.repository, rollout.pluginId)).map((r) => r.version))];
  return versions.length ? `known: ${versions.join(', ')}` : 'it knows none';
}

async function existingRollout(db: Queryable, rolloutId: string): Promise<RolloutRow> {
  const rollout = await getRollout(db, rolloutId);
  if (!rollout) throw new ActionRefused(`no rollout ${rolloutId}`, 404);
  return rollout;
}

async function releaseRollout(db: Queryable, rolloutId: string, what: string): Promise<RolloutRow> {
  const rollout = await existingRollout(db, rolloutId);
  if (rollout.kind !== 'release')
    throw new ActionRefused(`rollout ${rolloutId} is a ${rollout.kind}; ${what} acts on a release's rollout`, 422);
  return rollout;
}

const by = (request: { by: string | null }) => (request.by ? ` by ${request.by}` : '');
