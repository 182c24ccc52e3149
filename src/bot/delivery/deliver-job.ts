import type { PgBoss } from 'pg-boss';
import { pushes, pushesInFlight } from '../metrics.ts';
import { QUEUES, inTransaction, wakeWhenDue } from '../queue.ts';
import type { Database, Queryable } from '../store/database.ts';
import {
  loadDeliveries,
  recordJobEvents,
  transitionJobs,
  type DeliveryContext,
  type HostJob,
} from '../store/rollouts.ts';
import { applyReport } from '../store/reports.ts';
import type { JobState } from '../../protocol/statuses.ts';
import type { Report } from '../../protocol/messages.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { reportInAnswer } from './answered-report.ts';
import { buildJobMessage, notifyAttemptId } from './job-message.ts';
import { pushMessage, type PushOutcome } from './push-message.ts';

// The delivery worker: push one host's job, record what happened, and schedule the next try with
// exponential backoff and jitter (at least the host's Retry-After) until it lands or runs out of tries.
// Safe to run twice: the job's state and current attempt decide whether there is anything left to do, and
// every try of one attempt carries its id, so a host that already has it answers "known" (with its report,
// which the bot applies).

export interface DeliveryDeps {
  db: Database;
  box: SecretBox;
  boss: PgBoss;
  /** The bot's public URL (hosts report to <botUrl>/api/reports). */
  botUrl: string;
  /** Seconds before each retry; its length is the number of retries (default: about three days). */
  retrySchedule?: readonly number[];
  timeoutMs?: number;
  /** Seconds a first push's claim holds before another run may take the job (default: two timeouts + 10 s). */
  leaseSeconds?: number;
  random?: () => number;
  /** Told the rollout of every job whose state this worker changed. */
  /** A job's deadline, in seconds from its message (default three days). */
  jobDeadlineSeconds?: number;
  /** Jobs this process holds under a lease now (claimed, not yet recorded): a clean stop hands them back. */
  held?: Set<string>;
  /** Told how many jobs a run took over from a process whose lease ran out. */
  onTakeover?: (rolloutId: string, jobs: number) => void;
}

export interface DeliveryData {
  jobId: string;
  /** The attempt this delivery is for; a newer attempt of the job makes it void. */
  attemptId?: string;
  /** Tries of the attempt so far. */
  attempt: number;
  /** `notify`: tell a notify-policy host an update is waiting (the job itself waits for approval). */
  kind?: 'job' | 'notify';
}

/** Standard Webhooks' schedule, stretched to about three days: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 14 h, 20 h. */
export const RETRY_SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18_000, 36_000, 36_000, 50_400, 72_000];

/** Queues a delivery; inside a store transaction when `tx` is given, so both commit or neither does. */
export async function enqueueDelivery(
  boss: PgBoss,
  job: Pick<HostJob, 'id' | 'hostId' | 'pluginId' | 'attemptId'>,
  data: Omit<DeliveryData, 'jobId' | 'attemptId'> = { attempt: 0 },
  delaySeconds = 0,
  tx?: Queryable,
): Promise<void> {
  await boss.send(QUEUES.deliverJob, { jobId: job.id, attemptId: job.attemptId, ...data } satisfies DeliveryData, {
    singletonKey: `${job.hostId}:${job.pluginId}`,
    startAfter: delaySeconds > 0 ? Math.ceil(delaySeconds) : undefined,
    ...(tx ? inTransaction(tx) : {}),
  });
  wakeWhenDue(boss, QUEUES.deliverJob, [Math.ceil(delaySeconds)]);
}

/** Many deliveries in one statement, each after its own delay, inside a store transaction. */
export async function insertDeliveries(
  boss: PgBoss,
  entries: ReadonlyArray<{ job: Pick<HostJob, 'hostId' | 'pluginId'>; data: DeliveryData; delaySeconds?: number }>,
  tx: Queryable,
): Promise<void> {
  await boss.insert(
    QUEUES.deliverJob,
    entries.map(({ job, data, delaySeconds }) => ({
      data,
      singletonKey: `${job.hostId}:${job.pluginId}`,
      ...(delaySeconds ? { startAfter: new Date(Date.now() + Math.ceil(delaySeconds) * 1000) } : {}),
    })),
    inTransaction(tx),
  );
  wakeWhenDue(
    boss,
    QUEUES.deliverJob,
    entries.map(({ delaySeconds }) => (delaySeconds ? Math.ceil(delaySeconds) : undefined)),
  );
}

/**
 * A worker's batch: the store is read once and written once per resulting state (set-based), the pushes go
 * out side by side. Each job's outcome is what delivering it alone would have done.
 */
export async function deliverJobs(
  deps: DeliveryDeps,
  batch: readonly DeliveryData[],
): Promise<Array<PushOutcome | undefined>> {
  const { db } = deps;
  const contexts = await loadDeliveries(
    db,
    batch.map((d) => d.jobId),
  );
  const pending = batch.map((data) => {
    const loaded = contexts.get(data.jobId);
    if (!loaded) return undefined;
    const notifying = data.kind === 'notify';
    if (data.attemptId && data.attemptId !== loaded.job.attemptId) return undefined; // a newer attempt took over
    if (notifying ? loaded.job.state !== 'awaiting_approval' : !['queued', 'delivering'].includes(loaded.job.state))
      return undefined;
    if (!loaded.host.url) return undefined; // pull mode: the job stays queued until the host's next poll hands it out
    return { data, loaded, notifying };
  });
  const starting = pending
    .filter((p) => p && !p.notifying)
    .map((p) => ({ id: p!.data.jobId, reason: null, attempts: p!.data.attempt + 1 }));
  const started = await transitionJobs(db, starting, ['queued', 'delivering'], 'delivering', leaseSeconds(deps), {
    claim: true,
  });
  for (const id of started) deps.held?.add(id);
  return pushAndRecord(
    deps,
    pending.map((p) => (p && (p.notifying || started.has(p.data.jobId)) ? p : undefined)),
  );
}

/** A job to push now: claimed (moved to `delivering`), or a notify push for a job that waits for approval. */
export interface ClaimedPush {
  data: DeliveryData;
  loaded: DeliveryContext;
  notifying: boolean;
}

/** Pushes claimed jobs side by side and records what each became (recordOutcomes). */
export async function pushAndRecord(
  deps: DeliveryDeps,
  claimed: ReadonlyArray<ClaimedPush | undefined>,
): Promise<Array<PushOutcome | undefined>> {
  const outcomes = await Promise.all(claimed.map((p) => (p ? pushJob(deps, p.loaded, p.notifying) : undefined)));
  await recordOutcomes(deps, claimed, outcomes);
  return outcomes;
}

/**
 * Records what each pushed job became, one statement per resulting state; a retry is queued in the
 * transaction that puts its job back in the queue. `outcomes[i]` is the outcome of `claimed[i]`.
 */
export async function recordOutcomes(
  deps: DeliveryDeps,
  claimed: ReadonlyArray<ClaimedPush | undefined>,
  outcomes: ReadonlyArray<SignedOutcome | undefined>,
): Promise<void> {
  const { db } = deps;

  // What each pushed job becomes; notify pushes are best effort (the job waits for approval either way).
  const schedule = deps.retrySchedule ?? RETRY_SCHEDULE_SECONDS;
  const moves = new Map<JobState, Array<{ id: string; reason: string | null }>>();
  const retries: Array<{ job: HostJob; attempt: number; delay: number }> = [];
  // A host that already had the attempt answers with its report so far: applied as if it had just sent it.
  const known: Report[] = [];
  const move = (state: JobState, id: string, reason: string | null) =>
    moves.set(state, [...(moves.get(state) ?? []), { id, reason }]);
  claimed.forEach((p, i) => {
    const outcome = outcomes[i];
    if (!p || !outcome || p.notifying) return;
    const { job } = p.loaded;
    switch (outcome.kind) {
      case 'delivered': {
        const { repeat, report } = reportInAnswer(outcome, outcome.secrets, {
          hostId: job.hostId,
          attemptId: job.attemptId,
        });
        if (report) known.push(report);
        return move('delivered', job.id, repeat ? 'the host already had this attempt' : null);
      }
      case 'refused':
        return move('skipped', job.id, `refused by the host: ${outcome.reason}`);
      case 'gone':
        return move(
          'dead_lettered',
          job.id,
          'the host answered 410 Gone: no more pushes to this endpoint until it is fixed',
        );
      case 'failed':
        return move('failed', job.id, outcome.error);
      case 'retry': {
        if (p.data.attempt >= schedule.length)
          return move('dead_lettered', job.id, `gave up after ${p.data.attempt + 1} attempts: ${outcome.error}`);
        const jitter = 0.8 + (deps.random ?? Math.random)() * 0.4;
        const delay = Math.max(schedule[p.data.attempt] * jitter, outcome.retryAfterSeconds ?? 0);
        retries.push({ job, attempt: p.data.attempt + 1, delay });
        return move(
          'queued',
          job.id,
          `attempt ${p.data.attempt + 1} failed (${outcome.error}); next in ${Math.round(delay)} s`,
        );
      }
    }
  });
  for (const [state, list] of moves) {
    if (state === 'dead_lettered' || state === 'failed') {
      // A job the bot could not deliver is an outcome the event log (and whoever is notified of failures) hears of.
      await db.transaction(async (tx) => {
        const moved = await transitionJobs(tx, list, ['delivering'], state);
        await recordJobEvents(tx, state === 'failed' ? 'push_failed' : 'job_dead_lettered', [...moved]);
      });
      continue;
    }
    if (state !== 'queued') {
      await transitionJobs(db, list, ['delivering'], state);
      continue;
    }
    await db.transaction(async (tx) => {
      const requeued = await transitionJobs(tx, list, ['delivering'], 'queued');
      const due = retries.filter((r) => requeued.has(r.job.id));
      if (due.length)
        await insertDeliveries(
          deps.boss,
          due.map(({ job, attempt, delay }) => ({
            job,
            data: { jobId: job.id, attemptId: job.attemptId, attempt },
            delaySeconds: delay,
          })),
          tx,
        );
    });
  }
  for (const report of known) await applyReport(db, null, report);
  for (const p of claimed) if (p) deps.held?.delete(p.data.jobId);
}

/** A push's outcome with the secrets it was signed with (a host's answer is checked against them). */
export type SignedOutcome = PushOutcome & { secrets: string[] };

/** One signed push of a job's current attempt (or its notify). */
export async function pushJob(
  deps: Pick<DeliveryDeps, 'box' | 'botUrl' | 'timeoutMs' | 'jobDeadlineSeconds'>,
  loaded: DeliveryContext,
  notifying = false,
): Promise<SignedOutcome> {
  const { job, host, release } = loaded;
  const action = notifying || job.action === 'notify' ? 'notify' : job.action;
  const message = buildJobMessage(
    job,
    host,
    release,
    deps.botUrl,
    action,
    deps.box,
    new Date(),
    deps.jobDeadlineSeconds,
  );
  const secrets = host.secretsSealed.map((sealed) => deps.box.open(sealed));
  pushesInFlight.inc();
  const outcome = await pushMessage({
    url: host.url!,
    body: JSON.stringify(message),
    secrets,
    messageId: notifyAttemptId(job, action),
    allowPrivateNetwork: host.allowPrivateNetwork,
    timeoutMs: deps.timeoutMs,
  }).finally(() => pushesInFlight.dec());
  pushes.inc({ outcome: outcome.kind });
  return { ...outcome, secrets };
}

/** A job's lease covers its push (two timeouts at most) and the write after it, with room to spare. */
export function leaseSeconds(deps: Pick<DeliveryDeps, 'timeoutMs' | 'leaseSeconds'>): number {
  return deps.leaseSeconds ?? Math.ceil((2 * (deps.timeoutMs ?? 10_000)) / 1000) + 10;
}
