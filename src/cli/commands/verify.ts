import { parseArgs } from 'node:util';
import { label } from '../../protocol/exit-codes.ts';
import { formatBytes } from '../../plugin/collect-files.ts';
import { verifyPackage } from '../../plugin/verify-package.ts';
import { printDiagnostics, printJson, type Output } from '../output.ts';
import { requireZipFiles } from '../require-zip-files.ts';
import { UsageError } from '../usage-error.ts';

export const VERIFY_HELP = `Usage: c2f-plugin verify <gestor-plugin.zip> [--sha256 FILE] [--json] [--quiet]

Checks that a package is installable: a valid manifest.json at the zip root, Data.json files that parse,
fit Conn2Flow's columns and whose checksums match their html/css, and a .sha256 file (FILE, or
<zip>.sha256 when it exists) that holds the zip's bare digest. Exit codes: 0 ok, 10 no such file, 11 invalid
content, 21 not a usable zip, 22 checksum mismatch.
`;

export async function verifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { sha256: { type: 'string' }, json: { type: 'boolean', default: false }, quiet: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError('verify takes exactly one zip');
  await requireZipFiles(positionals);
  const output: Output = { json: values.json, quiet: values.quiet };
  const result = await verifyPackage(positionals[0], values.sha256);
  printDiagnostics(result.diagnostics, output);
  if (output.json) printJson({ ...result, exitLabel: label(result.exitCode) });
  else if (!result.ok) {
    // The diagnostics above say what is wrong, one line each; a failure without one still gets its line.
    if (!result.diagnostics.some((d) => d.severity === 'error')) process.stderr.write(`${positionals[0]}: FAILED (${result.exitCode} ${label(result.exitCode)})\n`);
  } else if (!output.quiet) {
    const head = 'OK';
    const plugin = result.plugin ? `${result.plugin.id} ${result.plugin.version}` : 'unknown plugin';
    process.stdout.write(`${head}: ${positionals[0]}: ${plugin}, ${formatBytes(result.size)}, ${result.entries} entries\n`);
    for (const [file, count] of Object.entries(result.rows)) process.stdout.write(`  ${file}: ${count} rows\n`);
    if (result.sha256File) process.stdout.write(`  ${result.sha256File.path}: ${result.sha256File.matches ? 'matches' : 'does not match'}\n`);
    process.stdout.write(`  sha256 ${result.sha256}\n`);
  }
  return result.exitCode;
}
