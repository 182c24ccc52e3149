import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { getOctokit } from '@actions/github';
import { GitHubError, type Release, type ReleaseApi, type ReleaseAsset } from './release-api.ts';

// ReleaseApi over Octokit (@actions/github's getOctokit, which follows the runner's API URL and proxy).
// Uploads and downloads stream: a package never sits in memory whole.

type Octokit = ReturnType<typeof getOctokit>;
type Json = Record<string, unknown>;

export function octokitReleaseApi(octokit: Octokit, owner: string, repo: string): ReleaseApi {
  const repoParams = { owner, repo };
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw explain(what, error);
    }
  };
  const orUndefined = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (error) {
      if ((error as { status?: number }).status === 404) return undefined;
      throw explain(what, error);
    }
  };

  return {
    getReleaseByTag: (tag) =>
      orUndefined(`get release ${tag}`, async () =>
        toRelease((await octokit.rest.repos.getReleaseByTag({ ...repoParams, tag })).data as Json),
      ),
    listReleases: () =>
      call('list releases', async () =>
        (await octokit.paginate(octokit.rest.repos.listReleases, { ...repoParams, per_page: 100 })).map((r) =>
          toRelease(r as Json),
        ),
      ),
    createRelease: (release) =>
      call(`create release ${release.tagName}`, async () =>
        toRelease(
          (
            await octokit.rest.repos.createRelease({
              ...repoParams,
              tag_name: release.tagName,
              name: release.name,
              body: release.body,
              draft: release.draft,
              prerelease: release.prerelease,
            })
          ).data as Json,
        ),
      ),
    updateRelease: (id, changes) =>
      call(`update release ${id}`, async () =>
        toRelease((await octokit.rest.repos.updateRelease({ ...repoParams, release_id: id, ...changes })).data as Json),
      ),
    listAssets: (releaseId) =>
      call(`list assets of release ${releaseId}`, async () =>
        (
          await octokit.paginate(octokit.rest.repos.listReleaseAssets, {
            ...repoParams,
            release_id: releaseId,
            per_page: 100,
          })
        ).map((a) => toAsset(a as Json)),
      ),
    deleteAsset: (assetId) =>
      call(`delete asset ${assetId}`, async () => {
        await octokit.rest.repos.deleteReleaseAsset({ ...repoParams, asset_id: assetId });
      }),
    uploadAsset: (release, name, file, contentType) =>
      call(`upload ${name} to release ${release.tagName}`, async () => {
        const size = (await stat(file)).size;
        const response = await octokit.request({
          method: 'POST',
          url: release.uploadUrl,
          name,
          headers: { 'content-type': contentType, 'content-length': size },
          data: createReadStream(file),
        });
        return toAsset(response.data as Json);
      }),
    downloadAsset: (assetId, file) =>
      call(`download asset ${assetId}`, async () => {
        const response = await octokit.rest.repos.getReleaseAsset({
          ...repoParams,
          asset_id: assetId,
          headers: { accept: 'application/octet-stream' },
          request: { parseSuccessResponseBody: false },
        });
        await pipeline(Readable.fromWeb(response.data as never), createWriteStream(file));
      }),
    storeAttestation: (bundle) =>
      call('store the build provenance attestation', async () => {
        const response = await octokit.request('POST /repos/{owner}/{repo}/attestations', {
          ...repoParams,
          bundle: bundle as never,
        });
        return (response.data as { id?: number }).id;
      }),
  };
}

function toRelease(data: Json): Release {
  return {
    id: data.id as number,
    tagName: data.tag_name as string,
    name: (data.name as string | null) ?? null,
    draft: Boolean(data.draft),
    prerelease: Boolean(data.prerelease),
    immutable: Boolean(data.immutable),
    htmlUrl: data.html_url as string,
    uploadUrl: data.upload_url as string,
    publishedAt: (data.published_at as string | null) ?? null,
  };
}

function toAsset(data: Json): ReleaseAsset {
  return {
    id: data.id as number,
    name: data.name as string,
    size: data.size as number,
    digest: (data.digest as string | null | undefined) ?? null,
    browserDownloadUrl: data.browser_download_url as string,
  };
}

/** Turns an HTTP error into a sentence that says what to do. */
function explain(what: string, error: unknown): Error {
  const e = error as {
    status?: number;
    message?: string;
    response?: { data?: { message?: string; errors?: Array<{ code?: string; message?: string }> } };
  };
  if (typeof e.status !== 'number') return error as Error;
  const data = e.response?.data;
  const detail =
    [data?.message, ...(data?.errors ?? []).map((x) => x.message ?? x.code)].filter(Boolean).join('; ') ||
    e.message ||
    '';
  if (e.status === 401)
    return new GitHubError(401, `GitHub rejected the token while trying to ${what}: check the "token" input`);
  if (e.status === 403) {
    return new GitHubError(
      403,
      `GitHub refused to ${what} (403${detail ? `: ${detail}` : ''}): the token needs the "contents: write" permission; add "permissions: contents: write" to the job`,
    );
  }
  return new GitHubError(e.status, `GitHub answered ${e.status} when trying to ${what}${detail ? `: ${detail}` : ''}`);
}
