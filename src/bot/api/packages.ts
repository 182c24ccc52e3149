import type { AssetStream } from '../domain.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FINAL_JOB_STATES, type JobState } from '../../protocol/statuses.ts';
import { checkPackageLink } from '../delivery/package-link.ts';
import type { Database } from '../store/database.ts';
import { loadDelivery } from '../store/rollouts.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { sendJson } from '../http/json-answer.ts';

// GET /api/packages/<job id>?expires=&signature=: a private repository's package, streamed from GitHub with
// the installation's token. The link is checked first (bound to the job, not expired), then the job (it
// must still be live), and the bytes are passed through without being held in memory.

const DEAD_STATES: ReadonlySet<JobState> = new Set([...FINAL_JOB_STATES].filter((s) => s !== 'ok' && s !== 'failed'));

export async function handlePackage(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { db: Database; box: SecretBox; assets: AssetStream },
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://bot');
  const jobId = decodeURIComponent(url.pathname.slice('/api/packages/'.length));
  const link = checkPackageLink(deps.box, jobId, url.searchParams.get('expires'), url.searchParams.get('signature'));
  if (!link.ok) return sendJson(res, link.status, { error: link.reason });
  const loaded = await loadDelivery(deps.db, jobId);
  if (!loaded) return sendJson(res, 404, { error: `no job ${jobId}` });
  if (DEAD_STATES.has(loaded.job.state as JobState))
    return sendJson(res, 410, { error: `job ${jobId} is ${loaded.job.state}: its package is no longer served` });
  const release = loaded.release;
  if (!release.zipAssetId || !release.installationId)
    return sendJson(res, 409, { error: `release ${release.tag} has no package asset` });
  let asset;
  try {
    asset = await deps.assets.open(release.installationId, release.repository, release.zipAssetId);
  } catch (error) {
    const status = (error as { status?: number }).status;
    return sendJson(res, 502, {
      error: `GitHub did not serve the package of ${release.tag}${status ? ` (${status})` : ''}: ${(error as Error).message}`,
    });
  }
  res.writeHead(200, {
    'content-type': 'application/zip',
    'content-disposition': 'attachment; filename="gestor-plugin.zip"',
    'cache-control': 'no-store',
    ...(asset.size !== null ? { 'content-length': asset.size } : {}),
  });
  await pipeline(Readable.fromWeb(asset.body as never), res).catch(() => res.destroy());
}
