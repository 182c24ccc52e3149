import { PgBoss, fromPglite } from 'pg-boss';
import type { Database } from './store/database.ts';

// Every job the bot runs goes through pg-boss, in the same database as the store: PGlite in-process, or
// PostgreSQL shared by any number of bot processes.

export const QUEUES = {
  /** Resolve a release: plugin and version from the tag, wait for the assets, check the digest, plan. */
  resolveRelease: 'resolve-release',
  /** Push one host's job; one in flight per host and plugin (key_strict_fifo on `<host>:<plugin>`). */
  deliverJob: 'deliver-job',
  /** Deliveries that ran out of retries, for an operator to see and redeliver. */
  deliverJobDead: 'deliver-job-dead',
} as const;

/**
 * pg-boss's own retries on the delivery queue only cover a worker that crashed or threw: delivery retries
 * (backoff, Retry-After, dead letter) are scheduled by the delivery worker itself, which knows why it failed.
 */
export const DELIVERY_CRASH_RETRY = { retryLimit: 5, retryDelay: 30, retryBackoff: true, retryDelayMax: 3600 } as const;

/** Waiting for a release's assets: 10 s, 20 s, 40 s, ... capped at 10 min, about an hour in all. */
export const RESOLVE_RETRY = { retryLimit: 12, retryDelay: 10, retryBackoff: true, retryDelayMax: 600 };

export async function startQueue(db: Database, options: { resolveRetry?: Partial<typeof RESOLVE_RETRY> } = {}): Promise<PgBoss> {
  const boss = db.pglite
    ? new PgBoss({ db: fromPglite(db.pglite), backend: 'pglite', schema: 'pgboss' })
    : new PgBoss({ connectionString: db.connectionString!, schema: 'pgboss', max: 4, application_name: 'c2f-bot-queue' });
  boss.on('error', () => {}); // surfaced per job; a transient connection error must not crash the bot
  await boss.start();
  await boss.createQueue(QUEUES.deliverJobDead, { retryLimit: 0 });
  await boss.createQueue(QUEUES.resolveRelease, { ...RESOLVE_RETRY, ...options.resolveRetry });
  await boss.createQueue(QUEUES.deliverJob, { policy: 'key_strict_fifo', ...DELIVERY_CRASH_RETRY, deadLetter: QUEUES.deliverJobDead });
  return boss;
}
