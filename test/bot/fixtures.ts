import type { PgBoss } from 'pg-boss';
import { enqueueDeliveries } from '../../src/bot/delivery/deliver-rollout.ts';
import { planJobs } from '../../src/bot/rollout/plan-jobs.ts';
import type { Database } from '../../src/bot/store/database.ts';
import type { HostRecord } from '../../src/bot/store/hosts.ts';
import { getRelease, recordReleaseWebhooks, updateRelease, type ReleaseRow } from '../../src/bot/store/releases.ts';
import { createReleaseRollout, type CreatedRollout } from '../../src/bot/store/rollouts.ts';

// Store states tests start from: a release the bot has resolved, and its rollout planned for some hosts.

export interface ReleaseFixture {
  id: number;
  version: string;
  pluginId?: string;
  repository?: string;
  sha256?: string;
  size?: number;
  privateRepository?: boolean;
  zipUrl?: string;
}

export async function resolvedRelease(db: Database, fixture: ReleaseFixture): Promise<ReleaseRow> {
  const pluginId = fixture.pluginId ?? 'test-plugin';
  const repository = fixture.repository ?? 'conn2flow/plugins';
  await recordReleaseWebhooks(db, [
    {
      deliveryId: `fixture-${fixture.id}`,
      action: 'published',
      release: {
        id: fixture.id,
        repository,
        installationId: 1,
        tag: `plugin-${pluginId}-v${fixture.version}`,
        prerelease: false,
        privateRepository: fixture.privateRepository ?? false,
      },
    },
  ]);
  await updateRelease(db, fixture.id, {
    state: 'resolved',
    pluginId,
    version: fixture.version,
    zipAssetId: fixture.id,
    zipSize: fixture.size ?? 4096,
    zipSha256: fixture.sha256 ?? 'a'.repeat(64),
    zipUrl:
      fixture.zipUrl ??
      `https://github.com/${repository}/releases/download/plugin-${pluginId}-v${fixture.version}/gestor-plugin.zip`,
  });
  return (await getRelease(db, fixture.id))!;
}

/** The release's rollout as the bot plans it for these hosts; with `boss`, its pushes are queued too. */
export function rolloutOf(
  db: Database,
  release: ReleaseRow,
  hosts: readonly HostRecord[],
  boss?: PgBoss,
): Promise<CreatedRollout> {
  const planned = planJobs(
    {
      id: release.id,
      repository: release.repository,
      pluginId: release.pluginId!,
      version: release.version!,
      prerelease: release.prerelease,
      sha256: release.zipSha256!,
    },
    hosts,
  );
  return createReleaseRollout(db, release, planned, boss ? (tx, jobs) => enqueueDeliveries(boss, jobs, tx) : undefined);
}
