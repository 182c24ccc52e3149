import type { PgBoss } from 'pg-boss';
import { checkAck } from '../../protocol/validate.ts';
import { pushes } from '../metrics.ts';
import { QUEUES } from '../queue.ts';
import type { Database, Queryable } from '../store/database.ts';
import { loadDelivery, transitionJob, type HostJob } from '../store/rollouts.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { buildJobMessage } from './job-message.ts';
import { pushMessage, type PushOutcome } from './push-message.ts';

// The delivery worker: push one host's job, record what happened, and schedule the next try with
// exponential backoff and jitter (at least the host's Retry-After) until it lands or runs out of tries.
// Safe to run twice: the job's state decides whether there is anything left to do, and the message id
// stays the same, so a host that already has the job answers "known".

export interface DeliveryDeps {
  db: Database;
  box: SecretBox;
  boss: PgBoss;
  /** The bot's public URL (hosts report to <botUrl>/api/reports). */
  botUrl: string;
  /** Seconds before each retry; its length is the number of retries (default: about three days). */
  retrySchedule?: readonly number[];
  timeoutMs?: number;
  random?: () => number;
  /** Told the rollout of every job whose state this worker changed. */
  onChanged?: (rolloutId: string) => void;
}

export interface DeliveryData {
  jobId: string;
  attempt: number;
  /** `notify`: tell a notify-policy host an update is waiting (the job itself waits for approval). */
  kind?: 'job' | 'notify';
}

/** Standard Webhooks' schedule, stretched to about three days: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 14 h, 20 h. */
export const RETRY_SCHEDULE_SECONDS = [5, 300, 1800, 7200, 18_000, 36_000, 36_000, 50_400, 72_000];

/** Queues a delivery; inside a store transaction when `tx` is given, so both commit or neither does. */
export async function enqueueDelivery(boss: PgBoss, job: Pick<HostJob, 'id' | 'hostId' | 'pluginId'>, data: Omit<DeliveryData, 'jobId'> = { attempt: 0 }, delaySeconds = 0, tx?: Queryable): Promise<void> {
  await boss.send(QUEUES.deliverJob, { jobId: job.id, ...data } satisfies DeliveryData, {
    singletonKey: `${job.hostId}:${job.pluginId}`,
    startAfter: delaySeconds > 0 ? Math.ceil(delaySeconds) : undefined,
    ...(tx ? { db: { executeSql: async (text: string, values?: unknown[]) => ({ rows: await tx.query(text, values) }) } } : {}),
  });
}

/** Queues the first delivery of many jobs in one statement, inside the transaction that created them. */
export async function enqueueDeliveries(boss: PgBoss, jobs: ReadonlyArray<Pick<HostJob, 'id' | 'hostId' | 'pluginId' | 'state'>>, tx: Queryable): Promise<void> {
  await boss.insert(QUEUES.deliverJob, jobs.map((job) => ({
    data: { jobId: job.id, attempt: 0, kind: job.state === 'awaiting_approval' ? 'notify' : 'job' } satisfies DeliveryData,
    singletonKey: `${job.hostId}:${job.pluginId}`,
  })), { db: { executeSql: async (text: string, values?: unknown[]) => ({ rows: await tx.query(text, values) }) } });
}

export async function deliverJob(deps: DeliveryDeps, data: DeliveryData): Promise<PushOutcome | undefined> {
  const { db } = deps;
  const loaded = await loadDelivery(db, data.jobId);
  const notifying = data.kind === 'notify';
  if (!loaded) return undefined;
  const { job, host, release } = loaded;
  if (notifying ? job.state !== 'awaiting_approval' : !['queued', 'delivering'].includes(job.state)) return undefined;
  if (!host.url) return undefined; // pull mode: the job stays queued until the host's next poll hands it out
  if (!notifying) await transitionJob(db, job.id, ['queued', 'delivering'], 'delivering', { attempts: data.attempt + 1 });

  const message = buildJobMessage(job, host, release, deps.botUrl, notifying ? 'notify' : job.action === 'notify' ? 'notify' : job.action, deps.box);
  const outcome = await pushMessage({
    url: host.url,
    body: JSON.stringify(message),
    secrets: host.secretsSealed.map((sealed) => deps.box.open(sealed)),
    messageId: notifying ? `${job.messageId}_notify` : job.messageId,
    allowPrivateNetwork: host.allowPrivateNetwork,
    timeoutMs: deps.timeoutMs,
  });
  pushes.inc({ outcome: outcome.kind });
  if (notifying) return outcome; // best effort: the job waits for approval either way
  deps.onChanged?.(job.rolloutId);

  const schedule = deps.retrySchedule ?? RETRY_SCHEDULE_SECONDS;
  switch (outcome.kind) {
    case 'delivered': {
      const ack = safeJson(outcome.body);
      const checked = checkAck(ack);
      const reason = checked.ok && checked.value.status === 'known' ? 'the host already had this job' : null;
      await transitionJob(db, job.id, ['delivering'], 'delivered', { reason });
      break;
    }
    case 'refused':
      await transitionJob(db, job.id, ['delivering'], 'skipped', { reason: `refused by the host: ${outcome.reason}` });
      break;
    case 'gone':
      await transitionJob(db, job.id, ['delivering'], 'dead_lettered', { reason: 'the host answered 410 Gone: no more pushes to this endpoint until it is fixed' });
      break;
    case 'failed':
      await transitionJob(db, job.id, ['delivering'], 'failed', { reason: outcome.error });
      break;
    case 'retry': {
      if (data.attempt >= schedule.length) {
        await transitionJob(db, job.id, ['delivering'], 'dead_lettered', { reason: `gave up after ${data.attempt + 1} attempts: ${outcome.error}` });
        break;
      }
      const jitter = 0.8 + (deps.random ?? Math.random)() * 0.4;
      const delay = Math.max(schedule[data.attempt] * jitter, outcome.retryAfterSeconds ?? 0);
      if (await transitionJob(db, job.id, ['delivering'], 'queued', { reason: `attempt ${data.attempt + 1} failed (${outcome.error}); next in ${Math.round(delay)} s` })) {
        await enqueueDelivery(deps.boss, job, { attempt: data.attempt + 1 }, delay);
      }
      break;
    }
  }
  return outcome;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
