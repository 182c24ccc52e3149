// Statuses. On the host, Conn2Flow's own plugins.status_execucao values; on the bot, the states a
// per-host job goes through: `pending` (held by the bot: see HOLDS), `awaiting_approval`, `queued` and the
// delivery states, then a final one (`blocked`: a dependency the site lacks, exit 30).

export const HOST_STATUSES = ['idle', 'instalando', 'atualizando', 'ok', 'erro'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

/** Host statuses after which nothing more happens for a job. */
export const FINAL_HOST_STATUSES: ReadonlySet<HostStatus> = new Set(['ok', 'erro']);

export const JOB_STATES = [
  'pending',
  'awaiting_approval',
  'queued',
  'delivering',
  'delivered',
  'in_progress',
  'ok',
  'failed',
  'skipped',
  'dead_lettered',
  'cancelled',
  'superseded',
  'blocked',
] as const;
export type JobState = (typeof JOB_STATES)[number];

export const FINAL_JOB_STATES: ReadonlySet<JobState> = new Set([
  'ok',
  'failed',
  'skipped',
  'dead_lettered',
  'cancelled',
  'superseded',
  'blocked',
]);

/**
 * Why a `pending` job is held by the bot and not yet sent: its wave has not started, the host's maintenance
 * window is closed, the release is younger than the repository's minimum age, an operator scheduled the
 * rollout to start later, a dependency is being installed first, or the rollout is paused or halted.
 */
export const HOLDS = ['wave', 'window', 'release_age', 'scheduled', 'dependency', 'paused', 'halted'] as const;
export type Hold = (typeof HOLDS)[number];

/** The bot's job state for a host's report. */
export function jobStateForReport(status: HostStatus): JobState {
  switch (status) {
    case 'ok':
      return 'ok';
    case 'erro':
      return 'failed';
    case 'instalando':
    case 'atualizando':
      return 'in_progress';
    case 'idle':
      return 'delivered';
  }
}
