import { HostUrlError, validateHostUrl } from '../host-url.ts';
import type { Queryable } from '../store/database.ts';
import {
  addTarget,
  getTarget,
  NOTIFICATION_KINDS,
  type NotificationKind,
  type NotificationTarget,
  removeTarget,
} from '../store/notifications.ts';
import type { SecretBox } from '../store/secret-box.ts';

// Endpoints that are told about rollouts: checked as they come in (the admin API, the console, the CLI),
// recorded with who added or removed them. An endpoint's URL may carry a token (a Slack incoming webhook does),
// so it is shown whole only when it is added; lists show where it goes, not the token.

export class NotificationInputError extends Error {}

export interface TargetInput {
  url: string;
  repository: string | null;
  kinds: NotificationKind[];
  allowPrivateNetwork: boolean;
}

export function targetInput(body: Record<string, unknown>): TargetInput {
  if (typeof body.url !== 'string') throw new NotificationInputError('"url" is required: where notifications go');
  if (body.allowHttp !== undefined && typeof body.allowHttp !== 'boolean')
    throw new NotificationInputError('"allowHttp" is true or false');
  if (body.allowPrivateNetwork !== undefined && typeof body.allowPrivateNetwork !== 'boolean')
    throw new NotificationInputError('"allowPrivateNetwork" is true or false');
  let url: string;
  try {
    url = validateHostUrl(body.url.trim(), {
      allowHttp: body.allowHttp === true,
      allowPrivateNetwork: body.allowPrivateNetwork === true,
      howToAllow: {
        http: 'with allowHttp (--allow-http)',
        privateNetwork: 'with allowPrivateNetwork (--allow-private-network)',
      },
    });
  } catch (error) {
    if (error instanceof HostUrlError) throw new NotificationInputError(error.message);
    throw error;
  }
  const repository = body.repository === undefined || body.repository === null ? null : body.repository;
  if (repository !== null && (typeof repository !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(repository)))
    throw new NotificationInputError('"repository" is owner/repo, or absent for every repository');
  const kinds = body.kinds === undefined ? [...NOTIFICATION_KINDS] : body.kinds;
  if (
    !Array.isArray(kinds) ||
    !kinds.length ||
    kinds.some((kind) => !NOTIFICATION_KINDS.includes(kind as NotificationKind))
  )
    throw new NotificationInputError(`"kinds" is a list of ${NOTIFICATION_KINDS.join(', ')} (absent: all of them)`);
  return {
    url,
    repository,
    kinds: [...new Set(kinds as NotificationKind[])],
    allowPrivateNetwork: body.allowPrivateNetwork === true,
  };
}

export async function addNotificationTarget(
  db: Queryable,
  box: SecretBox,
  input: TargetInput,
  by: string | null,
): Promise<{ target: NotificationTarget; secret: string }> {
  const added = await addTarget(db, box, { ...input, createdBy: by });
  await recordTargetEvent(db, 'notification_target_added', added.target, by);
  return added;
}

export async function removeNotificationTarget(db: Queryable, id: string, by: string | null): Promise<boolean> {
  const target = await getTarget(db, id);
  if (!target || !(await removeTarget(db, id))) return false;
  await recordTargetEvent(db, 'notification_target_removed', target, by);
  return true;
}

/** Where a URL goes, without what may be a token in its path or query: "https://hooks.slack.com/services/…". */
export function shownUrl(url: string): string {
  const parsed = new URL(url);
  const first = parsed.pathname.split('/').filter(Boolean)[0];
  return `${parsed.origin}/${first ? `${first}/…` : ''}`;
}

/** A target as lists show it. */
export function shownTarget(target: NotificationTarget): NotificationTarget {
  return { ...target, url: shownUrl(target.url) };
}

async function recordTargetEvent(db: Queryable, kind: string, target: NotificationTarget, by: string | null) {
  await db.query('insert into events (kind, repository, detail) values ($1, $2, $3)', [
    kind,
    target.repository,
    JSON.stringify({ targetId: target.id, url: shownUrl(target.url), kinds: target.kinds, by }),
  ]);
}
