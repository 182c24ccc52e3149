import { PgBoss, fromPglite, type WorkHandler, type WorkOptions } from 'pg-boss';
import type { Database, Queryable } from './store/database.ts';

// Every job the bot runs goes through pg-boss, in the same database as the store: PGlite in-process, or
// PostgreSQL shared by any number of bot processes.

export const QUEUES = {
  /** Resolve a release: plugin and version from the tag, wait for the assets, check the digest, plan. */
  resolveRelease: 'resolve-release',
  /** Runs of a rollout's first pushes, claimed from its jobs a chunk at a time; one waiting run per rollout, any number going. */
  deliverRollout: 'deliver-rollout-run',
  /** The same runs as queued by earlier versions (one run at a time per rollout); still worked, never sent to. */
  deliverRolloutLegacy: 'deliver-rollout',
  /** Push one host's job again (retries, redeliveries); one in flight per host and plugin (key_strict_fifo on `<host>:<plugin>`). */
  deliverJob: 'deliver-job',
  /** Deliveries that ran out of retries, for an operator to see and redeliver. */
  deliverJobDead: 'deliver-job-dead',
  /** Create or update a rollout's check run; coalesced per rollout. */
  checkRun: 'check-run',
  /** Every few minutes: ask GitHub to redeliver webhooks that failed. */
  redeliverWebhooks: 'redeliver-webhooks',
  /** Once a day: prune what is older than the retention (events, deliveries, final jobs' history and reports). */
  prune: 'prune-old-records',
  /** Look at a running rollout: halt, soak, start the next wave, release held jobs; one waiting look per rollout. */
  advanceRollout: 'advance-rollout',
} as const;

/**
 * pg-boss's own retries on the delivery queue only cover a worker that crashed or threw: delivery retries
 * (backoff, Retry-After, dead letter) are scheduled by the delivery worker itself, which knows why it failed.
 */
export const DELIVERY_CRASH_RETRY = { retryLimit: 5, retryDelay: 30, retryBackoff: true, retryDelayMax: 3600 } as const;

/** Waiting for a release's assets: 10 s, 20 s, 40 s, ... capped at 10 min, about an hour in all. */
export const RESOLVE_RETRY = { retryLimit: 12, retryDelay: 10, retryBackoff: true, retryDelayMax: 600 };

/** pg-boss options that run its statements in one of our store transactions (both commit or neither does). */
export function inTransaction(tx: Queryable): {
  db: { executeSql: (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }> };
} {
  return { db: { executeSql: async (text, values) => ({ rows: await tx.query(text, values) }) } };
}

// Waking workers: a new job wakes every process's workers of its queue through NOTIFY. A job sent with a
// delay sends nothing when it comes due, so the process that sent it wakes its own workers then; a worker
// that found work wakes the queue's other workers and looks again at once, so a backlog drains without
// waiting for a poll. The poll itself is a slow safety net (for jobs another process delayed, pg-boss's own
// retries, a lost NOTIFY), taken once per queue: one of its workers in turn looks every few seconds, so a
// queue with four workers asks the database as often as a queue with one. Without a listening connection
// pg-boss polls at the short interval.

/** How often one worker of a NOTIFY-enabled queue looks for work when nothing woke the queue. */
export const POLL_BACKSTOP_SECONDS = 5;
/** Each worker's own poll while NOTIFY works: only a net under the queue's backstop. */
const WORKER_BACKSTOP_SECONDS = 60;
const POLL_WITHOUT_NOTIFY_SECONDS = 0.5;
/** Longer delays are left to the poll: a timer is not worth holding for days. */
const MAX_WAKE_DELAY_SECONDS = 24 * 60 * 60;

/** This process's workers of `queue` look for work now instead of at their next poll. */
export function wakeWorkers(boss: PgBoss, queue: string): void {
  for (const worker of boss.getWipData()) if (worker.name === queue) boss.notifyWorker(worker.id);
}

/** Wakes this process's workers of `queue` when a job sent with these delays comes due. */
export function wakeWhenDue(boss: PgBoss, queue: string, delaysSeconds: ReadonlyArray<number | undefined>): void {
  const due = new Set(
    delaysSeconds.filter((d): d is number => d !== undefined && d > 0 && d <= MAX_WAKE_DELAY_SECONDS),
  );
  for (const seconds of due) setTimeout(() => wakeWorkers(boss, queue), Math.ceil(seconds * 1000) + 50).unref();
}

/** Every `seconds`, one of this process's workers of `queue`, each in turn, looks for work; ends with the queue. */
function backstopPoll(boss: PgBoss, queue: string, seconds: number): void {
  let turn = 0;
  const timer = setInterval(() => {
    const workers = boss.getWipData().filter((worker) => worker.name === queue);
    if (workers.length) boss.notifyWorker(workers[turn++ % workers.length].id);
  }, seconds * 1000).unref();
  boss.once('stopped', () => clearInterval(timer));
}

/**
 * Starts `batchSize`/`localConcurrency` workers of a NOTIFY-enabled queue; after each batch the queue's
 * workers look again at once (more may be waiting), and an idle queue waits for the backstop poll
 * (`backstopSeconds`, POLL_BACKSTOP_SECONDS unless given).
 */
export async function workQueue<T>(
  boss: PgBoss,
  queue: string,
  { backstopSeconds = POLL_BACKSTOP_SECONDS, ...options }: WorkOptions & { backstopSeconds?: number },
  handler: WorkHandler<T>,
): Promise<string> {
  const id = await boss.work<T>(
    queue,
    {
      pollingIntervalSeconds: POLL_WITHOUT_NOTIFY_SECONDS,
      notifyPollingIntervalSeconds: Math.max(WORKER_BACKSTOP_SECONDS, backstopSeconds),
      ...options,
    },
    async (jobs) => {
      try {
        return await handler(jobs);
      } finally {
        if (jobs.length) wakeWorkers(boss, queue);
      }
    },
  );
  backstopPoll(boss, queue, backstopSeconds);
  return id;
}

export interface QueueOptions {
  resolveRetry?: Partial<typeof RESOLVE_RETRY>;
  /** How long a job may stay active before another worker takes it over (a dead process's jobs). */
  expireInSeconds?: number;
  /** First delay before a crashed delivery is retried. */
  crashRetryDelaySeconds?: number;
  /** How often pg-boss looks for expired jobs (default 60 s for both). */
  superviseIntervalSeconds?: number;
  monitorIntervalSeconds?: number;
  /** pg-boss's own errors (a lost connection, a failed maintenance pass): logged, never fatal. */
  onError?: (error: Error) => void;
}

export async function startQueue(db: Database, options: QueueOptions = {}): Promise<PgBoss> {
  const supervise = {
    ...(options.superviseIntervalSeconds ? { superviseIntervalSeconds: options.superviseIntervalSeconds } : {}),
    ...(options.monitorIntervalSeconds ? { monitorIntervalSeconds: options.monitorIntervalSeconds } : {}),
  };
  const boss = db.pglite
    ? new PgBoss({
        db: fromPglite(db.pglite),
        backend: 'pglite',
        schema: 'pgboss',
        useListenNotify: true,
        ...supervise,
      })
    : new PgBoss({
        connectionString: db.connectionString!,
        schema: 'pgboss',
        max: 4,
        application_name: 'c2f-bot-queue',
        useListenNotify: true,
        ...supervise,
      });
  // A transient connection error must not crash the bot, and must not go unseen either.
  boss.on('error', (error) => options.onError?.(error));
  await boss.start();
  await boss.createQueue(QUEUES.deliverJobDead, { retryLimit: 0 });
  // A job held by a process that died is handed to another worker once it expires: a push or a release
  // resolution never legitimately takes long (every request has a timeout).
  const expireInSeconds = options.expireInSeconds ?? 120;
  // notify: a new job wakes the workers at once (LISTEN/NOTIFY) instead of at their next poll.
  await boss.createQueue(QUEUES.resolveRelease, {
    ...RESOLVE_RETRY,
    ...options.resolveRetry,
    expireInSeconds,
    notify: true,
  });
  await boss.createQueue(QUEUES.redeliverWebhooks, { policy: 'singleton', retryLimit: 0, expireInSeconds });
  await boss.createQueue(QUEUES.prune, { policy: 'singleton', retryLimit: 2, expireInSeconds: 3600 });
  await boss.createQueue(QUEUES.advanceRollout, {
    policy: 'short',
    retryLimit: 10,
    retryDelay: 5,
    retryBackoff: true,
    retryDelayMax: 300,
    expireInSeconds,
    notify: true,
  });
  await boss.createQueue(QUEUES.checkRun, {
    policy: 'short',
    retryLimit: 5,
    retryDelay: 10,
    retryBackoff: true,
    retryDelayMax: 300,
    expireInSeconds,
    notify: true,
  });
  // A rollout run that fails (the database away, say) is retried for about two days: its jobs wait for it.
  // "short": at most one waiting run per rollout, any number going at once (in several processes).
  const rolloutRuns = {
    ...DELIVERY_CRASH_RETRY,
    retryLimit: 60,
    retryDelay: options.crashRetryDelaySeconds ?? DELIVERY_CRASH_RETRY.retryDelay,
    expireInSeconds,
    notify: true,
  };
  await boss.createQueue(QUEUES.deliverRollout, { policy: 'short', ...rolloutRuns });
  await boss.createQueue(QUEUES.deliverRolloutLegacy, { policy: 'stately', ...rolloutRuns });
  await boss.createQueue(QUEUES.deliverJob, {
    policy: 'key_strict_fifo',
    ...DELIVERY_CRASH_RETRY,
    retryDelay: options.crashRetryDelaySeconds ?? DELIVERY_CRASH_RETRY.retryDelay,
    deadLetter: QUEUES.deliverJobDead,
    expireInSeconds,
    notify: true,
  });
  return boss;
}
