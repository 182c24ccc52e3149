import { parseArgs } from 'node:util';
import { printable } from '../../printable.ts';
import { adminClient } from '../admin-client.ts';
import { printJson } from '../output.ts';
import { UsageError } from '../usage-error.ts';

export const HOSTS_HELP = `Usage: c2f-plugin hosts <action> [options]     (talks to the bot's admin API)

  add --name N --url URL --plugin owner/repo:plugin-id [--plugin ...]
      [--policy auto|notify|manual] [--channel stable|prerelease] [--allow-private-network] [--allow-http]
                          register a host; prints its secret once
  enroll-token --name N --plugin owner/repo:plugin-id [...] [--policy ...] [--channel ...]
      [--allow-private-network]
                          a one-time token for "c2f-plugin agent enroll"; --allow-private-network lets
                          that agent give a private or plain-http address (a LAN, a test machine)
  list | show <id> | remove <id> | rotate-secret <id>
  uninstall <id> --plugin [owner/repo:]plugin-id
                          remove a plugin's files from the host's site (a rollout of its own; Conn2Flow
                          cannot undo the plugin's data rows and migrations, and the report says which stay)

Options: --bot URL (or C2F_BOT_URL), --json. The admin token comes from C2F_ADMIN_TOKEN.
`;

interface Host {
  id: string;
  name: string;
  url: string | null;
  policy: string;
  channel: string;
  enrolled: boolean;
  lastSeenAt: string | null;
  plugins: Array<{ repository: string; pluginId: string }>;
  inventory: Array<{ pluginId: string; version: string | null; problem?: string | null }>;
}

export async function hostsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      bot: { type: 'string' },
      json: { type: 'boolean', default: false },
      name: { type: 'string' },
      url: { type: 'string' },
      plugin: { type: 'string', multiple: true },
      policy: { type: 'string' },
      channel: { type: 'string' },
      'allow-private-network': { type: 'boolean', default: false },
      'allow-http': { type: 'boolean', default: false },
    },
  });
  const [action, id] = positionals;
  const api = adminClient(values.bot);
  const hostBody = () => ({
    name: values.name,
    policy: values.policy,
    channel: values.channel,
    plugins: values.plugin ?? [],
    allowPrivateNetwork: values['allow-private-network'],
    allowHttp: values['allow-http'],
  });
  const needId = () => {
    if (!id) throw new UsageError(`hosts ${action} takes a host id`);
    return encodeURIComponent(id);
  };
  let result: unknown;
  switch (action) {
    case 'add':
      result = await api.call('POST', '/api/admin/hosts', { ...hostBody(), url: values.url });
      if (!values.json) {
        const { host, secret } = result as { host: Host; secret: string };
        process.stdout.write(`added ${host.id} (${host.name})\nsecret: ${secret}\nGive the secret to the host's agent; it is not shown again.\n`);
        return 0;
      }
      break;
    case 'enroll-token':
      result = await api.call('POST', '/api/admin/enrollments', hostBody());
      if (!values.json) {
        const { host, token, expiresAt } = result as { host: Host; token: string; expiresAt: string };
        process.stdout.write(
          `host ${host.id} (${host.name}) waits for its agent\ntoken: ${token}\nexpires: ${expiresAt}\nOn the host: c2f-plugin agent enroll --bot <bot URL> --token ${token}\n`,
        );
        return 0;
      }
      break;
    case 'list':
      result = await api.call<Host[]>('GET', '/api/admin/hosts');
      if (!values.json) {
        const hosts = result as Host[];
        if (!hosts.length) process.stdout.write('no hosts yet: add one with "c2f-plugin hosts add" or "c2f-plugin hosts enroll-token"\n');
        for (const h of hosts) {
          const installed = h.inventory.map((p) => `${p.pluginId} ${p.version ?? 'missing'}${p.problem ? ' (!)' : ''}`).join(', ');
          process.stdout.write(
            `${h.id}  ${printable(h.name)}  ${h.policy}/${h.channel}  ${h.enrolled ? printable(h.url ?? 'pull') : 'not enrolled'}  ${h.plugins.map((p) => `${p.repository}:${p.pluginId}`).join(', ')}${installed ? `  has: ${installed}` : ''}\n`,
          );
          for (const p of h.inventory.filter((entry) => entry.problem)) process.stdout.write(`    ${p.pluginId}: ${printable(p.problem!)}\n`);
        }
        return 0;
      }
      break;
    case 'uninstall': {
      if (!values.plugin?.length) throw new UsageError('hosts uninstall takes --plugin [owner/repo:]plugin-id');
      const done = await api.call<{ rolloutId: string; created: boolean; changed: Array<{ jobId: string }> }>('POST', `/api/admin/hosts/${needId()}/uninstall`, {
        plugin: values.plugin[0],
      });
      if (values.json) printJson(done);
      else
        process.stdout.write(
          `uninstalling ${values.plugin[0]} from ${id}: rollout ${done.rolloutId}${done.created ? '' : ' (already requested)'}, job ${done.changed[0]?.jobId}\nfollow it with: c2f-plugin rollouts show ${done.rolloutId}\n`,
        );
      return 0;
    }
    case 'show':
      result = await api.call('GET', `/api/admin/hosts/${needId()}`);
      break;
    case 'remove':
      result = await api.call('DELETE', `/api/admin/hosts/${needId()}`);
      break;
    case 'rotate-secret':
      result = await api.call('POST', `/api/admin/hosts/${needId()}/rotate-secret`);
      break;
    default:
      throw new UsageError(action ? `unknown hosts action "${action}"` : 'hosts needs an action');
  }
  printJson(result);
  return 0;
}
