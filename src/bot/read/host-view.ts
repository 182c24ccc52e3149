import type { Queryable } from '../store/database.ts';
import { getHost, type HostRecord } from '../store/hosts.ts';
import { recentJobs, type RecentJob } from './fleet.ts';

/** A host's page: the host and its latest jobs (50), newest first. */
export async function readHostPage(
  db: Queryable,
  id: string,
): Promise<{ host: HostRecord; jobs: RecentJob[] } | undefined> {
  const host = await getHost(db, id);
  if (!host) return undefined;
  return { host, jobs: (await recentJobs(db, [host.id], 50)).get(host.id) ?? [] };
}
