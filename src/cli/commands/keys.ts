import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KEY_STATEMENT_FILE, parseStatement, signStatement, statementText } from '../../plugin/key-statement.ts';
import {
  formatPublicKey,
  formatSecretKey,
  generateKey,
  isEncrypted,
  keyIdText,
  MinisignError,
  parseSecretKey,
  type SecretKey,
} from '../../plugin/minisign.ts';
import { readZip } from '../../plugin/zip-reader.ts';
import { SIGNATURE_FILE, signPackage } from '../../plugin/package-signature.ts';
import { writePrivateFile } from '../../write-private-file.ts';
import { printJson } from '../output.ts';
import { password } from '../password.ts';
import { UsageError } from '../usage-error.ts';
import { readPublicKey } from './verify.ts';

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

export const KEYS_STATEMENT_HELP = `Usage: c2f-plugin keys-statement --key CURRENT.key --plugin ID --sequence N [--add NEW.pub ...] [--retire KEYID ...] [--out DIR] [--json]

Writes a publisher key statement, gestor-plugin.keys, and its signature by a key hosts trust now,
gestor-plugin.keys.minisig (in DIR, default the current folder). Attach both to a release (the Action's
key-statement input): a host that checks the plugin's publisher adds the --add keys and stops trusting the
--retire key ids once it has verified the statement, and only when N is higher than the last it applied.
Rotate a key: --add the new public key, --retire the old key's id, sign with the old key; sign the
packages from then on with the new one.
`;

export async function keysStatementCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      key: { type: 'string' },
      plugin: { type: 'string' },
      sequence: { type: 'string' },
      add: { type: 'string', multiple: true, default: [] },
      retire: { type: 'string', multiple: true, default: [] },
      out: { type: 'string', default: '.' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.key || !values.plugin || !values.sequence)
    throw new UsageError('--key, --plugin and --sequence are required');
  const sequence = Number(values.sequence);
  if (!Number.isSafeInteger(sequence) || sequence < 1)
    throw new UsageError('--sequence is a whole number from 1, higher than the last statement of this plugin');
  if (!values.add!.length && !values.retire!.length)
    throw new UsageError('a statement adds (--add) or retires (--retire) at least one key');
  const add = await Promise.all(
    values.add!.map(async (given) => formatPublicKey(await readPublicKey(given)).split('\n')[1]),
  );
  const retire = values.retire!.map((id) => {
    if (!/^[0-9A-Fa-f]{16}$/.test(id))
      throw new UsageError(`--retire takes a key id (16 hex digits, as minisign prints it), not ${id}`);
    return id.toUpperCase();
  });
  const key = await openSecretKey(values.key);
  let text: string;
  try {
    text = statementText(
      parseStatement(statementText({ type: 'c2f-publisher-keys', plugin: values.plugin, sequence, add, retire })),
    );
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const file = path.resolve(values.out!, KEY_STATEMENT_FILE);
  await writeFile(file, text);
  await writeFile(`${file}.minisig`, signStatement(key, text));
  const result = {
    statement: file,
    signature: `${file}.minisig`,
    signedBy: keyIdText(key.keyId),
    plugin: values.plugin,
    sequence,
    add,
    retire,
  };
  if (values.json) printJson(result);
  else
    process.stdout.write(
      `key statement ${sequence} for ${values.plugin}, signed by key ${result.signedBy}: ${file} (+ .minisig)\n`,
    );
  return 0;
}

/** A secret key file, opened with its password when it is sealed. */
async function openSecretKey(file: string): Promise<SecretKey> {
  const text = await readFile(file, 'utf8');
  try {
    return parseSecretKey(text, isEncrypted(text) ? await password(`Password for ${file}: `) : undefined);
  } catch (error) {
    throw error instanceof MinisignError ? new MinisignError(`${file}: ${error.message}`) : error;
  }
}

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
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(values.name!))
    throw new UsageError('--name is a file name: letters, digits, ".", "_" and "-"');
  const secretFile = path.resolve(values.out!, `${values.name}.key`);
  const publicFile = path.resolve(values.out!, `${values.name}.pub`);
  for (const file of [secretFile, publicFile])
    if (!values.force && (await stat(file).catch(() => undefined)))
      throw new UsageError(`${file} exists; --force replaces it (a lost secret key cannot sign again)`);
  const secret = values['no-password']
    ? undefined
    : await password('Password for the new secret key: ', { confirm: true });
  const key = generateKey();
  await writePrivateFile(secretFile, formatSecretKey(key, secret));
  await writeFile(publicFile, formatPublicKey(key));
  const result = {
    keyId: keyIdText(key.keyId),
    secretKey: secretFile,
    publicKey: publicFile,
    encrypted: Boolean(secret),
  };
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
  const key = await openSecretKey(values.key);
  const zip = positionals[0];
  const manifest = (await readZip(zip, (name) => name === 'manifest.json', 256 * 1024)).contents.get('manifest.json');
  const parsed = manifest ? (JSON.parse(manifest.toString('utf8')) as { id?: unknown; version?: unknown }) : {};
  if (typeof parsed.id !== 'string' || typeof parsed.version !== 'string')
    throw new UsageError(`${zip} has no manifest.json with an id and a version at its root`);
  const signed = await signPackage(zip, key, { pluginId: parsed.id, version: parsed.version });
  const out = values.out ?? path.join(path.dirname(zip), SIGNATURE_FILE);
  await writeFile(out, signed.text);
  const result = { signature: out, keyId: keyIdText(key.keyId), ...signed.claims };
  if (values.json) printJson(result);
  else
    process.stdout.write(
      `signed ${signed.claims.pluginId} ${signed.claims.version} (sha256 ${signed.claims.sha256}) with key ${result.keyId}: ${out}\n`,
    );
  return 0;
}
