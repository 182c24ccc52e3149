import { FINAL_JOB_STATES } from '../../protocol/statuses.ts';
import type { Queryable } from './database.ts';
import { pruneHostMessages } from './host-messages.ts';

// What the store keeps, and for how long. Jobs, rollouts and releases stay (they are the record of what went
// where); what piles up with traffic is pruned once it is older than the retention: the event log, webhook
// deliveries, and the history and reports of jobs that are final. Host message ids go after 15 minutes.

export const DEFAULT_RETENTION_DAYS = 180;
/** Webhook delivery ids are kept at least this long: GitHub may redeliver a webhook days later. */
const MIN_DELIVERY_DAYS = 14;

export interface Pruned {
  events: number;
  webhookDeliveries: number;
  jobHistory: number;
  jobReports: number;
  hostMessages: number;
}

export async function pruneOldRecords(db: Queryable, days: number = DEFAULT_RETENTION_DAYS): Promise<Pruned> {
  const count = async (sql: string, params: unknown[]) => (await db.query(sql, params)).length;
  const final = `(${[...FINAL_JOB_STATES].map((state) => `'${state}'`).join(', ')})`;
  return {
    events: await count(`delete from events where at < now() - $1 * interval '1 day' returning id`, [days]),
    webhookDeliveries: await count(
      `delete from webhook_deliveries where received_at < now() - $1 * interval '1 day' returning delivery_id`,
      [Math.max(days, MIN_DELIVERY_DAYS)],
    ),
    jobHistory: await count(
      `delete from job_history h using host_jobs j where j.id = h.job_id and j.state in ${final} and h.at < now() - $1 * interval '1 day' returning h.id`,
      [days],
    ),
    jobReports: await count(
      `delete from job_reports r using host_jobs j where j.id = r.job_id and j.state in ${final} and r.received_at < now() - $1 * interval '1 day' returning r.message_id`,
      [days],
    ),
    hostMessages: await pruneHostMessages(db),
  };
}
