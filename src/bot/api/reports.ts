import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkReport } from '../../protocol/validate.ts';
import type { Database } from '../store/database.ts';
import { applyReport } from '../store/reports.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { reports } from '../metrics.ts';
import { sendJson } from '../http/json-answer.ts';
import { readSignedHostMessage } from './signed-host-message.ts';

// POST /api/reports: a host's signed report. The body names the host, but nothing in it counts until the
// signature verifies with that host's secret; then the schema, then the store (once per message id).

export async function handleReport(
  req: IncomingMessage,
  res: ServerResponse,
  deps: {
    db: Database;
    box: SecretBox;
  },
): Promise<void> {
  const signed = await readSignedHostMessage(req, res, deps, 'report', checkReport);
  if (!signed) {
    reports.inc({ outcome: 'rejected' });
    return;
  }
  const report = signed.value;
  const { outcome } = await applyReport(deps.db, signed.messageId, report);
  reports.inc({ outcome: outcome === 'unknown-job' ? 'rejected' : outcome });
  if (outcome === 'unknown-job')
    return sendJson(res, 404, { error: `no job ${report.jobId} for host ${report.hostId}` });
  return sendJson(res, 200, { status: outcome });
}
