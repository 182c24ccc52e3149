import type { Database } from './store/database.ts';

// What changed, as the database announces it: every statement that changes jobs or rollouts sends
// "r:<rollout>", "h:<host>" (or "h:*" past 200 hosts) and, when jobs finish, "f:<host>" (or "f:*") on
// c2f_changes when it commits (migrations 9, 10 and 13), and "n:*" when notifications are due (migration 12),
// whichever bot process made it. One listening connection per process: whoever
// waits on a rollout (a live page) or a host (a long poll) is woken by it, not by asking the database every
// second, and whoever follows every rollout (the controller and the check runs) hears each one. A slow sweep
// wakes the waiters now and then, for what no statement announces (a lease running out) and for safety.

export const CHANNEL = 'c2f_changes';
const SWEEP_MS = 30_000;

export type ChangeKind = 'r' | 'h' | 'f' | 'n';
export type ChangeKey = `${ChangeKind}:${string}`;
/** Hears every change of one kind: the id that changed, or "*" when any may have (many at once, a lost connection). */
export type ChangeFollower = (id: string) => void;

export class ChangeFeed {
  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly followers = new Map<ChangeKind, Set<ChangeFollower>>();
  private readonly sweep: NodeJS.Timeout;
  private stopListening: (() => Promise<void>) | undefined;

  private constructor(sweepMs: number) {
    this.sweep = setInterval(() => this.wakeAll(), sweepMs);
    this.sweep.unref();
  }

  static async open(db: Database, onError: (error: Error) => void, sweepMs = SWEEP_MS): Promise<ChangeFeed> {
    const feed = new ChangeFeed(sweepMs);
    feed.stopListening = await db.listen(CHANNEL, (payload) => feed.announce(payload), onError);
    return feed;
  }

  /** Calls `wake` whenever `key` may have changed, until the returned function is called. */
  watch(key: ChangeKey, wake: () => void): () => void {
    let set = this.watchers.get(key);
    if (!set) this.watchers.set(key, (set = new Set()));
    set.add(wake);
    return () => {
      set.delete(wake);
      if (!set.size) this.watchers.delete(key);
    };
  }

  /** Calls `follower` with every id of `kind` that changes, until the returned function is called. */
  follow(kind: ChangeKind, follower: ChangeFollower): () => void {
    let set = this.followers.get(kind);
    if (!set) this.followers.set(kind, (set = new Set()));
    set.add(follower);
    return () => set.delete(follower);
  }

  /** Resolves when `key` may have changed (true), or after `ms` (false). */
  next(key: ChangeKey, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), ms);
      const unwatch = this.watch(key, () => done(true));
      function done(changed: boolean) {
        clearTimeout(timer);
        unwatch();
        resolve(changed);
      }
    });
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    await this.stopListening?.();
    this.wakeAll();
  }

  private announce(payload: string): void {
    if (payload === '*') {
      for (const set of this.followers.values()) for (const follower of [...set]) follower('*');
      return this.wakeAll();
    }
    const kind = payload.slice(0, 1) as ChangeKind;
    const id = payload.slice(2);
    for (const follower of [...(this.followers.get(kind) ?? [])]) follower(id);
    if (id === '*') {
      for (const [key, set] of this.watchers) if (key.startsWith(`${kind}:`)) for (const wake of [...set]) wake();
      return;
    }
    for (const wake of [...(this.watchers.get(payload) ?? [])]) wake();
  }

  private wakeAll(): void {
    for (const set of [...this.watchers.values()]) for (const wake of [...set]) wake();
  }
}
