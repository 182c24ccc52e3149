import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Job } from '../../src/protocol/messages.ts';
import { newMessageId, signMessage } from '../../src/protocol/signing.ts';

// Hosts standing in for agents where many are needed: one HTTP server answers every host's pushes (202),
// then reports the outcome each host was told to have, signed with its secret, as an agent would (its
// inventory included). Outcomes: ok, fail (the installer failed, exit 43), health (the health check failed
// after the install and the previous version was put back, exit 46).

export type Outcome = 'ok' | 'fail' | 'health';

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

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Job;
      this.jobs.push(job);
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'accepted', jobId: job.jobId }));
      if (this.holdReports) this.held.push(job);
      else setTimeout(() => this.report(job).catch(() => {}), 20);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
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
    for (const job of this.held.splice(0)) this.report(job).catch(() => {});
  }

  register(hostId: string, secret: string, outcome: Outcome = 'ok', site: Record<string, string> = {}): void {
    this.secrets.set(hostId, secret);
    this.outcomes.set(hostId, outcome);
    this.sites.set(hostId, new Map(Object.entries(site)));
  }

  jobsOf(hostId: string, pluginId?: string): Job[] {
    return this.jobs.filter((job) => job.hostId === hostId && (!pluginId || job.plugin.id === pluginId));
  }

  private async report(job: Job): Promise<void> {
    const secret = this.secrets.get(job.hostId);
    if (!secret) return;
    const site = this.sites.get(job.hostId)!;
    const before = site.get(job.plugin.id) ?? null;
    const outcome = job.action === 'notify' ? 'notify' : (this.outcomes.get(job.hostId) ?? 'ok');
    const now = new Date().toISOString();
    let status: 'ok' | 'erro' | 'idle' = 'ok';
    let exitCode: number | null = 0;
    let message = `${job.action} of ${job.plugin.id} ${job.plugin.version} done`;
    if (outcome === 'ok') {
      if (job.action === 'uninstall') site.delete(job.plugin.id);
      else site.set(job.plugin.id, job.plugin.version);
    } else if (outcome === 'fail') {
      [status, exitCode, message] = ['erro', 43, 'the installer said it succeeded, but the plugin is not there'];
    } else if (outcome === 'health') {
      [status, exitCode, message] = ['erro', 46, `health check failed after the ${job.action}: https://site/ answered HTTP 500${before ? `; restored to ${before}` : ''}`];
    } else {
      [status, exitCode, message] = ['idle', null, 'an update is available'];
    }
    const version = site.get(job.plugin.id) ?? null;
    const report = {
      type: 'report',
      protocol: 1,
      jobId: job.jobId,
      attemptId: job.attemptId,
      hostId: job.hostId,
      status,
      exitCode,
      exitLabel: exitCode === null ? null : exitCode === 0 ? 'OK' : exitCode === 43 ? 'VERIFY_FAILED' : 'HEALTH_CHECK_FAILED',
      message,
      logTail: [],
      installedVersion: status === 'ok' ? version : null,
      ...(status === 'idle' ? {} : { inventory: { pluginId: job.plugin.id, version, sha256: version === job.plugin.version ? job.package.sha256 : null } }),
      timings: { receivedAt: now },
      sentAt: now,
    };
    const body = JSON.stringify(report);
    await fetch(`${this.botUrl}/api/reports`, { method: 'POST', headers: { 'content-type': 'application/json', ...signMessage(body, [secret], newMessageId()) }, body });
  }
}
