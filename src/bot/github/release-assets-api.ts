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
  const early = api.getRelease(repository, releaseId);
  early.catch(() => {}); // seen by whoever asks for it; nobody may, when the tag names no plugin
  const started = early.then((release) => {
    const find = (name: string | undefined) => release?.assets.find((a) => a.name === name);
    const checksum = find(assets?.checksum.name);
    const zip = find(assets?.package);
    const text = checksum && assets ? api.downloadText(repository, checksum.id, assets.checksum.maxBytes) : undefined;
    const stream = zip ? api.download(repository, zip.id) : undefined;
    text?.catch(() => {}); // seen by whoever asks for it, as the release is
    stream?.catch(() => {});
    return {
      text: checksum && text ? { assetId: checksum.id, read: text } : undefined,
      stream: zip && stream ? { assetId: zip.id, read: stream } : undefined,
    };
  });
  started.catch(() => {});
  const take = async (kind: 'text' | 'stream', repo: string, assetId: number) => {
    if (repo !== repository) return undefined;
    const kept = await started.catch(() => undefined);
    const entry = kept?.[kind];
    if (!entry || entry.assetId !== assetId) return undefined;
    kept[kind] = undefined; // handed out once: a second reader downloads again
    return entry.read;
  };
  return {
    getRelease: (repo, id) => (repo === repository && id === releaseId ? early : api.getRelease(repo, id)),
    downloadText: async (repo, id, maxBytes) =>
      ((maxBytes === assets?.checksum.maxBytes ? await take('text', repo, id) : undefined) as
        | Promise<string>
        | undefined) ?? api.downloadText(repo, id, maxBytes),
    download: async (repo, id) =>
      ((await take('stream', repo, id)) as Promise<ReadableStream<Uint8Array>> | undefined) ?? api.download(repo, id),
    async dropUnused() {
      const kept = await started.catch(() => undefined);
      const stream = kept?.stream?.read;
      if (kept) kept.stream = undefined;
      await stream?.then((s) => s.cancel()).catch(() => {});
    },
  };
}
