import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { InventoryEntry, Job } from '../protocol/messages.ts';
import { AGENT_EXIT, PLG_EXIT, label } from '../protocol/exit-codes.ts';
import { dependencyProblem } from '../protocol/dependencies.ts';
import { RESTORE_MARKER } from '../protocol/log-excerpt.ts';
import type { HostStatus } from '../protocol/statuses.ts';
import { inspectPackage } from '../plugin/inspect-package.ts';
import { packageDigests } from '../plugin/package-signature.ts';
import { checkProvenance, type ProvenanceCheck } from '../plugin/provenance.ts';
import type { Backups } from './backups.ts';
import type { AgentConfig, PublisherTrust } from './config.ts';
import { downloadPackage } from './download.ts';
import { compatibilityProblem } from '../protocol/compatibility.ts';
import { checkSiteHealth } from './health-check.ts';
import { checkPublisher, needsSignature, trustFor } from './publisher-check.ts';
import { TrustRecords } from './trust-records.ts';
import { tail } from './installers/installer.ts';
import { runProcess } from './installers/run-process.ts';
import type { Installer, InstallerResult } from './installers/installer.ts';
import type { Journal, JournalJob } from './journal.ts';

// One job, start to finish: download (or the kept package for a rollback), SHA-256 against the job before
// anything else, inspection, the installer, and the reports at each status change. A job that fails after
// the installer started changing the site puts back what the site had (from the package kept when it was
// installed), and Conn2Flow's own record is made to say the job failed. Every outcome ends in a final report
// that carries what the site has now; nothing here throws for a bad package or a failed install.

export interface JobOutcome {
  status: HostStatus;
  exitCode: number | null;
  message: string;
  logTail?: string[];
  installedVersion?: string | null;
  timings?: { downloadMs?: number; installMs?: number; verifyMs?: number };
  /** What the site has of the job's plugin after the job. */
  inventory?: InventoryEntry | null;
}

export interface RunContext {
  config: AgentConfig;
  journal: Journal;
  installer: Installer;
  backups: Backups;
  /** Records a status change (and queues its report). */
  report: (entry: JournalJob, outcome: JobOutcome, final: boolean) => void;
  log: (line: string) => void;
  /** What the site has of a plugin now (its files, checked against Conn2Flow's row and the journal). */
  inventoryOf: (pluginId: string) => Promise<InventoryEntry>;
}

export function workingStatus(job: Job): HostStatus {
  return job.action === 'install' ? 'instalando' : 'atualizando';
}

export async function runJob(ctx: RunContext, entry: JournalJob): Promise<void> {
  const job = entry.job;
  if (job.action === 'notify') {
    const outcome = {
      status: 'idle' as const,
      exitCode: null,
      message: `an update is available: ${job.plugin.id} ${job.plugin.version} (${job.source.tag}); nothing was changed`,
    };
    return ctx.report(entry, outcome, true);
  }
  ctx.journal.markStarted(entry.attemptId, new Date().toISOString());
  if (Date.parse(job.deadline) < Date.now()) {
    return ctx.report(
      entry,
      {
        status: 'erro',
        exitCode: AGENT_EXIT.DEADLINE_PASSED,
        message: `the job's deadline (${job.deadline}) passed before it could start; retry it to run it`,
      },
      true,
    );
  }
  ctx.report(
    entry,
    {
      status: workingStatus(job),
      exitCode: null,
      message: `${job.action} of ${job.plugin.id} ${job.plugin.version} started`,
    },
    false,
  );
  const before = await ctx.inventoryOf(job.plugin.id);
  const onProcess = (pgid: number) => ctx.journal.setInstallerPgid(entry.attemptId, pgid);
  const outcome =
    job.action === 'uninstall' ? await uninstall(ctx, job, onProcess) : await install(ctx, job, before, onProcess);
  if (outcome.status === 'erro' && ctx.installer.markFailed) {
    const site = await ctx.inventoryOf(job.plugin.id);
    await ctx.installer
      .markFailed(job.plugin.id, site)
      .catch((error) =>
        ctx.log(`could not mark ${job.plugin.id} failed in the site's records: ${(error as Error).message}`),
      );
  }
  outcome.inventory = await ctx.inventoryOf(job.plugin.id);
  ctx.report(entry, outcome, true);
  ctx.log(
    `job ${job.jobId}: ${job.action} ${job.plugin.id} ${job.plugin.version} → ${outcome.status}${outcome.exitCode ? ` (${outcome.exitCode})` : ''}: ${outcome.message}`,
  );
}

async function install(
  ctx: RunContext,
  job: Job,
  before: InventoryEntry,
  onProcess: (pgid: number) => void,
): Promise<JobOutcome> {
  const { config, backups } = ctx;
  const erro = (exitCode: number, message: string, extra: Partial<JobOutcome> = {}): JobOutcome => ({
    status: 'erro',
    exitCode,
    message,
    ...extra,
  });
  const timings: NonNullable<JobOutcome['timings']> = {};
  // Only a rollback looks for the kept package (checking it means hashing it); everything else downloads.
  // The plugins this one needs, checked on the site itself before anything is downloaded.
  for (const dependency of job.action === 'rollback' ? [] : (job.dependencies ?? [])) {
    const problem = dependencyProblem(dependency, (await ctx.inventoryOf(dependency.id)).version);
    if (problem) return erro(PLG_EXIT.DEPENDENCY, `dependency not met on this site: ${problem}; nothing was installed`);
  }
  const trust = trustFor(config.publishers, job.plugin.id);
  const records = new TrustRecords(ctx.journal.db);
  const unverified = (reason: string) => {
    ctx.log(`job ${job.jobId}: ${job.plugin.id} ${job.plugin.version} refused: publisher not verified: ${reason}`);
    return erro(AGENT_EXIT.PUBLISHER_UNVERIFIED, `publisher not verified: ${reason}; nothing was installed`, {
      timings,
    });
  };
  // A plugin whose publisher this host checks: without the publisher's signature (or the build provenance it
  // requires) nothing is even downloaded.
  const signatureNeeded = trust !== undefined && needsSignature(trust);
  if (signatureNeeded && !job.package.signature) return unverified('the package has no publisher signature');
  if (trust?.provenance && !job.package.provenance) return unverified('the package has no build provenance');
  let zip =
    job.action === 'rollback' ? await backups.find(job.plugin.id, job.plugin.version, job.package.sha256) : undefined;
  let downloaded: string | undefined;
  let digests: { sha256: string; blake2b?: Buffer } | undefined;
  let built: ProvenanceCheck | undefined;
  try {
    if (!zip) {
      if (job.package.urlExpiresAt && Date.parse(job.package.urlExpiresAt) < Date.now())
        return erro(
          PLG_EXIT.DOWNLOAD,
          `the package link expired at ${job.package.urlExpiresAt}; retry the job for a fresh one`,
        );
      const folder = path.join(config.dataDir, 'downloads');
      await mkdir(folder, { recursive: true });
      // The build provenance names the SHA-256 the job gives, to which the bytes are held below (by their own
      // digest, or by the signature that names it): a package another workflow built is not even downloaded.
      if (trust?.provenance) built = checkBuild(trust, job, job.package.sha256, config);
      if (built && !built.ok) return unverified(built.reason);
      const result = await downloadPackage({
        url: job.package.url,
        file: path.join(folder, `${job.attemptId}.zip`),
        expectedSize: job.package.size,
        maxBytes: config.limits.downloadBytes,
        timeoutMs: config.limits.downloadTimeoutSeconds * 1000,
        allowHttp: config.allowHttpDownloads,
        allowPrivateRedirects: config.allowPrivateRedirects,
        // Checking the publisher, the bytes are held to the signature's BLAKE2b-512 and the job's SHA-256 to the
        // SHA-256 the publisher signed: as strict as hashing both, for one hash.
        digest: signatureNeeded ? 'blake2b512' : 'sha256',
      });
      if (!result.ok) return erro(result.exitCode, result.reason);
      downloaded = result.file;
      timings.downloadMs = result.ms;
      zip = result.file;
      if (signatureNeeded) digests = { sha256: job.package.sha256, blake2b: result.digest };
      else if (result.digest.toString('hex') !== job.package.sha256)
        return erro(
          PLG_EXIT.CHECKSUM,
          `the download's SHA-256 is ${result.digest.toString('hex')}, the job says ${job.package.sha256}: nothing was installed`,
          { timings },
        );
      else digests = { sha256: job.package.sha256 };
    }
    const verifyStarted = Date.now();
    // The publisher, checked by this host itself on these bytes, before anything reads them.
    // A kept package (a rollback) is hashed here, only when its publisher is checked.
    if (trust) digests ??= await packageDigests(zip);
    if (trust?.provenance && digests) built ??= checkBuild(trust, job, digests.sha256, config);
    const publisher =
      trust && digests
        ? checkPublisher({
            trust,
            records,
            job,
            digests,
            built,
            siteVersion: before.version,
            hadInstalled: (version) => ctx.journal.hadInstalled(job.plugin.id, version),
          })
        : undefined;
    if (publisher && !publisher.ok) return unverified(publisher.reason);
    const publisherLog = publisher?.checked
      ? [
          ...publisher.notes.map((note) => `-- publisher: ${note}`),
          ...(publisher.keyId ? [`-- publisher: signed by key ${publisher.keyId}`] : []),
          ...(publisher.builtBy ? [`-- publisher: built by ${publisher.builtBy}`] : []),
        ]
      : [];
    const inspection = await inspectPackage(
      zip,
      { id: job.plugin.id, version: job.plugin.version },
      {
        maxEntries: config.limits.zipEntries,
        maxTotalBytes: config.limits.zipTotalBytes,
        maxRatio: config.limits.zipRatio,
      },
    );
    timings.verifyMs = Date.now() - verifyStarted;
    if (!inspection.ok)
      return erro(inspection.exitCode, `package refused before installing: ${inspection.reason}`, { timings });
    // The Conn2Flow versions the package says it is for, against the site's own (never the job's word).
    const siteVersion = job.action === 'rollback' ? null : await ctx.installer.siteVersion?.().catch(() => null);
    const incompatible = siteVersion ? compatibilityProblem(inspection.manifest.compatibility, siteVersion) : undefined;
    if (incompatible)
      return erro(
        PLG_EXIT.INCOMPATIBLE,
        `${job.plugin.id} ${job.plugin.version} does not fit this site: ${incompatible}; nothing was installed`,
        { timings },
      );

    // The kept copy is what the installer reads (Conn2Flow's plugins row points at it), and what a later
    // rollback or restore uses.
    if (zip === downloaded) {
      await backups.keep(job.plugin.id, job.plugin.version, zip, { move: true });
      downloaded = undefined;
    } else if (zip !== backups.pathFor(job.plugin.id, job.plugin.version)) {
      await backups.keep(job.plugin.id, job.plugin.version, zip);
    }
    const installStarted = Date.now();
    const result = await ctx.installer.install({
      job,
      zip: backups.pathFor(job.plugin.id, job.plugin.version),
      sha256: job.package.sha256,
      onProcess,
    });
    timings.installMs = Date.now() - installStarted;
    if (result.exitCode !== PLG_EXIT.OK) {
      const restore = await restoreAfterFailure(ctx, job, before, result, onProcess);
      return erro(result.exitCode, `${result.message}${restore.note}`, {
        logTail: [...result.logTail, ...restore.log].slice(-50),
        timings,
      });
    }
    ctx.journal.setInstalled({
      pluginId: job.plugin.id,
      version: job.plugin.version,
      sha256: job.package.sha256,
      installedAt: new Date().toISOString(),
    });
    result.logTail.push(...publisherLog);
    if (publisher?.checked && publisher.pinOnSuccess) {
      records.pinFirstUse(job.plugin.id, publisher.pinOnSuccess);
      result.logTail.push(`-- publisher: key ${publisher.keyId} pinned for ${job.plugin.id} (first use)`);
    }
    const reloaded = await reload(ctx, result.logTail);
    const scripts =
      job.action === 'rollback'
        ? undefined
        : await runPostInstallScripts(ctx, job, inspection.manifest.postInstallScripts ?? [], result.logTail);
    if (scripts?.failed) {
      ctx.log(
        `job ${job.jobId}: a post-install script of ${job.plugin.id} ${job.plugin.version} failed: ${scripts.failed}`,
      );
      const restore = await restoreAfterFailure(ctx, job, before, { ...result, siteChanged: true }, onProcess);
      return erro(
        AGENT_EXIT.POST_INSTALL_FAILED,
        `post-install script ${scripts.failed}${restore.note || `; the site has ${job.plugin.version}`}`,
        {
          logTail: [...result.logTail, ...restore.log].slice(-50),
          timings,
        },
      );
    }
    if (config.healthCheck) {
      const health = await checkSiteHealth(config.healthCheck, { reloaded });
      result.logTail.push(...health.notes.map((note) => `-- health check: ${note}`));
      if (!health.ok) {
        ctx.log(
          `job ${job.jobId}: the site failed its health check after ${job.action} of ${job.plugin.id} ${job.plugin.version}: ${health.problem}`,
        );
        const restore = await restoreAfterFailure(ctx, job, before, { ...result, siteChanged: true }, onProcess);
        const note = restore.note || `; the site has ${job.plugin.version} (there was no earlier version to put back)`;
        return erro(
          AGENT_EXIT.HEALTH_CHECK_FAILED,
          `health check failed after the ${job.action}: ${health.problem}${note}`,
          {
            logTail: [...result.logTail, `-- health check: ${health.problem}`, ...restore.log].slice(-50),
            timings,
          },
        );
      }
      result.logTail.push(`-- health check: ${health.checked.join(', ')} answered`);
    }
    const pruned = [
      ...(await backups.prune(job.plugin.id, config.backups.keep, [job.plugin.version, before.version])),
      ...((await ctx.installer.pruneLeftovers?.(job.plugin.id, config.backups.keep).catch(() => [])) ?? []),
    ];
    if (pruned.length) ctx.log(`old copies of ${job.plugin.id} removed: ${pruned.join(', ')}`);
    return {
      status: 'ok',
      exitCode: PLG_EXIT.OK,
      message: result.message,
      logTail: result.logTail,
      installedVersion: job.plugin.version,
      timings,
    };
  } finally {
    if (downloaded) await rm(downloaded, { force: true });
  }
}

/**
 * After a failed install or update that got as far as the site: reinstall what the site had before from the
 * package kept for it, unless the site still has it. Returns what to add to the failure's message and log.
 */
async function restoreAfterFailure(
  ctx: RunContext,
  job: Job,
  before: InventoryEntry,
  failed: InstallerResult,
  onProcess: (pgid: number) => void,
): Promise<{ note: string; log: string[] }> {
  if (!before.version) return { note: '', log: [] };
  const previous = before.version;
  if (!failed.siteChanged) return { note: `; the site still has ${previous}`, log: [] };
  if (!ctx.config.restoreOnFailure)
    return { note: `; the site may be half-updated (restoring ${previous} is off: restoreOnFailure)`, log: [] };
  if (!before.sha256)
    return {
      note: `; the package of ${previous} is not known, so it could not be restored: roll back or retry`,
      log: [],
    };
  const zip = await ctx.backups.find(job.plugin.id, previous, before.sha256);
  if (!zip)
    return {
      note: `; the package of ${previous} was not kept on this host, so it could not be restored: roll back from the bot`,
      log: [],
    };
  ctx.log(`job ${job.jobId}: ${job.action} of ${job.plugin.id} ${job.plugin.version} failed; restoring ${previous}`);
  const restoreJob: Job = {
    ...job,
    action: 'rollback',
    plugin: { ...job.plugin, version: previous, previousVersion: job.plugin.version },
    package: { ...job.package, sha256: before.sha256 },
  };
  const restored = await ctx.installer.install({ job: restoreJob, zip, sha256: before.sha256, onProcess });
  const log = [`${RESTORE_MARKER}${job.plugin.id} ${previous} from the kept package:`, ...restored.logTail.slice(-15)];
  if (restored.exitCode === PLG_EXIT.OK) await reload(ctx, log);
  if (restored.exitCode !== PLG_EXIT.OK)
    return {
      note: `; restoring ${previous} failed too (${restored.exitCode} ${label(restored.exitCode)}: ${restored.message}): the site is half-updated`,
      log,
    };
  ctx.journal.setInstalled({
    pluginId: job.plugin.id,
    version: previous,
    sha256: before.sha256,
    installedAt: new Date().toISOString(),
  });
  return { note: `; restored to ${previous}`, log };
}

/** Runs the configured reload (a PHP-FPM reload, so the web server runs the new code); true when one ran. */
async function reload(ctx: RunContext, log: string[]): Promise<boolean> {
  const command = ctx.config.reloadCommand;
  if (!command) return false;
  const result = await runProcess(command[0], command.slice(1), { timeoutMs: 60_000 });
  const ok = result.code === 0 && !result.timedOut;
  const said = tail(`${result.stdout}\n${result.stderr}`, 5);
  log.push(
    `-- reload: ${command.join(' ')} ${ok ? 'ran' : `failed (${result.spawnError ?? (result.timedOut ? 'timed out' : `exit ${result.code}`)})`}`,
    ...said,
  );
  if (!ok) ctx.log(`the reload command failed: ${command.join(' ')}: ${said.join(' ')}`);
  return ok;
}

/**
 * The package's post_install_scripts (Conn2Flow never runs them), one at a time, from the plugin's folder,
 * each within its time limit, their output in the log. The first failure stops the rest; it fails the job
 * unless postInstall.stopOnError is off.
 */
async function runPostInstallScripts(
  ctx: RunContext,
  job: Job,
  scripts: readonly string[],
  log: string[],
): Promise<{ failed?: string }> {
  if (!scripts.length) return {};
  if (!ctx.installer.runScript) {
    log.push(`-- post-install scripts: the ${ctx.installer.name} installer does not run them (${scripts.join(', ')})`);
    return {};
  }
  for (const script of scripts) {
    const ran = await ctx.installer.runScript(job.plugin.id, script, ctx.config.postInstall.timeoutSeconds);
    log.push(`-- post-install script ${script}: ${ran.ok ? 'ok' : ran.problem}`, ...ran.output);
    if (!ran.ok) {
      if (ctx.config.postInstall.stopOnError) return { failed: `${script} ${ran.problem}` };
      log.push('-- (postInstall.stopOnError is off: the job stays ok; the remaining scripts did not run)');
      return {};
    }
  }
  return {};
}

async function uninstall(ctx: RunContext, job: Job, onProcess: (pgid: number) => void): Promise<JobOutcome> {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const backupFile = path.join(ctx.backups.dir, job.plugin.id, `uninstalled-${stamp}.zip`);
  const started = Date.now();
  const result = await ctx.installer.uninstall(job, backupFile, onProcess);
  const timings = { installMs: Date.now() - started };
  if (result.exitCode !== PLG_EXIT.OK)
    return { status: 'erro', exitCode: result.exitCode, message: result.message, logTail: result.logTail, timings };
  ctx.journal.removeInstalled(job.plugin.id);
  return {
    status: 'ok',
    exitCode: PLG_EXIT.OK,
    message: result.message,
    logTail: result.logTail,
    installedVersion: null,
    timings,
  };
}

function checkBuild(trust: PublisherTrust, job: Job, sha256: string, config: AgentConfig): ProvenanceCheck {
  return checkProvenance(job.package.provenance, sha256, trust.provenance!, config.sigstore);
}
