import { randomUUID } from 'node:crypto';
import { generateSecret } from '../../protocol/signing.ts';
import type { Queryable } from './database.ts';
import type { SecretBox } from './secret-box.ts';

// Where notifications go (an endpoint, its signing secret, the repository and kinds it wants) and each delivery
// of one event to one endpoint. Deliveries are made by a trigger in the transaction that records the event
// (migration 12); a sender claims the due ones under a lease, so two bot processes never send one twice at once.

export const NOTIFICATION_KINDS = ['halt', 'failure', 'block', 'completion', 'yank'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface NotificationTarget {
  id: string;
  url: string;
  /** Only this repository's events (null: every repository's). */
  repository: string | null;
  kinds: NotificationKind[];
  allowPrivateNetwork: boolean;
  createdBy: string | null;
  createdAt: string;
}

export interface NotificationDelivery {
  id: number;
  targetId: string;
  eventId: number;
  kind: NotificationKind;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: string;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** A delivery claimed for sending, with what it needs: the endpoint, its secrets and the event. */
export interface DueDelivery {
  delivery: NotificationDelivery;
  target: NotificationTarget;
  secretSealed: string;
  event: {
    id: number;
    kind: string;
    hostId: string | null;
    hostName: string | null;
    jobId: string | null;
    repository: string | null;
    pluginId: string | null;
    detail: Record<string, unknown> | null;
    at: string;
    /** The rollout it is about (its own, or its job's), and that rollout's version. */
    rolloutId: string | null;
    version: string | null;
  };
}

export async function addTarget(
  db: Queryable,
  box: SecretBox,
  target: Pick<NotificationTarget, 'url' | 'repository' | 'kinds' | 'allowPrivateNetwork' | 'createdBy'>,
): Promise<{ target: NotificationTarget; secret: string }> {
  const id = `ntf_${randomUUID().slice(0, 8)}`;
  const secret = generateSecret();
  const [row] = await db.query<Record<string, unknown>>(
    `insert into notification_targets (id, url, secret_sealed, repository, kinds, allow_private_network, created_by)
     values ($1, $2, $3, $4, $5, $6, $7) returning *`,
    [id, target.url, box.seal(secret), target.repository, target.kinds, target.allowPrivateNetwork, target.createdBy],
  );
  return { target: toTarget(row), secret };
}

export async function listTargets(db: Queryable): Promise<NotificationTarget[]> {
  return (await db.query<Record<string, unknown>>('select * from notification_targets order by created_at, id')).map(
    toTarget,
  );
}

export async function getTarget(db: Queryable, id: string): Promise<NotificationTarget | undefined> {
  const [row] = await db.query<Record<string, unknown>>('select * from notification_targets where id = $1', [id]);
  return row && toTarget(row);
}

/** Removes the endpoint and its deliveries; false when there is none. */
export async function removeTarget(db: Queryable, id: string): Promise<boolean> {
  return (await db.query('delete from notification_targets where id = $1 returning id', [id])).length > 0;
}

/** An endpoint's deliveries, newest first. */
export async function targetDeliveries(db: Queryable, targetId: string, limit = 50): Promise<NotificationDelivery[]> {
  return (
    await db.query<Record<string, unknown>>(
      'select * from notification_deliveries where target_id = $1 order by id desc limit $2',
      [targetId, limit],
    )
  ).map(toDelivery);
}

/** Claims due deliveries for `leaseSeconds` (another process skips them meanwhile), oldest first. */
export async function claimDueDeliveries(db: Queryable, limit: number, leaseSeconds: number): Promise<DueDelivery[]> {
  const rows = await db.query<Record<string, unknown>>(
    `with due as (
       select id from notification_deliveries where state = 'pending' and next_attempt_at <= now()
       order by id limit $1 for update skip locked
     ),
     claimed as (
       update notification_deliveries d set next_attempt_at = now() + make_interval(secs => $2)
       from due where d.id = due.id returning d.*
     )
     select to_jsonb(c) as delivery, to_jsonb(t) as target, to_jsonb(e) as event, h.name as host_name,
            r.id as rollout_id, r.version as version
     from claimed c join notification_targets t on t.id = c.target_id join events e on e.id = c.event_id
     left join hosts h on h.id = e.host_id left join host_jobs j on j.id = e.job_id
     left join rollouts r on r.id = coalesce(e.detail->>'rolloutId', j.rollout_id) order by c.id`,
    [limit, leaseSeconds],
  );
  return rows.map((row) => {
    const event = json(row.event);
    const target = json(row.target);
    return {
      delivery: toDelivery(json(row.delivery)),
      target: toTarget(target),
      secretSealed: target.secret_sealed as string,
      event: {
        id: Number(event.id),
        kind: event.kind as string,
        hostId: (event.host_id as string | null) ?? null,
        hostName: (row.host_name as string | null) ?? null,
        jobId: (event.job_id as string | null) ?? null,
        repository: (event.repository as string | null) ?? null,
        pluginId: (event.plugin_id as string | null) ?? null,
        detail: (event.detail as Record<string, unknown> | null) ?? null,
        at: new Date(event.at as string).toISOString(),
        rolloutId: (row.rollout_id as string | null) ?? null,
        version: (row.version as string | null) ?? null,
      },
    };
  });
}

/** What one attempt came to: delivered, failed for good, or tried again at `retryAt`. */
export async function recordAttempt(
  db: Queryable,
  id: number,
  outcome: { state: 'delivered' | 'failed' | 'pending'; status: number | null; error: string | null; retryAt?: Date },
): Promise<void> {
  // Announced as "n:<endpoint>": its live page follows (the notifier, which follows "n" as a whole, looks once more).
  await db.query(
    `with recorded as (
       update notification_deliveries set state = $2, attempts = attempts + 1, last_status = $3, last_error = $4,
         next_attempt_at = coalesce($5, next_attempt_at), delivered_at = case when $2 = 'delivered' then now() end
       where id = $1 and state = 'pending' returning target_id
     )
     select pg_notify('c2f_changes', 'n:' || target_id) from recorded`,
    [id, outcome.state, outcome.status, outcome.error, outcome.retryAt?.toISOString() ?? null],
  );
}

/** What an endpoint's deliveries page shows, in short. */
export async function deliveriesSignature(db: Queryable, targetId: string): Promise<string> {
  const [row] = await db.query<{ signature: string }>(
    `select concat_ws('|', count(*), max(id), sum(attempts), count(*) filter (where state = 'pending')) as signature
     from notification_deliveries where target_id = $1`,
    [targetId],
  );
  return row?.signature ?? '';
}

/** When the next pending delivery is due (null: none is pending). */
export async function nextDueAt(db: Queryable): Promise<Date | null> {
  const [row] = await db.query<{ at: string | null }>(
    "select min(next_attempt_at) as at from notification_deliveries where state = 'pending'",
  );
  return row?.at ? new Date(row.at) : null;
}

const json = (value: unknown): Record<string, unknown> =>
  (typeof value === 'string' ? JSON.parse(value) : value) as Record<string, unknown>;

function toTarget(row: Record<string, unknown>): NotificationTarget {
  return {
    id: row.id as string,
    url: row.url as string,
    repository: (row.repository as string | null) ?? null,
    kinds: row.kinds as NotificationKind[],
    allowPrivateNetwork: Boolean(row.allow_private_network),
    createdBy: (row.created_by as string | null) ?? null,
    createdAt: new Date(row.created_at as string).toISOString(),
  };
}

function toDelivery(row: Record<string, unknown>): NotificationDelivery {
  return {
    id: Number(row.id),
    targetId: row.target_id as string,
    eventId: Number(row.event_id),
    kind: row.kind as NotificationKind,
    state: row.state as NotificationDelivery['state'],
    attempts: Number(row.attempts),
    nextAttemptAt: new Date(row.next_attempt_at as string).toISOString(),
    lastStatus: row.last_status === null || row.last_status === undefined ? null : Number(row.last_status),
    lastError: (row.last_error as string | null) ?? null,
    createdAt: new Date(row.created_at as string).toISOString(),
    deliveredAt: row.delivered_at ? new Date(row.delivered_at as string).toISOString() : null,
  };
}
