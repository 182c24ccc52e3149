import type { PgBoss } from 'pg-boss';
import { FINAL_JOB_STATES } from '../../protocol/statuses.ts';
import { enqueueDeliveries } from '../delivery/deliver-rollout.ts';
import { QUEUES, wakeWhenDue } from '../queue.ts';
import type { Database, Queryable } from '../store/database.ts';
import { hostsWithIds, listLabelSchedules } from '../store/hosts.ts';
import { getRelease } from '../store/releases.ts';
import {
  blockJobs,
  explainWaveHold,
  holdUnsentJobs,
  hostsToRollBack,
  lockRollout,
  recordRolloutEvent,
  reholdJobs,
  releaseJobs,
  setRolloutState,
} from '../store/rollout-state.ts';
import { rolloutJobs, unfinishedJobs, type HostJob, type RolloutRow } from '../store/rollouts.ts';
import { activeJobsOfHosts, releaseGraph } from '../store/staging.ts';
import { DEPENDENCY_WAIT_SECONDS, evaluateHold, hostHoldContext } from './holds.ts';
import { approvalReason, describeThreshold, errorThresholdReached, waitsForApproval, type Wave } from './strategy.ts';

// A staged rollout's controller: looks at a running rollout and moves it on. The wave in progress halts the
// rollout when its failures reach the error threshold, or when it ends below its success threshold; when it
// ends well, its soak time runs, then the next wave starts. Pending jobs of the waves that have started are
// released when nothing holds them (release age, maintenance window, a dependency on its way) or blocked
// when a dependency is missing. Runs in one transaction under the rollout's row lock, from the queue
// (after every change to the rollout, at the time a hold or soak ends) and from a periodic pass, so a
// restarted bot picks up every wave, soak and window where it was.

export interface AdvanceDeps {
  db: Database;
  boss: PgBoss;
  now?: () => Date;
}

export interface AdvanceOutcome {
  released: number;
  blocked: number;
  /** Why the rollout halted in this pass. */
  halted?: string;
  /** The wave that started in this pass. */
  waveStarted?: number;
  completed?: boolean;
  /** When to look again (a soak, a window or the release age ends). */
  wakeAt: Date | null;
  /** A halted rollout whose strategy asks for a fleet rollback: the hosts whose jobs finished and are not rolled back yet. */
  rollBack?: string[];
}

const NOTHING: AdvanceOutcome = { released: 0, blocked: 0, wakeAt: null };
const RELEASABLE = new Set(['wave', 'window', 'release_age', 'scheduled', 'dependency']);

export async function advanceRollout(deps: AdvanceDeps, rolloutId: string): Promise<AdvanceOutcome> {
  const now = deps.now?.() ?? new Date();
  return deps.db.transaction(async (tx) => {
    const rollout = await lockRollout(tx, rolloutId);
    if (!rollout) return NOTHING;
    if (rollout.state === 'halted' && rollout.strategy?.rollbackOnHalt)
      return { ...NOTHING, rollBack: await hostsToRollBack(tx, rolloutId) };
    if (rollout.state !== 'running') return NOTHING;
    const waves = rollout.strategy?.waves ?? [];
    // A rollout in waves is read whole (each wave's progress decides the next); one without needs only its
    // pending jobs, and a count of the unfinished ones at the end, which a rollout being pushed to a thousand
    // hosts answers without loading every job each time it changes.
    const jobs = waves.length ? await rolloutJobs(tx, rolloutId) : await rolloutJobs(tx, rolloutId, 'pending');
    const outcome: AdvanceOutcome = { released: 0, blocked: 0, wakeAt: null };
    let current = rollout.currentWave;

    if (waves.length) {
      const step = await waveStep(tx, rollout, jobs, waves, now);
      if (step.halted)
        return {
          ...outcome,
          halted: step.halted,
          ...(rollout.strategy?.rollbackOnHalt ? { rollBack: await hostsToRollBack(tx, rolloutId) } : {}),
        };
      if (step.waveStarted !== undefined) {
        current = step.waveStarted;
        outcome.waveStarted = current;
      }
      outcome.wakeAt = step.wakeAt ?? null;
    }

    const gated = { ...rollout, currentWave: current };
    const pending = jobs.filter(
      (job) =>
        job.state === 'pending' &&
        job.wave <= current &&
        RELEASABLE.has(job.hold ?? 'wave') &&
        !waitsForApproval(gated, job.wave),
    );
    if (pending.length) {
      const decided = await decideHolds(tx, rollout, pending, now);
      const released = await releaseJobs(tx, decided.release);
      await reholdJobs(tx, decided.hold);
      await blockJobs(tx, decided.block);
      if (released.length) await enqueueDeliveries(deps.boss, released, tx);
      outcome.released = released.length;
      outcome.blocked = decided.block.length;
      outcome.wakeAt = earliest(outcome.wakeAt, decided.wakeAt);
    }

    const changed = outcome.released || outcome.blocked || outcome.waveStarted !== undefined;
    const allFinished =
      waves.length && !changed
        ? jobs.every((job) => FINAL_JOB_STATES.has(job.state))
        : (await unfinishedJobs(tx, rolloutId)) === 0;
    const lastWave = Math.max(0, waves.length - 1);
    if (allFinished && (current >= lastWave || !waves.length) && !outcome.wakeAt) {
      await setRolloutState(tx, rolloutId, { state: 'completed', reason: null, soakUntil: null });
      await recordRolloutEvent(tx, rolloutId, 'rollout_completed', { waves: waves.length });
      outcome.completed = true;
    }
    return outcome;
  });
}

interface WaveStep {
  halted?: string;
  waveStarted?: number;
  wakeAt?: Date | null;
}

/** The wave in progress: halt, soak, or start the next one. */
async function waveStep(
  tx: Queryable,
  rollout: RolloutRow,
  jobs: readonly HostJob[],
  waves: readonly Wave[],
  now: Date,
): Promise<WaveStep> {
  const index = rollout.currentWave;
  const wave = waves[index];
  if (!wave) return { wakeAt: null };
  const stats = waveStats(jobs, index);
  const judged = index > rollout.acceptedWave;
  const name = `wave ${index + 1} (${wave.name})`;
  if (judged && errorThresholdReached(wave.errorThreshold, stats.failed, stats.counted)) {
    return {
      halted: await halt(
        tx,
        rollout.id,
        `${name}: ${stats.failed} of ${stats.counted} jobs failed, reaching its error threshold (${describeThreshold(wave.errorThreshold!)})`,
      ),
    };
  }
  if (!stats.done) return { wakeAt: null };
  const successPercent = stats.counted ? (stats.ok * 100) / stats.counted : 100;
  if (judged && successPercent < wave.successPercent) {
    return {
      halted: await halt(
        tx,
        rollout.id,
        `${name}: ${stats.ok} of ${stats.counted} jobs succeeded (${Math.floor(successPercent)} %), below its success threshold of ${wave.successPercent} %`,
      ),
    };
  }
  if (index + 1 >= waves.length) return { wakeAt: null };
  if (wave.soakSeconds > 0) {
    const soakUntil = rollout.soakUntil
      ? new Date(rollout.soakUntil)
      : new Date(now.getTime() + wave.soakSeconds * 1000);
    if (!rollout.soakUntil) {
      await setRolloutState(tx, rollout.id, { soakUntil });
      await recordRolloutEvent(tx, rollout.id, 'wave_soaking', {
        wave: index + 1,
        name: wave.name,
        until: soakUntil.toISOString(),
      });
    }
    if (soakUntil > now) return { wakeAt: soakUntil };
  }
  const next = index + 1;
  await setRolloutState(tx, rollout.id, { currentWave: next, soakUntil: null });
  await recordRolloutEvent(tx, rollout.id, 'wave_started', {
    wave: next + 1,
    name: waves[next].name,
    after: { ok: stats.ok, failed: stats.failed, jobs: stats.counted },
  });
  if (waitsForApproval(rollout, next)) {
    await explainWaveHold(tx, rollout.id, next, approvalReason(next, waves[next]));
    await recordRolloutEvent(tx, rollout.id, 'wave_awaiting_approval', { wave: next + 1, name: waves[next].name });
  }
  return { waveStarted: next, wakeAt: null };
}

/** A halt: the rollout waits for the operator, and every job not sent yet is held. */
async function halt(tx: Queryable, rolloutId: string, reason: string): Promise<string> {
  await setRolloutState(tx, rolloutId, { state: 'halted', reason, soakUntil: null });
  await holdUnsentJobs(tx, rolloutId, 'halted', `rollout halted: ${reason}`);
  await recordRolloutEvent(tx, rolloutId, 'rollout_halted', { reason });
  return reason;
}

export interface WaveStats {
  /** Jobs that count: not skipped, superseded, cancelled or blocked. */
  counted: number;
  ok: number;
  failed: number;
  /** Every counted job is final. */
  done: boolean;
}

/** What the thresholds look at: failures are failed (a failed health check included) and dead-lettered jobs. */
export function waveStats(jobs: ReadonlyArray<Pick<HostJob, 'wave' | 'state'>>, wave: number): WaveStats {
  const counted = jobs.filter(
    (job) => job.wave === wave && !['skipped', 'superseded', 'cancelled', 'blocked'].includes(job.state),
  );
  return {
    counted: counted.length,
    ok: counted.filter((job) => job.state === 'ok').length,
    failed: counted.filter((job) => job.state === 'failed' || job.state === 'dead_lettered').length,
    done: counted.every((job) => FINAL_JOB_STATES.has(job.state)),
  };
}

async function decideHolds(tx: Queryable, rollout: RolloutRow, pending: readonly HostJob[], now: Date) {
  const hostIds = [...new Set(pending.map((job) => job.hostId))];
  const [hosts, labels, active, release, graph] = [
    await hostsWithIds(tx, hostIds),
    await listLabelSchedules(tx),
    await activeJobsOfHosts(tx, hostIds),
    await getRelease(tx, rollout.releaseId),
    await releaseGraph(tx),
  ];
  const shared = {
    now,
    notBefore: rollout.notBefore ? new Date(rollout.notBefore) : null,
    startAt: rollout.startAt ? new Date(rollout.startAt) : null,
    labelSchedules: labels,
    dependencies: release?.dependencies ?? [],
    dependencyWaitUntil: new Date(Date.parse(rollout.createdAt) + DEPENDENCY_WAIT_SECONDS * 1000),
    releaseGraph: graph,
  };
  const release_: string[] = [];
  const hold: Array<{ id: string; hold: NonNullable<HostJob['hold']>; reason: string; until: Date | null }> = [];
  const block: Array<{ id: string; reason: string }> = [];
  let wakeAt: Date | null = null;
  for (const job of pending) {
    const host = hosts.get(job.hostId);
    if (!host) continue;
    const decision = evaluateHold(hostHoldContext(shared, host, job, active.get(job.hostId) ?? []));
    if (decision.kind === 'release') release_.push(job.id);
    else if (decision.kind === 'block') block.push({ id: job.id, reason: decision.reason });
    else {
      hold.push({ id: job.id, hold: decision.hold, reason: decision.reason, until: decision.until });
      wakeAt = earliest(wakeAt, decision.until);
    }
  }
  return { release: release_, hold, block, wakeAt };
}

function earliest(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a < b ? a : b;
}

export interface AdvanceData {
  rolloutId: string;
}

/**
 * Queues a look at the rollout: now (one waiting look per rollout is enough), or at `at` when a soak, a
 * window or the release age ends (one waiting wake-up per rollout, apart from the looks now, so a wake-up
 * hours away never stands in for a look now; the periodic pass covers a wake-up that was dropped).
 */
export async function scheduleAdvance(
  boss: PgBoss,
  rolloutId: string,
  at?: Date | null,
  now: Date = new Date(),
): Promise<void> {
  const delay = at ? Math.ceil((at.getTime() - now.getTime()) / 1000) : 0;
  if (delay <= 0)
    await boss.send(QUEUES.advanceRollout, { rolloutId } satisfies AdvanceData, { singletonKey: rolloutId });
  else
    await boss.send(QUEUES.advanceRollout, { rolloutId } satisfies AdvanceData, {
      singletonKey: `${rolloutId}:wake`,
      startAfter: delay,
    });
  wakeWhenDue(boss, QUEUES.advanceRollout, [delay]);
}
