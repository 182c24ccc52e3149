import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Job } from '../../protocol/messages.ts';
import { checkHeartbeat } from '../../protocol/validate.ts';
import { buildJobMessage } from '../delivery/job-message.ts';
import type { Database } from '../store/database.ts';
import { loadDelivery, transitionJob } from '../store/rollouts.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { heartbeats } from '../metrics.ts';
import { sendSignedJson } from './read-body.ts';
import { readSignedHostMessage } from './signed-host-message.ts';

// POST /api/heartbeat: a host's signed inventory (what it has installed), and for hosts behind NAT, a long
// poll: the answer holds the jobs waiting for this host, or none after `pollSeconds`. A job handed out here
// is `delivered`, exactly as a push the host acknowledged. The answer is signed with the host's current
// secret (the same headers as a push), so a host acts only on jobs that really come from the bot.

export interface HeartbeatDeps {
  db: Database;
  box: SecretBox;
  botUrl: string;
  onDelivered?: (rolloutId: string) => Promise<void>;
  /** How often a long poll looks for new jobs. */
  pollCheckMs?: number;
}

export async function handleHeartbeat(req: IncomingMessage, res: ServerResponse, deps: HeartbeatDeps): Promise<void> {
  const signed = await readSignedHostMessage(req, res, deps, 'heartbeat', checkHeartbeat, 512 * 1024);
  if (!signed) return;
  const beat = signed.value;
  heartbeats.inc();
  await deps.db.query('update hosts set inventory = $2, agent_version = $3, last_seen_at = now() where id = $1', [beat.hostId, JSON.stringify(beat.inventory), beat.agentVersion]);

  const deadline = Date.now() + beat.pollSeconds * 1000;
  let closed = false;
  req.once('close', () => (closed = true));
  for (;;) {
    const jobs = await handOut(deps, beat.hostId);
    if (jobs.length || Date.now() >= deadline || closed) return sendSignedJson(res, 200, { jobs }, signed.secrets.slice(0, 1));
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
    jobs.push(buildJobMessage(loaded.job, loaded.host, loaded.release, deps.botUrl, loaded.job.action, deps.box));
    await deps.onDelivered?.(loaded.job.rolloutId);
  }
  return jobs;
}
