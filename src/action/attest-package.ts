import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildSLSAProvenancePredicate } from '@actions/attest';
import { CIContextProvider, DSSEBundleBuilder, FulcioSigner, RekorWitness, TSAWitness } from '@sigstore/sign';
import { bundleToJSON } from '@sigstore/bundle';
import { GITHUB_ACTIONS_ISSUER, PROVENANCE_FILE } from '../plugin/provenance-file.ts';

// Build provenance for the package: GitHub's SLSA predicate (@actions/attest builds it from the run's OIDC
// token) in an in-toto statement naming gestor-plugin.zip's SHA-256, signed keyless through Fulcio and logged in
// Rekor (or timestamped, on GitHub's own instance), as `actions/attest-build-provenance` does. The bundle is
// written beside the zip so it can be attached to the release, where a host reads it without GitHub credentials.

export interface SigstoreEndpoints {
  fulcioUrl: string;
  rekorUrl?: string;
  tsaUrl?: string;
}

/** Sigstore's public-good instance: what GitHub uses for public repositories. */
const PUBLIC_GOOD: SigstoreEndpoints = {
  fulcioUrl: 'https://fulcio.sigstore.dev',
  rekorUrl: 'https://rekor.sigstore.dev',
};

/** Where to sign: the inputs' URLs, else public-good for a public repository and GitHub's instance otherwise. */
export function sigstoreEndpoints(
  inputs: { fulcioUrl: string; rekorUrl: string },
  github: { serverUrl: string; publicRepository: boolean },
): SigstoreEndpoints {
  if (inputs.fulcioUrl)
    return { fulcioUrl: inputs.fulcioUrl, ...(inputs.rekorUrl ? { rekorUrl: inputs.rekorUrl } : {}) };
  if (github.publicRepository) return PUBLIC_GOOD;
  let host = new URL(github.serverUrl).hostname;
  if (host === 'github.com') host = 'githubapp.com';
  return { fulcioUrl: `https://fulcio.${host}`, tsaUrl: `https://timestamp.${host}` };
}

/** The OIDC issuer of the runner's ID tokens: GitHub's, a GHE.com tenant's, or a GitHub Enterprise Server's. */
export function actionsIssuer(serverUrl: string): string {
  const host = new URL(serverUrl).hostname;
  if (host === 'github.com') return GITHUB_ACTIONS_ISSUER;
  if (host.endsWith('.ghe.com')) return `https://token.actions.${host}`;
  return `${serverUrl.replace(/\/$/, '')}/_services/token`;
}

export interface Attestation {
  /** The Sigstore bundle, as written to `path`. */
  bundle: unknown;
  path: string;
  /** The certificate's identity: the workflow that built the package, at its ref. */
  builtBy: string;
  /** The transparency log entry, when logged. */
  logIndex?: string;
}

export async function attestPackage(options: {
  sha256: string;
  outDir: string;
  endpoints: SigstoreEndpoints;
  issuer: string;
}): Promise<Attestation> {
  const predicate = await buildSLSAProvenancePredicate(options.issuer);
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'gestor-plugin.zip', digest: { sha256: options.sha256 } }],
    predicateType: predicate.type,
    predicate: predicate.params,
  };
  const { fulcioUrl, rekorUrl, tsaUrl } = options.endpoints;
  const retry = 3;
  const timeout = 10_000;
  const signer = new FulcioSigner({
    identityProvider: new CIContextProvider('sigstore'),
    fulcioBaseURL: fulcioUrl,
    timeout,
    retry,
  });
  const witnesses = [
    ...(rekorUrl ? [new RekorWitness({ rekorBaseURL: rekorUrl, fetchOnConflict: true, timeout, retry })] : []),
    ...(tsaUrl ? [new TSAWitness({ tsaBaseURL: tsaUrl, timeout, retry })] : []),
  ];
  const bundle = await new DSSEBundleBuilder({ signer, witnesses }).create({
    data: Buffer.from(JSON.stringify(statement)),
    type: 'application/vnd.in-toto+json',
  });
  const json = bundleToJSON(bundle as Parameters<typeof bundleToJSON>[0]);
  const file = path.join(options.outDir, PROVENANCE_FILE);
  await writeFile(file, `${JSON.stringify(json)}\n`);
  const builtBy = (predicate.params as { runDetails: { builder: { id: string } } }).runDetails.builder.id;
  const logIndex = bundle.verificationMaterial.tlogEntries[0]?.logIndex;
  return { bundle: json, path: file, builtBy, ...(logIndex ? { logIndex: String(logIndex) } : {}) };
}
