import { parseArgs } from 'node:util';
import { requireZipFiles } from '../require-zip-files.ts';
import { diffPackages } from '../../plugin/diff-packages.ts';
import { printJson } from '../output.ts';
import { UsageError } from '../usage-error.ts';

export const DIFF_HELP = `Usage: c2f-plugin diff <old.zip> <new.zip> [--json]

Shows what a release changes: manifest fields, rows added, changed and removed per Data.json table
(matched by the installer's natural key), and files added, changed and removed.
`;

export async function diffCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 2) throw new UsageError('diff takes two zips: the old one, then the new one');
  await requireZipFiles(positionals);
  const diff = await diffPackages(positionals[0], positionals[1]);
  if (values.json) {
    printJson(diff);
    return 0;
  }
  const lines: string[] = [];
  if (diff.manifest.length) {
    lines.push('manifest.json');
    for (const c of diff.manifest) lines.push(`  ${c.key}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`);
  }
  for (const [table, t] of Object.entries(diff.tables)) {
    lines.push(`${table}: ${t.added.length} added, ${t.changed.length} changed, ${t.removed.length} removed`);
    for (const key of t.added) lines.push(`  + ${key}`);
    for (const c of t.changed) lines.push(`  ~ ${c.key} (${c.fields.join(', ')})`);
    for (const key of t.removed) lines.push(`  - ${key}`);
  }
  const f = diff.files;
  lines.push(`files: ${f.added.length} added, ${f.changed.length} changed, ${f.removed.length} removed`);
  for (const name of f.added) lines.push(`  + ${name}`);
  for (const name of f.changed) lines.push(`  ~ ${name}`);
  for (const name of f.removed) lines.push(`  - ${name}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
