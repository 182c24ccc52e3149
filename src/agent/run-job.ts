import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from '../protocol/messages.ts';
import { AGENT_EXIT, PLG_EXIT } from '../protocol/exit-codes.ts';
import type { HostStatus } from '../protocol/statuses.ts';
import { inspectPackage } from '../plugin/inspect-package.ts';
import type { Backups } from './backups.ts';
import type { AgentConfig } from './config.ts';
import { downloadPackage } from './download.ts';
import type { Installer } from './installers/installer.ts';
import type { Journal, JournalJob } from './journal.ts';

// One job, start to finish: download (or the kept package for a rollback), SHA-256 against the job before
// anything else, inspection, the installer, and the reports at each status change. Every outcome ends in a
// final report; nothing here throws for a bad package or a failed install.

export interface JobOutcome {
  status: HostStatus;
  exitCode: number | null;
  message: string;
  logTail?: string[];
  installedVersion?: string | null;
  timings?: { downloadMs?: number; installMs?: number; verifyMs?: number };
}

export interface RunContext {
  config: AgentConfig;
  journal: Journal;
  installer: Installer;
  backups: Backups;
  /** Records a status change (and queues its report). */
  report: (entry: JournalJob, outcome: JobOutcome, final: boolean) => void;
  log: (line: string) => void;
}

export function workingStatus(job: Job): HostStatus {
  return job.action === 'install' ? 'instalando' : 'atualizando';
}

export async function runJob(ctx: RunContext, entry: JournalJob): Promise<void> {
  const job = entry.job;
  if (job.action === 'notify') {
    const outcome = { status: 'idle' as const, exitCode: null, message: `an update is available: ${job.plugin.id} ${job.plugin.version} (${job.source.tag}); nothing was changed` };
    return ctx.report(entry, outcome, true);
  }
  ctx.journal.markStarted(entry.attemptId, new Date().toISOString());
  if (Date.parse(job.deadline) < Date.now()) {
    return ctx.report(entry, { status: 'erro', exitCode: AGENT_EXIT.DEADLINE_PASSED, message: `the job's deadline (${job.deadline}) passed before it could start; redeliver it to run it` }, true);
  }
  ctx.report(entry, { status: workingStatus(job), exitCode: null, message: `${job.action} of ${job.plugin.id} ${job.plugin.version} started` }, false);
  const outcome = job.action === 'uninstall' ? await uninstall(ctx, job) : await install(ctx, job);
  ctx.report(entry, outcome, true);
  ctx.log(`job ${job.jobId}: ${job.action} ${job.plugin.id} ${job.plugin.version} → ${outcome.status}${outcome.exitCode ? ` (${outcome.exitCode})` : ''}: ${outcome.message}`);
}

async function install(ctx: RunContext, job: Job): Promise<JobOutcome> {
  const { config, backups } = ctx;
  const erro = (exitCode: number, message: string, extra: Partial<JobOutcome> = {}): JobOutcome => ({ status: 'erro', exitCode, message, ...extra });
  const timings: NonNullable<JobOutcome['timings']> = {};
  // Only a rollback looks for the kept package (checking it means hashing it); everything else downloads.
  let zip = job.action === 'rollback' ? await backups.find(job.plugin.id, job.plugin.version, job.package.sha256) : undefined;
  let downloaded: string | undefined;
  try {
    if (!zip) {
      if (job.package.urlExpiresAt && Date.parse(job.package.urlExpiresAt) < Date.now()) return erro(PLG_EXIT.DOWNLOAD, `the package link expired at ${job.package.urlExpiresAt}; redeliver the job for a fresh one`);
      const folder = path.join(config.dataDir, 'downloads');
      await mkdir(folder, { recursive: true });
      const result = await downloadPackage({
        url: job.package.url,
        file: path.join(folder, `${job.jobId}.zip`),
        expectedSize: job.package.size,
        maxBytes: config.limits.downloadBytes,
        timeoutMs: config.limits.downloadTimeoutSeconds * 1000,
        allowHttp: config.allowHttpDownloads,
      });
      if (!result.ok) return erro(result.exitCode, result.reason);
      downloaded = result.file;
      timings.downloadMs = result.ms;
      if (result.sha256 !== job.package.sha256) return erro(PLG_EXIT.CHECKSUM, `the download's SHA-256 is ${result.sha256}, the job says ${job.package.sha256}: nothing was installed`, { timings });
      zip = result.file;
    }
    const verifyStarted = Date.now();
    const inspection = await inspectPackage(zip, { id: job.plugin.id, version: job.plugin.version }, { maxEntries: config.limits.zipEntries, maxTotalBytes: config.limits.zipTotalBytes, maxRatio: config.limits.zipRatio });
    timings.verifyMs = Date.now() - verifyStarted;
    if (!inspection.ok) return erro(inspection.exitCode, `package refused before installing: ${inspection.reason}`, { timings });

    // The kept copy is what the installer reads (Conn2Flow's plugins row points at it), and what a later
    // rollback uses.
    if (zip === downloaded) {
      await backups.keep(job.plugin.id, job.plugin.version, zip, { move: true });
      downloaded = undefined;
    } else if (zip !== backups.pathFor(job.plugin.id, job.plugin.version)) {
      await backups.keep(job.plugin.id, job.plugin.version, zip);
    }
    const installStarted = Date.now();
    const result = await ctx.installer.install({ job, zip: backups.pathFor(job.plugin.id, job.plugin.version), sha256: job.package.sha256 });
    timings.installMs = Date.now() - installStarted;
    if (result.exitCode !== PLG_EXIT.OK) return erro(result.exitCode, result.message, { logTail: result.logTail, timings });
    ctx.journal.setInstalled({ pluginId: job.plugin.id, version: job.plugin.version, sha256: job.package.sha256, installedAt: new Date().toISOString() });
    const pruned = await backups.prune(job.plugin.id, config.backups.keep, job.plugin.version);
    if (pruned.length) ctx.log(`backups of ${job.plugin.id} removed: ${pruned.join(', ')}`);
    return { status: 'ok', exitCode: PLG_EXIT.OK, message: result.message, logTail: result.logTail, installedVersion: job.plugin.version, timings };
  } finally {
    if (downloaded) await rm(downloaded, { force: true });
  }
}

async function uninstall(ctx: RunContext, job: Job): Promise<JobOutcome> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const backupFile = path.join(ctx.backups.dir, job.plugin.id, `uninstalled-${stamp}.zip`);
  const started = Date.now();
  const result = await ctx.installer.uninstall(job, backupFile);
  const timings = { installMs: Date.now() - started };
  if (result.exitCode !== PLG_EXIT.OK) return { status: 'erro', exitCode: result.exitCode, message: result.message, logTail: result.logTail, timings };
  ctx.journal.removeInstalled(job.plugin.id);
  return { status: 'ok', exitCode: PLG_EXIT.OK, message: result.message, logTail: result.logTail, installedVersion: null, timings };
}
