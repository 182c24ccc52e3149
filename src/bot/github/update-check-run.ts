import type { PgBoss } from 'pg-boss';
import { QUEUES, wakeWhenDue } from '../queue.ts';
import { readRolloutForCheckRun } from '../read/rollout-view.ts';
import type { Database } from '../store/database.ts';
import { getRelease, setReleaseCheckRun } from '../store/releases.ts';
import { getRollout, setCheckRun } from '../store/rollouts.ts';
import type { CheckRunApi } from './check-run-api.ts';
import { releaseFailureView, rolloutTitle, rolloutView } from './rollout-summary.ts';

// One check run per rollout, on the commit of the tag it is about; and one for a release that never became
// a rollout, saying why. Changes are coalesced: scheduling while an update is already waiting adds nothing,
// and each update waits a few seconds, so a burst of reports is one API call.

export const CHECK_RUN_DELAY_SECONDS = 5;

export type CheckRunData = { rolloutId: string } | { releaseId: number };

export async function scheduleCheckRun(
  boss: PgBoss,
  data: CheckRunData,
  delaySeconds = CHECK_RUN_DELAY_SECONDS,
): Promise<void> {
  const key = 'rolloutId' in data ? data.rolloutId : `release:${data.releaseId}`;
  await boss.send(QUEUES.checkRun, data, { singletonKey: key, startAfter: delaySeconds });
  wakeWhenDue(boss, QUEUES.checkRun, [delaySeconds]);
}

export async function updateCheckRun(db: Database, api: CheckRunApi, data: CheckRunData): Promise<void> {
  if ('releaseId' in data) return updateReleaseCheckRun(db, api, data.releaseId);
  const shown = await readRolloutForCheckRun(db, data.rolloutId);
  if (!shown) return;
  const { rollout, release, jobs, hosts } = shown;
  const view = rolloutView(rollout, jobs, hosts);
  if (rollout.checkRunId) return api.update(rollout.repository, rollout.checkRunId, view);
  const headSha = await api.tagCommit(rollout.repository, release.tag);
  const id = await api.create(rollout.repository, rolloutTitle(rollout), headSha, rollout.id, view);
  await setCheckRun(db, rollout.id, id);
}

async function updateReleaseCheckRun(db: Database, api: CheckRunApi, releaseId: number): Promise<void> {
  const release = await getRelease(db, releaseId);
  if (release?.state !== 'failed') return;
  const view = releaseFailureView(release);
  if (release.checkRunId) return api.update(release.repository, release.checkRunId, view);
  const headSha = await api.tagCommit(release.repository, release.tag);
  const id = await api.create(
    release.repository,
    `Conn2Flow rollout: ${release.tag}`,
    headSha,
    `release:${release.id}`,
    view,
  );
  await setReleaseCheckRun(db, release.id, id);
}

/** The installation that can write the check run. */
export async function checkRunInstallation(db: Database, data: CheckRunData): Promise<number | undefined> {
  const releaseId = 'releaseId' in data ? data.releaseId : (await getRollout(db, data.rolloutId))?.releaseId;
  const release = releaseId === undefined ? undefined : await getRelease(db, releaseId);
  return release?.installationId ?? undefined;
}
