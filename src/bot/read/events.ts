import type { Queryable } from '../store/database.ts';

// The event log: every planning decision, job outcome and operator action; oldest first from a cursor (the API,
// the exports), or newest first before one (the console). Each event names its host and who acted, if anyone.

export interface EventRecord {
  id: number;
  kind: string;
  hostId: string | null;
  /** The host's name now (null: no host, or the host was removed since). */
  hostName: string | null;
  /** Who acted (an operator action's `by`), else null. */
  actor: string | null;
  jobId: string | null;
  repository: string | null;
  pluginId: string | null;
  detail: Record<string, unknown> | null;
  at: string;
}

export interface EventFilter {
  /** Events after this id (a cursor: the last id the reader saw). */
  after?: number;
  /** Newest first, events before this id (a cursor for paging back). */
  before?: number;
  newestFirst?: boolean;
  kind?: string;
  hostId?: string;
  pluginId?: string;
  /** Events of this rollout: its own, and those of its jobs. */
  rolloutId?: string;
  /** Events whose actor contains this text (any case). */
  actor?: string;
  limit?: number;
}

export async function listEvents(db: Queryable, filter: EventFilter = {}): Promise<EventRecord[]> {
  const rows = await db.query<Record<string, unknown>>(
    `select e.*, h.name as host_name from events e left join hosts h on h.id = e.host_id
     where e.id > $1 and ($2::text is null or e.kind = $2) and ($3::text is null or e.host_id = $3)
       and ($4::text is null or e.plugin_id = $4)
       and ($6::text is null or e.detail->>'rolloutId' = $6 or e.job_id in (select id from host_jobs where rollout_id = $6))
       and ($7::text is null or position(lower($7) in lower(e.detail->>'by')) > 0)
       and ($8::bigint is null or e.id < $8)
     order by e.id ${filter.newestFirst ? 'desc' : 'asc'} limit $5`,
    [
      filter.after ?? 0,
      filter.kind ?? null,
      filter.hostId ?? null,
      filter.pluginId ?? null,
      Math.min(filter.limit ?? 500, 5000),
      filter.rolloutId ?? null,
      filter.actor ?? null,
      filter.before ?? null,
    ],
  );
  return rows.map((row) => {
    const detail = (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as Record<
      string,
      unknown
    > | null;
    return {
      id: Number(row.id),
      kind: row.kind as string,
      hostId: (row.host_id as string | null) ?? null,
      hostName: (row.host_name as string | null) ?? null,
      actor: typeof detail?.by === 'string' ? detail.by : null,
      jobId: (row.job_id as string | null) ?? null,
      repository: (row.repository as string | null) ?? null,
      pluginId: (row.plugin_id as string | null) ?? null,
      detail,
      at: new Date(row.at as string).toISOString(),
    };
  });
}

/** Every event matching the filter, oldest first, a page at a time (an export never holds the whole log). */
export async function* allEvents(db: Queryable, filter: EventFilter = {}): AsyncIterable<EventRecord> {
  let after = filter.after ?? 0;
  for (;;) {
    const page = await listEvents(db, { ...filter, newestFirst: false, before: undefined, after, limit: 5000 });
    yield* page;
    if (page.length < 5000) return;
    after = page[page.length - 1].id;
  }
}

export async function eventKinds(db: Queryable): Promise<string[]> {
  return (await db.query<{ kind: string }>('select distinct kind from events order by kind')).map((r) => r.kind);
}

/** The newest event's id, as a live events page's signature ("" when there is none). */
export async function latestEventId(db: Queryable): Promise<string> {
  const [row] = await db.query<{ id: string | null }>('select max(id) as id from events');
  return String(row?.id ?? '');
}
