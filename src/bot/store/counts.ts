import type { Queryable } from './database.ts';

// What /metrics reports from the shared store at scrape time.

export async function jobsByState(db: Queryable): Promise<Record<string, number>> {
  const rows = await db.query<{ state: string; n: number }>(
    'select state, count(*)::int as n from host_jobs group by state',
  );
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

export async function hostsByEnrolment(db: Queryable): Promise<Record<'true' | 'false', number>> {
  const rows = await db.query<{ enrolled: boolean; n: number }>(
    'select secret_sealed is not null as enrolled, count(*)::int as n from hosts group by 1',
  );
  const counts = { true: 0, false: 0 };
  for (const row of rows) counts[String(row.enrolled) as 'true' | 'false'] = row.n;
  return counts;
}
