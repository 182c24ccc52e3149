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
      [--allow-private-network] [--label L ...] [--time-zone Z] [--window W ...]
                          a one-time token for "c2f-agent enroll"; --allow-private-network lets
                          that agent give a private or plain-http address (a LAN, a test machine)
  update <id> [--label L ... | --no-labels] [--time-zone Z] [--window W ... | --no-windows]
      [--policy ...] [--channel ...] [--enable | --disable]
                          change a host; labels select it for a rollout's waves; windows ("mon-fri
                          22:00-06:00", in --time-zone, an IANA name) are when its jobs may run
  list | show <id> | remove <id> | rotate-secret <id>
  labels                  every label's maintenance windows
  label-windows <label> --time-zone Z --window W [--window ...]
                          maintenance windows for every host with the label that has none of its own
  remove-label-windows <label>
  uninstall <id> --plugin [owner/repo:]plugin-id
                          remove a plugin's files from the host's site (a rollout of its own; Conn2Flow
                          cannot undo the plugin's data rows and migrations, and the report says which stay)

Options: --bot URL (or C2F_BOT_URL), --json. The admin token comes from C2F_ADMIN_TOKEN.
`;

type ShownHost = Host & {
  enabled: boolean;
  agentVersion: string | null;
  gestorVersion: string | null;
  timeZone: string | null;
  windows: Array<{ days: string[]; from: string; to: string }> | null;
  publishers: Record<string, { keys?: string[]; provenance?: unknown }> | null;
};

/** A host in lines a person reads (hosts show, hosts update). */
function describeHost(h: ShownHost): string {
  const lines = [
    `${h.id}  ${printable(h.name)}  ${h.policy}/${h.channel}${h.enabled ? '' : '  disabled'}`,
    `  address: ${h.enrolled ? printable(h.url ?? 'none: it polls the bot for its jobs') : 'not enrolled yet'}`,
    `  last heard: ${h.lastSeenAt ?? 'never'}${h.agentVersion ? `  agent ${printable(h.agentVersion)}` : ''}${h.gestorVersion ? `  Conn2Flow ${printable(h.gestorVersion)}` : ''}`,
    `  labels: ${h.labels.length ? h.labels.map(printable).join(', ') : 'none'}`,
    `  windows: ${h.windows?.length ? `${h.windows.map((w) => `${w.days.join(',')} ${w.from}-${w.to}`).join('; ')} (${printable(h.timeZone ?? 'UTC')})` : "none of its own (its labels' apply)"}`,
    `  follows: ${h.plugins.length ? h.plugins.map((p) => `${p.repository}:${p.pluginId}`).join(', ') : 'nothing'}`,
    `  installed: ${h.inventory.length ? h.inventory.map((p) => `${p.pluginId} ${p.version ?? 'missing'}${p.problem ? ` (${printable(p.problem)})` : ''}`).join(', ') : 'none'}`,
    `  checks publishers of: ${h.publishers && Object.keys(h.publishers).length ? Object.keys(h.publishers).map(printable).join(', ') : 'none'}`,
  ];
  return `${lines.join('\n')}\n`;
}

interface Host {
  id: string;
  name: string;
  url: string | null;
  policy: string;
  channel: string;
  enrolled: boolean;
  labels: string[];
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
      label: { type: 'string', multiple: true },
      'no-labels': { type: 'boolean', default: false },
      'time-zone': { type: 'string' },
      window: { type: 'string', multiple: true },
      'no-windows': { type: 'boolean', default: false },
      enable: { type: 'boolean', default: false },
      disable: { type: 'boolean', default: false },
    },
  });
  const [action, id] = positionals;
  const api = adminClient(values.bot);
  const schedule = () => ({
    ...(values['no-labels'] ? { labels: [] } : {}),
    ...(values.label?.length ? { labels: values.label } : {}),
    ...(values['time-zone'] ? { timeZone: values['time-zone'] } : {}),
    ...(values['no-windows'] ? { windows: null } : {}),
    ...(values.window?.length ? { windows: values.window } : {}),
  });
  const hostBody = () => ({
    name: values.name,
    policy: values.policy,
    channel: values.channel,
    plugins: values.plugin ?? [],
    allowPrivateNetwork: values['allow-private-network'],
    allowHttp: values['allow-http'],
    ...schedule(),
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
        process.stdout.write(
          `added ${host.id} (${host.name})\nsecret: ${secret}\nGive the secret to the host's agent; it is not shown again.\n`,
        );
        return 0;
      }
      break;
    case 'enroll-token':
      result = await api.call('POST', '/api/admin/enrollments', hostBody());
      if (!values.json) {
        const { host, token, expiresAt, agentCommand } = result as {
          host: Host;
          token: string;
          expiresAt: string;
          agentCommand: string;
        };
        process.stdout.write(
          `host ${host.id} (${host.name}) waits for its agent\ntoken: ${token}\nexpires: ${expiresAt}\nOn the host (without --url the agent polls the bot for its jobs):\n  ${agentCommand}\n`,
        );
        return 0;
      }
      break;
    case 'list':
      result = await api.call<Host[]>('GET', '/api/admin/hosts');
      if (!values.json) {
        const hosts = result as Host[];
        if (!hosts.length)
          process.stdout.write(
            'no hosts yet: add one with "c2f-plugin hosts add" or "c2f-plugin hosts enroll-token"\n',
          );
        for (const h of hosts) {
          const installed = h.inventory
            .map((p) => `${p.pluginId} ${p.version ?? 'missing'}${p.problem ? ' (!)' : ''}`)
            .join(', ');
          process.stdout.write(
            `${h.id}  ${printable(h.name)}  ${h.policy}/${h.channel}${h.labels?.length ? `  [${h.labels.join(', ')}]` : ''}  ${h.enrolled ? printable(h.url ?? 'pull') : 'not enrolled'}  ${h.plugins.map((p) => `${p.repository}:${p.pluginId}`).join(', ')}${installed ? `  has: ${installed}` : ''}\n`,
          );
          for (const p of h.inventory.filter((entry) => entry.problem))
            process.stdout.write(`    ${p.pluginId}: ${printable(p.problem!)}\n`);
        }
        return 0;
      }
      break;
    case 'uninstall': {
      if (!values.plugin?.length) throw new UsageError('hosts uninstall takes --plugin [owner/repo:]plugin-id');
      const done = await api.call<{ rolloutId: string; created: boolean; changed: Array<{ jobId: string }> }>(
        'POST',
        `/api/admin/hosts/${needId()}/uninstall`,
        {
          plugin: values.plugin[0],
        },
      );
      if (values.json) printJson(done);
      else
        process.stdout.write(
          `uninstalling ${values.plugin[0]} from ${id}: rollout ${done.rolloutId}${done.created ? '' : ' (already requested)'}, job ${done.changed[0]?.jobId}\nfollow it with: c2f-plugin rollouts show ${done.rolloutId}\n`,
        );
      return 0;
    }
    case 'update': {
      if (values.enable && values.disable) throw new UsageError('hosts update takes --enable or --disable, not both');
      const changes = {
        ...schedule(),
        ...(values.policy ? { policy: values.policy } : {}),
        ...(values.channel ? { channel: values.channel } : {}),
        ...(values.disable ? { enabled: false } : {}),
        ...(values.enable ? { enabled: true } : {}),
      };
      if (!Object.keys(changes).length)
        throw new UsageError(
          'hosts update takes what to change: --label, --time-zone, --window, --policy, --channel, --enable or --disable',
        );
      result = await api.call('PATCH', `/api/admin/hosts/${needId()}`, changes);
      if (values.json) break;
      process.stdout.write(`updated ${id}: ${Object.keys(changes).join(', ')}\n${describeHost(result as ShownHost)}`);
      return 0;
    }
    case 'labels':
      result = await api.call<
        Array<{ label: string; timeZone: string; windows: Array<{ days: string[]; from: string; to: string }> }>
      >('GET', '/api/admin/labels');
      if (!values.json) {
        const labels = result as Array<{
          label: string;
          timeZone: string;
          windows: Array<{ days: string[]; from: string; to: string }>;
        }>;
        if (!labels.length)
          process.stdout.write(
            'no label has maintenance windows: set some with "c2f-plugin hosts label-windows <label> --time-zone Z --window W"\n',
          );
        for (const l of labels)
          process.stdout.write(
            `${l.label}  ${l.timeZone}  ${l.windows.map((w) => `${w.days.join(',')} ${w.from}-${w.to}`).join('; ')}\n`,
          );
        return 0;
      }
      break;
    case 'label-windows':
      if (!id) throw new UsageError('hosts label-windows takes a label');
      if (!values['time-zone'] || !values.window?.length)
        throw new UsageError('hosts label-windows takes --time-zone Z and at least one --window W');
      result = await api.call('PUT', `/api/admin/labels/${encodeURIComponent(id)}`, {
        timeZone: values['time-zone'],
        windows: values.window,
      });
      break;
    case 'remove-label-windows':
      if (!id) throw new UsageError('hosts remove-label-windows takes a label');
      result = await api.call('DELETE', `/api/admin/labels/${encodeURIComponent(id)}`);
      break;
    case 'show':
      result = await api.call('GET', `/api/admin/hosts/${needId()}`);
      if (values.json) break;
      process.stdout.write(describeHost(result as ShownHost));
      return 0;
    case 'remove':
      result = await api.call('DELETE', `/api/admin/hosts/${needId()}`);
      if (values.json) break;
      process.stdout.write(`removed host ${id}: the bot sends it nothing more, and its secret no longer signs\n`);
      return 0;
    case 'rotate-secret':
      result = await api.call('POST', `/api/admin/hosts/${needId()}/rotate-secret`);
      break;
    default:
      throw new UsageError(action ? `unknown hosts action "${action}"` : 'hosts needs an action');
  }
  printJson(result);
  return 0;
}
