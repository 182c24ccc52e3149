import type { Job, JobAction } from '../../protocol/messages.ts';
import type { HostRecord } from '../store/hosts.ts';
import type { ReleaseRow } from '../store/releases.ts';
import type { HostJob } from '../store/rollouts.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { packageLink } from './package-link.ts';

// The signed job a host receives, built from what the store knows. A private repository's package is
// served by the bot itself, through a link bound to this job that expires (no GitHub token leaves the bot).
// A notify message is an attempt of its own (`<attempt>_notify`): the host records it, and the install that
// follows the approval is a new attempt that it runs.

/** Three days: a host does not start a job later, and the bot stops waiting for its report. */
export const JOB_DEADLINE_SECONDS = 3 * 24 * 60 * 60;

export function buildJobMessage(
  job: HostJob,
  host: Pick<HostRecord, 'id' | 'inventory'>,
  release: ReleaseRow,
  botUrl: string,
  action: JobAction,
  box: SecretBox,
  now = new Date(),
  deadlineSeconds = JOB_DEADLINE_SECONDS,
): Job {
  if (!release.pluginId || !release.version || !release.zipUrl || !release.zipSha256 || !release.zipSize) {
    throw new Error(`release ${release.tag} is not resolved: no package to send`);
  }
  const link = release.privateRepository
    ? packageLink(box, botUrl, job.id, now)
    : { url: release.zipUrl, expiresAt: null };
  const installed = host.inventory.find((entry) => entry.pluginId === release.pluginId);
  // What the publisher signed travels with every job that installs, for hosts that check it themselves.
  const publisher = action === 'install' || action === 'update' || action === 'rollback' ? release.publisher : null;
  return {
    type: 'job',
    protocol: 1,
    jobId: job.id,
    attemptId: notifyAttemptId(job, action),
    rolloutId: job.rolloutId,
    hostId: host.id,
    action,
    plugin: {
      id: release.pluginId,
      name: release.pluginId,
      version: release.version,
      previousVersion: installed ? installed.version : job.previousVersion,
    },
    source: { repository: release.repository, tag: release.tag, releaseId: release.id },
    package: {
      fileName: 'gestor-plugin.zip',
      size: release.zipSize,
      sha256: release.zipSha256,
      url: link.url,
      urlExpiresAt: link.expiresAt,
      ...(publisher?.signature ? { signature: publisher.signature } : {}),
      ...(publisher?.publisherKey ? { publisherKey: publisher.publisherKey } : {}),
      ...(publisher?.provenance ? { provenance: publisher.provenance.bundle } : {}),
    },
    ...(publisher?.keyStatement ? { keyStatement: publisher.keyStatement } : {}),
    options: { force: job.force, skipMigrations: false },
    ...((action === 'install' || action === 'update') && release.dependencies?.length
      ? { dependencies: release.dependencies }
      : {}),
    ...((action === 'install' || action === 'update') && release.compatibility
      ? { compatibility: release.compatibility }
      : {}),
    reportUrl: new URL('/api/reports', botUrl).toString(),
    deadline: new Date(now.getTime() + deadlineSeconds * 1000).toISOString(),
    createdAt: now.toISOString(),
  };
}

/** The attempt id a message carries: a notify for a job that waits for approval has its own. */
export function notifyAttemptId(job: Pick<HostJob, 'attemptId' | 'action'>, action: JobAction): string {
  return action === 'notify' && job.action !== 'notify' ? `${job.attemptId}_notify` : job.attemptId;
}
