import type { HostJob, RolloutRow } from '../store/rollouts.ts';
import { waveStats } from './advance-rollout.ts';
import { describeThreshold, waitsForApproval } from './strategy.ts';

// A staged rollout's waves as an operator reads them (admin API, `rollouts show`, the check run): who is in
// each, how it stands against its thresholds, and what it waits for.

export interface WaveSummary {
  wave: number;
  name: string;
  /**
   * done, running, soaking (until `soakUntil`), waiting (for an earlier wave), awaiting_approval (reached, and
   * declared with `approval: required`), halted, paused, or aborted (never to run, or cut short).
   */
  state: 'done' | 'running' | 'soaking' | 'waiting' | 'awaiting_approval' | 'halted' | 'paused' | 'aborted';
  /** The wave starts only once an operator approves it. */
  approvalRequired: boolean;
  selects: string;
  successThreshold: string;
  errorThreshold: string;
  soakSeconds: number;
  soakUntil: string | null;
  jobs: number;
  ok: number;
  failed: number;
  pending: number;
}

function waveState(rollout: RolloutRow, index: number, allDone: boolean): WaveSummary['state'] {
  if (index < rollout.currentWave) return 'done';
  if (rollout.state === 'aborted') return 'aborted';
  if (index > rollout.currentWave) return 'waiting';
  if (rollout.state === 'halted') return 'halted';
  if (rollout.state === 'paused') return 'paused';
  if (rollout.soakUntil) return 'soaking';
  if (rollout.state === 'running' && waitsForApproval(rollout, index)) return 'awaiting_approval';
  return allDone && rollout.state === 'completed' ? 'done' : 'running';
}

export function waveSummaries(
  rollout: RolloutRow,
  jobs: ReadonlyArray<Pick<HostJob, 'wave' | 'state'>>,
): WaveSummary[] {
  const waves = rollout.strategy?.waves ?? [];
  return waves.map((wave, index) => {
    const stats = waveStats(jobs, index);
    const state = waveState(rollout, index, stats.done);
    const selects =
      [
        wave.labels.length ? `labels ${wave.labels.join(', ')}` : '',
        wave.percent !== null ? `${wave.percent} % of hosts` : '',
      ]
        .filter(Boolean)
        .join(', ') || 'the rest';
    return {
      wave: index + 1,
      name: wave.name,
      state,
      approvalRequired: Boolean(wave.approvalRequired),
      selects,
      successThreshold: `${wave.successPercent} % ok`,
      errorThreshold: wave.errorThreshold ? describeThreshold(wave.errorThreshold) : 'none',
      soakSeconds: wave.soakSeconds,
      soakUntil: index === rollout.currentWave ? rollout.soakUntil : null,
      jobs: stats.counted,
      ok: stats.ok,
      failed: stats.failed,
      pending: jobs.filter((job) => job.wave === index && job.state === 'pending').length,
    };
  });
}
