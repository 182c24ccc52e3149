import { GitHubError, type Release, type ReleaseApi, type ReleaseAsset } from './release-api.ts';

// Attaches files to the release of a tag. Re-runs replace same-name assets; an asset that appears between
// listing and uploading (a concurrent run) is replaced and the upload retried; a release we create goes
// draft → upload → publish, which is what immutable releases require.

export interface PublishRequest {
  tag: string;
  releaseName: string;
  releaseBody: string;
  files: Array<{ name: string; path: string; contentType: string }>;
  overwrite: boolean;
  createRelease: boolean;
  draft: boolean;
  prerelease: boolean;
}

export interface PublishResult {
  release: Release;
  created: boolean;
  assets: ReleaseAsset[];
}

export class PublishError extends Error {}

const UPLOAD_ATTEMPTS = 3;

export async function publishAssets(
  api: ReleaseApi,
  request: PublishRequest,
  log: (message: string) => void,
): Promise<PublishResult> {
  let release =
    (await api.getReleaseByTag(request.tag)) ?? (await api.listReleases()).find((r) => r.tagName === request.tag);
  let created = false;
  if (!release) {
    if (!request.createRelease)
      throw new PublishError(
        `there is no release for tag ${request.tag}: create it first, or set "create-release: true"`,
      );
    release = await api.createRelease({
      tagName: request.tag,
      name: request.releaseName,
      body: request.releaseBody,
      draft: true,
      prerelease: request.prerelease,
    });
    created = true;
    log(`created draft release ${request.tag}`);
  }
  if (!release.draft && release.immutable) {
    throw new PublishError(
      `release ${request.tag} is published and immutable, so no asset can be added or replaced. Let this action create the release ` +
        '(it creates a draft, uploads, then publishes), or create your release as a draft and publish it after this step.',
    );
  }

  const assets: ReleaseAsset[] = [];
  for (const file of request.files) assets.push(await uploadReplacing(api, release, file, request.overwrite, log));

  if (created && !request.draft) {
    release = await api.updateRelease(release.id, { draft: false });
    log(`published release ${request.tag}`);
  }
  return { release, created, assets };
}

async function uploadReplacing(
  api: ReleaseApi,
  release: Release,
  file: PublishRequest['files'][number],
  overwrite: boolean,
  log: (message: string) => void,
): Promise<ReleaseAsset> {
  for (let attempt = 1; ; attempt++) {
    const existing = (await api.listAssets(release.id)).find((a) => a.name === file.name);
    if (existing) {
      if (!overwrite)
        throw new PublishError(
          `release ${release.tagName} already has ${file.name}: set "overwrite: true" to replace it`,
        );
      await api.deleteAsset(existing.id);
      log(`replaced existing ${file.name}`);
    }
    try {
      const asset = await api.uploadAsset(release, file.name, file.path, file.contentType);
      log(`uploaded ${file.name} (${asset.size} bytes)`);
      return asset;
    } catch (error) {
      // 422 already_exists: another run uploaded the same name between our list and our upload.
      if (
        error instanceof GitHubError &&
        error.status === 422 &&
        /already_exists|already exists/i.test(error.message) &&
        attempt < UPLOAD_ATTEMPTS
      ) {
        log(`${file.name} appeared during the upload; replacing it (attempt ${attempt + 1} of ${UPLOAD_ATTEMPTS})`);
        continue;
      }
      if (error instanceof GitHubError && error.status === 422 && release.immutable) {
        throw new PublishError(
          `release ${release.tagName} is immutable: ${error.message}. Upload to a draft release and publish it afterwards.`,
        );
      }
      throw error;
    }
  }
}
