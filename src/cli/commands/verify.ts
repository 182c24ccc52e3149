import { parseArgs } from 'node:util';
import { readFile } from 'node:fs/promises';
import { AGENT_EXIT, label } from '../../protocol/exit-codes.ts';
import { MinisignError, parsePublicKey, type PublicKey } from '../../plugin/minisign.ts';
import { checkPackageSignature, packageDigests } from '../../plugin/package-signature.ts';
import { formatBytes } from '../../plugin/collect-files.ts';
import { verifyPackage, type VerifyResult } from '../../plugin/verify-package.ts';
import { printDiagnostics, printJson, type Output } from '../output.ts';
import { requireZipFiles } from '../require-zip-files.ts';
import { UsageError } from '../usage-error.ts';

export const VERIFY_HELP = `Usage: c2f-plugin verify <gestor-plugin.zip> [--sha256 FILE] [--key PUBLIC-KEY ...] [--signature FILE] [--json] [--quiet]

Checks that a package is installable: a valid manifest.json at the zip root, Data.json files that parse,
fit Conn2Flow's columns and whose checksums match their html/css, and a .sha256 file (FILE, or
<zip>.sha256 when it exists) that holds the zip's bare digest. With --key (a public key file or its base64
line; repeatable), also the publisher's signature (--signature, default <zip>.minisig): signed by one of the
keys, for these bytes, this plugin and this version. Exit codes: 0 ok, 10 no such file, 11 invalid content,
21 not a usable zip, 22 checksum mismatch, 49 the publisher's signature does not verify.
`;

export async function verifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      sha256: { type: 'string' },
      key: { type: 'string', multiple: true },
      signature: { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new UsageError('verify takes exactly one zip');
  await requireZipFiles(positionals);
  const output: Output = { json: values.json, quiet: values.quiet };
  const verified = await verifyPackage(positionals[0], values.sha256);
  const result = values.key?.length
    ? await withSignature(verified, positionals[0], values.key, values.signature)
    : verified;
  printDiagnostics(result.diagnostics, output);
  if (output.json) printJson({ ...result, exitLabel: label(result.exitCode) });
  else if (!result.ok) {
    // The diagnostics above say what is wrong, one line each; a failure without one still gets its line.
    if (!result.diagnostics.some((d) => d.severity === 'error'))
      process.stderr.write(`${positionals[0]}: FAILED (${result.exitCode} ${label(result.exitCode)})\n`);
  } else if (!output.quiet) {
    const head = 'OK';
    const plugin = result.plugin ? `${result.plugin.id} ${result.plugin.version}` : 'unknown plugin';
    process.stdout.write(
      `${head}: ${positionals[0]}: ${plugin}, ${formatBytes(result.size)}, ${result.entries} entries\n`,
    );
    for (const [file, count] of Object.entries(result.rows)) process.stdout.write(`  ${file}: ${count} rows\n`);
    if (result.sha256File)
      process.stdout.write(
        `  ${result.sha256File.path}: ${result.sha256File.matches ? 'matches' : 'does not match'}\n`,
      );
    if (result.signature?.ok)
      process.stdout.write(`  ${result.signature.file}: signed by key ${result.signature.keyId}\n`);
    process.stdout.write(`  sha256 ${result.sha256}\n`);
  }
  return result.exitCode;
}

/** The package's publisher signature, checked against the given public keys; a failure is exit 49. */
async function withSignature(
  result: VerifyResult,
  zip: string,
  keyTexts: string[],
  signatureFile = `${zip}.minisig`,
): Promise<VerifyResult> {
  const keys = await Promise.all(keyTexts.map(readPublicKey));
  const text = await readFile(signatureFile, 'utf8').catch(() => null);
  const checked = result.plugin
    ? checkPackageSignature(text, keys, await packageDigests(zip), {
        pluginId: result.plugin.id,
        version: result.plugin.version,
      })
    : ({ ok: false, reason: 'the package names no plugin to check the signature against' } as const);
  const signature = checked.ok
    ? { file: signatureFile, ok: true, keyId: checked.keyId }
    : { file: signatureFile, ok: false, reason: text === null ? `no ${signatureFile}` : checked.reason };
  if (checked.ok || !result.ok) return { ...result, signature };
  return {
    ...result,
    ok: false,
    exitCode: AGENT_EXIT.PUBLISHER_UNVERIFIED,
    signature,
    diagnostics: [
      ...result.diagnostics,
      {
        severity: 'error',
        code: 'signature',
        message: `publisher signature: ${signature.reason}`,
        file: signatureFile,
      },
    ],
  };
}

/** A public key given as its file or as minisign's one-line base64 form; a bad one is a configuration error (78). */
export async function readPublicKey(given: string): Promise<PublicKey> {
  const text = /^RW[A-Za-z0-9+/]{54}$/.test(given) ? given : await readFile(given, 'utf8').catch(() => null);
  if (text === null) throw new MinisignError(`${given}: no such file or folder, nor a minisign public key`);
  try {
    return parsePublicKey(text);
  } catch (error) {
    throw error instanceof MinisignError
      ? new MinisignError(`${given === text ? 'the key' : given}: ${error.message}`)
      : error;
  }
}
