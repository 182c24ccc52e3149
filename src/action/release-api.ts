// The part of GitHub's REST API the Action uses, as plain values. The Action talks to this interface only;
// octokit-release-api.ts implements it over Octokit, and tests run it against a local stand-in.

export interface Release {
  id: number;
  tagName: string;
  name: string | null;
  draft: boolean;
  prerelease: boolean;
  immutable: boolean;
  htmlUrl: string;
  uploadUrl: string;
  publishedAt: string | null;
}

export interface ReleaseAsset {
  id: number;
  name: string;
  size: number;
  /** GitHub's `sha256:<hex>` digest, when it has computed one. */
  digest: string | null;
  browserDownloadUrl: string;
}

export interface NewRelease {
  tagName: string;
  name: string;
  body: string;
  draft: boolean;
  prerelease: boolean;
}

export interface ReleaseApi {
  getReleaseByTag(tag: string): Promise<Release | undefined>;
  /** Every release, newest first (all pages). */
  listReleases(): Promise<Release[]>;
  createRelease(release: NewRelease): Promise<Release>;
  updateRelease(id: number, changes: Partial<Pick<NewRelease, 'draft' | 'prerelease' | 'name'>>): Promise<Release>;
  listAssets(releaseId: number): Promise<ReleaseAsset[]>;
  deleteAsset(assetId: number): Promise<void>;
  uploadAsset(release: Release, name: string, file: string, contentType: string): Promise<ReleaseAsset>;
  /** Downloads an asset to a file. */
  downloadAsset(assetId: number, file: string): Promise<void>;
  /** Stores a Sigstore bundle as the repository's artifact attestation; returns its id. */
  storeAttestation(bundle: unknown): Promise<number | undefined>;
}

/** An HTTP failure from GitHub, turned into a sentence for the person who has to act on it. */
export class GitHubError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}
