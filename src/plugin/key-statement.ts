import { createHash } from 'node:crypto';
import {
  hashBytes,
  keyIdText,
  parsePublicKey,
  signHash,
  verifySignature,
  type PublicKey,
  type SecretKey,
} from './minisign.ts';

// A publisher's key statement: gestor-plugin.keys (JSON: the plugin, a sequence number, keys to add and key
// ids to retire) and its minisign signature, gestor-plugin.keys.minisig, published with a release. A host
// applies one only when a key it already trusts for the plugin signed it and its sequence is newer than the
// last it applied; nothing else changes which keys a host trusts.

export const KEY_STATEMENT_FILE = 'gestor-plugin.keys';
export const MAX_STATEMENT_BYTES = 16_384;

export interface KeyStatement {
  type: 'c2f-publisher-keys';
  plugin: string;
  sequence: number;
  /** Public keys to trust from now on (minisign's base64 lines). */
  add: string[];
  /** Key ids (as minisign prints them) to trust no longer. */
  retire: string[];
}

export class KeyStatementError extends Error {}

const KEY_LINE = /^RW[A-Za-z0-9+/]{54}$/;
const KEY_ID = /^[0-9A-F]{16}$/;

export function statementText(statement: KeyStatement): string {
  return `${JSON.stringify(statement, null, 2)}\n`;
}

export function parseStatement(text: string): KeyStatement {
  if (Buffer.byteLength(text) > MAX_STATEMENT_BYTES)
    throw new KeyStatementError(`the key statement is larger than ${MAX_STATEMENT_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new KeyStatementError('the key statement is not JSON');
  }
  const s = raw as Partial<KeyStatement> | null;
  const list = (value: unknown, pattern: RegExp) =>
    Array.isArray(value) && value.length <= 32 && value.every((v) => typeof v === 'string' && pattern.test(v));
  if (
    !s ||
    typeof s !== 'object' ||
    s.type !== 'c2f-publisher-keys' ||
    typeof s.plugin !== 'string' ||
    !/^[a-z0-9][a-z0-9_-]{0,127}$/.test(s.plugin) ||
    !Number.isSafeInteger(s.sequence) ||
    (s.sequence as number) < 1 ||
    !list(s.add, KEY_LINE) ||
    !list(s.retire, KEY_ID) ||
    Object.keys(s).length !== 5
  )
    throw new KeyStatementError(
      'the key statement is not one (type c2f-publisher-keys, plugin, sequence ≥ 1, add: key lines, retire: key ids)',
    );
  for (const key of s.add as string[]) parsePublicKey(key);
  return s as KeyStatement;
}

export function statementComment(statement: KeyStatement, text: string): string {
  return `keys plugin:${statement.plugin} sequence:${statement.sequence} sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The statement's signature by a currently trusted key (its text is signed as written). */
export function signStatement(key: SecretKey, text: string): string {
  const statement = parseStatement(text);
  return signHash(
    key,
    hashBytes(Buffer.from(text)),
    statementComment(statement, text),
    `key statement from c2f-plugin secret key ${keyIdText(key.keyId)}`,
  );
}

export type StatementCheck =
  | { ok: true; statement: KeyStatement; sha256: string; keyId: string }
  | { ok: false; reason: string };

/** Whether one of `trusted` signed this statement, for this plugin; what it says is checked against its comment. */
export function checkStatement(
  text: string,
  signature: string,
  trusted: readonly PublicKey[],
  pluginId: string,
): StatementCheck {
  let statement: KeyStatement;
  try {
    statement = parseStatement(text);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  if (statement.plugin !== pluginId)
    return { ok: false, reason: `the key statement is for ${statement.plugin}, not ${pluginId}` };
  const verified = verifySignature(signature, trusted, { hash: hashBytes(Buffer.from(text)) });
  if (!verified.ok) return { ok: false, reason: `the key statement's signature: ${verified.reason}` };
  if (verified.trustedComment !== statementComment(statement, text))
    return { ok: false, reason: "the key statement's signature is for another statement" };
  return { ok: true, statement, sha256: createHash('sha256').update(text).digest('hex'), keyId: verified.keyId };
}
