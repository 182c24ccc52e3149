import type { Queryable } from '../store/database.ts';

// The event log: every planning decision, job outcome and operator action, oldest first from a cursor.

export interface EventRecord {
  id: number;
  kind: string;
  hostId: string | null;
  jobId: string | null;
  repository: string | null;
  pluginId: string | null;
  detail: Record<string, unknown> | null;
  at: string;
}

export interface EventFilter {
  /** Events after this id (a cursor: the last id the reader saw). */
  after?: number;
  kind?: string;
  hostId?: string;
  pluginId?: string;
  limit?: number;
}

export async function listEvents(db: Queryable, filter: EventFilter = {}): Promise<EventRecord[]> {
  const rows = await db.query<Record<string, unknown>>(
    `select * from events
     where id > $1 and ($2::text is null or kind = $2) and ($3::text is null or host_id = $3) and ($4::text is null or plugin_id = $4)
     order by id limit $5`,
    [
      filter.after ?? 0,
      filter.kind ?? null,
      filter.hostId ?? null,
      filter.pluginId ?? null,
      Math.min(filter.limit ?? 500, 5000),
    ],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    kind: row.kind as string,
    hostId: (row.host_id as string | null) ?? null,
    jobId: (row.job_id as string | null) ?? null,
    repository: (row.repository as string | null) ?? null,
    pluginId: (row.plugin_id as string | null) ?? null,
    detail: (typeof row.detail === 'string' ? JSON.parse(row.detail) : row.detail) as Record<string, unknown> | null,
    at: new Date(row.at as string).toISOString(),
  }));
}

/** Every event matching the filter, oldest first, a page at a time (an export never holds the whole log). */
export async function* allEvents(db: Queryable, filter: EventFilter = {}): AsyncIterable<EventRecord> {
  let after = filter.after ?? 0;
  for (;;) {
    const page = await listEvents(db, { ...filter, after, limit: 5000 });
    yield* page;
    if (page.length < 5000) return;
    after = page[page.length - 1].id;
  }
}

export async function eventKinds(db: Queryable): Promise<string[]> {
  return (await db.query<{ kind: string }>('select distinct kind from events order by kind')).map((r) => r.kind);
}
