import type { ChangeFeed } from '../changes.ts';
import { nextDueAt } from '../store/notifications.ts';
import { type NotifyDeps, sendDueNotifications } from './send-notifications.ts';

// One per bot process: sends notifications when the database says some are due ("n:*", announced in the
// transaction that made them), and again when the next retry falls due. A round that fails is tried again
// after RETRY_MS; nothing is lost meanwhile, the deliveries wait in the store.

const RETRY_MS = 5000;
/** The longest wait between looks, for a retry another process claimed and let lapse. */
const MAX_WAIT_MS = 60_000;

export class Notifier {
  private readonly deps: NotifyDeps & { log: (error: Error) => void };
  private busy = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private unfollow: (() => void) | undefined;

  private constructor(deps: NotifyDeps & { log: (error: Error) => void }) {
    this.deps = deps;
  }

  static start(deps: NotifyDeps & { changes: ChangeFeed; log: (error: Error) => void }): Notifier {
    const notifier = new Notifier(deps);
    notifier.unfollow = deps.changes.follow('n', () => notifier.round());
    notifier.round();
    return notifier;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unfollow?.();
  }

  private round(): void {
    if (this.stopped) return;
    if (this.busy) return void (this.again = true);
    this.busy = true;
    clearTimeout(this.timer);
    this.run()
      .then((waitMs) => this.later(waitMs))
      .catch((error: Error) => {
        this.deps.log(error);
        this.later(RETRY_MS);
      })
      .finally(() => {
        this.busy = false;
        if (this.again) {
          this.again = false;
          this.round();
        }
      });
  }

  private async run(): Promise<number> {
    await sendDueNotifications(this.deps);
    const next = await nextDueAt(this.deps.db);
    return next ? Math.max(0, next.getTime() - Date.now()) : MAX_WAIT_MS;
  }

  private later(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.round(), Math.min(ms, MAX_WAIT_MS));
    this.timer.unref();
  }
}
