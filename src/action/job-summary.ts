import { formatBytes } from '../plugin/collect-files.ts';
import type { ActionResult } from './release-plugin.ts';

// The job summary: one table a reviewer can read at a glance.

const escapeCell = (text: string) => text.replace(/\|/g, '\\|').replace(/</g, '&lt;');

export function jobSummary(result: ActionResult): string {
  const { pack, publish } = result;
  const orphans = Object.values(pack.orphans).reduce((n, list) => n + list.length, 0);
  const rows = Object.entries(pack.rows)
    .map(([file, count]) => `${file} ${count}`)
    .join('<br>');
  const lines = [
    `## Conn2Flow plugin ${escapeCell(pack.plugin.name)} ${escapeCell(pack.plugin.version)}`,
    '',
    '| | |',
    '| --- | --- |',
    `| Plugin | \`${escapeCell(pack.plugin.id)}\` (${escapeCell(result.pluginDir)}) |`,
    `| Version | ${escapeCell(pack.plugin.version)} |`,
    `| Tag | ${result.tag ? `\`${escapeCell(result.tag)}\`` : '—'} |`,
    `| Files | ${pack.files.packed} packed (${formatBytes(pack.files.bytes)}), ${pack.files.excluded} excluded |`,
    `| Rows | ${rows || '—'} |`,
    `| Orphans | ${orphans} |`,
    `| versao baseline | ${escapeCell(result.baseline)} |`,
    `| Warnings | ${pack.warnings} |`,
    `| Package | ${formatBytes(pack.zip.size)}, ${pack.zip.entries} entries |`,
    `| SHA-256 | \`${pack.zip.sha256}\` |`,
  ];
  if (publish) {
    lines.push(
      `| Release | [${escapeCell(publish.release.tagName)}](${publish.release.htmlUrl})${publish.release.draft ? ' (draft)' : ''}${publish.created ? ', created by this run' : ''} |`,
    );
    lines.push(
      `| Assets | ${publish.assets.map((a) => `[${escapeCell(a.name)}](${a.browserDownloadUrl})`).join('<br>')} |`,
    );
  }
  const orphanList = Object.entries(pack.orphans).flatMap(([file, list]) =>
    list.map(
      (o) =>
        `- ${file}: ${o.reason}${o.id ? ` (\`${escapeCell(o.id)}\`${o.language ? `, ${o.language}` : ''}${o.module ? `, module ${o.module}` : ''})` : ''}`,
    ),
  );
  if (orphanList.length)
    lines.push('', '<details><summary>Orphans (not installed)</summary>', '', ...orphanList, '', '</details>');
  return `${lines.join('\n')}\n`;
}
