// Statuses. On the host, Conn2Flow's own plugins.status_execucao values; on the bot, the states a
// per-host job goes through.

export const HOST_STATUSES = ['idle', 'instalando', 'atualizando', 'ok', 'erro'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];

/** Host statuses after which nothing more happens for a job. */
export const FINAL_HOST_STATUSES: ReadonlySet<HostStatus> = new Set(['ok', 'erro']);

export const JOB_STATES = ['awaiting_approval', 'queued', 'delivering', 'delivered', 'in_progress', 'ok', 'failed', 'skipped', 'dead_lettered', 'cancelled', 'superseded'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const FINAL_JOB_STATES: ReadonlySet<JobState> = new Set(['ok', 'failed', 'skipped', 'dead_lettered', 'cancelled', 'superseded']);

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
