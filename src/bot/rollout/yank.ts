import { FINAL_JOB_STATES } from '../../protocol/statuses.ts';
import type { Yank } from '../domain.ts';
import type { Queryable } from '../store/database.ts';
import { hostsWithIds } from '../store/hosts.ts';
import { findRelease, lockRelease, recordReleaseEvent, setYanked, type ReleaseRow } from '../store/releases.ts';
import {
  announceRollout,
  cancelRollbacksTo,
  holdUnsentJobs,
  lockReleaseRollout,
  recordRolloutEvent,
  setRolloutState,
} from '../store/rollout-state.ts';
import { rolloutJobs, type RolloutState } from '../store/rollouts.ts';
import { ActionRefused, rollback, type ActionResult, type OperatorDeps } from './operator-actions.ts';

// A release found bad after it went out is yanked: nothing of it is sent from then on. Its rollout is paused
// (its unsent jobs held, so un-yanking and resuming loses nothing), rollbacks that would install it are
// cancelled, and approvals, retries, forces and rollbacks to it are refused while the mark holds. Optionally,
// every host its rollout updated that still runs it is rolled back. Un-yanking lifts the mark; the rollout
// stays paused until an operator resumes it. Both are safe to repeat.

export interface ReleaseTarget {
  repository: string;
  pluginId: string;
  version: string;
}

export interface YankResult {
  release: { id: number; repository: string; pluginId: string; version: string; tag: string };
  /** The mark as it is now (null: not yanked). */
  yanked: Yank | null;
  /** False when the release already was as asked (a repeat). */
  changed: boolean;
  /** The release's rollout as the yank left it (null: the release has none). */
  rollout: { id: string; state: RolloutState } | null;
  /** Unsent jobs of its rollout the yank held. */
  held: number;
  /** Unsent rollback jobs to it the yank cancelled. */
  cancelled: number;
  /** Jobs already on their way or running: they go on, and their hosts report as usual. */
  underway: number;
  /** A yank with rollback: the rollback rollout (absent when no host runs the release). */
  rollback?: ActionResult;
  /** Why nothing was rolled back, when a rollback was asked for. */
  rollbackSkipped?: string;
}

export const YANKABLE_STATES: ReadonlySet<RolloutState> = new Set(['running', 'paused', 'halted']);

export async function yankRelease(
  deps: OperatorDeps,
  target: ReleaseTarget,
  request: { by: string | null; reason: string; rollback?: boolean },
): Promise<YankResult> {
  const reason = request.reason.trim();
  if (!reason) throw new ActionRefused('a yank needs a reason (hosts and operators read it)', 422);
  if (reason.length > 500) throw new ActionRefused('the reason is at most 500 characters', 422);
  const release = await releaseOf(deps.db, target);
  const text = `${release.pluginId} ${release.version} yanked${by(request.by)}: ${reason}`;
  const done = await deps.db.transaction(async (tx) => {
    if ((await lockRelease(tx, release.id))?.yanked) return { changed: false, held: 0, cancelled: 0 }; // the first mark stays
    await setYanked(tx, release.id, { by: request.by, reason });
    const rollout = await lockReleaseRollout(tx, release.id);
    let held = 0;
    if (rollout && YANKABLE_STATES.has(rollout.state)) {
      await setRolloutState(tx, rollout.id, { state: 'paused', reason: text });
      held = (await holdUnsentJobs(tx, rollout.id, 'paused', text)).length;
    }
    const cancelled = (await cancelRollbacksTo(tx, release.id, text, request.by)).length;
    const detail = { version: release.version, reason, by: request.by, held, cancelled };
    if (rollout) {
      await recordRolloutEvent(tx, rollout.id, 'release_yanked', detail);
      await announceRollout(tx, rollout.id);
    } else await recordReleaseEvent(tx, 'release_yanked', release, release.pluginId!, detail);
    return { changed: true, held, cancelled };
  });
  const result = await resultOf(deps.db, release, done);
  if (!request.rollback || !result.rollout) return result;
  const running = await hostsRunning(deps.db, result.rollout.id, release);
  if (!running.length) return { ...result, rollbackSkipped: 'no host its rollout updated still runs it' };
  try {
    return { ...result, rollback: await rollback(deps, result.rollout.id, { by: request.by, hostIds: running }) };
  } catch (error) {
    if (error instanceof ActionRefused) return { ...result, rollbackSkipped: error.message };
    throw error;
  }
}

export async function unyankRelease(
  deps: OperatorDeps,
  target: ReleaseTarget,
  request: { by: string | null },
): Promise<YankResult> {
  const release = await releaseOf(deps.db, target);
  const done = await deps.db.transaction(async (tx) => {
    const before = await lockRelease(tx, release.id);
    if (!before?.yanked) return { changed: false, held: 0, cancelled: 0 };
    await setYanked(tx, release.id, null);
    const rollout = await lockReleaseRollout(tx, release.id);
    const detail = { version: release.version, by: request.by, wasYanked: before.yanked };
    if (rollout) {
      await recordRolloutEvent(tx, rollout.id, 'release_unyanked', detail);
      await announceRollout(tx, rollout.id);
    } else await recordReleaseEvent(tx, 'release_unyanked', release, release.pluginId!, detail);
    return { changed: true, held: 0, cancelled: 0 };
  });
  return resultOf(deps.db, release, done);
}

async function releaseOf(db: Queryable, target: ReleaseTarget): Promise<ReleaseRow & { pluginId: string }> {
  const release = await findRelease(db, target.repository, target.pluginId, target.version);
  if (!release)
    throw new ActionRefused(
      `the bot knows no release of ${target.pluginId} ${target.version} in ${target.repository}`,
      404,
    );
  return release as ReleaseRow & { pluginId: string };
}

async function resultOf(
  db: Queryable,
  release: ReleaseRow & { pluginId: string },
  done: { changed: boolean; held: number; cancelled: number },
): Promise<YankResult> {
  const now = await findRelease(db, release.repository, release.pluginId, release.version!);
  const [row] = await db.query<{ id: string; state: RolloutState }>(
    "select id, state from rollouts where release_id = $1 and kind = 'release'",
    [release.id],
  );
  const jobs = row ? await rolloutJobs(db, row.id) : [];
  const unsent = new Set(['pending', 'awaiting_approval', 'queued']);
  return {
    release: {
      id: release.id,
      repository: release.repository,
      pluginId: release.pluginId,
      version: release.version!,
      tag: release.tag,
    },
    yanked: now?.yanked ?? null,
    changed: done.changed,
    rollout: row ? { id: row.id, state: row.state } : null,
    held: done.held,
    cancelled: done.cancelled,
    underway: jobs.filter((j) => !FINAL_JOB_STATES.has(j.state) && !unsent.has(j.state)).length,
  };
}

/** Hosts whose job of the rollout finished and whose site still runs the release (by package, else version). */
async function hostsRunning(db: Queryable, rolloutId: string, release: ReleaseRow): Promise<string[]> {
  const finished = (await rolloutJobs(db, rolloutId)).filter((j) => FINAL_JOB_STATES.has(j.state));
  const hosts = await hostsWithIds(
    db,
    finished.map((j) => j.hostId),
  );
  return finished
    .filter((job) => {
      const entry = hosts.get(job.hostId)?.inventory.find((e) => e.pluginId === release.pluginId);
      if (!entry) return false;
      return entry.sha256 && release.zipSha256 ? entry.sha256 === release.zipSha256 : entry.version === release.version;
    })
    .map((job) => job.hostId);
}

const by = (who: string | null) => (who ? ` by ${who}` : '');
