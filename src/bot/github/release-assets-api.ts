// ReleaseAssetsApi (domain.ts) over the installation's Octokit; tests run it against the local GitHub stand-in.
import type { ReleaseAssetsApi } from '../domain.ts';

interface OctokitLike {
  request(
    route: string,
    parameters: Record<string, unknown>,
  ): Promise<{ data: unknown; status: number; headers?: Record<string, unknown> }>;
}

export function octokitAssetsApi(octokit: OctokitLike): ReleaseAssetsApi {
  const split = (repository: string) => {
    const [owner, repo] = repository.split('/');
    return { owner, repo };
  };
  return {
    async getRelease(repository, releaseId) {
      try {
        const { data } = await octokit.request('GET /repos/{owner}/{repo}/releases/{release_id}', {
          ...split(repository),
          release_id: releaseId,
        });
        const r = data as {
          tag_name: string;
          draft: boolean;
          prerelease: boolean;
          published_at?: string | null;
          assets: Array<{
            id: number;
            name: string;
            size: number;
            digest?: string | null;
            browser_download_url: string;
          }>;
        };
        return {
          tagName: r.tag_name,
          draft: r.draft,
          prerelease: r.prerelease,
          publishedAt: r.published_at ?? null,
          assets: r.assets.map((a) => ({
            id: a.id,
            name: a.name,
            size: a.size,
            digest: a.digest ?? null,
            browserDownloadUrl: a.browser_download_url,
          })),
        };
      } catch (error) {
        if ((error as { status?: number }).status === 404) return undefined;
        throw error;
      }
    },
    async downloadText(repository, assetId, maxBytes) {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/releases/assets/{asset_id}', {
        ...split(repository),
        asset_id: assetId,
        headers: { accept: 'application/octet-stream' },
      });
      const raw = data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array | string);
      const bytes = Buffer.from(raw as Uint8Array);
      if (bytes.length > maxBytes)
        throw new Error(`asset ${assetId} is ${bytes.length} bytes, more than the ${maxBytes} expected`);
      return bytes.toString('utf8');
    },
    async download(repository, assetId) {
      const { data } = await octokit.request('GET /repos/{owner}/{repo}/releases/assets/{asset_id}', {
        ...split(repository),
        asset_id: assetId,
        headers: { accept: 'application/octet-stream' },
        request: { parseSuccessResponseBody: false },
      });
      return data as ReadableStream<Uint8Array>;
    },
  };
}

/** A download started early, and the asset it is of. */
type EarlyRead<T> = { assetId: number; read: Promise<T> } | undefined;
type EarlyReads = { text: EarlyRead<string>; stream: EarlyRead<ReadableStream<Uint8Array>> };

/** A promise whose rejection is seen by whoever awaits it later, and by nobody if nobody does. */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** What to start downloading as soon as the release is read: the package and its checksum, by asset name. */
export interface EarlyAssets {
  checksum: { name: string; maxBytes: number };
  package: string;
}

/**
 * Starts reading one release at once, for a caller that needs it after other requests it can make meanwhile
 * (the repository's configuration): the answer is kept, and asked for again it is returned. With `assets`,
 * the package and its checksum start downloading as soon as the release is read, and are handed out once
 * each; `dropUnused` cancels a download nobody took (the release was ignored or failed first).
 */
export function readingReleaseEarly(
  api: ReleaseAssetsApi,
  repository: string,
  releaseId: number,
  assets?: EarlyAssets,
): ReleaseAssetsApi & { dropUnused(): Promise<void> } {
  const early = quiet(api.getRelease(repository, releaseId)); // nobody may ask, when the tag names no plugin
  const started = quiet(
    early.then((release): EarlyReads => {
      const find = (name: string | undefined) => release?.assets.find((a) => a.name === name);
      const checksum = find(assets?.checksum.name);
      const zip = find(assets?.package);
      return {
        text:
          checksum && assets
            ? { assetId: checksum.id, read: quiet(api.downloadText(repository, checksum.id, assets.checksum.maxBytes)) }
            : undefined,
        stream: zip ? { assetId: zip.id, read: quiet(api.download(repository, zip.id)) } : undefined,
      };
    }),
  );
  /** The early read of the asset, handed out once (a second reader downloads again). */
  const take = async <K extends keyof EarlyReads>(kind: K, repo: string, assetId: number): Promise<EarlyReads[K]> => {
    const kept = await started.catch(() => undefined);
    const entry = kept?.[kind];
    if (repo !== repository || !kept || entry?.assetId !== assetId) return undefined;
    kept[kind] = undefined;
    return entry;
  };
  return {
    getRelease: (repo, id) => (repo === repository && id === releaseId ? early : api.getRelease(repo, id)),
    downloadText: async (repo, id, maxBytes) =>
      (maxBytes === assets?.checksum.maxBytes ? (await take('text', repo, id))?.read : undefined) ??
      api.downloadText(repo, id, maxBytes),
    download: async (repo, id) => (await take('stream', repo, id))?.read ?? api.download(repo, id),
    async dropUnused() {
      const kept = await started.catch(() => undefined);
      const stream = kept?.stream?.read;
      if (kept) kept.stream = undefined;
      await stream?.then((s) => s.cancel()).catch(() => {});
    },
  };
}
