import type { Queryable } from '../store/database.ts';
import { hostsWithIds, type HostRecord } from '../store/hosts.ts';

// The fleet as an operator looks at it: one page of hosts at a time (thousands of hosts never come in one
// answer), found by name, id, plugin or label, or by what needs a look: hosts that went quiet and hosts whose
// site disagrees with Conn2Flow's own record. Each with its last few jobs.

/** A host is quiet when nothing was heard from it for this long (three default heartbeats). */
export const QUIET_AFTER_SECONDS = 900;

export interface FleetQuery {
  q?: string;
  label?: string;
  quiet?: boolean;
  problems?: boolean;
  page?: number;
  perPage?: number;
}

export interface RecentJob {
  id: string;
  rolloutId: string;
  pluginId: string;
  action: string;
  state: string;
  exitCode: number | null;
  updatedAt: string;
}

export type FleetHost = HostRecord & { quiet: boolean; problems: number; recentJobs: RecentJob[] };

export interface FleetPage {
  total: number;
  page: number;
  perPage: number;
  hosts: FleetHost[];
  /** Every label in use, for the filter. */
  labels: string[];
}

export async function fleetPage(db: Queryable, query: FleetQuery = {}): Promise<FleetPage> {
  const perPage = Math.min(Math.max(query.perPage ?? 50, 1), 200);
  const page = Math.max(query.page ?? 1, 1);
  const q = query.q?.trim() || null;
  const rows = await db.query<{ id: string; total: number }>(
    `select h.id, count(*) over ()::int as total from hosts h
     where ($1::text is null or h.name ilike '%' || $1 || '%' or h.id = $1
            or exists (select 1 from subscriptions s where s.host_id = h.id and (s.plugin_id ilike '%' || $1 || '%' or s.repository ilike '%' || $1 || '%')))
       and ($2::text is null or $2 = any(h.labels))
       and ($3::boolean is not true or (h.secret_sealed is not null and (h.last_seen_at is null or h.last_seen_at < now() - $6 * interval '1 second')))
       and ($4::boolean is not true or exists (select 1 from jsonb_array_elements(h.inventory) e where e->>'problem' is not null))
     order by lower(h.name), h.id limit $5 offset $7`,
    [
      q,
      query.label || null,
      query.quiet ?? false,
      query.problems ?? false,
      perPage,
      QUIET_AFTER_SECONDS,
      (page - 1) * perPage,
    ],
  );
  const ids = rows.map((r) => r.id);
  const [hosts, jobs, labels] = [
    await hostsWithIds(db, ids),
    await recentJobs(db, ids),
    await db.query<{ label: string }>('select distinct unnest(labels) as label from hosts order by 1'),
  ];
  const quietBefore = Date.now() - QUIET_AFTER_SECONDS * 1000;
  return {
    total: rows[0]?.total ?? (page > 1 ? await countOnly(db, query) : 0),
    page,
    perPage,
    labels: labels.map((l) => l.label),
    hosts: ids.map((id) => {
      const host = hosts.get(id)!;
      return {
        ...host,
        quiet: host.enrolled && (!host.lastSeenAt || Date.parse(host.lastSeenAt) < quietBefore),
        problems: host.inventory.filter((entry) => entry.problem).length,
        recentJobs: jobs.get(id) ?? [],
      };
    }),
  };
}

async function countOnly(db: Queryable, query: FleetQuery): Promise<number> {
  return (await fleetPage(db, { ...query, page: 1, perPage: 1 })).total;
}

export async function recentJobs(
  db: Queryable,
  hostIds: readonly string[],
  perHost = 3,
): Promise<Map<string, RecentJob[]>> {
  const byHost = new Map<string, RecentJob[]>();
  if (!hostIds.length) return byHost;
  const rows = await db.query<Record<string, unknown>>(
    `select * from (
       select j.id, j.rollout_id, j.host_id, j.plugin_id, j.action, j.state, j.exit_code, j.updated_at,
              row_number() over (partition by j.host_id order by j.updated_at desc, j.id) as n
       from host_jobs j where j.host_id = any($1)
     ) recent where n <= $2 order by host_id, n`,
    [hostIds, perHost],
  );
  for (const row of rows) {
    const job: RecentJob = {
      id: row.id as string,
      rolloutId: row.rollout_id as string,
      pluginId: row.plugin_id as string,
      action: row.action as string,
      state: row.state as string,
      exitCode: row.exit_code === null ? null : Number(row.exit_code),
      updatedAt: new Date(row.updated_at as string).toISOString(),
    };
    byHost.set(row.host_id as string, [...(byHost.get(row.host_id as string) ?? []), job]);
  }
  return byHost;
}
