import { readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Ack, InventoryEntry, Job, Report } from '../protocol/messages.ts';
import { AGENT_EXIT, PLG_EXIT, label } from '../protocol/exit-codes.ts';
import { newMessageId } from '../protocol/signing.ts';
import { Backups } from './backups.ts';
import { BotLink } from './bot-link.ts';
import { ConfigError, type AgentConfig } from './config.ts';
import { createInstaller } from './installers/create-installer.ts';
import type { Installer } from './installers/installer.ts';
import { reconcileInventory } from './inventory.ts';
import { Journal, type JournalJob } from './journal.ts';
import { isProcessGroupAlive } from '../process-alive.ts';
import { isDiskFull } from './disk-full.ts';
import { handleJobRequest } from './receiver.ts';
import { Reporter } from './reporter.ts';
import { runJob, type JobOutcome, workingStatus } from './run-job.ts';

// The host agent: takes jobs (pushed to its receiver, or pulled from the bot), keeps them in the journal,
// runs them one at a time per plugin, and reports every status change until the bot has it.

export interface AgentOptions {
  log?: (line: string) => void;
  /** Overrides the configured installer (tests). */
  installer?: Installer;
}

const INSTALLER_OUTCOME: Record<string, string> = {
  finished: '; the installer it had started ran to its end',
  stopped: '; the installer it had started ran past its time limit and was stopped',
};

export class Agent {
  readonly config: AgentConfig;
  readonly journal: Journal;
  readonly installer: Installer;
  private readonly backups: Backups;
  private readonly reporter: Reporter;
  private readonly link: BotLink;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly unrecorded: Array<() => void> = [];
  private unrecordedTimer: NodeJS.Timeout | undefined;
  private diskFullLogged = false;
  private readonly log: (line: string) => void;
  private server: Server | undefined;

  constructor(config: AgentConfig, options: AgentOptions = {}) {
    this.config = config;
    this.log = options.log ?? ((line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
    this.journal = new Journal(config.dataDir);
    try {
      this.journal.claim();
    } catch (error) {
      this.journal.close();
      throw error;
    }
    this.installer = options.installer ?? createInstaller(config.installer);
    this.backups = new Backups(config.dataDir);
    this.reporter = new Reporter(this.journal, { secret: () => config.secret, log: this.log });
    this.link = new BotLink(this, { log: this.log });
  }

  /** Recovers what a previous run left, then listens (push mode) or polls (pull mode). */
  async start(): Promise<{ url: string | null }> {
    // Listening comes first: an address in use ends the start before anything runs.
    const url = this.config.listen ? await this.listen(this.config.listen) : null;
    await this.removeLeftovers();
    this.recover();
    this.reporter.start();
    this.log(url ? `receiving jobs on ${url}` : `pull mode: polling ${this.config.botUrl} for jobs`);
    this.link.start(this.config.listen === null);
    return { url };
  }

  private async listen({ host, port, path }: NonNullable<AgentConfig['listen']>): Promise<string> {
    this.server = createServer((req, res) => {
      handleJobRequest(req, res, this, path).catch((error) => {
        this.log(`receiver error: ${(error as Error).stack ?? error}`);
        if (!res.headersSent)
          res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal error"}');
      });
    });
    try {
      await new Promise<void>((resolve, reject) => {
        this.server!.once('error', reject);
        this.server!.listen(port, host, () => resolve());
      });
    } catch (error) {
      this.server = undefined;
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(
        code === 'EADDRINUSE'
          ? `${host}:${port} is in use: stop what holds it, or change "listen" in the config file`
          : `cannot listen on ${host}:${port} (${code ?? (error as Error).message}): change "listen" in the config file`,
      );
    }
    const address = this.server.address() as AddressInfo;
    return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}${path}`;
  }

  /** Partial files a killed agent left: downloads in progress (finished ones are moved into the backups) and half-kept backups. */
  private async removeLeftovers(): Promise<void> {
    const downloads = path.join(this.config.dataDir, 'downloads');
    const leftovers = [
      ...(await readdir(downloads).catch(() => [] as string[])).map((name) => path.join(downloads, name)),
      ...(await readdir(this.backups.dir, { recursive: true }).catch(() => [] as string[]))
        .filter((name) => name.endsWith('.partial'))
        .map((name) => path.join(this.backups.dir, name)),
    ];
    await Promise.all(leftovers.map((file) => rm(file, { force: true, recursive: true })));
    if (leftovers.length)
      this.log(
        `removed ${leftovers.length} partial file(s) a previous run left: ${leftovers.map((f) => path.relative(this.config.dataDir, f)).join(', ')}`,
      );
  }

  async stop(): Promise<void> {
    await this.link.stop();
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    await Promise.allSettled([...this.chains.values()]);
    await this.reporter.stop();
    this.journal.release();
    this.journal.close();
  }

  /**
   * A verified, schema-checked job: stored before it is acknowledged, or refused, or known already. Each
   * attempt runs once: a repeat of an attempt is answered with what became of it. A job pulled from the bot
   * is acknowledged with a report (the bot hands it out again until one arrives).
   */
  intake(job: Job, via: 'push' | 'pull' = 'push'): { status: 200 | 202 | 409 | 503; ack: Ack | { error: string } } {
    try {
      return this.store(job, via);
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      this.log(`job ${job.jobId} not accepted: no space left for the journal (${(error as Error).message})`);
      return { status: 503, ack: { error: 'the host has no space left to store the job: the bot retries it later' } };
    }
  }

  private store(job: Job, via: 'push' | 'pull'): { status: 200 | 202 | 409; ack: Ack } {
    if (job.hostId !== this.config.hostId)
      return {
        status: 409,
        ack: {
          status: 'refused',
          jobId: job.jobId,
          reason: `this agent is host ${this.config.hostId}, the job is for ${job.hostId}`,
        },
      };
    const known = this.journal.findAttempt(job.attemptId);
    if (known) return { status: 200, ack: { status: 'known', jobId: known.jobId, report: known.report } };
    if (this.config.pinned.includes(job.plugin.id) && job.action !== 'notify') {
      return {
        status: 409,
        ack: { status: 'refused', jobId: job.jobId, reason: `${job.plugin.id} is pinned on this host` },
      };
    }
    if (!this.journal.addAttempt(job, new Date().toISOString())) {
      const raced = this.journal.findAttempt(job.attemptId)!;
      return { status: 200, ack: { status: 'known', jobId: raced.jobId, report: raced.report } };
    }
    this.log(
      `job ${job.jobId} accepted (attempt ${job.attemptId}): ${job.action} ${job.plugin.id} ${job.plugin.version}`,
    );
    if (via === 'pull' && job.action !== 'notify') {
      this.report(
        this.journal.findAttempt(job.attemptId)!,
        { status: 'idle', exitCode: null, message: 'received (pull mode); waiting to run' },
        false,
      );
    }
    this.schedule(job.attemptId, job.plugin.id);
    return { status: 202, ack: { status: 'accepted', jobId: job.jobId } };
  }

  /**
   * What the site has, as heartbeats and reports tell the bot: the plugins' files, checked against the
   * installer's records (Conn2Flow's plugins row) and the journal; a disagreement is reported, not hidden.
   */
  async inventory(): Promise<InventoryEntry[]> {
    let site;
    if (this.installer.siteInventory) {
      try {
        site = await this.installer.siteInventory();
      } catch (error) {
        this.log(`cannot read the site's inventory (${(error as Error).message}); sending the agent's own record`);
      }
    }
    return reconcileInventory(site, this.journal.installed());
  }

  /** The site's Conn2Flow version, when the installer can read it (heartbeats carry it to the bot). */
  async siteVersion(): Promise<string | null> {
    return (await this.installer.siteVersion?.().catch(() => null)) ?? null;
  }

  async inventoryOf(pluginId: string): Promise<InventoryEntry> {
    return (
      (await this.inventory()).find((entry) => entry.pluginId === pluginId) ?? { pluginId, version: null, sha256: null }
    );
  }

  /** Resolves when every job accepted so far has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.chains.size) await Promise.allSettled([...this.chains.values()]);
  }

  private schedule(attemptId: string, pluginId: string): void {
    this.chain(pluginId, () => this.runOne(attemptId));
  }

  /** Work on one plugin runs one piece at a time, in order. */
  private chain(pluginId: string, work: () => Promise<void>): void {
    const previous = this.chains.get(pluginId) ?? Promise.resolve();
    const next = previous
      .then(work)
      .catch((error) => this.log(`work on ${pluginId} failed inside the agent: ${(error as Error).stack ?? error}`))
      .finally(() => {
        if (this.chains.get(pluginId) === next) this.chains.delete(pluginId);
      });
    this.chains.set(pluginId, next);
  }

  private async runOne(attemptId: string): Promise<void> {
    const entry = this.journal.findAttempt(attemptId);
    if (entry?.phase !== 'received') return;
    const jobId = entry.jobId;
    try {
      await runJob(
        {
          config: this.config,
          journal: this.journal,
          installer: this.installer,
          backups: this.backups,
          log: this.log,
          report: (e, o, f) => this.report(e, o, f),
          inventoryOf: (pluginId) => this.inventoryOf(pluginId),
        },
        entry,
      );
    } catch (error) {
      if (isDiskFull(error)) {
        this.report(
          entry,
          {
            status: 'erro',
            exitCode: PLG_EXIT.DOWNLOAD,
            message: `no space left on the device of ${this.config.dataDir} (${(error as NodeJS.ErrnoException).code ?? 'disk full'}) while running the job: free some space, then retry the job`,
          },
          true,
        );
        return;
      }
      this.log(`job ${jobId} failed inside the agent: ${(error as Error).stack ?? error}`);
      this.report(
        entry,
        {
          status: 'erro',
          exitCode: AGENT_EXIT.INSTALLER_CRASHED,
          message: `the agent failed while running the job: ${(error as Error).message}`,
        },
        true,
      );
    }
  }

  /**
   * A job that was running when the agent stopped is never run again by itself. If the installer it started
   * still runs (the agent was killed, its installer was not), it is waited for (stopped past its time limit)
   * before anything else touches that plugin; then the job is reported by what the site shows: `ok` if the
   * site has the job's version and package, otherwise interrupted (44). Jobs not started yet run after it.
   */
  private recover(): void {
    for (const entry of this.journal.attemptsInPhase('running'))
      this.chain(entry.job.plugin.id, () => this.recoverInterrupted(entry));
    for (const entry of this.journal.attemptsInPhase('received')) this.schedule(entry.attemptId, entry.job.plugin.id);
  }

  private async recoverInterrupted(entry: JournalJob): Promise<void> {
    const job = entry.job;
    const installer = await this.outlive(entry);
    const check =
      job.action !== 'uninstall' && this.installer.check
        ? await this.installer.check(job.plugin.id, job.plugin.version, job.package.sha256).catch(() => undefined)
        : undefined;
    const said = INSTALLER_OUTCOME[installer] ?? '';
    if (check?.ok) {
      this.journal.setInstalled({
        pluginId: job.plugin.id,
        version: job.plugin.version,
        sha256: job.package.sha256,
        installedAt: new Date().toISOString(),
      });
      this.report(
        entry,
        {
          status: 'ok',
          exitCode: PLG_EXIT.OK,
          message: `the agent restarted during this job${said}; the site has ${job.plugin.id} ${job.plugin.version} with this package (${check.reason})`,
          installedVersion: job.plugin.version,
          inventory: await this.inventoryOf(job.plugin.id),
        },
        true,
      );
    } else {
      const site = await this.inventoryOf(job.plugin.id).catch(() => null);
      if (site) await this.installer.markFailed?.(job.plugin.id, site).catch(() => {});
      this.report(
        entry,
        {
          status: 'erro',
          exitCode: AGENT_EXIT.INTERRUPTED,
          message: `the agent restarted while this job was running${said}; it was not run again${check ? ` (${check.reason})` : ''}: check the site, then retry the job`,
          inventory: site,
        },
        true,
      );
    }
    this.log(`job ${entry.jobId} was interrupted by a restart${said}`);
  }

  /** Waits for an interrupted job's installer, if it still runs; stops it once past its time limit. */
  private async outlive(entry: JournalJob): Promise<'gone' | 'finished' | 'stopped'> {
    const pgid = entry.installerPgid;
    if (!pgid || !isProcessGroupAlive(pgid)) return 'gone';
    this.log(
      `job ${entry.jobId}: the installer the previous run started (process group ${pgid}) still runs; waiting for it before anything else touches ${entry.job.plugin.id}`,
    );
    const limit = Date.parse(entry.startedAt ?? new Date().toISOString()) + this.config.installer.timeoutSeconds * 1000;
    while (isProcessGroupAlive(pgid) && Date.now() < limit) await new Promise((resolve) => setTimeout(resolve, 250));
    if (!isProcessGroupAlive(pgid)) return 'finished';
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
    return 'stopped';
  }

  /**
   * Records a status change and queues its report. When the journal cannot be written (a full disk), the
   * change waits in memory, in order, and is written as soon as space allows.
   */
  private report(entry: JournalJob, outcome: JobOutcome, final: boolean): void {
    this.unrecorded.push(() => this.record(entry, outcome, final));
    this.flushUnrecorded();
  }

  private flushUnrecorded(): void {
    clearTimeout(this.unrecordedTimer);
    while (this.unrecorded.length) {
      try {
        this.unrecorded[0]();
      } catch (error) {
        if (!isDiskFull(error)) throw error;
        if (!this.diskFullLogged)
          this.log(
            `no space left to record reports (${(error as Error).message}); ${this.unrecorded.length} wait in memory and are written once space allows`,
          );
        this.diskFullLogged = true;
        this.unrecordedTimer = setTimeout(() => this.flushUnrecorded(), 5000);
        this.unrecordedTimer.unref();
        return;
      }
      this.unrecorded.shift();
    }
    this.diskFullLogged = false;
  }

  private record(entry: JournalJob, outcome: JobOutcome, final: boolean): void {
    const now = new Date().toISOString();
    const current = this.journal.findAttempt(entry.attemptId) ?? entry;
    const previous = current.report?.timings;
    const report: Report = {
      type: 'report',
      protocol: 1,
      jobId: entry.jobId,
      attemptId: entry.attemptId,
      hostId: this.config.hostId,
      status: outcome.status,
      exitCode: outcome.exitCode,
      exitLabel: outcome.exitCode === null ? null : label(outcome.exitCode),
      message: outcome.message.slice(0, 2000),
      logTail: (outcome.logTail ?? []).slice(-50).map((line) => line.slice(0, 1000)),
      installedVersion:
        outcome.installedVersion ??
        (outcome.status === 'ok' && entry.job.action !== 'uninstall' && entry.job.action !== 'notify'
          ? entry.job.plugin.version
          : null),
      ...(outcome.inventory ? { inventory: outcome.inventory } : {}),
      timings: {
        receivedAt: entry.receivedAt,
        ...(current.startedAt ? { startedAt: current.startedAt } : {}),
        ...(final && outcome.status !== workingStatus(entry.job) ? { finishedAt: now } : {}),
        ...(previous?.downloadMs !== undefined ? { downloadMs: previous.downloadMs } : {}),
        ...outcome.timings,
      },
      sentAt: now,
    };
    this.journal.recordReport(report, entry.job.reportUrl, newMessageId(), final);
    this.reporter.nudge();
  }
}
