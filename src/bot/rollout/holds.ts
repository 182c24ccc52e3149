import { dependencyProblem, describeRange, findCycle, satisfies } from '../../protocol/dependencies.ts';
import type { Dependency } from '../../protocol/messages.ts';
import type { ActiveJob } from '../domain.ts';
import type { Hold } from '../../protocol/statuses.ts';
import type { HostRecord, LabelSchedule } from '../store/hosts.ts';
import type { InventoryRecord } from '../store/rollouts.ts';
export type { ActiveJob } from '../domain.ts';
import { describeLocal, isOpen, nextOpening, type MaintenanceWindow, type Schedule } from './maintenance-windows.ts';

// Whether a job whose wave has started may go to its host now, or what holds it: the release is younger
// than the repository's minimum age, a plugin it depends on is being installed on the host first, or the
// host's maintenance window is closed. A dependency the host lacks, with nothing on the way to install it,
// blocks the job (exit 30). Pure: the same answer at planning and every time the rollout is looked at again.

/** Another job of the same host that has not finished: a dependency may be on its way through it. */

export interface HoldContext {
  now: Date;
  /** The release's minimum age ends here (null: none). */
  notBefore: Date | null;
  /** An operator scheduled the rollout to start here (null: not scheduled). */
  startAt: Date | null;
  /** The host's maintenance windows (none: any time). */
  schedules: readonly Schedule[];
  /** What the job's package needs on the site; checked for installs and updates. */
  dependencies: readonly Dependency[];
  checkDependencies: boolean;
  pluginId: string;
  inventory: readonly InventoryRecord[];
  /** The host's other unfinished jobs. */
  activeJobs: readonly ActiveJob[];
  /** Plugins the host follows: a missing dependency it follows may be on its way in a release of its own. */
  follows: ReadonlySet<string>;
  /** Until when a missing dependency the host follows is waited for (plugins released together). */
  dependencyWaitUntil: Date;
  /** What the newest known release of each plugin needs (for cycles). */
  releaseGraph: ReadonlyMap<string, readonly string[]>;
}

/** How long a job waits for a dependency the host follows but does not have yet: its release may be a moment behind. */
export const DEPENDENCY_WAIT_SECONDS = 600;

export type HoldDecision =
  | { kind: 'release' }
  | { kind: 'hold'; hold: Hold; reason: string; until: Date | null }
  | { kind: 'block'; reason: string };

export function evaluateHold(context: HoldContext): HoldDecision {
  const { now } = context;
  if (context.startAt && context.startAt > now) {
    return {
      kind: 'hold',
      hold: 'scheduled',
      reason: `scheduled to start at ${context.startAt.toISOString().replace('T', ' ').slice(0, 16)} UTC`,
      until: context.startAt,
    };
  }
  if (context.notBefore && context.notBefore > now) {
    return {
      kind: 'hold',
      hold: 'release_age',
      reason: `the release is too new: it goes out from ${context.notBefore.toISOString()} (minimum release age)`,
      until: context.notBefore,
    };
  }
  if (context.checkDependencies && context.dependencies.length) {
    const decision = dependencyDecision(context);
    if (decision) return decision;
  }
  if (context.schedules.length && !context.schedules.some((schedule) => isOpen(schedule, now))) {
    const openings = context.schedules
      .map((schedule) => ({ schedule, at: nextOpening(schedule, now) }))
      .filter((o): o is { schedule: Schedule; at: Date } => Boolean(o.at));
    openings.sort((a, b) => a.at.getTime() - b.at.getTime());
    const next = openings[0];
    return {
      kind: 'hold',
      hold: 'window',
      reason: next
        ? `outside its maintenance window: waits until ${describeLocal(next.schedule.timeZone, next.at)}`
        : 'outside its maintenance window',
      until: next?.at ?? null,
    };
  }
  return { kind: 'release' };
}

function dependencyDecision(context: HoldContext): HoldDecision | undefined {
  const unmet = context.dependencies
    .map((dependency) => ({
      dependency,
      installed: context.inventory.find((entry) => entry.pluginId === dependency.id)?.version ?? null,
    }))
    .filter(({ dependency, installed }) => !(installed && satisfies(dependency, installed)));
  if (!unmet.length) return undefined;
  // Plugins that need each other can never be installed one before the other: refused, naming the cycle.
  const graph = new Map(context.releaseGraph);
  graph.set(
    context.pluginId,
    context.dependencies.map((d) => d.id),
  );
  const cycle = findCycle(graph);
  if (cycle?.includes(context.pluginId)) return { kind: 'block', reason: `dependency cycle: ${cycle.join(' → ')}` };
  const waits: string[] = [];
  let until: Date | null = null;
  for (const { dependency, installed } of unmet) {
    const coming = context.activeJobs.find(
      (job) => job.pluginId === dependency.id && satisfies(dependency, job.version),
    );
    if (coming) {
      waits.push(`${dependency.id} ${coming.version} (${describeRange(dependency)}) to be installed first`);
      continue;
    }
    const problem = dependencyProblem(dependency, installed);
    if (!context.follows.has(dependency.id))
      return {
        kind: 'block',
        reason: `dependency not met: ${problem}, and this host does not follow ${dependency.id}`,
      };
    if (context.now >= context.dependencyWaitUntil)
      return { kind: 'block', reason: `dependency not met: ${problem}; no release of it came for this host in time` };
    waits.push(`a release of ${dependency.id} (${describeRange(dependency)}): ${problem}`);
    until = context.dependencyWaitUntil;
  }
  // Its deadline is part of what the operator reads (console, CLI, check run): past it, the job is blocked.
  const deadline = until ? ` (until ${until.toISOString().replace('T', ' ').slice(0, 16)} UTC; blocked after)` : '';
  return { kind: 'hold', hold: 'dependency', reason: `waits for ${waits.join('; ')}${deadline}`, until };
}

/** A host's maintenance windows: its own when it has some, else those of its labels. */
/** What the whole rollout shares when its jobs are looked at. */
export interface RolloutHoldContext {
  now: Date;
  notBefore: Date | null;
  startAt: Date | null;
  labelSchedules: readonly LabelSchedule[];
  dependencies: readonly Dependency[];
  dependencyWaitUntil: Date;
  releaseGraph: ReadonlyMap<string, readonly string[]>;
}

/** The hold context of one host's job: the rollout's, with what the host has, runs and allows. */
export function hostHoldContext(
  rollout: RolloutHoldContext,
  host: HostRecord,
  job: { action: string; pluginId: string },
  activeJobs: readonly ActiveJob[],
): HoldContext {
  return {
    now: rollout.now,
    notBefore: rollout.notBefore,
    startAt: rollout.startAt,
    schedules: schedulesOf(host, rollout.labelSchedules),
    dependencies: rollout.dependencies,
    checkDependencies: job.action === 'install' || job.action === 'update',
    pluginId: job.pluginId,
    inventory: host.inventory,
    activeJobs: activeJobs.filter((other) => other.pluginId !== job.pluginId),
    follows: new Set(host.plugins.map((p) => p.pluginId)),
    dependencyWaitUntil: rollout.dependencyWaitUntil,
    releaseGraph: rollout.releaseGraph,
  };
}

export function schedulesOf(
  host: { timeZone: string | null; windows: MaintenanceWindow[] | null; labels: readonly string[] },
  labels: readonly LabelSchedule[],
): Schedule[] {
  if (host.windows?.length) return [{ timeZone: host.timeZone ?? 'UTC', windows: host.windows }];
  return labels
    .filter((schedule) => host.labels.includes(schedule.label))
    .map((schedule) => ({ timeZone: schedule.timeZone, windows: schedule.windows }));
}
