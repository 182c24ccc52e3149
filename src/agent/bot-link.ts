import type { DatabaseSync } from 'node:sqlite';
import { trustSummary } from './publisher-check.ts';
import { TrustRecords } from './trust-records.ts';
import type { Heartbeat, Job } from '../protocol/messages.ts';
import { verifyMessage } from '../protocol/signing.ts';
import { checkJob } from '../protocol/validate.ts';
import { describeAnswer, postSigned } from './bot-client.ts';
import type { AgentConfig } from './config.ts';
import type { JobIntake } from './receiver.ts';
import { AGENT_VERSION } from './version.ts';

// The agent's side of heartbeats: the inventory at start and every few minutes; in pull mode a long poll
// that never stops, whose answer (signed by the bot with this host's secret) carries the waiting jobs.

interface LinkedAgent extends JobIntake {
  readonly config: AgentConfig;
  inventory(): Promise<Heartbeat['inventory']>;
  siteVersion(): Promise<string | null>;
  readonly journal: { readonly db: DatabaseSync };
}

export class BotLink {
  private readonly agent: LinkedAgent;
  private readonly log: (line: string) => void;
  private stopped = false;
  private controller = new AbortController();
  private loop: Promise<void> | undefined;
  private failures = 0;

  constructor(agent: LinkedAgent, options: { log: (line: string) => void }) {
    this.agent = agent;
    this.log = options.log;
  }

  start(pull: boolean): void {
    this.loop = pull ? this.pullLoop() : this.heartbeatLoop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.controller.abort();
    await this.loop;
  }

  /** One heartbeat; in pull mode it waits up to pollSeconds for jobs. Returns false when it failed. */
  async beat(pollSeconds: number): Promise<boolean> {
    const config = this.agent.config;
    const heartbeat: Heartbeat = {
      type: 'heartbeat',
      protocol: 1,
      hostId: config.hostId,
      agentVersion: AGENT_VERSION,
      inventory: await this.agent.inventory(),
      gestorVersion: await this.agent.siteVersion(),
      ...(Object.keys(config.publishers).length
        ? { publishers: trustSummary(config.publishers, new TrustRecords(this.agent.journal.db)) }
        : {}),
      pollSeconds,
      sentAt: new Date().toISOString(),
    };
    const answer = await postSigned(`${config.botUrl}/api/heartbeat`, JSON.stringify(heartbeat), config.secret, {
      timeoutMs: (pollSeconds + 15) * 1000,
      signal: this.controller.signal,
    });
    if (answer.status !== 200) {
      this.failures++;
      if (this.failures === 1 || this.failures % 10 === 0) this.log(`heartbeat failed: ${describeAnswer(answer)}`);
      return false;
    }
    if (this.failures) this.log('heartbeat: the bot is reachable again');
    this.failures = 0;
    const verified = verifyMessage(
      answer.body,
      answer.headers,
      [config.secret, config.previousSecret].filter((s): s is string => Boolean(s)),
    );
    if (!verified.ok) {
      this.log(`the bot's heartbeat answer is not signed with this host's secret (${verified.reason}); ignoring it`);
      return false;
    }
    const jobs = (JSON.parse(answer.body) as { jobs?: unknown[] }).jobs ?? [];
    for (const value of jobs) {
      const checked = checkJob(value);
      if (!checked.ok) {
        this.log(`a pulled job does not match the job schema: ${checked.errors.join('; ')}`);
        continue;
      }
      this.agent.intake(checked.value as Job, 'pull');
    }
    return true;
  }

  private async heartbeatLoop(): Promise<void> {
    while (!this.stopped) {
      const ok = await this.beat(0);
      await this.sleep(
        ok
          ? this.agent.config.heartbeatSeconds * 1000
          : Math.min(5000 * 2 ** Math.min(this.failures, 6), this.agent.config.heartbeatSeconds * 1000),
      );
    }
  }

  private async pullLoop(): Promise<void> {
    while (!this.stopped) {
      const ok = await this.beat(this.agent.config.pollSeconds);
      if (!ok) await this.sleep(Math.min(1000 * 2 ** Math.min(this.failures, 6), 60_000));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.controller.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}
