import { FINAL_JOB_STATES } from '../../protocol/statuses.ts';
import type { Dependency } from '../../protocol/messages.ts';
import type { ActiveJob } from '../domain.ts';
import type { Queryable } from './database.ts';

// What deciding a job's holds reads beyond the job itself: the other unfinished jobs of its host (a
// dependency may be on its way through one of them).

export async function activeJobsOfHosts(db: Queryable, hostIds: readonly string[]): Promise<Map<string, ActiveJob[]>> {
  const byHost = new Map<string, ActiveJob[]>();
  if (!hostIds.length) return byHost;
  const rows = await db.query<{
    id: string;
    host_id: string;
    plugin_id: string;
    version: string;
    dependencies: Dependency[] | string | null;
  }>(
    `select j.id, j.host_id, j.plugin_id, r.version, r.dependencies from host_jobs j join releases r on r.id = j.release_id
     where j.host_id = any($1) and not (j.state = any($2)) and j.action in ('install', 'update', 'rollback')`,
    [hostIds, [...FINAL_JOB_STATES]],
  );
  for (const row of rows) {
    const job: ActiveJob = {
      jobId: row.id,
      pluginId: row.plugin_id,
      version: row.version,
      dependencies: (typeof row.dependencies === 'string' ? JSON.parse(row.dependencies) : row.dependencies) ?? [],
    };
    byHost.set(row.host_id, [...(byHost.get(row.host_id) ?? []), job]);
  }
  return byHost;
}

/** What the newest resolved release of each plugin needs (the graph dependency cycles are looked for in). */
export async function releaseGraph(db: Queryable): Promise<Map<string, string[]>> {
  const rows = await db.query<{ plugin_id: string; dependencies: Dependency[] | string | null }>(
    `select distinct on (plugin_id) plugin_id, dependencies from releases where state = 'resolved' and plugin_id is not null order by plugin_id, resolved_at desc`,
  );
  return new Map(
    rows.map((row) => [
      row.plugin_id,
      ((typeof row.dependencies === 'string' ? JSON.parse(row.dependencies) : row.dependencies) ?? []).map(
        (d: Dependency) => d.id,
      ),
    ]),
  );
}
