import type { Probot } from 'probot';
import type { AssetStream } from '../domain.ts';

// A release asset's bytes as a stream, downloaded with the installation's token. GitHub answers with a
// redirect to its storage; fetch follows it and drops the Authorization header on the way.

export function probotAssetStream(probot: Pick<Probot, 'auth'>): AssetStream {
  return {
    async open(installationId, repository, assetId) {
      const octokit = await probot.auth(installationId);
      const [owner, repo] = repository.split('/');
      const response = await octokit.request('GET /repos/{owner}/{repo}/releases/assets/{asset_id}', {
        owner,
        repo,
        asset_id: assetId,
        headers: { accept: 'application/octet-stream' },
        request: { parseSuccessResponseBody: false },
      });
      return {
        body: response.data as unknown as ReadableStream<Uint8Array>,
        size: Number(response.headers['content-length']) || null,
      };
    },
  };
}
