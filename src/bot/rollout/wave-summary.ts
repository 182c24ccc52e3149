import type { HostJob, RolloutRow } from '../store/rollouts.ts';
import { waveStats } from './advance-rollout.ts';
import { describeThreshold } from './strategy.ts';

// A staged rollout's waves as an operator reads them (admin API, `rollouts show`, the check run): who is in
// each, how it stands against its thresholds, and what it waits for.

export interface WaveSummary {
  wave: number;
  name: string;
  /** done, running, soaking (until `soakUntil`), waiting (for an earlier wave), halted. */
  state: 'done' | 'running' | 'soaking' | 'waiting' | 'halted';
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

export function waveSummaries(rollout: RolloutRow, jobs: ReadonlyArray<Pick<HostJob, 'wave' | 'state'>>): WaveSummary[] {
  const waves = rollout.strategy?.waves ?? [];
  return waves.map((wave, index) => {
    const stats = waveStats(jobs, index);
    const state: WaveSummary['state'] =
      index < rollout.currentWave
        ? 'done'
        : index > rollout.currentWave
          ? 'waiting'
          : rollout.state === 'halted'
            ? 'halted'
            : rollout.soakUntil
              ? 'soaking'
              : stats.done && rollout.state === 'completed'
                ? 'done'
                : 'running';
    const selects =
      [wave.labels.length ? `labels ${wave.labels.join(', ')}` : '', wave.percent !== null ? `${wave.percent} % of hosts` : ''].filter(Boolean).join(', ') || 'the rest';
    return {
      wave: index + 1,
      name: wave.name,
      state,
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
