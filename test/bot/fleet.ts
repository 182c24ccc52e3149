import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Job, Report } from '../../src/protocol/messages.ts';
import { newMessageId, signMessage } from '../../src/protocol/signing.ts';

const EXIT_LABELS: Record<number, string> = { 0: 'OK', 43: 'VERIFY_FAILED' };

// Hosts standing in for agents where many are needed: one HTTP server answers every host's pushes (202),
// then reports the outcome each host was told to have, signed with its secret, as an agent would (its
// inventory included), trying again until the bot answers 2xx (at the bot's URL of the moment). Like an
// agent, a host runs each attempt once and answers a repeat with `known` and its report, signed.
// Outcomes: ok, fail (the installer failed, exit 43), health (the health check failed after the install
// and the previous version was put back, exit 46), lost (the job runs, but its report never leaves the
// host), silent (the job is taken and nothing is ever said about it), nul (ok, but the installer's output
// holds a NUL byte and a lone surrogate).

export type Outcome = 'ok' | 'fail' | 'health' | 'lost' | 'silent' | 'nul';

export class Fleet {
  url = '';
  botUrl = '';
  /** Every job pushed, in order. */
  readonly jobs: Job[] = [];
  readonly outcomes = new Map<string, Outcome>();
  private readonly secrets = new Map<string, string>();
  /** What each host's site has: plugin → version. */
  readonly sites = new Map<string, Map<string, string>>();
  private server: Server | undefined;
  /** While true, pushes are answered but their reports wait for release(). */
  holdReports = false;
  private held: Job[] = [];
  /** Attempts each host has, with its report so far (null until there is one). */
  private readonly attempts = new Map<string, Report | null>();
  private stopped = false;

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Job;
      if (this.attempts.has(job.attemptId)) {
        const text = JSON.stringify({ status: 'known', jobId: job.jobId, report: this.attempts.get(job.attemptId) });
        const secret = this.secrets.get(job.hostId);
        res
          .writeHead(200, {
            'content-type': 'application/json',
            ...(secret ? signMessage(text, [secret], job.attemptId) : {}),
          })
          .end(text);
        return;
      }
      this.attempts.set(job.attemptId, null);
      this.jobs.push(job);
      res
        .writeHead(202, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'accepted', jobId: job.jobId }));
      if (this.holdReports) this.held.push(job);
      else setTimeout(() => this.report(job), 20);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** A host of the fleet: its push URL, once its id and secret are known. */
  hostUrl(name: string): string {
    return `${this.url}/${name}`;
  }

  /** Sends the reports held back, with the outcomes set meanwhile. */
  releaseReports(): void {
    this.holdReports = false;
    for (const job of this.held.splice(0)) this.report(job);
  }

  register(hostId: string, secret: string, outcome: Outcome = 'ok', site: Record<string, string> = {}): void {
    this.secrets.set(hostId, secret);
    this.outcomes.set(hostId, outcome);
    this.sites.set(hostId, new Map(Object.entries(site)));
  }

  secretOf(hostId: string): string {
    return this.secrets.get(hostId)!;
  }

  jobsOf(hostId: string, pluginId?: string): Job[] {
    return this.jobs.filter((job) => job.hostId === hostId && (!pluginId || job.plugin.id === pluginId));
  }

  private async report(job: Job): Promise<void> {
    const secret = this.secrets.get(job.hostId);
    const outcome = job.action === 'notify' ? 'notify' : (this.outcomes.get(job.hostId) ?? 'ok');
    if (!secret || outcome === 'silent') return;
    const report = this.outcomeOf(job, outcome);
    this.attempts.set(job.attemptId, report);
    if (outcome === 'lost') return;
    const body = JSON.stringify(report);
    const messageId = newMessageId();
    for (let wait = 50; !this.stopped; wait = Math.min(wait * 2, 1000)) {
      const answer = await fetch(`${this.botUrl}/api/reports`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signMessage(body, [secret], messageId) },
        body,
      }).catch(() => undefined);
      if (answer?.ok) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private outcomeOf(job: Job, outcome: Outcome | 'notify'): Report {
    const site = this.sites.get(job.hostId)!;
    const before = site.get(job.plugin.id) ?? null;
    const now = new Date().toISOString();
    let status: 'ok' | 'erro' | 'idle' = 'ok';
    let exitCode: number | null = 0;
    let message = `${job.action} of ${job.plugin.id} ${job.plugin.version} done${outcome === 'nul' ? '\u0000' : ''}`;
    if (outcome === 'ok' || outcome === 'lost' || outcome === 'nul') {
      if (job.action === 'uninstall') site.delete(job.plugin.id);
      else site.set(job.plugin.id, job.plugin.version);
    } else if (outcome === 'fail') {
      [status, exitCode, message] = ['erro', 43, 'the installer said it succeeded, but the plugin is not there'];
    } else if (outcome === 'health') {
      [status, exitCode, message] = [
        'erro',
        46,
        `health check failed after the ${job.action}: https://site/ answered HTTP 500${before ? `; restored to ${before}` : ''}`,
      ];
    } else {
      [status, exitCode, message] = ['idle', null, 'an update is available'];
    }
    const version = site.get(job.plugin.id) ?? null;
    return {
      type: 'report',
      protocol: 1,
      jobId: job.jobId,
      attemptId: job.attemptId,
      hostId: job.hostId,
      status,
      exitCode,
      exitLabel: exitCode === null ? null : (EXIT_LABELS[exitCode] ?? 'HEALTH_CHECK_FAILED'),
      message,
      logTail: outcome === 'nul' ? ['binary\u0000output', 'half \ud800 a pair'] : [],
      installedVersion: status === 'ok' ? version : null,
      ...(status === 'idle'
        ? {}
        : {
            inventory: {
              pluginId: job.plugin.id,
              version,
              sha256: version === job.plugin.version ? job.package.sha256 : null,
            },
          }),
      timings: { receivedAt: now },
      sentAt: now,
    };
  }
}
