import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyMessage } from '../../protocol/signing.ts';
import { checkReport } from '../../protocol/validate.ts';
import type { Database } from '../store/database.ts';
import { hostSecrets } from '../store/hosts.ts';
import { applyReport, getJob } from '../store/rollouts.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { reports } from '../metrics.ts';
import { BodyTooLargeError, readBody, sendJson } from './read-body.ts';

// POST /api/reports: a host's signed report. The body names the host, but nothing in it counts until the
// signature verifies with that host's secret; then the schema, then the store (once per message id).

export async function handleReport(req: IncomingMessage, res: ServerResponse, deps: { db: Database; box: SecretBox; onApplied?: (rolloutId: string) => Promise<void> }): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (error) {
    if (error instanceof BodyTooLargeError) return sendJson(res, 413, { error: error.message });
    throw error;
  }
  let claimed: unknown;
  try {
    claimed = JSON.parse(body.toString('utf8'));
  } catch {
    return sendJson(res, 401, { error: 'unsigned or malformed report' });
  }
  const hostId = (claimed as { hostId?: unknown })?.hostId;
  const secrets = typeof hostId === 'string' ? await hostSecrets(deps.db, deps.box, hostId) : [];
  const verified = verifyMessage(body, req.headers, secrets);
  if (!secrets.length || !verified.ok) {
    reports.inc({ outcome: 'rejected' });
    return sendJson(res, 401, { error: secrets.length ? `signature rejected: ${verified.ok ? '' : verified.reason}` : 'unknown host' });
  }
  const checked = checkReport(claimed);
  if (!checked.ok) return sendJson(res, 422, { error: 'the report does not match the report schema', details: checked.errors });
  const outcome = await applyReport(deps.db, verified.messageId, checked.value);
  reports.inc({ outcome: outcome === 'unknown-job' ? 'rejected' : outcome });
  if (outcome === 'unknown-job') return sendJson(res, 404, { error: `no job ${checked.value.jobId} for host ${hostId}` });
  if (outcome === 'applied' && deps.onApplied) {
    const job = await getJob(deps.db, checked.value.jobId);
    if (job) await deps.onApplied(job.rolloutId);
  }
  return sendJson(res, 200, { status: outcome });
}
