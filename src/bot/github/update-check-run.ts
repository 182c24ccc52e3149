import type { PgBoss } from 'pg-boss';
import { QUEUES } from '../queue.ts';
import type { Database } from '../store/database.ts';
import { listHosts } from '../store/hosts.ts';
import { rolloutJobs } from '../store/rollouts.ts';
import type { CheckRunApi } from './check-run-api.ts';
import { rolloutView } from './rollout-summary.ts';

// One check run per rollout, on the tag's commit. Changes are coalesced: scheduling while an update is
// already waiting adds nothing, and each update waits a few seconds, so a burst of reports is one API call.

export const CHECK_RUN_DELAY_SECONDS = 5;

export async function scheduleCheckRun(boss: PgBoss, rolloutId: string, delaySeconds = CHECK_RUN_DELAY_SECONDS): Promise<void> {
  await boss.send(QUEUES.checkRun, { rolloutId }, { singletonKey: rolloutId, startAfter: delaySeconds });
}

export async function updateCheckRun(db: Database, api: CheckRunApi, rolloutId: string): Promise<void> {
  const [rollout] = await db.query<{ repository: string; plugin_id: string; version: string; check_run_id: string | null; tag: string }>(
    'select r.repository, r.plugin_id, r.version, r.check_run_id, rel.tag from rollouts r join releases rel on rel.id = r.release_id where r.id = $1', [rolloutId],
  );
  if (!rollout) return;
  const jobs = await rolloutJobs(db, rolloutId);
  const hosts = new Map((await listHosts(db)).map((h) => [h.id, h]));
  const view = rolloutView({ id: rollout.plugin_id, version: rollout.version }, jobs, hosts);
  if (rollout.check_run_id) return api.update(rollout.repository, Number(rollout.check_run_id), view);
  const headSha = await api.tagCommit(rollout.repository, rollout.tag);
  const id = await api.create(rollout.repository, `Conn2Flow rollout: ${rollout.plugin_id} ${rollout.version}`, headSha, rolloutId, view);
  await db.query('update rollouts set check_run_id = $2 where id = $1 and check_run_id is null', [rolloutId, id]);
}

/** The installation that can write the rollout's check run. */
export async function rolloutInstallation(db: Database, rolloutId: string): Promise<number | undefined> {
  const [row] = await db.query<{ installation_id: string | null }>('select rel.installation_id from rollouts r join releases rel on rel.id = r.release_id where r.id = $1', [rolloutId]);
  return row?.installation_id ? Number(row.installation_id) : undefined;
}
