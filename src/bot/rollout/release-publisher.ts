import { checkStatement } from '../../plugin/key-statement.ts';
import { parsePublicKey, parseSignature, keyIdText, type PublicKey } from '../../plugin/minisign.ts';
import { checkPackageSignature } from '../../plugin/package-signature.ts';
import type { ReleasePublisher } from '../domain.ts';

export type { ReleasePublisher } from '../domain.ts';

// Who signed a release's package, as the bot sees it before planning: the signature (gestor-plugin.zip.minisig)
// and the publisher's key statement, read from the release, checked against the keys the repository must be
// signed with (the bot's C2F_PUBLISHER_KEYS for it, else publisher-keys in its .github/conn2flow-release.yml).
// A release that must be signed and is not, or whose signature does not verify, fails here: it never becomes a
// rollout. Hosts check again for themselves; this only fails early and shows what was signed.

export type PublisherOutcome = { ok: true; publisher: ReleasePublisher } | { ok: false; reason: string };

export interface PublisherInput {
  signature: string | null;
  keyStatement: { statement: string; signature: string } | null;
  /** Keys the release must be signed with (base64 lines); empty: none required. */
  requiredKeys: readonly string[];
  /** Where the required keys come from, for messages. */
  keysFrom: string;
  digests: { sha256: string; blake2b: Buffer };
  pluginId: string;
  version: string;
}

export function releasePublisher(input: PublisherInput): PublisherOutcome {
  const signedBy = keyIdOf(input.signature);
  const base = { signature: input.signature, keyStatement: input.keyStatement, signedBy, publisherKey: null };
  if (!input.requiredKeys.length)
    return { ok: true, publisher: { ...base, status: input.signature ? 'unchecked' : 'unsigned' } };
  let keys: Array<{ line: string; key: PublicKey }>;
  try {
    keys = input.requiredKeys.map((line) => ({ line, key: parsePublicKey(line) }));
  } catch (error) {
    return { ok: false, reason: `a key of ${input.keysFrom} cannot be used: ${(error as Error).message}` };
  }
  // A statement signed by a required key may add the key that signed this package (a rotation).
  if (input.keyStatement) {
    const statement = checkStatement(
      input.keyStatement.statement,
      input.keyStatement.signature,
      keys.map((k) => k.key),
      input.pluginId,
    );
    if (!statement.ok) return { ok: false, reason: `gestor-plugin.keys: ${statement.reason}` };
    const retired = new Set(statement.statement.retire);
    keys = [...keys, ...statement.statement.add.map((line) => ({ line, key: parsePublicKey(line) }))].filter(
      (k) => !retired.has(keyIdText(k.key.keyId)),
    );
  }
  if (!input.signature)
    return {
      ok: false,
      reason: `${input.keysFrom} requires a signature, and the release has no gestor-plugin.zip.minisig`,
    };
  const checked = checkPackageSignature(
    input.signature,
    keys.map((k) => k.key),
    input.digests,
    { pluginId: input.pluginId, version: input.version },
  );
  if (!checked.ok) return { ok: false, reason: `gestor-plugin.zip.minisig: ${checked.reason}` };
  const publisherKey = keys.find((k) => keyIdText(k.key.keyId) === checked.keyId)?.line ?? null;
  return { ok: true, publisher: { ...base, status: 'verified', publisherKey } };
}

function keyIdOf(signature: string | null): string | null {
  if (!signature) return null;
  try {
    return keyIdText(parseSignature(signature).keyId);
  } catch {
    return null;
  }
}
