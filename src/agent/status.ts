import { label } from '../protocol/exit-codes.ts';
import { logExcerpt } from '../protocol/log-excerpt.ts';
import type { Journal } from './journal.ts';

// `c2f-plugin agent status`: recent jobs, their outcomes (with the installer's log for failures) and the
// installed versions, from the journal.

export interface AgentStatus {
  installed: Array<{ pluginId: string; version: string; sha256: string; installedAt: string }>;
  jobs: Array<{
    jobId: string;
    attemptId: string;
    action: string;
    pluginId: string;
    version: string;
    phase: string;
    status: string;
    exitCode: number | null;
    exitLabel: string | null;
    message: string;
    logTail: string[];
    receivedAt: string;
    finishedAt: string | null;
  }>;
  pendingReports: number;
}

/** Log lines shown under a failed job in the text output (`--json` has them all). */
const SHOWN_LOG_LINES = 12;

export function agentStatus(journal: Journal, limit = 20): AgentStatus {
  return {
    installed: journal.installed(),
    jobs: journal.recentAttempts(limit).map((j) => ({
      jobId: j.jobId,
      attemptId: j.attemptId,
      action: j.job.action,
      pluginId: j.job.plugin.id,
      version: j.job.plugin.version,
      phase: j.phase,
      status: j.status,
      exitCode: j.exitCode,
      exitLabel: j.exitCode === null ? null : label(j.exitCode),
      message: j.message,
      logTail: j.report?.logTail ?? [],
      receivedAt: j.receivedAt,
      finishedAt: j.finishedAt,
    })),
    pendingReports: journal.pendingReports(),
  };
}

export function formatStatus(status: AgentStatus): string {
  const lines = ['Installed plugins:'];
  if (!status.installed.length) lines.push('  (none installed by this agent)');
  for (const p of status.installed)
    lines.push(`  ${p.pluginId.padEnd(24)} ${p.version.padEnd(10)} ${p.sha256.slice(0, 12)}  ${p.installedAt}`);
  lines.push('', 'Recent jobs:');
  if (!status.jobs.length) lines.push('  (none)');
  for (const j of status.jobs) {
    const code = j.exitCode === null ? '' : ` ${j.exitCode} ${j.exitLabel}`;
    lines.push(
      `  ${j.receivedAt}  ${j.action.padEnd(9)} ${`${j.pluginId} ${j.version}`.padEnd(28)} ${j.status.padEnd(11)}${code}  ${j.message}`,
    );
    if (j.status === 'erro' && j.logTail.length) {
      const { cause, tail } = logExcerpt(j.logTail, SHOWN_LOG_LINES);
      if (cause.length) lines.push('      cause (from the failed run):', ...cause.map((line) => `      | ${line}`));
      lines.push(`      log (last ${tail.length} lines; --json has all):`, ...tail.map((line) => `      | ${line}`));
    }
  }
  lines.push(
    '',
    status.pendingReports
      ? `${status.pendingReports} report(s) waiting to reach the bot`
      : 'All reports delivered to the bot.',
  );
  return `${lines.join('\n')}\n`;
}
