// Names build provenance shares between the Action, which writes it, and the bot and the agent, which check
// it; apart from provenance.ts so that the Action does not load Sigstore's verifier to name a file.

/** The release asset with a package's build provenance (a Sigstore bundle). */
export const PROVENANCE_FILE = 'gestor-plugin.zip.sigstore.json';
/** The issuer of GitHub Actions' OIDC tokens, which Fulcio certifies workflow runs for. */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';
