import { pathSegment } from '../http/request-input.ts';
import {
  addNotificationTarget,
  removeNotificationTarget,
  shownTarget,
  targetInput,
} from '../notify/notification-targets.ts';
import type { Database } from '../store/database.ts';
import { getTarget, type NotificationKind } from '../store/notifications.ts';
import type { SecretBox } from '../store/secret-box.ts';
import type { Html } from './html.ts';
import { confirmView } from './pages/confirm.ts';
import { addedView } from './pages/notifications.ts';

// Add and remove notification endpoints from the console: confirmed first, then the same functions as the
// admin API and the CLI, as `by`. Undefined: not one of these paths.

export type NotificationOutcome =
  | { kind: 'confirm'; view: Html }
  | { kind: 'page'; view: Html }
  | { kind: 'redirect'; location: string };

export function isNotificationActionPath(path: string): boolean {
  return path === '/console/notifications/new' || /^\/console\/notifications\/[^/]+\/remove$/.test(path);
}

export async function notificationAction(
  deps: { db: Database; box: SecretBox },
  path: string,
  form: URLSearchParams,
  fields: Record<string, string>,
  by: string,
): Promise<NotificationOutcome | undefined> {
  if (!isNotificationActionPath(path)) return undefined;
  const confirmed = form.get('confirm') === 'yes';
  if (path === '/console/notifications/new') {
    const input = targetInput({
      url: form.get('url') ?? '',
      repository: form.get('repository')?.trim() || null,
      kinds: form.getAll('kinds').flatMap((kinds) => kinds.split(',')) as NotificationKind[],
      allowHttp: form.get('allowHttp') === 'true',
      allowPrivateNetwork: form.get('allowPrivateNetwork') === 'true',
    });
    if (!confirmed) {
      // The form again, hidden, with every kind ticked (a multi-valued field does not fit one hidden input).
      return {
        kind: 'confirm',
        view: confirmView(
          `Tell ${shownTarget({ ...input, id: '', createdBy: null, createdAt: '' }).url} of ${input.kinds.join(', ')} for ${input.repository ?? 'every repository'}?`,
          path,
          { ...fields, kinds: input.kinds.join(',') },
          '/console/notifications',
          false,
        ),
      };
    }
    const added = await addNotificationTarget(deps.db, deps.box, input, by);
    return { kind: 'page', view: addedView(shownTarget(added.target), added.secret) };
  }
  const id = pathSegment(path.split('/')[3]);
  const target = await getTarget(deps.db, id);
  if (!target)
    return { kind: 'redirect', location: `/console/notifications?done=${encodeURIComponent(`No endpoint ${id}.`)}` };
  if (!confirmed)
    return {
      kind: 'confirm',
      view: confirmView(
        `Remove the endpoint ${shownTarget(target).url} (${target.id})? It is told nothing more, and its deliveries are forgotten.`,
        path,
        fields,
        '/console/notifications',
        true,
      ),
    };
  await removeNotificationTarget(deps.db, id, by);
  return { kind: 'redirect', location: `/console/notifications?done=${encodeURIComponent(`Removed ${id}.`)}` };
}
