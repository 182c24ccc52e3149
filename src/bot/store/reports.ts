import { AGENT_EXIT } from '../../protocol/exit-codes.ts';
import type { InventoryEntry, Report } from '../../protocol/messages.ts';
import { FINAL_JOB_STATES, jobStateForReport, type JobState } from '../../protocol/statuses.ts';
import type { Database, Queryable } from './database.ts';
import { recordInventory } from './inventory.ts';
import { toJob, transitionJob, type HostJob } from './rollouts.ts';

// A host's reports, applied once each (keyed by the message id the host signed them with). Reports only
// move a job forward, and only the job's current attempt moves it: the report of an earlier attempt (a
// retry was started meanwhile) is kept for the record and changes nothing. Whatever the attempt, a report's
// inventory entry is news about the site, and the host's inventory takes it when it is the newest word.

export type ReportOutcome = 'applied' | 'repeat' | 'stale' | 'earlier-attempt' | 'unknown-job';

export interface AppliedReport {
  outcome: ReportOutcome;
  /** The job as it is after the report (undefined for an unknown job). */
  job?: HostJob;
}

/**
 * The event each final outcome is logged as, in the names of Conn2Flow's plan where it has one
 * (install_success, install_fail, update_changed, update_nochange, rollback_exec); a failed health check is
 * health_fail and a package whose publisher the host could not verify publisher_unverified, whatever the action.
 */
function eventFor(action: HostJob['action'], ok: boolean, exitCode: number | null): string {
  if (!ok && exitCode === AGENT_EXIT.HEALTH_CHECK_FAILED) return 'health_fail';
  if (!ok && exitCode === AGENT_EXIT.PUBLISHER_UNVERIFIED) return 'publisher_unverified';
  if (action === 'rollback') return ok ? 'rollback_exec' : 'rollback_fail';
  if (action === 'uninstall') return ok ? 'uninstall_success' : 'uninstall_fail';
  if (action === 'update') return ok ? 'update_changed' : 'update_fail';
  return ok ? 'install_success' : 'install_fail';
}

/**
 * Applies a report. `messageId` is null for a report that came inside a host's answer to a push (a repeat
 * of an attempt the host already had): it is applied if it moves the job forward, and not recorded twice.
 */
/** The states a job may be in when a report moves it on (a final report moves it from any that is not final). */
const MOVES_TO: Partial<Record<JobState, JobState[]>> = {
  in_progress: ['queued', 'delivering', 'delivered'],
  delivered: ['queued', 'delivering'],
};

export async function applyReport(db: Database, messageId: string | null, report: Report): Promise<AppliedReport> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<Record<string, unknown>>('select * from host_jobs where id = $1 for update', [
      report.jobId,
    ]);
    const job = row && toJob(row);
    if (!job || job.hostId !== report.hostId) return { outcome: 'unknown-job' };
    // A report is word from the host as much as a heartbeat is.
    await tx.query('update hosts set last_seen_at = now() where id = $1', [job.hostId]);
    if (messageId) {
      const fresh = await tx.query(
        'insert into job_reports (message_id, job_id, attempt_id, report) values ($1, $2, $3, $4) on conflict do nothing returning message_id',
        [messageId, report.jobId, report.attemptId, JSON.stringify(report)],
      );
      if (!fresh.length) return { outcome: 'repeat', job };
    }
    const final = report.status === 'ok' || report.status === 'erro';
    const entry = report.inventory ?? (final ? await impliedInventory(tx, job, report) : undefined);
    if (entry) await recordInventory(tx, job.hostId, [entry], report.sentAt, job.pluginId);
    if (report.attemptId !== job.attemptId) return { outcome: 'earlier-attempt', job };
    if (FINAL_JOB_STATES.has(job.state)) return { outcome: 'stale', job };

    const to = jobStateForReport(report.status);
    const from = MOVES_TO[to] ?? ['queued', 'delivering', 'delivered', 'in_progress'];
    const moved = await transitionJob(tx, job.id, from, to, {
      reason: report.message,
      exitCode: report.exitCode,
      exitLabel: report.exitLabel,
      installedVersion: report.installedVersion,
      lastReport: report,
    });
    if (!moved) return { outcome: 'stale', job };
    if (to === 'ok' || to === 'failed') {
      await tx.query(
        `insert into events (kind, host_id, job_id, repository, plugin_id, detail)
         select $1, $2, $3, r.repository, $4, $5 from rollouts r where r.id = $6`,
        [
          eventFor(job.action, to === 'ok', report.exitCode),
          job.hostId,
          job.id,
          job.pluginId,
          JSON.stringify({
            exitCode: report.exitCode,
            exitLabel: report.exitLabel,
            message: report.message,
            attemptId: report.attemptId,
          }),
          job.rolloutId,
        ],
      );
    }
    const [after] = await tx.query<Record<string, unknown>>('select * from host_jobs where id = $1', [job.id]);
    return { outcome: 'applied', job: toJob(after) };
  });
}

/** For hosts whose reports carry no inventory: what a final report implies about the plugin. */
async function impliedInventory(tx: Queryable, job: HostJob, report: Report): Promise<InventoryEntry | undefined> {
  if (report.status !== 'ok' || report.attemptId !== job.attemptId) return undefined;
  if (job.action === 'uninstall') return { pluginId: job.pluginId, version: null, sha256: null };
  if (job.action === 'notify') return undefined;
  const [release] = await tx.query<{ version: string; zip_sha256: string }>(
    'select version, zip_sha256 from releases where id = $1',
    [job.releaseId],
  );
  return {
    pluginId: job.pluginId,
    version: report.installedVersion ?? release?.version ?? null,
    sha256: release?.zip_sha256 ?? null,
  };
}

/** Every report the host sent about a job, oldest first (log tails of earlier attempts included). */
export async function jobReports(
  db: Queryable,
  jobId: string,
): Promise<Array<{ attemptId: string | null; receivedAt: string; report: Report | null }>> {
  const rows = await db.query<{
    attempt_id: string | null;
    received_at: Date | string;
    report: Report | string | null;
  }>('select attempt_id, received_at, report from job_reports where job_id = $1 order by received_at, message_id', [
    jobId,
  ]);
  return rows.map((r) => ({
    attemptId: r.attempt_id,
    receivedAt: new Date(r.received_at).toISOString(),
    report: typeof r.report === 'string' ? JSON.parse(r.report) : r.report,
  }));
}
