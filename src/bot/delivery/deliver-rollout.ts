import type { PgBoss } from 'pg-boss';
import { QUEUES, inTransaction, wakeWhenDue } from '../queue.ts';
import type { Queryable } from '../store/database.ts';
import { claimFirstPushes, firstPushesLeft, listFirstPushes } from '../store/first-pushes.ts';
import type { ReleaseRow } from '../store/releases.ts';
import type { HostJob } from '../store/rollouts.ts';
import { insertDeliveries, leaseSeconds, pushJob, type DeliveryDeps } from './deliver-job.ts';
import { OutcomeRecorder } from './outcome-recorder.ts';

// A rollout's first pushes: runs of a rollout (not one queue entry per host) whose worker lists the jobs
// once, then claims them a chunk at a time (the first claim smaller, so the first hosts hear sooner) and pushes
// them, up to `lanes` chunks' worth in flight: the next claim goes as soon as a chunk's worth has been
// answered, so one slow host holds up nothing beside it. Each claim is one statement that also loads what the
// push needs, and the answers are written in batches, one statement per resulting state (OutcomeRecorder), so
// a thousand hosts cost a few dozen statements. Several runs of one rollout may go at once, in several
// processes: a run that finds more work than one chunk queues another run (once the pushes of its first claim
// are under way), which walks the list from the other end (in a second process, or beside the first) and may
// queue another in turn, so runs share a large rollout; a job is claimed by one of them, under a lease. When
// the claiming process dies its lease runs out, and the sweep every live process runs queues a run that takes
// the job over with the same attempt id (the host answers that it already has it).

/** Jobs in a run's first claim, when the chunk is larger. */
const FIRST_CLAIM = 16;

export interface RolloutPushOptions {
  /** Jobs per claim (default 100). */
  chunk?: number;
  /** Claims' worth of pushes in flight at most (default 2). */
  lanes?: number;
  /** How long one run claims new chunks before it hands the rest to a fresh run (default 20 s). */
  runBudgetMs?: number;
}

export interface RolloutData {
  rolloutId: string;
  /** A run invited to share a rollout takes its jobs from the end of the list. */
  fromEnd?: boolean;
}

/** Queues a run of the rollout's first pushes (one waiting run per rollout is enough: a second is dropped; runs already going are not counted). */
export async function enqueueRolloutPushes(
  boss: PgBoss,
  rolloutId: string,
  delaySeconds = 0,
  tx?: Queryable,
  fromEnd = false,
): Promise<void> {
  await boss.send(QUEUES.deliverRollout, { rolloutId, ...(fromEnd ? { fromEnd } : {}) } satisfies RolloutData, {
    singletonKey: rolloutId,
    ...(delaySeconds > 0 ? { startAfter: Math.ceil(delaySeconds) } : {}),
    ...(tx ? inTransaction(tx) : {}),
  });
  wakeWhenDue(boss, QUEUES.deliverRollout, [delaySeconds]);
}

/**
 * Queues the first pushes of a new rollout, inside the transaction that created its jobs: one run for the
 * rollout's queued jobs, and a notify push per notify-policy host waiting for approval (a manual host is
 * told nothing: it waits for the operator).
 */
export async function enqueueDeliveries(
  boss: PgBoss,
  jobs: ReadonlyArray<Pick<HostJob, 'id' | 'rolloutId' | 'hostId' | 'pluginId' | 'state' | 'notify'>>,
  tx: Queryable,
): Promise<void> {
  const notices = jobs.filter((job) => job.state === 'awaiting_approval' && job.notify);
  if (notices.length)
    await insertDeliveries(
      boss,
      notices.map((job) => ({ job, data: { jobId: job.id, attempt: 0, kind: 'notify' } })),
      tx,
    );
  for (const rolloutId of new Set(jobs.filter((job) => job.state === 'queued').map((job) => job.rolloutId)))
    await enqueueRolloutPushes(boss, rolloutId, 0, tx);
}

/** Pushes every first push of the rollout it can claim; returns how many it pushed. */
export async function deliverRollout(
  deps: DeliveryDeps,
  rolloutId: string,
  options: RolloutPushOptions & { fromEnd?: boolean } = {},
): Promise<number> {
  const { chunk = 100, lanes = 2, runBudgetMs = 20_000 } = options;
  const lease = leaseSeconds(deps);
  if (lease * 1000 <= 2 * (deps.timeoutMs ?? 10_000))
    throw new Error(`a delivery lease of ${lease} s does not cover a push (${deps.timeoutMs} ms timeout, twice)`);
  const stopClaimingAt = Date.now() + runBudgetMs;
  const listed = await listFirstPushes(deps.db, rolloutId);
  if (options.fromEnd) listed.reverse();
  const releases = new Map<number, ReleaseRow>();
  const recorder = new OutcomeRecorder(deps, chunk);
  const window = chunk * lanes;
  const pushing = new Set<Promise<void>>();
  let slotFreed: (() => void) | undefined;
  let failure: unknown;
  let next = 0;
  let pushed = 0;
  let invited = false;
  // A slice another run took all of: the runs met (the other came from the other end, or took turns on this
  // one's), so the rest of the list is theirs too. Claiming it slice by slice would find nothing at some cost.
  let met = false;
  try {
    while (!met && next < listed.length && Date.now() < stopClaimingAt) {
      // The next claim waits until a chunk's worth of the pushes in flight have been answered.
      if (window - pushing.size < Math.min(chunk, listed.length - next)) {
        await new Promise<void>((resolve) => (slotFreed = resolve));
        continue;
      }
      const size = next === 0 ? Math.min(chunk, FIRST_CLAIM) : chunk;
      const slice = listed.slice(next, next + size);
      next += size;
      const claimed = await claimFirstPushes(deps.db, rolloutId, slice, lease, releases);
      if (!claimed.length) {
        met = true;
        break;
      }
      for (const { job } of claimed) deps.held?.add(job.id);
      const takenOver = claimed.filter((c) => c.takenOver).length;
      if (takenOver) deps.onTakeover?.(rolloutId, takenOver);
      pushed += claimed.length;
      for (const loaded of claimed) {
        const push = { data: { jobId: loaded.job.id, attempt: 0 }, loaded, notifying: false };
        const done: Promise<void> = pushJob(deps, loaded)
          .then(
            (outcome) => recorder.add(push, outcome),
            (error: unknown) => void (failure ??= error), // its job stays leased, for a later run to take over
          )
          .finally(() => {
            pushing.delete(done);
            slotFreed?.();
          });
        pushing.add(done);
      }
      // More than one chunk of work: another run, which another process may take, shares it from the other end
      // (invited once this chunk's pushes are under way).
      if (claimed.length === size && next < listed.length && listed.length > chunk && !invited) {
        invited = true;
        await enqueueRolloutPushes(deps.boss, rolloutId, 0, undefined, !options.fromEnd);
      }
    }
  } finally {
    // Whatever stopped the claims (a failed claim too), the pushes in flight finish and are written.
    await Promise.all(pushing);
    await recorder.flush();
  }
  if (failure) throw failure;
  // What this run could not take: out of time (a fresh run goes on at once), jobs behind another push to the
  // same host and plugin (look again shortly), or jobs under a lease that a dead process may hold. A run that
  // met another leaves the rest to it, and looks like any run that finished.
  if (next < listed.length && !met) {
    await enqueueRolloutPushes(deps.boss, rolloutId);
    return pushed;
  }
  const left = await firstPushesLeft(deps.db, rolloutId);
  const leaseWait = left.leaseEndsAt ? (left.leaseEndsAt.getTime() - Date.now()) / 1000 + 1 : 0;
  if (left.waiting > 0 || leaseWait > 0)
    await enqueueRolloutPushes(deps.boss, rolloutId, Math.max(left.waiting > 0 ? 2 : 0, leaseWait));
  return pushed;
}
