import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Job, Report } from '../../src/protocol/messages.ts';
import { generateSecret, newMessageId, signMessage, verifyMessage } from '../../src/protocol/signing.ts';
import { checkReport } from '../../src/protocol/validate.ts';

// The bot's side of the protocol as the agent sees it, small enough to steer from a test: it verifies and
// records reports (or answers 503 while "down"), answers heartbeats (signed, with jobs for pull mode) and
// serves package files.

export class FakeBot {
  /** The package names agents asked for, in order. */
  readonly downloads: string[] = [];
  readonly secret = generateSecret();
  readonly hostId = 'host-1';
  readonly reports: Report[] = [];
  readonly reportMessageIds: string[] = [];
  readonly heartbeats: Array<Record<string, unknown>> = [];
  readonly pending: Job[] = [];
  readonly files = new Map<string, Buffer | (() => Buffer)>();
  down = false;
  url = '';
  private server: Server | undefined;

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const send = (status: number, value: unknown, headers: Record<string, string> = {}) =>
        res
          .writeHead(status, { 'content-type': 'application/json', ...headers })
          .end(typeof value === 'string' ? value : JSON.stringify(value));
      if (req.method === 'GET' && req.url!.startsWith('/packages/')) {
        this.downloads.push(req.url!.slice('/packages/'.length));
        const file = this.files.get(req.url!.slice('/packages/'.length));
        if (!file) return send(404, { error: 'no such package' });
        const bytes = typeof file === 'function' ? file() : file;
        return res
          .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length })
          .end(bytes);
      }
      if (this.down) return send(503, { error: 'down for maintenance' });
      const verified = verifyMessage(body, req.headers, [this.secret]);
      if (!verified.ok) return send(401, { error: verified.reason });
      if (req.url === '/api/reports') {
        const checked = checkReport(JSON.parse(body.toString('utf8')));
        if (!checked.ok) return send(422, { error: 'bad report', details: checked.errors });
        if (this.reportMessageIds.includes(verified.messageId)) return send(200, { status: 'repeat' });
        this.reportMessageIds.push(verified.messageId);
        this.reports.push(checked.value);
        return send(200, { status: 'applied' });
      }
      if (req.url === '/api/heartbeat') {
        this.heartbeats.push(JSON.parse(body.toString('utf8')));
        const text = JSON.stringify({ jobs: this.pending.splice(0) });
        return send(200, text, signMessage(text, [this.secret], newMessageId()));
      }
      send(404, { error: 'not found' });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Serves a package and returns a job for it. */
  async jobFor(
    zip: Buffer | string,
    fields: {
      pluginId?: string;
      version?: string;
      action?: Job['action'];
      sha256?: string;
      deadline?: string;
      force?: boolean;
      dependencies?: Job['dependencies'];
    } = {},
  ): Promise<Job> {
    const bytes = typeof zip === 'string' ? await readFile(zip) : zip;
    const name = `${randomUUID()}.zip`;
    this.files.set(name, bytes);
    const now = new Date();
    const jobId = `job_${randomUUID()}`;
    return {
      type: 'job',
      protocol: 1,
      jobId,
      attemptId: `msg_${jobId}`,
      rolloutId: 'rollout-1',
      hostId: this.hostId,
      action: fields.action ?? 'install',
      plugin: {
        id: fields.pluginId ?? 'demo-plugin',
        name: 'Demo Plugin',
        version: fields.version ?? '1.0.0',
        previousVersion: null,
      },
      source: { repository: 'conn2flow/demo', tag: `plugin-demo-plugin-v${fields.version ?? '1.0.0'}`, releaseId: 1 },
      package: {
        fileName: 'gestor-plugin.zip',
        size: bytes.length,
        sha256: fields.sha256 ?? createHash('sha256').update(bytes).digest('hex'),
        url: `${this.url}/packages/${name}`,
        urlExpiresAt: null,
      },
      options: { force: fields.force ?? false, skipMigrations: false },
      ...(fields.dependencies ? { dependencies: fields.dependencies } : {}),
      reportUrl: `${this.url}/api/reports`,
      deadline: fields.deadline ?? new Date(now.getTime() + 3600_000).toISOString(),
      createdAt: now.toISOString(),
    };
  }

  /** A new attempt of a job (an approval, a retry, a forced reinstall): same job id, a new attempt id. */
  static attempt(job: Job, fields: Partial<Job> = {}): Job {
    return { ...job, attemptId: `msg_${randomUUID()}`, ...fields };
  }

  /** POSTs a job to an agent the way the bot pushes it (the message id is the attempt id). */
  async push(
    agentUrl: string,
    job: Job,
    options: { messageId?: string; secret?: string; at?: Date; body?: string } = {},
  ): Promise<{ status: number; body: any }> {
    const body = options.body ?? JSON.stringify(job);
    const headers = signMessage(body, [options.secret ?? this.secret], options.messageId ?? job.attemptId, options.at);
    const response = await fetch(agentUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: response.status, body: await response.json() };
  }

  reportsFor(jobId: string): Report[] {
    return this.reports.filter((r) => r.jobId === jobId);
  }
}
