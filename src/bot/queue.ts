import { PgBoss, fromPglite } from 'pg-boss';
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
