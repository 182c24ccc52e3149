import { recordOutcomes, type ClaimedPush, type DeliveryDeps, type SignedOutcome } from './deliver-job.ts';

// The outcomes of a run's pushes, written a batch at a time: when `batch` of them wait, or `delayMs` after
// the first of them arrived, whichever comes first, one write (one statement per resulting state) at a time.
// A push is recorded shortly after it is answered, not when the slowest push beside it is; until then its
// job stays `delivering` under its lease (a process that dies first leaves it to be taken over).

export class OutcomeRecorder {
  private pending: Array<{ push: ClaimedPush; outcome: SignedOutcome }> = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failure: unknown;
  private readonly deps: DeliveryDeps;
  private readonly batch: number;
  private readonly delayMs: number;

  constructor(deps: DeliveryDeps, batch: number, delayMs = 25) {
    this.deps = deps;
    this.batch = batch;
    this.delayMs = delayMs;
  }

  add(push: ClaimedPush, outcome: SignedOutcome): void {
    this.pending.push({ push, outcome });
    if (this.pending.length >= this.batch) this.write();
    else this.timer ??= setTimeout(() => this.write(), this.delayMs);
  }

  /** Writes what waits and resolves when every write is done; throws the first write's error, if any. */
  async flush(): Promise<void> {
    this.write();
    await this.writing;
    if (this.failure) throw this.failure;
  }

  private write(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const taken = this.pending.splice(0);
    if (!taken.length) return;
    this.writing = this.writing.then(() =>
      recordOutcomes(
        this.deps,
        taken.map((t) => t.push),
        taken.map((t) => t.outcome),
      ).catch((error: unknown) => {
        this.failure ??= error;
      }),
    );
  }
}
