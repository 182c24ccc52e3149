import { describeAnswer, postSigned } from './bot-client.ts';
import type { Journal } from './journal.ts';

// Sends the journal's outgoing reports to the bot in the order they were written, each with the same
// message id on every attempt (the bot applies it once). A report waits, with growing pauses, until the bot
// answers 2xx; it survives restarts because it lives in the journal. Only a report the bot can never
// accept (it does not know the job, or the report fails its schema) is dropped, with a log line.

export interface ReporterOptions {
  secret: () => string;
  log: (line: string) => void;
  maxDelayMs?: number;
}

const PERMANENT = new Set([400, 404, 413, 422]);

export class Reporter {
  private readonly journal: Journal;
  private readonly options: ReporterOptions;
  private wake: (() => void) | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(journal: Journal, options: ReporterOptions) {
    this.journal = journal;
    this.options = options;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** A new report is waiting: send it now rather than after the current pause. */
  nudge(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.sendNext();
      } catch (error) {
        // The journal could not be read or written (a full disk, say): try again in a while, never crash.
        this.options.log(`cannot update the report outbox (${(error as Error).message}); trying again in 5 s`);
        await this.pause(5000);
      }
    }
  }

  /** Waits, or less when nudged or stopped. */
  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  private async sendNext(): Promise<void> {
    const next = this.journal.nextReport();
    const wait = next ? next.nextAt - Date.now() : 60_000;
    if (wait > 0) {
      await this.pause(wait);
      if (!next || next.nextAt > Date.now()) return;
    }
    if (this.stopped || !next) return;
    const answer = await postSigned(next.url, next.body, this.options.secret(), { messageId: next.messageId });
    if (answer.status >= 200 && answer.status < 300) {
      this.journal.reportSent(next.seq);
    } else if (PERMANENT.has(answer.status)) {
      this.options.log(`report ${next.messageId} dropped: ${describeAnswer(answer)}`);
      this.journal.reportSent(next.seq);
    } else {
      const delay =
        Math.min(1000 * 2 ** next.attempts, this.options.maxDelayMs ?? 300_000) * (0.8 + Math.random() * 0.4);
      if (next.attempts === 0 || next.attempts % 5 === 0)
        this.options.log(`report for a job not delivered yet (${describeAnswer(answer)}); retrying`);
      this.journal.reportFailed(next.seq, Date.now() + delay, describeAnswer(answer));
    }
  }
}
