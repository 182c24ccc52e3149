import { byteSize } from '../../byte-size.ts';
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { PluginError } from '../../plugin/diagnostics.ts';
import { formatBytes } from '../../plugin/collect-files.ts';
import { pack, type PackSummary } from '../../plugin/pack.ts';
import { printDiagnostics, printJson, progressLine, type Output } from '../output.ts';
import { UsageError } from '../usage-error.ts';

export const PACK_HELP = `Usage: c2f-plugin pack <plugin-dir> [options]

Validates the plugin, generates db/data/*Data.json as Conn2Flow's generator does, and writes
gestor-plugin.zip, gestor-plugin.zip.sha256 and SHA256SUMS.

Options:
  --out DIR              where to write the package (default: current directory)
  --baseline ZIP|DIR     previous release to compute versao against (default: the plugin's own db/data)
  --allow PATTERN        ship a refused file anyway (gitignore syntax; repeatable)
  --exclude PATTERN      leave more files out (gitignore syntax; repeatable; .c2fignore also works)
  --max-file-size BYTES  largest file allowed (default 128 MiB; suffixes K, M, G)
  --max-total-size BYTES largest plugin allowed (default 512 MiB)
  --json                 print the result as JSON (schema: schemas/pack-result.schema.json)
  --quiet                print errors only
`;

export function parseSize(value: string, option: string): number {
  const bytes = byteSize(value);
  if (bytes === undefined) throw new UsageError(`${option} takes a size like 50M or 1048576, not "${value}"`);
  return bytes;
}

const PHASE_NAMES: Record<string, string> = { generate: 'generating Data.json', collect: 'collecting files' };

export async function packCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string', default: '.' },
      baseline: { type: 'string' },
      allow: { type: 'string', multiple: true },
      exclude: { type: 'string', multiple: true },
      'max-file-size': { type: 'string' },
      'max-total-size': { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('pack takes exactly one plugin folder');
  const out = await stat(values.out).catch(() => undefined);
  if (out && !out.isDirectory())
    throw new PluginError(
      [
        {
          severity: 'error',
          code: 'out-not-folder',
          message: '--out names a file: pass a folder (it is created when missing)',
          file: values.out,
        },
      ],
      10,
    );
  const output: Output = { json: values.json, quiet: values.quiet };
  const progress = progressLine(output);
  const summary = await pack(positionals[0], {
    outDir: values.out,
    baseline: values.baseline,
    allow: values.allow,
    exclude: values.exclude,
    maxFileSize: values['max-file-size'] ? parseSize(values['max-file-size'], '--max-file-size') : undefined,
    maxTotalSize: values['max-total-size'] ? parseSize(values['max-total-size'], '--max-total-size') : undefined,
    onProgress: (p) => {
      if (p.phase === 'zip' && p.total)
        progress.update(`packing ${p.done}/${p.total} entries, ${formatBytes(p.bytes ?? 0)}`);
      else progress.update(`${PHASE_NAMES[p.phase] ?? 'validating'}...`);
    },
  }).finally(() => progress.done());
  printDiagnostics(summary.diagnostics, output);
  if (output.json) printJson({ ok: true, exitCode: 0, ...summary });
  else if (!output.quiet) process.stdout.write(renderSummary(summary));
  return 0;
}

function renderSummary(s: PackSummary): string {
  const lines = [`Packed ${s.plugin.name} (${s.plugin.id}) ${s.plugin.version}`];
  const width = Math.max(...Object.keys(s.rows).map((k) => k.length), 10);
  for (const [file, count] of Object.entries(s.rows)) {
    const orphans = s.orphans[file]?.length ?? 0;
    lines.push(`  ${file.padEnd(width)}  ${String(count).padStart(5)} rows${orphans ? `, ${orphans} orphaned` : ''}`);
  }
  for (const [file, list] of Object.entries(s.orphans)) {
    for (const o of list)
      lines.push(
        `  orphan in ${file}: ${o.reason}${o.id ? ` (id "${o.id}"${o.language ? `, ${o.language}` : ''}${o.module ? `, module ${o.module}` : ''})` : ''}`,
      );
  }
  if (s.baseline) lines.push(`  versao baseline: ${s.baseline}`);
  lines.push(`  files: ${s.files.packed} packed (${formatBytes(s.files.bytes)}), ${s.files.excluded} excluded`);
  lines.push(`  warnings: ${s.warnings}`);
  lines.push(`  ${s.zip.path}  ${formatBytes(s.zip.size)}, ${s.zip.entries} entries`);
  lines.push(`  sha256 ${s.zip.sha256}`);
  return `${lines.join('\n')}\n`;
}
