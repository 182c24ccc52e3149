import type { WaveSummary } from '../rollout/wave-summary.ts';
import type { Queryable } from '../store/database.ts';
import type { RolloutRow } from '../store/rollouts.ts';

// When a running rollout will likely end: from how long its jobs have taken so far (a wave's jobs run at the same
// time on their hosts, so a wave takes about one job's time), the soaks still to come, and the latest time a
// held job waits for (a window, the release age, a schedule, a dependency). A wave that waits for an approval is
// named, not guessed.

export interface RolloutEstimate {
  /** When it likely ends (null: no job has finished yet, so there is nothing to go on). */
  endsAt: string | null;
  /** The median time from a job's push to its host's final report, in this rollout. */
  jobSeconds: number | null;
  /** A wave that waits for an operator's approval first (1-based), if any. */
  approvalOfWave: number | null;
}

export interface EstimateInput {
  now: Date;
  jobSeconds: number | null;
  /** The latest time a held job of the waves to come waits for. */
  latestHold: Date | null;
  soakUntil: Date | null;
  currentWave: number;
  waves: ReadonlyArray<Pick<WaveSummary, 'state' | 'soakSeconds' | 'approvalRequired'>>;
  /** Whether jobs are left to finish (a rollout without waves). */
  unfinished: boolean;
}

export function estimateEnd(input: EstimateInput): RolloutEstimate {
  const approval = input.waves.findIndex(
    (w, i) =>
      i >= input.currentWave && w.approvalRequired && (w.state === 'awaiting_approval' || i > input.currentWave),
  );
  const approvalOfWave = approval >= 0 ? approval + 1 : null;
  if (input.jobSeconds === null) return { endsAt: null, jobSeconds: null, approvalOfWave };
  const job = input.jobSeconds * 1000;
  let at = Math.max(input.now.getTime(), input.latestHold?.getTime() ?? 0, input.soakUntil?.getTime() ?? 0);
  if (!input.waves.length) {
    if (input.unfinished) at += job;
  } else {
    const current = input.waves[input.currentWave];
    const last = input.waves.length - 1;
    if (current && current.state !== 'soaking' && current.state !== 'done') {
      at += job;
      if (input.currentWave < last) at += current.soakSeconds * 1000;
    }
    for (let i = input.currentWave + 1; i <= last; i++) {
      at += job;
      if (i < last) at += input.waves[i].soakSeconds * 1000;
    }
  }
  return { endsAt: new Date(at).toISOString(), jobSeconds: input.jobSeconds, approvalOfWave };
}

/** The estimate of a running rollout (null when it is not running). */
export async function estimateRollout(
  db: Queryable,
  rollout: RolloutRow,
  waves: readonly WaveSummary[],
  now = new Date(),
): Promise<RolloutEstimate | null> {
  if (rollout.state !== 'running') return null;
  const [row] = await db.query<{ seconds: number | null; latest_hold: string | null; unfinished: boolean }>(
    `select
       (select percentile_cont(0.5) within group (order by took) from (
          select extract(epoch from max(h.at) filter (where h.state in ('ok', 'failed'))
                                  - min(h.at) filter (where h.state = 'delivering')) as took
          from host_jobs j join job_history h on h.job_id = j.id
          where j.rollout_id = $1 and j.state in ('ok', 'failed') group by j.id
        ) finished where took >= 0) as seconds,
       (select max(hold_until) from host_jobs where rollout_id = $1 and state = 'pending'
          and hold in ('window', 'release_age', 'scheduled', 'dependency')) as latest_hold,
       exists (select 1 from host_jobs where rollout_id = $1
          and state not in ('ok', 'failed', 'skipped', 'dead_lettered', 'cancelled', 'superseded', 'blocked')) as unfinished`,
    [rollout.id],
  );
  return estimateEnd({
    now,
    jobSeconds:
      row?.seconds === null || row?.seconds === undefined ? null : Math.max(1, Math.round(Number(row.seconds))),
    latestHold: row?.latest_hold ? new Date(row.latest_hold) : null,
    soakUntil: rollout.soakUntil ? new Date(rollout.soakUntil) : null,
    currentWave: rollout.currentWave,
    waves,
    unfinished: Boolean(row?.unfinished),
  });
}
