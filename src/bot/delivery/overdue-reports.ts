import type { Database } from '../store/database.ts';
import { claimOverdueReports, failSilentJobs } from '../store/overdue-reports.ts';
import { applyReport } from '../store/reports.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { reportInAnswer } from './answered-report.ts';
import { pushJob } from './deliver-job.ts';

// A job a host took whose report does not come is not left waiting forever: the bot asks the host again
// with a repeat of the same attempt (a host that has it answers with its report so far, signed; one that
// lost it runs it), and fails the job once the host has said nothing past the job's deadline.

/** Five minutes without word about a job a host took, then the bot asks. */
export const REPORT_CHECK_SECONDS = 300;

export interface OverdueDeps {
  db: Database;
  box: SecretBox;
  botUrl: string;
  timeoutMs?: number;
  reportCheckSeconds: number;
  jobDeadlineSeconds: number;
}

export interface OverdueOutcome {
  asked: number;
  failed: number;
}

export async function askAboutOverdueReports(deps: OverdueDeps): Promise<OverdueOutcome> {
  const outcome: OverdueOutcome = { asked: 0, failed: 0 };
  outcome.failed = (await failSilentJobs(deps.db, deps.jobDeadlineSeconds)).length;
  const overdue = await claimOverdueReports(deps.db, deps.reportCheckSeconds);
  outcome.asked = overdue.length;
  await Promise.all(
    overdue.map(async (loaded) => {
      const answer = await pushJob(deps, loaded);
      if (answer.kind !== 'delivered') return; // asked again later, until the deadline
      const { report } = reportInAnswer(answer, answer.secrets, {
        hostId: loaded.job.hostId,
        attemptId: loaded.job.attemptId,
      });
      if (!report) return;
      await applyReport(deps.db, null, report);
    }),
  );
  return outcome;
}
