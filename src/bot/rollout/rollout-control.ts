import type { Database } from '../store/database.ts';
import {
  cancelUnsentJobs,
  holdForSchedule,
  holdUnsentJobs,
  lockRollout,
  recordRolloutEvent,
  setRolloutState,
  unholdJobs,
} from '../store/rollout-state.ts';
import { getRollout, jobStates, type RolloutRow, type RolloutState } from '../store/rollouts.ts';
import { waitsForApproval } from './strategy.ts';
import { getRelease } from '../store/releases.ts';
import { yankedText } from '../domain.ts';
import { ActionRefused, rollback, type ActionResult, type OperatorDeps } from './operator-actions.ts';

// An operator's hand on a rollout as a whole: pause it (nothing more is sent), resume it (a halted rollout
// goes on past the wave that halted it), abort it (nothing more is ever sent; optionally the hosts it already
// updated are rolled back), or start its next wave now. Each is one transaction on the rollout's row, safe to
// repeat: asking for the state it is already in changes nothing.

export interface ControlResult {
  rolloutId: string;
  action: string;
  state: RolloutState;
  currentWave: number;
  /** Nothing goes out before this (an operator's schedule; null: none). */
  startAt: string | null;
  /** Jobs held, released or cancelled by the action. */
  jobs: number;
  /** An abort with rollback: the rollback's result. */
  rollback?: ActionResult;
}

export async function pauseRollout(deps: OperatorDeps, rolloutId: string, by: string | null): Promise<ControlResult> {
  return control(deps, rolloutId, 'pause', by, async (rollout, tx) => {
    if (rollout.state === 'paused') return 0;
    if (rollout.state !== 'running')
      throw new ActionRefused(`rollout ${rolloutId} is ${rollout.state}: only a running rollout can be paused`);
    await setRolloutState(tx, rolloutId, { state: 'paused', reason: `paused${byText(by)}` });
    return (await holdUnsentJobs(tx, rolloutId, 'paused', `rollout paused${byText(by)}`)).length;
  });
}

/** A paused rollout goes on; a halted one goes on past the wave that halted it (the operator accepts it). */
export async function resumeRollout(deps: OperatorDeps, rolloutId: string, by: string | null): Promise<ControlResult> {
  return control(deps, rolloutId, 'resume', by, async (rollout, tx) => {
    if (rollout.state === 'running') return 0;
    if (rollout.state !== 'paused' && rollout.state !== 'halted')
      throw new ActionRefused(
        `rollout ${rolloutId} is ${rollout.state}: only a paused or halted rollout can be resumed`,
      );
    await setRolloutState(tx, rolloutId, {
      state: 'running',
      reason: null,
      ...(rollout.state === 'halted' ? { acceptedWave: Math.max(rollout.acceptedWave, rollout.currentWave) } : {}),
    });
    return unholdJobs(tx, rolloutId);
  });
}

export async function abortRollout(
  deps: OperatorDeps,
  rolloutId: string,
  by: string | null,
  options: { rollback?: boolean } = {},
): Promise<ControlResult> {
  const result = await control(deps, rolloutId, 'abort', by, async (rollout, tx) => {
    if (rollout.state === 'aborted') return 0;
    if (rollout.kind !== 'release')
      throw new ActionRefused(`rollout ${rolloutId} is a ${rollout.kind}: cancel its jobs instead`, 422);
    await setRolloutState(tx, rolloutId, { state: 'aborted', reason: `aborted${byText(by)}`, soakUntil: null });
    return (await cancelUnsentJobs(tx, rolloutId, `rollout aborted${byText(by)}`, by)).length;
  });
  if (!options.rollback) return result;
  const rolledBack = await rollback(deps, rolloutId, { by }).catch((error) => {
    if (error instanceof ActionRefused) return undefined; // no host had been updated
    throw error;
  });
  return { ...result, ...(rolledBack ? { rollback: rolledBack } : {}) };
}

const ZONED_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/** A scheduled start as given: a time with its zone ("2026-12-04T02:00Z", "2026-12-04 03:00+01:00"), or null. */
export function parseStartTime(value: unknown): Date | null {
  if (value === null || value === '') return null;
  const at =
    typeof value === 'string' && ZONED_TIME.test(value.trim()) ? new Date(value.trim().replace(' ', 'T')) : null;
  if (!at || Number.isNaN(at.getTime()))
    throw new ActionRefused(
      `${JSON.stringify(value)} is not a time with its zone: write it like 2026-12-04T02:00Z or 2026-12-04 03:00+01:00`,
      422,
    );
  return at;
}

/**
 * Nothing of the rollout goes out before `at` (null: the schedule is lifted, and what it held goes out as
 * its other holds allow). Jobs already sent go on; an operator's retry or force of one job is not held.
 */
export async function scheduleRollout(
  deps: OperatorDeps,
  rolloutId: string,
  at: Date | null,
  by: string | null,
  now = new Date(),
): Promise<ControlResult> {
  return control(deps, rolloutId, 'schedule', by, async (rollout, tx) => {
    if (rollout.kind !== 'release')
      throw new ActionRefused(`rollout ${rolloutId} is a ${rollout.kind}: only a release's rollout is scheduled`, 422);
    if (rollout.state === 'aborted' || rollout.state === 'completed')
      throw new ActionRefused(`rollout ${rolloutId} is ${rollout.state}: nothing of it is left to schedule`);
    if (at && at.getTime() <= now.getTime())
      throw new ActionRefused(`${at.toISOString()} has passed: schedule a time to come, or lift the schedule`, 422);
    const when = at ? `scheduled to start at ${at.toISOString().replace('T', ' ').slice(0, 16)} UTC` : null;
    await setRolloutState(tx, rolloutId, { startAt: at });
    await recordRolloutEvent(tx, rolloutId, at ? 'rollout_scheduled' : 'rollout_schedule_lifted', {
      at: at?.toISOString() ?? null,
      by,
    });
    return at && when ? holdForSchedule(tx, rolloutId, rollout.currentWave, at, `${when}${byText(by)}`) : 0;
  });
}

/** Lets the wave the rollout has reached start, when it waits for approval (`approval: required`). */
export async function approveWave(deps: OperatorDeps, rolloutId: string, by: string | null): Promise<ControlResult> {
  return control(deps, rolloutId, 'approve-wave', by, async (rollout, tx) => {
    const index = rollout.currentWave;
    const wave = rollout.strategy?.waves[index];
    if (rollout.state === 'aborted' || rollout.state === 'completed')
      throw new ActionRefused(`rollout ${rolloutId} is ${rollout.state}`);
    if (!wave || !waitsForApproval(rollout, index)) {
      const later = (rollout.strategy?.waves ?? []).findIndex((w, i) => i > index && w.approvalRequired);
      throw new ActionRefused(
        `no wave of rollout ${rolloutId} waits for approval${wave ? `: wave ${index + 1} (${wave.name}) is under way` : ''}${later > 0 ? `; wave ${later + 1} (${rollout.strategy!.waves[later].name}) will, when it is reached` : ''}`,
      );
    }
    await setRolloutState(tx, rolloutId, { approvedWave: index });
    await recordRolloutEvent(tx, rolloutId, 'wave_approved', { wave: index + 1, name: wave.name, by });
    return (await jobStates(tx, rolloutId)).filter((j) => j.wave === index && j.state === 'pending').length;
  });
}

/** Starts the next wave now, whatever the current one's thresholds and soak say (it counts as approved). */
export async function startNextWave(deps: OperatorDeps, rolloutId: string, by: string | null): Promise<ControlResult> {
  return control(deps, rolloutId, 'next-wave', by, async (rollout, tx) => {
    const waves = rollout.strategy?.waves ?? [];
    if (!waves.length)
      throw new ActionRefused(`rollout ${rolloutId} has no waves: every host got its job at once`, 422);
    if (rollout.state === 'aborted' || rollout.state === 'completed')
      throw new ActionRefused(`rollout ${rolloutId} is ${rollout.state}`);
    const next = rollout.currentWave + 1;
    if (next >= waves.length)
      throw new ActionRefused(
        `rollout ${rolloutId} is in its last wave (${rollout.currentWave + 1} of ${waves.length}, ${waves[rollout.currentWave].name})`,
      );
    await setRolloutState(tx, rolloutId, {
      state: 'running',
      reason: null,
      currentWave: next,
      acceptedWave: Math.max(rollout.acceptedWave, rollout.currentWave),
      approvedWave: Math.max(rollout.approvedWave, next),
      soakUntil: null,
    });
    await recordRolloutEvent(tx, rolloutId, 'wave_started', { wave: next + 1, name: waves[next].name, by });
    return unholdJobs(tx, rolloutId);
  });
}

async function control(
  deps: OperatorDeps,
  rolloutId: string,
  action: string,
  by: string | null,
  work: (rollout: RolloutRow, tx: Parameters<Parameters<Database['transaction']>[0]>[0]) => Promise<number>,
): Promise<ControlResult> {
  const outcome = await deps.db.transaction(async (tx) => {
    const before = await lockRollout(tx, rolloutId);
    if (!before) throw new ActionRefused(`no rollout ${rolloutId}`, 404);
    if (action === 'resume' || action === 'next-wave' || action === 'approve-wave') {
      const release = before.kind === 'release' ? await getRelease(tx, before.releaseId) : undefined;
      if (release?.yanked) throw new ActionRefused(yankedText(release));
    }
    const jobs = await work(before, tx);
    const after = (await getRollout(tx, rolloutId))!;
    if (after.state !== before.state || after.currentWave !== before.currentWave) {
      await recordRolloutEvent(tx, rolloutId, `rollout_${action.replace('-', '_')}`, {
        by,
        from: before.state,
        to: after.state,
        wave: after.currentWave + 1,
      });
    }
    return { after, jobs };
  });
  const { state, currentWave, startAt } = outcome.after;
  return { rolloutId, action, state, currentWave, startAt, jobs: outcome.jobs };
}

const byText = (by: string | null) => (by ? ` by ${by}` : '');
