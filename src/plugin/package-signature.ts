import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { keyIdText, signHash, verifySignature, type PublicKey, type SecretKey } from './minisign.ts';

// A package's publisher signature: gestor-plugin.zip.minisig beside the zip, in minisign's format, whose
// trusted comment (covered by the signature) names what was signed: the plugin id, its version and the zip's
// SHA-256. A host that pins a publisher's key installs a package only when that key signed these very bytes
// for this plugin and this version, whatever the bot, its database or GitHub say.

export const SIGNATURE_FILE = 'gestor-plugin.zip.minisig';

export interface PackageClaims {
  pluginId: string;
  version: string;
  sha256: string;
}

/** The package's two digests, in one read: SHA-256 (what everything names) and BLAKE2b-512 (what minisign signs). */
export async function packageDigests(file: string): Promise<{ sha256: string; blake2b: Buffer }> {
  const sha256 = createHash('sha256');
  const blake2b = createHash('blake2b512');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    sha256.update(chunk as Buffer);
    blake2b.update(chunk as Buffer);
  }
  return { sha256: sha256.digest('hex'), blake2b: blake2b.digest() };
}

export function trustedComment(claims: PackageClaims, at = new Date()): string {
  return `plugin:${claims.pluginId} version:${claims.version} sha256:${claims.sha256} timestamp:${Math.floor(at.getTime() / 1000)}`;
}

/** What a trusted comment claims, or undefined when it is not one of ours. */
export function parseClaims(comment: string): PackageClaims | undefined {
  const match = /^plugin:(\S+) version:(\d+\.\d+\.\d+) sha256:([0-9a-f]{64})(?: timestamp:\d+)?$/.exec(comment);
  return match ? { pluginId: match[1], version: match[2], sha256: match[3] } : undefined;
}

export async function signPackage(
  zip: string,
  key: SecretKey,
  claims: Omit<PackageClaims, 'sha256'>,
): Promise<{ text: string; claims: PackageClaims }> {
  const digests = await packageDigests(zip);
  const full = { ...claims, sha256: digests.sha256 };
  return {
    text: signHash(
      key,
      digests.blake2b,
      trustedComment(full),
      `signature from c2f-plugin secret key ${keyIdText(key.keyId)}`,
    ),
    claims: full,
  };
}

export type SignatureCheck = { ok: true; keyId: string; claims: PackageClaims } | { ok: false; reason: string };

/**
 * Whether `signature` is a trusted key's signature of these bytes (their digests), for this plugin and version:
 * the signature, the trusted comment's own signature, and what the comment names, all checked.
 */
export function checkPackageSignature(
  signature: string | null | undefined,
  keys: readonly PublicKey[],
  digests: { sha256: string; blake2b: Buffer },
  expected: { pluginId: string; version: string },
): SignatureCheck {
  if (!signature) return { ok: false, reason: 'the package has no publisher signature' };
  if (signature.length > 4096)
    return { ok: false, reason: 'the publisher signature is larger than any minisign signature' };
  const verified = verifySignature(signature, keys, { hash: digests.blake2b });
  if (!verified.ok) return { ok: false, reason: verified.reason };
  const claims = parseClaims(verified.trustedComment);
  if (!claims)
    return {
      ok: false,
      reason: `the signature's trusted comment names no plugin, version and SHA-256 ("${verified.trustedComment.slice(0, 120)}")`,
    };
  if (claims.sha256 !== digests.sha256)
    return { ok: false, reason: `the signature is for another package (SHA-256 ${claims.sha256})` };
  if (claims.pluginId !== expected.pluginId || claims.version !== expected.version)
    return {
      ok: false,
      reason: `the signature is for ${claims.pluginId} ${claims.version}, not ${expected.pluginId} ${expected.version}`,
    };
  return { ok: true, keyId: verified.keyId, claims };
}
