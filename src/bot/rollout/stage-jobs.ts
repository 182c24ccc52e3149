import { PLG_EXIT } from '../../protocol/exit-codes.ts';
import type { Dependency } from '../../protocol/messages.ts';
import type { HostRecord, LabelSchedule } from '../store/hosts.ts';
import type { NewJob, StoredStrategy } from '../store/rollouts.ts';
import { DEPENDENCY_WAIT_SECONDS, evaluateHold, hostHoldContext, type ActiveJob, type HoldDecision } from './holds.ts';
import { approvalReason, assignWaves, type Strategy } from './strategy.ts';

// A planned rollout put in waves, each job of the first wave either sent at once or held (release age,
// dependency, maintenance window) or blocked (a dependency the host lacks), the later waves held for their
// turn. Pure: planJobs decides who gets what, this decides when.

export interface StageInput {
  rolloutId: string;
  planned: readonly NewJob[];
  hosts: ReadonlyMap<string, HostRecord>;
  labelSchedules: readonly LabelSchedule[];
  /** Each host's unfinished jobs of other rollouts (a dependency may be on its way). */
  activeJobs: ReadonlyMap<string, readonly ActiveJob[]>;
  /** What the newest release of each plugin needs. */
  releaseGraph: ReadonlyMap<string, readonly string[]>;
  strategy: Strategy;
  release: { pluginId: string; dependencies: readonly Dependency[]; publishedAt: string | null };
  now: Date;
}

export interface Staged {
  jobs: NewJob[];
  /** What the rollout stores: its waves (null when it has none). */
  strategy: StoredStrategy | null;
  notBefore: Date | null;
}

export function stageJobs(input: StageInput): Staged {
  const { strategy, now } = input;
  const active = input.planned.filter((job) => job.state !== 'skipped');
  const { waves, waveOf } = assignWaves(
    input.rolloutId,
    active.map((job) => ({ id: job.hostId, labels: input.hosts.get(job.hostId)?.labels ?? [] })),
    strategy,
  );
  const published = input.release.publishedAt ? new Date(input.release.publishedAt) : now;
  const notBefore =
    strategy.minReleaseAgeSeconds > 0 ? new Date(published.getTime() + strategy.minReleaseAgeSeconds * 1000) : null;
  const shared = {
    now,
    notBefore,
    startAt: null,
    labelSchedules: input.labelSchedules,
    dependencies: input.release.dependencies,
    dependencyWaitUntil: new Date(now.getTime() + DEPENDENCY_WAIT_SECONDS * 1000),
    releaseGraph: input.releaseGraph,
  };
  const jobs = input.planned.map((job): NewJob => {
    if (job.state === 'skipped') return job;
    const wave = waveOf.get(job.hostId) ?? 0;
    if (wave > 0 || waves[0]?.approvalRequired) {
      return {
        ...job,
        wave,
        state: 'pending',
        hold: 'wave',
        releaseTo: job.state,
        reason:
          wave > 0
            ? `wave ${wave + 1} (${waves[wave].name}): waits for wave ${wave} (${waves[wave - 1].name})`
            : approvalReason(0, waves[0]),
      };
    }
    const host = input.hosts.get(job.hostId);
    const decision = host
      ? evaluateHold(
          hostHoldContext(
            shared,
            host,
            { action: job.action, pluginId: input.release.pluginId },
            input.activeJobs.get(job.hostId) ?? [],
          ),
        )
      : ({ kind: 'release' } as const);
    return applyDecision({ ...job, wave }, decision);
  });
  return { jobs, strategy: waves.length ? { waves, rollbackOnHalt: strategy.rollbackOnHalt } : null, notBefore };
}

/** A job as a hold decision leaves it. */
export function applyDecision(job: NewJob, decision: HoldDecision): NewJob {
  if (decision.kind === 'release') return job;
  if (decision.kind === 'block')
    return {
      ...job,
      state: 'blocked',
      reason: decision.reason,
      exitCode: PLG_EXIT.DEPENDENCY,
      exitLabel: 'DEPENDENCY',
      event: 'job_blocked',
    };
  return {
    ...job,
    state: 'pending',
    hold: decision.hold,
    holdUntil: decision.until?.toISOString() ?? null,
    releaseTo: job.state,
    reason: decision.reason,
  };
}
