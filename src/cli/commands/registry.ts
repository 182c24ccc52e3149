import { parseArgs } from 'node:util';
import { printable } from '../../printable.ts';
import { provenanceText, publisherText, type RegistryPlugin, type RegistryVersion } from '../../bot/read/registry.ts';
import { adminClient } from '../admin-client.ts';
import { printJson } from '../output.ts';
import { UsageError } from '../usage-error.ts';

export const REGISTRY_HELP = `Usage: c2f-plugin registry [search TEXT | <owner/repo> <plugin-id>] [--bot URL] [--json]

The plugins and versions the bot knows from resolved releases (through its admin API): without arguments,
every plugin; "search TEXT", those whose id or repository contains TEXT; <owner/repo> <plugin-id>, that
plugin's versions with their package, who signed it (and whether the bot verified it), and the hosts
running each. The admin token comes from C2F_ADMIN_TOKEN.
`;

const out = (line: string) => process.stdout.write(`${line}\n`);

export async function registryCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { bot: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const api = adminClient(values.bot);
  if (positionals.length === 2 && positionals[0] !== 'search') {
    const [repository, pluginId] = positionals;
    if (!/^[^/\s]+\/[^/\s]+$/.test(repository)) throw new UsageError(`${repository} is not owner/repo`);
    const shown = await api.call<{ versions: RegistryVersion[] }>(
      'GET',
      `/api/admin/registry/${repository}/${encodeURIComponent(pluginId)}`,
    );
    if (values.json) printJson(shown);
    else
      for (const v of shown.versions) {
        out(`${v.version}${v.prerelease ? ' (pre-release)' : ''}  ${printable(v.tag)}  sha256 ${v.sha256 ?? '?'}`);
        out(`  publisher: ${publisherText(v.publisher)}`);
        out(`  provenance: ${printable(provenanceText(v.publisher))}`);
        out(`  hosts: ${v.hosts.map((h) => printable(h.name)).join(', ') || 'none'}`);
      }
    return 0;
  }
  if (
    positionals.length > 2 ||
    (positionals.length && positionals[0] !== 'search') ||
    (positionals[0] === 'search' && positionals.length !== 2)
  )
    throw new UsageError('registry takes nothing, "search TEXT", or <owner/repo> <plugin-id>');
  const query = positionals[1] ? `?q=${encodeURIComponent(positionals[1])}` : '';
  const plugins = await api.call<RegistryPlugin[]>('GET', `/api/admin/registry${query}`);
  if (values.json) printJson(plugins);
  else if (!plugins.length)
    out(positionals[1] ? `no plugin matches "${printable(positionals[1])}"` : 'no plugin has a resolved release yet');
  else
    for (const p of plugins)
      out(
        `${printable(p.pluginId)}  ${printable(p.repository)}  latest ${p.latest}  ${p.versions} version(s), on ${p.hosts} host(s)`,
      );
  return 0;
}
