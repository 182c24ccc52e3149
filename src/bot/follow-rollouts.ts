import type { PgBoss } from 'pg-boss';
import type { ChangeFeed } from './changes.ts';
import { scheduleCheckRun } from './github/update-check-run.ts';
import { scheduleAdvance } from './rollout/advance-rollout.ts';
import type { Database } from './store/database.ts';
import { rolloutsToAdvance, rolloutsWaitingOnHosts } from './store/rollout-state.ts';

// The one place where a rollout's change leads on: its controller looks at it again and its check run follows
// (both coalesced by the queue), and when jobs finish on a host, the rollouts whose jobs wait on that host for a
// dependency are looked at again. Changes come from the database (ChangeFeed), whoever made them: a webhook, a
// delivery, a host's report or poll, an operator, another bot process. A change after a quiet spell is
// scheduled at once; in a burst (a fan-out changes jobs every few milliseconds) rounds are at least ROUND_GAP_MS
// apart and take every id gathered meanwhile, so a thousand job changes send a few queue messages, and the
// controller does not read a rollout over and over while its jobs are being pushed.

const ROUND_GAP_MS = 500;
const RETRY_AFTER_ERROR_MS = 5000;

export interface FollowDeps {
  db: Database;
  boss: PgBoss;
  changes: ChangeFeed;
  /** Seconds a check-run update waits to coalesce changes (default 5). */
  checkRunDelaySeconds?: number;
  log: (error: unknown, what: string) => void;
}

/** Follows every rollout's changes until the returned function is called. */
export function followRollouts(deps: FollowDeps): () => void {
  const rollouts = new Gathered(
    async (ids) => {
      for (const rolloutId of ids.has('*') ? new Set([...ids, ...(await rolloutsToAdvance(deps.db))]) : ids) {
        if (rolloutId === '*') continue;
        await scheduleAdvance(deps.boss, rolloutId);
        await scheduleCheckRun(deps.boss, { rolloutId }, deps.checkRunDelaySeconds);
      }
    },
    (error) => deps.log(error, 'following a rollout'),
  );
  const dependents = new Gathered(
    async (hostIds) => {
      for (const rolloutId of await rolloutsWaitingOnHosts(deps.db, hostIds.has('*') ? '*' : [...hostIds]))
        await scheduleAdvance(deps.boss, rolloutId);
    },
    (error) => deps.log(error, 'waking jobs that wait on a host'),
  );
  const unfollow = [
    deps.changes.follow('r', (id) => rollouts.add(id)),
    deps.changes.follow('f', (id) => dependents.add(id)),
  ];
  return () => {
    for (const stop of unfollow) stop();
    rollouts.stop();
    dependents.stop();
  };
}

/** Ids handled together, in rounds at least ROUND_GAP_MS apart; those that come meanwhile wait for the next. */
class Gathered {
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private lastRound = 0;
  private readonly handle: (ids: ReadonlySet<string>) => Promise<void>;
  private readonly onError: (error: unknown) => void;

  constructor(handle: (ids: ReadonlySet<string>) => Promise<void>, onError: (error: unknown) => void) {
    this.handle = handle;
    this.onError = onError;
  }

  add(id: string): void {
    if (this.stopped) return;
    this.pending.add(id);
    this.plan();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private plan(): void {
    if (this.timer || this.running || !this.pending.size || this.stopped) return;
    const wait = Math.max(0, this.lastRound + ROUND_GAP_MS - Date.now());
    this.timer = setTimeout(() => void this.round(), wait);
  }

  private async round(): Promise<void> {
    this.timer = undefined;
    this.running = true;
    this.lastRound = Date.now();
    const ids = new Set(this.pending);
    this.pending.clear();
    try {
      await this.handle(ids);
    } catch (error) {
      // Scheduling twice is harmless (the queue keeps one per rollout): the whole round is tried again, later.
      this.onError(error);
      for (const id of ids) this.pending.add(id);
      this.lastRound = Date.now() + RETRY_AFTER_ERROR_MS;
    }
    this.running = false;
    this.plan();
  }
}
