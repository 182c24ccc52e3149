import type { DueDelivery, NotificationKind } from '../store/notifications.ts';

// What a notification says: Standard Webhooks' shape (`type`, `timestamp`, `data`) for programs, and a `text`
// a person reads, so that a Slack (or Mattermost, or Discord /slack) incoming-webhook URL works as it is.

const TYPES: Record<string, string> = {
  rollout_halted: 'rollout.halted',
  rollout_completed: 'rollout.completed',
  job_blocked: 'job.blocked',
  release_yanked: 'release.yanked',
  release_unyanked: 'release.unyanked',
};

export interface NotificationBody {
  type: string;
  timestamp: string;
  data: {
    kind: NotificationKind;
    event: string;
    eventId: number;
    repository: string | null;
    pluginId: string | null;
    version: string | null;
    rolloutId: string | null;
    hostId: string | null;
    hostName: string | null;
    jobId: string | null;
    detail: Record<string, unknown> | null;
    at: string;
    /** Where an operator sees it in the console. */
    url: string;
  };
  text: string;
}

export function notificationBody(due: DueDelivery, botUrl: string, now = new Date()): NotificationBody {
  const { event, delivery } = due;
  const url = event.rolloutId
    ? `${botUrl}/console/rollouts/${encodeURIComponent(event.rolloutId)}`
    : `${botUrl}/console/events?plugin=${encodeURIComponent(event.pluginId ?? '')}`;
  const version = (event.detail?.version as string | undefined) ?? event.version;
  return {
    type: TYPES[event.kind] ?? (delivery.kind === 'failure' ? 'job.failed' : `c2f.${event.kind}`),
    timestamp: now.toISOString(),
    data: {
      kind: delivery.kind,
      event: event.kind,
      eventId: event.id,
      repository: event.repository,
      pluginId: event.pluginId,
      version,
      rolloutId: event.rolloutId,
      hostId: event.hostId,
      hostName: event.hostName,
      jobId: event.jobId,
      detail: event.detail,
      at: event.at,
      url,
    },
    text: `${headline(due, version)} ${url}`,
  };
}

function headline(due: DueDelivery, version: string | null): string {
  const { event } = due;
  const what = `${event.pluginId ?? 'a plugin'}${version ? ` ${version}` : ''} (${event.repository ?? 'unknown repository'})`;
  const host = event.hostName ?? event.hostId ?? 'a host';
  const said = (key: string) => (typeof event.detail?.[key] === 'string' ? (event.detail[key] as string) : '');
  const by = said('by') ? ` by ${said('by')}` : '';
  switch (event.kind) {
    case 'rollout_halted':
      return `Rollout of ${what} halted: ${said('reason')}.`;
    case 'rollout_completed':
      return `Rollout of ${what} completed.`;
    case 'job_blocked':
      return `${what} is blocked on ${host}: ${said('reason')}.`;
    case 'release_yanked':
      return `${what} was yanked${by}: ${said('reason')}.`;
    case 'release_unyanked':
      return `${what} is no longer yanked${by}.`;
    default:
      return `${what} failed on ${host} (${event.kind.replace(/_/g, ' ')}): ${said('message') || 'no message'}.`;
  }
}
