import { pushMessage } from '../delivery/push-message.ts';
import type { Database } from '../store/database.ts';
import { claimDueDeliveries, recordAttempt, type DueDelivery } from '../store/notifications.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { notificationBody } from './notification-body.ts';

// Sends the notifications that are due, each signed with its endpoint's secret the Standard Webhooks way
// (`webhook-id` is the delivery's, the same on every retry, so a receiver can drop a repeat). A 2xx answer
// delivers it; a network error, a timeout, 408, 429 or 5xx tries again after the next step of the schedule;
// any other answer, or the schedule run out, fails it. Every attempt is recorded, where operators see it.

/** Seconds before each retry: about a day in all. */
export const NOTIFY_RETRY_SECONDS = [10, 60, 300, 1800, 7200, 21_600, 43_200];
const BATCH = 20;

export interface NotifyDeps {
  db: Database;
  box: SecretBox;
  botUrl: string;
  retrySchedule: readonly number[];
  timeoutMs?: number;
}

/** Sends every due notification (in batches); returns how many attempts were made. */
export async function sendDueNotifications(deps: NotifyDeps): Promise<number> {
  const timeoutMs = deps.timeoutMs ?? 10_000;
  // A claim outlives the attempt (and its timeout) so that another process does not send the same one meanwhile.
  const leaseSeconds = Math.ceil((timeoutMs * 2) / 1000) + 30;
  let attempts = 0;
  for (;;) {
    const due = await claimDueDeliveries(deps.db, BATCH, leaseSeconds);
    if (!due.length) return attempts;
    await Promise.all(due.map((one) => sendOne(deps, one, timeoutMs)));
    attempts += due.length;
  }
}

async function sendOne(deps: NotifyDeps, due: DueDelivery, timeoutMs: number): Promise<void> {
  const outcome = await pushMessage({
    url: due.target.url,
    body: JSON.stringify(notificationBody(due, deps.botUrl)),
    secrets: [deps.box.open(due.secretSealed)],
    messageId: `msg_ntf_${due.delivery.id}`,
    allowPrivateNetwork: due.target.allowPrivateNetwork,
    timeoutMs,
  });
  const status = 'status' in outcome ? (outcome.status ?? null) : null;
  if (outcome.kind === 'delivered')
    return recordAttempt(deps.db, due.delivery.id, { state: 'delivered', status, error: null });
  const error =
    outcome.kind === 'retry' || outcome.kind === 'failed' ? outcome.error : `the endpoint answered ${outcome.status}`;
  const wait = deps.retrySchedule[due.delivery.attempts];
  if (outcome.kind !== 'retry' || wait === undefined)
    return recordAttempt(deps.db, due.delivery.id, {
      state: 'failed',
      status,
      error: outcome.kind === 'retry' ? `gave up after ${due.delivery.attempts + 1} attempts: ${error}` : error,
    });
  const seconds = Math.max(wait, outcome.retryAfterSeconds ?? 0);
  return recordAttempt(deps.db, due.delivery.id, {
    state: 'pending',
    status,
    error,
    retryAt: new Date(Date.now() + seconds * 1000),
  });
}
