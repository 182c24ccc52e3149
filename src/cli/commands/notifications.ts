import { parseArgs } from 'node:util';
import { printable } from '../../printable.ts';
import type { NotificationDelivery, NotificationTarget } from '../../bot/store/notifications.ts';
import { adminClient } from '../admin-client.ts';
import { printJson } from '../output.ts';
import { UsageError } from '../usage-error.ts';

export const NOTIFICATIONS_HELP = `Usage: c2f-plugin notifications <action> [options]     (talks to the bot's admin API)

Endpoints the bot tells when a rollout halts or completes, a host fails or is blocked, or a release is
yanked: each message is a JSON POST signed the Standard Webhooks way (webhook-id, webhook-timestamp,
webhook-signature) with a "text" a person reads, so a Slack incoming-webhook URL works as it is. Failed
sends are tried again for about a day.

  list                                   the endpoints (URLs shown without their path's secrets)
  add --url URL [--repository owner/repo] [--kind K]... [--allow-http] [--allow-private-network]
                                         a new endpoint; kinds: halt, failure, block, completion, yank
                                         (default: all); without --repository, every repository's.
                                         Prints its signing secret, once
  remove <endpoint>                      tell it nothing more
  deliveries <endpoint>                  its latest deliveries: state, attempts, the last answer

Options: --bot URL (or C2F_BOT_URL), --json. The admin token comes from C2F_ADMIN_TOKEN; C2F_OPERATOR names
who acts.
`;

const out = (line: string) => process.stdout.write(`${line}\n`);

export async function notificationsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      bot: { type: 'string' },
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      repository: { type: 'string' },
      kind: { type: 'string', multiple: true },
      'allow-http': { type: 'boolean', default: false },
      'allow-private-network': { type: 'boolean', default: false },
    },
  });
  const [action, id, ...extra] = positionals;
  if (extra.length) throw new UsageError(`notifications ${action} takes one endpoint id`);
  const api = adminClient(values.bot);
  const endpoint = () => {
    if (!id) throw new UsageError(`notifications ${action} takes an endpoint id (see "notifications list")`);
    return encodeURIComponent(id);
  };
  switch (action) {
    case 'list': {
      const targets = await api.call<NotificationTarget[]>('GET', '/api/admin/notifications');
      if (values.json) printJson(targets);
      else if (!targets.length) out('no endpoint: add one with "c2f-plugin notifications add --url URL"');
      else for (const t of targets) out(targetLine(t));
      return 0;
    }
    case 'add': {
      if (!values.url) throw new UsageError('notifications add takes --url URL');
      const added = await api.call<{ target: NotificationTarget; secret: string }>('POST', '/api/admin/notifications', {
        url: values.url,
        ...(values.repository ? { repository: values.repository } : {}),
        ...(values.kind?.length ? { kinds: values.kind } : {}),
        allowHttp: values['allow-http'],
        allowPrivateNetwork: values['allow-private-network'],
      });
      if (values.json) printJson(added);
      else {
        out(targetLine(added.target));
        out(`signing secret (shown once): ${added.secret}`);
      }
      return 0;
    }
    case 'remove': {
      const removed = await api.call<{ removed: string }>('DELETE', `/api/admin/notifications/${endpoint()}`);
      if (values.json) printJson(removed);
      else out(`removed ${removed.removed}`);
      return 0;
    }
    case 'deliveries': {
      const shown = await api.call<{ target: NotificationTarget; deliveries: NotificationDelivery[] }>(
        'GET',
        `/api/admin/notifications/${endpoint()}/deliveries`,
      );
      if (values.json) printJson(shown);
      else if (!shown.deliveries.length) out('no deliveries yet');
      else
        for (const d of shown.deliveries)
          out(
            `${d.createdAt}  ${d.kind.padEnd(10)} ${d.state.padEnd(9)} ${d.attempts} attempt(s)${d.lastStatus === null ? '' : `  ${d.lastStatus}`}${d.lastError ? `  ${printable(d.lastError)}` : ''}`,
          );
      return 0;
    }
  }
  throw new UsageError(
    action ? `unknown action "${action}"` : 'notifications takes an action: list, add, remove, deliveries',
  );
}

function targetLine(t: NotificationTarget): string {
  return `${t.id}  ${printable(t.url)}  ${t.repository ?? 'every repository'}  ${t.kinds.join(', ')}`;
}
