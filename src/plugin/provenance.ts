import { readFileSync } from 'node:fs';
import { bundleFromJSON } from '@sigstore/bundle';
import { ByteStream } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { GITHUB_ACTIONS_ISSUER } from './provenance-file.ts';
import publicGoodRoot from './sigstore/public-good-trusted-root.json' with { type: 'json' };

// Build provenance: a Sigstore bundle (gestor-plugin.zip.sigstore.json) whose DSSE envelope carries an in-toto
// SLSA statement naming the zip's SHA-256, signed with a short-lived Fulcio certificate that GitHub's OIDC token
// bound to one repository, workflow file and ref, and logged in a transparency log. Checked offline against a
// trusted root (Sigstore's public-good one ships with us; a file replaces it), never against GitHub.

// Verifying re-encodes each certificate node by node through @sigstore/core's ByteStream, which grows in
// zero-filled blocks of 1 KiB; DER nodes are a few bytes, and 64-byte blocks make a verification about three
// times faster (bench/agent). The setting is the library's own (private) static: should it go, this does nothing.
(ByteStream as unknown as { BLOCK_SIZE: number }).BLOCK_SIZE = 64;
/** Real bundles are a few KiB: a certificate chain, one log entry and the statement. */
export const MAX_PROVENANCE_BYTES = 64 * 1024;
const MAX_DEPTH = 32;
const IN_TOTO = 'application/vnd.in-toto+json';
const SLSA_V1 = 'https://slsa.dev/provenance/v1';
/** Fulcio's "Source Repository URI" extension: the repository whose workflow run asked for the certificate. */
const SOURCE_REPOSITORY_OID = '1.3.6.1.4.1.57264.1.12';

/** What a host or the bot requires of a plugin's provenance. */
export interface ProvenancePolicy {
  /** owner/name of the repository that built the package. */
  repository: string;
  /** The workflow file that built it (.github/workflows/release.yml); absent: any of the repository's. */
  workflow?: string;
  /** Tags the build may have run for, `*` matching any run of characters; absent: any tag. */
  tagPattern?: string;
}

/** The trusted root and the OIDC issuer whose identities it accepts. */
export interface SigstoreTrust {
  trustedRoot: unknown;
  issuer: string;
  /** The server that names repositories in certificates (https://github.com). */
  serverUrl: string;
}

export const DEFAULT_SIGSTORE_TRUST: SigstoreTrust = {
  trustedRoot: publicGoodRoot,
  issuer: GITHUB_ACTIONS_ISSUER,
  serverUrl: 'https://github.com',
};

export interface Provenance {
  repository: string;
  workflow: string;
  ref: string;
  /** When the transparency log (or timestamp authority) saw the signature. */
  signedAt?: string;
}

export type ProvenanceCheck = { ok: true; provenance: Provenance } | { ok: false; reason: string };

/** Who built it, as one line: owner/repo/.github/workflows/file.yml@ref. */
export function builtBy(provenance: Provenance): string {
  return `${provenance.repository}/${provenance.workflow}@${provenance.ref}`;
}

/**
 * The trust a host or the bot checks provenance with: the public-good root and GitHub's issuer, or a trusted
 * root file and issuer of its own (GitHub's instance, a GHES, a private Sigstore). The file is read and checked
 * now, at start, not at the first package; a file that cannot be used throws.
 */
export function loadSigstoreTrust(settings: { trustedRootFile?: string; issuer?: string }): SigstoreTrust {
  let trustedRoot = DEFAULT_SIGSTORE_TRUST.trustedRoot;
  if (settings.trustedRootFile) {
    trustedRoot = JSON.parse(readFileSync(settings.trustedRootFile, 'utf8'));
    TrustedRoot.fromJSON(trustedRoot);
  }
  return { ...DEFAULT_SIGSTORE_TRUST, trustedRoot, ...(settings.issuer ? { issuer: settings.issuer } : {}) };
}

export class ProvenanceError extends Error {}

/** Checks a bundle against the package's SHA-256 and the policy; every failure is a one-line reason. */
export function checkProvenance(
  bundleText: string | undefined,
  sha256: string,
  policy: ProvenancePolicy,
  trust: SigstoreTrust = DEFAULT_SIGSTORE_TRUST,
): ProvenanceCheck {
  try {
    if (!bundleText) throw new ProvenanceError('the package has no build provenance');
    const provenance = readProvenance(bundleText, sha256, trust);
    const problem = policyProblem(provenance, policy);
    if (problem) throw new ProvenanceError(problem);
    return { ok: true, provenance };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: error instanceof ProvenanceError ? message : `build provenance: ${message}` };
  }
}

/** Verifies the bundle with the trusted root and returns who built these bytes; throws ProvenanceError. */
export function readProvenance(bundleText: string, sha256: string, trust: SigstoreTrust): Provenance {
  if (Buffer.byteLength(bundleText) > MAX_PROVENANCE_BYTES)
    throw new ProvenanceError(`the provenance bundle is larger than ${MAX_PROVENANCE_BYTES / 1024} KiB`);
  if (nestingDepth(bundleText) > MAX_DEPTH)
    throw new ProvenanceError(`the provenance bundle nests deeper than ${MAX_DEPTH} levels`);
  let json: unknown;
  try {
    json = JSON.parse(bundleText);
  } catch {
    throw new ProvenanceError('the provenance bundle is not JSON');
  }
  let bundle: ReturnType<typeof bundleFromJSON>;
  try {
    bundle = bundleFromJSON(json);
  } catch (error) {
    throw new ProvenanceError(`the provenance bundle is not a Sigstore bundle: ${(error as Error).message}`);
  }
  if (bundle.content.$case !== 'dsseEnvelope')
    throw new ProvenanceError('the provenance bundle holds no in-toto attestation');
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO)
    throw new ProvenanceError(`the attestation's payload is ${envelope.payloadType}, not an in-toto statement`);

  const statement = parseStatement(envelope.payload);
  if (statement.predicateType !== SLSA_V1)
    throw new ProvenanceError(`the attestation is ${statement.predicateType}, not SLSA build provenance`);
  if (!statement.subject.some((s) => s.digest?.sha256?.toLowerCase() === sha256.toLowerCase()))
    throw new ProvenanceError(`the provenance attests other bytes: no subject has the package's SHA-256 ${sha256}`);

  const signer = verifyBundle(bundle, trust);
  const identity = signer.identity;
  const issuer = identity?.extensions?.issuer;
  if (issuer !== trust.issuer)
    throw new ProvenanceError(`the provenance was signed for ${issuer ?? 'no issuer'}, not ${trust.issuer}`);
  const san = identity?.subjectAlternativeName ?? '';
  const built = parseWorkflowIdentity(san, trust.serverUrl);
  if (!built) throw new ProvenanceError(`the signing certificate names no workflow of ${trust.serverUrl}: ${san}`);
  const source = identity?.oids?.find((o) => o.oid?.id.join('.') === SOURCE_REPOSITORY_OID);
  const sourceUrl = source ? derUtf8(source.value) : undefined;
  if (sourceUrl !== undefined && sourceUrl.toLowerCase() !== `${trust.serverUrl}/${built.repository}`.toLowerCase())
    throw new ProvenanceError(`the workflow ${built.workflow} of ${built.repository} ran for ${sourceUrl}`);
  const logged = bundle.verificationMaterial.tlogEntries[0]?.integratedTime;
  return { ...built, ...(logged ? { signedAt: new Date(Number(logged) * 1000).toISOString() } : {}) };
}

/** Verifiers by trusted root: a root is read once, not for every package. */
const verifiers = new WeakMap<object, Verifier>();

function verifierFor(trustedRoot: unknown): Verifier {
  const known = verifiers.get(trustedRoot as object);
  if (known) return known;
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(trustedRoot);
  } catch (error) {
    throw new ProvenanceError(`the Sigstore trusted root cannot be read: ${(error as Error).message}`);
  }
  // A root without transparency logs (GitHub's own instance, for private repositories) timestamps instead.
  const verifier = new Verifier(toTrustMaterial(root), { tlogThreshold: root.tlogs.length ? 1 : 0 });
  if (trustedRoot && typeof trustedRoot === 'object') verifiers.set(trustedRoot, verifier);
  return verifier;
}

function verifyBundle(bundle: ReturnType<typeof bundleFromJSON>, trust: SigstoreTrust) {
  const verifier = verifierFor(trust.trustedRoot);
  try {
    return verifier.verify(toSignedEntity(bundle));
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new ProvenanceError(`the provenance does not verify${code ? ` (${code})` : ''}: ${(error as Error).message}`);
  }
}

function parseStatement(payload: Buffer): {
  predicateType?: string;
  subject: Array<{ digest?: { sha256?: string } }>;
} {
  let statement: unknown;
  try {
    statement = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new ProvenanceError('the attestation is not a JSON in-toto statement');
  }
  const s = statement as { predicateType?: unknown; subject?: unknown };
  if (!s || typeof s !== 'object' || !Array.isArray(s.subject) || typeof s.predicateType !== 'string')
    throw new ProvenanceError('the attestation is not an in-toto statement');
  return s as { predicateType: string; subject: Array<{ digest?: { sha256?: string } }> };
}

/** https://github.com/owner/name/.github/workflows/file.yml@refs/tags/v1 → its parts. */
export function parseWorkflowIdentity(san: string, serverUrl: string): Omit<Provenance, 'signedAt'> | undefined {
  const prefix = `${serverUrl.replace(/\/$/, '')}/`;
  if (!san.startsWith(prefix)) return undefined;
  const match = /^([^/]+\/[^/]+)\/(\.github\/workflows\/[^@]+)@(refs\/.+)$/.exec(san.slice(prefix.length));
  if (!match) return undefined;
  return { repository: match[1], workflow: match[2], ref: match[3] };
}

function policyProblem(built: Provenance, policy: ProvenancePolicy): string | undefined {
  if (built.repository.toLowerCase() !== policy.repository.toLowerCase())
    return `the package was built by ${built.repository}, not ${policy.repository}`;
  if (policy.workflow && built.workflow !== policy.workflow)
    return `the package was built by ${built.workflow}, not ${policy.workflow}`;
  if (policy.tagPattern) {
    const tag = built.ref.startsWith('refs/tags/') ? built.ref.slice('refs/tags/'.length) : undefined;
    if (!tag) return `the package was built from ${built.ref}, not from a tag`;
    if (!globMatches(policy.tagPattern, tag))
      return `the package was built for tag ${tag}, which does not match ${policy.tagPattern}`;
  }
  return undefined;
}

/** `*` matches any run of characters; everything else matches itself. */
export function globMatches(pattern: string, text: string): boolean {
  const parts = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`).test(text);
}

/** A DER UTF8String (or any short-form string) as Fulcio's v2 extensions encode their values. */
function derUtf8(value: Buffer): string {
  if (value.length >= 2 && value[1] < 0x80) return value.subarray(2, 2 + value[1]).toString('utf8');
  if (value.length >= 3 && value[1] === 0x81) return value.subarray(3, 3 + value[2]).toString('utf8');
  if (value.length >= 4 && value[1] === 0x82) return value.subarray(4, 4 + value.readUInt16BE(2)).toString('utf8');
  return value.toString('utf8');
}

/** The deepest nesting of arrays and objects, counted without parsing (strings skipped). */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') deepest = Math.max(deepest, ++depth);
    else if (c === '}' || c === ']') depth--;
  }
  return deepest;
}
