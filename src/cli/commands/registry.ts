import { parseArgs } from 'node:util';
import { printable } from '../../printable.ts';
import { provenanceText, publisherText, type RegistryPlugin, type RegistryVersion } from '../../bot/read/registry.ts';
import { adminClient, type AdminClient } from '../admin-client.ts';
import type { YankResult } from '../../bot/rollout/yank.ts';
import { yankText } from '../../bot/rollout/yank-text.ts';
import { printJson } from '../output.ts';
import { UsageError } from '../usage-error.ts';

export const REGISTRY_HELP = `Usage: c2f-plugin registry [search TEXT | <owner/repo> <plugin-id>] [--bot URL] [--json]
       c2f-plugin registry yank <owner/repo> <plugin-id> <version> --reason TEXT [--rollback]
       c2f-plugin registry unyank <owner/repo> <plugin-id> <version>

The plugins and versions the bot knows from resolved releases (through its admin API): without arguments,
every plugin; "search TEXT", those whose id or repository contains TEXT; <owner/repo> <plugin-id>, that
plugin's versions with their package, who signed it (and whether the bot verified it), and the hosts
running each.

yank marks a version bad: nothing of it is sent any more (its rollout is paused, its unsent jobs held;
approvals, retries, forces and rollbacks to it are refused); --rollback also returns every host its rollout
updated that still runs it to the version it had before. unyank lifts the mark; the rollout stays paused
until "rollouts resume". Both are safe to repeat. The admin token comes from C2F_ADMIN_TOKEN; C2F_OPERATOR
names who acts.
`;

const out = (line: string) => process.stdout.write(`${line}\n`);

export async function registryCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      bot: { type: 'string' },
      json: { type: 'boolean', default: false },
      reason: { type: 'string' },
      rollback: { type: 'boolean', default: false },
    },
  });
  const api = adminClient(values.bot);
  if (positionals[0] === 'yank' || positionals[0] === 'unyank') return yank(api, positionals, values);
  if (positionals.length === 2 && positionals[0] !== 'search') {
    const [repository, pluginId] = positionals;
    checkRepository(repository);
    const shown = await api.call<{ versions: RegistryVersion[] }>(
      'GET',
      `/api/admin/registry/${repository}/${encodeURIComponent(pluginId)}`,
    );
    if (values.json) printJson(shown);
    else
      for (const v of shown.versions) {
        out(`${v.version}${v.prerelease ? ' (pre-release)' : ''}  ${printable(v.tag)}  sha256 ${v.sha256 ?? '?'}`);
        if (v.yanked)
          out(
            `  YANKED ${v.yanked.at}${v.yanked.by ? ` by ${printable(v.yanked.by)}` : ''}: ${printable(v.yanked.reason)}`,
          );
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

function checkRepository(repository: string): void {
  if (!/^[^/\s]+\/[^/\s]+$/.test(repository)) throw new UsageError(`${repository} is not owner/repo`);
}

async function yank(
  api: AdminClient,
  [action, repository, pluginId, version, ...extra]: string[],
  values: { json: boolean; reason?: string; rollback: boolean },
): Promise<number> {
  if (!version || extra.length) throw new UsageError(`registry ${action} takes <owner/repo> <plugin-id> <version>`);
  checkRepository(repository);
  if (action === 'yank' && !values.reason?.trim())
    throw new UsageError('registry yank needs --reason TEXT: why the version is bad (operators read it)');
  if (action === 'unyank' && (values.reason || values.rollback))
    throw new UsageError('registry unyank takes no --reason or --rollback');
  const result = await api.call<YankResult>(
    'POST',
    `/api/admin/registry/${repository}/${encodeURIComponent(pluginId)}/${encodeURIComponent(version)}/${action}`,
    action === 'yank' ? { reason: values.reason, rollback: values.rollback } : {},
  );
  if (values.json) printJson(result);
  else for (const line of yankText(action, result)) out(line);
  return result.changed || result.rollback?.created ? 0 : 1;
}
