import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatPublicKey, formatSecretKey, generateKey, isEncrypted, keyIdText, MinisignError, parseSecretKey } from '../../plugin/minisign.ts';
import { readZip } from '../../plugin/zip-reader.ts';
import { SIGNATURE_FILE, signPackage } from '../../plugin/package-signature.ts';
import { writePrivateFile } from '../../write-private-file.ts';
import { printJson } from '../output.ts';
import { password } from '../password.ts';
import { UsageError } from '../usage-error.ts';

// `c2f-plugin keygen` and `c2f-plugin sign`: a publisher's Ed25519 key pair in minisign's format, and the
// package's signature beside it (gestor-plugin.zip.minisig), which `minisign -Vm gestor-plugin.zip -p KEY`
// verifies too.

export const KEYGEN_HELP = `Usage: c2f-plugin keygen [--out DIR] [--name NAME] [--no-password] [--force] [--json]

Creates a publisher's signing key pair in minisign's format: NAME.key (the secret key, readable by you only,
sealed with a password: C2F_SIGNING_PASSWORD, else asked) and NAME.pub (the public key hosts pin). NAME is
c2f-publisher by default. Keep the secret key out of the repository; give it to the Action as a secret.
`;

export const SIGN_HELP = `Usage: c2f-plugin sign <gestor-plugin.zip> --key FILE [--out FILE] [--json]

Signs a package with a publisher's secret key: writes gestor-plugin.zip.minisig beside it (or --out), whose
trusted comment names the plugin id, version and the zip's SHA-256. The key's password comes from
C2F_SIGNING_PASSWORD, else it is asked. "minisign -Vm gestor-plugin.zip -p KEY.pub" verifies the result.
`;

export async function keygenCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: 'string', default: '.' },
      name: { type: 'string', default: 'c2f-publisher' },
      'no-password': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(values.name!)) throw new UsageError('--name is a file name: letters, digits, ".", "_" and "-"');
  const secretFile = path.resolve(values.out!, `${values.name}.key`);
  const publicFile = path.resolve(values.out!, `${values.name}.pub`);
  for (const file of [secretFile, publicFile])
    if (!values.force && (await stat(file).catch(() => undefined))) throw new UsageError(`${file} exists; --force replaces it (a lost secret key cannot sign again)`);
  const secret = values['no-password'] ? undefined : await password('Password for the new secret key: ', { confirm: true });
  const key = generateKey();
  await writePrivateFile(secretFile, formatSecretKey(key, secret));
  await writeFile(publicFile, formatPublicKey(key));
  const result = { keyId: keyIdText(key.keyId), secretKey: secretFile, publicKey: publicFile, encrypted: Boolean(secret) };
  if (values.json) printJson(result);
  else
    process.stdout.write(
      `key ${result.keyId}: secret key ${secretFile} (${secret ? 'sealed with its password' : 'NOT encrypted'}), public key ${publicFile}\nhosts pin the public key: ${formatPublicKey(key).split('\n')[1]}\n`,
    );
  return 0;
}

export async function signCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { key: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError('sign takes exactly one zip');
  if (!values.key) throw new UsageError('--key FILE (the secret key from "c2f-plugin keygen") is required');
  const text = await readFile(values.key, 'utf8');
  let key;
  try {
    key = parseSecretKey(text, isEncrypted(text) ? await password(`Password for ${values.key}: `) : undefined);
  } catch (error) {
    throw error instanceof MinisignError ? new MinisignError(`${values.key}: ${error.message}`) : error;
  }
  const zip = positionals[0];
  const manifest = (await readZip(zip, (name) => name === 'manifest.json', 256 * 1024)).contents.get('manifest.json');
  const parsed = manifest ? (JSON.parse(manifest.toString('utf8')) as { id?: unknown; version?: unknown }) : {};
  if (typeof parsed.id !== 'string' || typeof parsed.version !== 'string') throw new UsageError(`${zip} has no manifest.json with an id and a version at its root`);
  const signed = await signPackage(zip, key, { pluginId: parsed.id, version: parsed.version });
  const out = values.out ?? path.join(path.dirname(zip), SIGNATURE_FILE);
  await writeFile(out, signed.text);
  const result = { signature: out, keyId: keyIdText(key.keyId), ...signed.claims };
  if (values.json) printJson(result);
  else process.stdout.write(`signed ${signed.claims.pluginId} ${signed.claims.version} (sha256 ${signed.claims.sha256}) with key ${result.keyId}: ${out}\n`);
  return 0;
}
