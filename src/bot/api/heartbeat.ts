import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Job } from '../../protocol/messages.ts';
import { checkHeartbeat } from '../../protocol/validate.ts';
import { buildJobMessage } from '../delivery/job-message.ts';
import type { ChangeFeed } from '../changes.ts';
import type { Database } from '../store/database.ts';
import { recordHeartbeat } from '../store/inventory.ts';
import { endLeases, leasePulledJobs } from '../store/pulled-jobs.ts';
import type { SecretBox } from '../store/secret-box.ts';
import { heartbeats } from '../metrics.ts';
import { sendSignedJson } from '../http/json-answer.ts';
import { readSignedHostMessage } from './signed-host-message.ts';

// POST /api/heartbeat: a host's signed inventory (what its site has), and for hosts behind NAT, a long
// poll: the answer holds the jobs waiting for this host, or none after `pollSeconds`; while it waits, it
// looks again when the database announces a change to the host's jobs (ChangeFeed). A job handed out here
// is leased until the host reports on it (see store/pulled-jobs.ts). The answer is signed with every secret
// the bot holds for the host (both during a rotation, as a push is), so a host acts only on jobs that really
// come from the bot, whichever of the two it has.

export interface HeartbeatDeps {
  db: Database;
  box: SecretBox;
  botUrl: string;
  /** Wakes a waiting long poll when the host's jobs change. */
  changes: ChangeFeed;
  /** How long a waiting long poll goes without looking when nothing announced a change (leases run out unannounced). */
  pollCheckMs?: number;
  /** How long a handed-out job waits for the host's first report before it is handed out again. */
  pullLeaseSeconds?: number;
  /** A job's deadline in seconds from its message. */
  jobDeadlineSeconds?: number;
}

export const PULL_LEASE_SECONDS = 60;

export async function handleHeartbeat(req: IncomingMessage, res: ServerResponse, deps: HeartbeatDeps): Promise<void> {
  const signed = await readSignedHostMessage(req, res, deps, 'heartbeat', checkHeartbeat, {
    limit: 512 * 1024,
    singleUse: true,
  });
  if (!signed) return;
  const beat = signed.value;
  heartbeats.inc();
  await deps.db.transaction((tx) => recordHeartbeat(tx, beat));

  // The connection can go while the poll waits (the host stopped) or while the answer is written (cut
  // mid-answer): either way the leases are ended, and the next poll gets the jobs again.
  // (It may have gone before this line: its 'close' came while the heartbeat was being recorded.)
  const gone = () => !res.writableFinished && (res.closed || !res.socket || res.socket.destroyed);
  const closed = new Promise<void>((resolve) => res.once('close', resolve));
  const deadline = Date.now() + beat.pollSeconds * 1000;
  // A lease that runs out is announced by nobody: look again by then, and at least every 30 s.
  const lookAgainMs = deps.pollCheckMs ?? Math.min(30_000, (deps.pullLeaseSeconds ?? PULL_LEASE_SECONDS) * 1000);
  for (;;) {
    if (gone()) return;
    const leased = await leasePulledJobs(deps.db, beat.hostId, deps.pullLeaseSeconds ?? PULL_LEASE_SECONDS);
    if (leased.length || Date.now() >= deadline) {
      const jobs: Job[] = leased.map(({ job, host, release }) =>
        buildJobMessage(job, host, release, deps.botUrl, job.action, deps.box, new Date(), deps.jobDeadlineSeconds),
      );
      const ids = leased.map(({ job }) => job.id);
      if (ids.length) res.once('close', () => void (!res.writableFinished && endLeases(deps.db, ids).catch(() => {})));
      sendSignedJson(res, 200, { jobs }, signed.secrets);
      return;
    }
    await Promise.race([
      deps.changes.next(`h:${beat.hostId}`, Math.min(lookAgainMs, Math.max(deadline - Date.now(), 0))),
      closed,
    ]);
  }
}
