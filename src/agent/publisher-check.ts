import { createHash } from 'node:crypto';
import { compareVersions } from '../versions.ts';
import { checkStatement } from '../plugin/key-statement.ts';
import { keyIdText, parsePublicKey, type PublicKey } from '../plugin/minisign.ts';
import { checkPackageSignature } from '../plugin/package-signature.ts';
import { builtBy as builtByText, type ProvenanceCheck } from '../plugin/provenance.ts';
import type { Job, PublisherSummary } from '../protocol/messages.ts';
import type { PublisherTrust } from './config.ts';
import type { TrustRecords } from './trust-records.ts';

// The host's own check of a package's publisher, for plugins its config names under `publishers`; it runs on
// the downloaded bytes before anything reads them. The bot, its database and GitHub are not trusted here: the
// keys are the config's (plus those pinned on first use or added by a statement a trusted key signed), the
// signature must cover these bytes, this plugin id and this version, and an older version than the site has
// passes only as an operator's rollback to a version this host had installed. A plugin may also (or instead)
// require build provenance: a Sigstore bundle, verified with the host's own trusted root, saying that this
// repository's workflow built these bytes for a matching tag (checked before the download, for the SHA-256 the
// bytes are then held to, and passed in). Order: provenance, key statement, signature, version.

export type PublisherCheck =
  | { ok: true; checked: false }
  | { ok: true; checked: true; keyId?: string; builtBy?: string; notes: string[]; pinOnSuccess?: string }
  | { ok: false; reason: string };

export interface PublisherCheckInput {
  trust: PublisherTrust | undefined;
  records: TrustRecords;
  job: Job;
  /** The bytes' digests: BLAKE2b-512 when a signature is checked (it covers the bytes), else their SHA-256. */
  digests: { sha256: string; blake2b?: Buffer };
  /** The build provenance, checked (for the SHA-256 these bytes are held to) when the plugin requires it. */
  built?: ProvenanceCheck;
  /** The version the site has now (its own files), null when none. */
  siteVersion: string | null;
  hadInstalled: (version: string) => boolean;
}

export function trustFor(publishers: Record<string, PublisherTrust>, pluginId: string): PublisherTrust | undefined {
  return publishers[pluginId] ?? publishers['*'];
}

/** Whether the plugin's packages must carry the publisher's signature (keys, or a key to pin on first use). */
export function needsSignature(trust: PublisherTrust): boolean {
  return trust.keys.length > 0 || trust.trustOnFirstUse;
}

export function checkPublisher(input: PublisherCheckInput): PublisherCheck {
  const { trust, job } = input;
  if (!trust) return { ok: true, checked: false };
  let builtBy: string | undefined;
  if (trust.provenance) {
    const built = input.built ?? { ok: false, reason: 'the build provenance was not checked' };
    if (!built.ok) return { ok: false, reason: built.reason };
    builtBy = builtByText(built.provenance);
  }
  let signed: { keyId: string; notes: string[]; pinOnSuccess?: string } | undefined;
  if (needsSignature(trust)) {
    const signature = checkSignature(input, trust);
    if (!signature.ok) return signature;
    signed = signature;
  }
  if (input.siteVersion && (compareVersions(job.plugin.version, input.siteVersion) ?? 0) < 0) {
    const operatorRollback = job.action === 'rollback' && input.hadInstalled(job.plugin.version);
    if (!operatorRollback)
      return {
        ok: false,
        reason: `${job.plugin.id} ${job.plugin.version} is older than the ${input.siteVersion} this site has: an old release is installed only as an operator's rollback to a version this host had`,
      };
  }
  return {
    ok: true,
    checked: true,
    notes: signed?.notes ?? [],
    ...(signed ? { keyId: signed.keyId } : {}),
    ...(signed?.pinOnSuccess ? { pinOnSuccess: signed.pinOnSuccess } : {}),
    ...(builtBy ? { builtBy } : {}),
  };
}

function checkSignature(
  input: PublisherCheckInput,
  trust: PublisherTrust,
): { ok: true; keyId: string; notes: string[]; pinOnSuccess?: string } | { ok: false; reason: string } {
  const { records, job } = input;
  const pluginId = job.plugin.id;
  const notes: string[] = [];
  let keys = trustedKeys(trust, records, pluginId);

  const statementSha256 = job.keyStatement && createHash('sha256').update(job.keyStatement.statement).digest('hex');
  // The statement applied last comes again with later releases; it was checked then (its signer may be retired since).
  if (job.keyStatement && statementSha256 !== records.lastStatement(pluginId)?.sha256) {
    if (!keys.length) notes.push('the key statement was not applied: no key is trusted yet to check it');
    else {
      const checked = checkStatement(job.keyStatement.statement, job.keyStatement.signature, keys, pluginId);
      if (!checked.ok) return { ok: false, reason: checked.reason };
      const last = records.lastStatement(pluginId);
      if (last && checked.statement.sequence < last.sequence)
        return {
          ok: false,
          reason: `the key statement (sequence ${checked.statement.sequence}) is older than the one this host applied (${last.sequence}): a replay`,
        };
      if (last && checked.statement.sequence === last.sequence)
        return { ok: false, reason: `the key statement reuses sequence ${last.sequence} with other content` };
      records.applyStatement(checked.statement, checked.sha256);
      notes.push(
        `key statement ${checked.statement.sequence} by key ${checked.keyId} applied: +${checked.statement.add.length} key(s), -${checked.statement.retire.length}`,
      );
      keys = trustedKeys(trust, records, pluginId);
    }
  }

  let pinOnSuccess: string | undefined;
  if (!keys.length) {
    // Trust on first use: the key the job names, once the package verifies with it (pinned after the install).
    if (!job.package.publisherKey)
      return {
        ok: false,
        reason: `this host trusts ${pluginId}'s publisher on first use, but the job names no publisher key`,
      };
    try {
      keys = [parsePublicKey(job.package.publisherKey)];
    } catch (error) {
      return { ok: false, reason: `the publisher key the job names: ${(error as Error).message}` };
    }
    pinOnSuccess = job.package.publisherKey;
  }
  if (!input.digests.blake2b) return { ok: false, reason: 'the package was not hashed for its signature' };
  const signature = checkPackageSignature(
    job.package.signature,
    keys,
    { sha256: input.digests.sha256, blake2b: input.digests.blake2b },
    { pluginId, version: job.plugin.version },
  );
  if (!signature.ok) return { ok: false, reason: signature.reason };
  return { ok: true, keyId: signature.keyId, notes, ...(pinOnSuccess ? { pinOnSuccess } : {}) };
}

/** What this host checks, as its heartbeats tell the bot: the key ids trusted per plugin ("*": every other one). */
export function trustSummary(
  publishers: Record<string, PublisherTrust>,
  records: TrustRecords,
): Record<string, PublisherSummary> {
  const summary: Record<string, PublisherSummary> = {};
  const plugins = new Set([...Object.keys(publishers), ...records.plugins()]);
  for (const pluginId of plugins) {
    const trust = pluginId === '*' ? publishers['*'] : trustFor(publishers, pluginId);
    if (!trust) continue;
    const keys =
      pluginId === '*' ? trust.keys.map((line) => parsePublicKey(line)) : trustedKeys(trust, records, pluginId);
    summary[pluginId] = {
      keyIds: keys.map((k) => keyIdText(k.keyId)),
      trustOnFirstUse: trust.trustOnFirstUse,
      ...(trust.provenance ? { provenance: trust.provenance } : {}),
    };
  }
  return summary;
}

/** The config's keys and those this host added since, less those a statement retired. */
function trustedKeys(trust: PublisherTrust, records: TrustRecords, pluginId: string): PublicKey[] {
  const stored = records.keysOf(pluginId);
  const retired = new Set(stored.filter((k) => k.retired).map((k) => k.keyId));
  const lines = [...trust.keys, ...stored.filter((k) => !k.retired).map((k) => k.key)];
  const byId = new Map<string, PublicKey>();
  for (const line of lines) {
    const key = parsePublicKey(line);
    const id = keyIdText(key.keyId);
    if (!retired.has(id)) byId.set(id, key);
  }
  return [...byId.values()];
}
