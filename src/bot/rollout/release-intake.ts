import type { PgBoss } from 'pg-boss';
import { QUEUES, inTransaction } from '../queue.ts';
import type { Database } from '../store/database.ts';
import { claimReceivedReleases } from '../store/releases.ts';

// Hands recorded releases to the queue. The webhook handler only writes the release (one statement, so
// GitHub's answer waits on one commit); this claims releases not yet queued and queues their resolution in
// one transaction, so a release is queued exactly once even with several bot processes, and a crash
// between the two steps loses nothing: the next pass (woken by the next webhook, or the timer) finds it.

export interface ResolveData {
  releaseId: number;
  installationId: number;
}

/**
 * How long a wake-up waits for others to fold into its pass. PGlite has one connection, so a burst's webhook
 * writes go first; on PostgreSQL the pass takes a connection of its own and starts at once (wake-ups of the
 * same tick still fold into one pass).
 */
const WAKE_DELAY_MS = { pglite: 10, postgres: 0 };

export class ReleaseIntake {
  private readonly db: Database;
  private readonly boss: PgBoss;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private readonly onError: (error: unknown) => void;

  constructor(deps: { db: Database; boss: PgBoss }, onError: (error: unknown) => void = () => {}) {
    this.db = deps.db;
    this.boss = deps.boss;
    this.onError = onError;
  }

  /** Passes every few seconds, for releases another process recorded or a crash left behind. */
  start(intervalMs = 5000): void {
    this.timer ??= setInterval(() => this.wake(), intervalMs);
    this.timer.unref();
    this.wake();
  }

  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.timer = undefined;
    this.soon = undefined;
  }

  /**
   * A release was recorded: queue it soon. Wake-ups within a few milliseconds are folded into one pass, so a
   * burst of webhooks is written and answered before the pass takes a connection (PGlite has only one), and
   * passes requested while one runs are folded into one more.
   */
  wake(): void {
    if (this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.passNow();
    }, WAKE_DELAY_MS[this.db.kind]);
  }

  private passNow(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .then(() => undefined, this.onError)
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.passNow();
        }
      });
  }

  /** Queues every release recorded but not queued yet; returns how many. */
  async pass(): Promise<number> {
    let total = 0;
    for (;;) {
      const claimed = await this.db.transaction(async (tx) => {
        const releases = await claimReceivedReleases(tx);
        if (releases.length) {
          await this.boss.insert(
            QUEUES.resolveRelease,
            releases.map((r) => ({
              data: { releaseId: r.id, installationId: r.installationId } satisfies ResolveData,
              singletonKey: `release:${r.id}`,
            })),
            inTransaction(tx),
          );
        }
        return releases.length;
      });
      total += claimed;
      if (claimed === 0) return total;
    }
  }
}
