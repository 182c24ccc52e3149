import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Job } from '../../protocol/messages.ts';
import { verifyMessage } from '../../protocol/signing.ts';
import { checkHeartbeat } from '../../protocol/validate.ts';
import { buildJobMessage } from '../delivery/job-message.ts';
import type { Database } from '../store/database.ts';
import { hostSecrets } from '../store/hosts.ts';
import { loadDelivery, transitionJob } from '../store/rollouts.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { heartbeats } from '../metrics.ts';
import { BodyTooLargeError, readBody, sendJson } from './read-body.ts';

// POST /api/heartbeat: a host's signed inventory (what it has installed), and for hosts behind NAT, a long
// poll: the answer holds the jobs waiting for this host, or none after `pollSeconds`. A job handed out here
// is `delivered`, exactly as a push the host acknowledged.

export interface HeartbeatDeps {
  db: Database;
  box: SecretBox;
  botUrl: string;
  onDelivered?: (rolloutId: string) => Promise<void>;
  /** How often a long poll looks for new jobs. */
  pollCheckMs?: number;
}

export async function handleHeartbeat(req: IncomingMessage, res: ServerResponse, deps: HeartbeatDeps): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(req, 512 * 1024);
  } catch (error) {
    if (error instanceof BodyTooLargeError) return sendJson(res, 413, { error: error.message });
    throw error;
  }
  let claimed: unknown;
  try {
    claimed = JSON.parse(body.toString('utf8'));
  } catch {
    return sendJson(res, 401, { error: 'unsigned or malformed heartbeat' });
  }
  const hostId = (claimed as { hostId?: unknown })?.hostId;
  const secrets = typeof hostId === 'string' ? await hostSecrets(deps.db, deps.box, hostId) : [];
  const verified = verifyMessage(body, req.headers, secrets);
  if (!secrets.length || !verified.ok) return sendJson(res, 401, { error: 'signature rejected' });
  const checked = checkHeartbeat(claimed);
  if (!checked.ok) return sendJson(res, 422, { error: 'the heartbeat does not match the heartbeat schema', details: checked.errors });
  const beat = checked.value;
  heartbeats.inc();
  await deps.db.query('update hosts set inventory = $2, agent_version = $3, last_seen_at = now() where id = $1', [beat.hostId, JSON.stringify(beat.inventory), beat.agentVersion]);

  const deadline = Date.now() + beat.pollSeconds * 1000;
  let closed = false;
  req.once('close', () => (closed = true));
  for (;;) {
    const jobs = await handOut(deps, beat.hostId);
    if (jobs.length || Date.now() >= deadline || closed) return sendJson(res, 200, { jobs });
    await new Promise((resolve) => setTimeout(resolve, Math.min(deps.pollCheckMs ?? 1000, Math.max(deadline - Date.now(), 0))));
  }
}

/** The host's queued jobs, each moved to `delivered` as it is handed out (once, whoever polls twice). */
async function handOut(deps: HeartbeatDeps, hostId: string): Promise<Job[]> {
  const waiting = await deps.db.query<{ id: string }>("select id from host_jobs where host_id = $1 and state = 'queued' order by created_at", [hostId]);
  const jobs: Job[] = [];
  for (const { id } of waiting) {
    const loaded = await loadDelivery(deps.db, id);
    if (!loaded || !(await transitionJob(deps.db, id, ['queued'], 'delivered', { reason: 'fetched by the host (pull mode)', attempts: loaded.job.attempts + 1 }))) continue;
    jobs.push(buildJobMessage(loaded.job, loaded.host, loaded.release, deps.botUrl, loaded.job.action));
    await deps.onDelivered?.(loaded.job.rolloutId);
  }
  return jobs;
}
