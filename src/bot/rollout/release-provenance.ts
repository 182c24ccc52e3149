import { builtBy, checkProvenance, type SigstoreTrust } from '../../plugin/provenance.ts';
import type { ReleaseProvenance } from '../domain.ts';

// A release's build provenance (gestor-plugin.zip.sigstore.json), as the bot sees it before planning: checked
// with the bot's trusted root against the repository the release belongs to and, when the repository must be
// attested (the bot's C2F_PROVENANCE_WORKFLOWS for it, else provenance-workflows in its
// .github/conn2flow-release.yml), one of the named workflows. A required provenance that is missing or does not
// verify fails the release; one that is not required is only shown. Hosts that require it check again.

export type ProvenanceOutcome = { ok: true; provenance: ReleaseProvenance | null } | { ok: false; reason: string };

export interface ProvenanceInput {
  bundle: string | null;
  repository: string;
  sha256: string;
  /** Workflow files (.github/workflows/…) that may have built the release; empty: none required. */
  requiredWorkflows: readonly string[];
  /** Where the requirement comes from, for messages. */
  requiredBy: string;
  sigstore: SigstoreTrust;
}

export function releaseProvenance(input: ProvenanceInput): ProvenanceOutcome {
  const required = input.requiredWorkflows.length > 0;
  if (!input.bundle) {
    if (required)
      return { ok: false, reason: `${input.requiredBy} requires build provenance, and the release has none` };
    return { ok: true, provenance: null };
  }
  // Verified once, for the repository; the workflow it names is then held to the required ones.
  const checked = checkProvenance(input.bundle, input.sha256, { repository: input.repository }, input.sigstore);
  const workflow = checked.ok ? checked.provenance.workflow : undefined;
  let reason = checked.ok ? undefined : checked.reason;
  if (workflow && required && !input.requiredWorkflows.includes(workflow))
    reason = `the package was built by ${workflow}, not ${input.requiredWorkflows.join(' or ')}`;
  if (checked.ok && !reason)
    return { ok: true, provenance: { bundle: input.bundle, status: 'verified', builtBy: builtBy(checked.provenance) } };
  if (required) return { ok: false, reason: `gestor-plugin.zip.sigstore.json: ${reason}` };
  return { ok: true, provenance: { bundle: input.bundle, status: 'unverified', builtBy: null, reason } };
}
