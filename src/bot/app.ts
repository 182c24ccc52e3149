import type { ApplicationFunction, Probot } from 'probot';
import type { SigstoreTrust } from '../plugin/provenance.ts';
import type { PgBoss } from 'pg-boss';
import type { ChangeFeed } from './changes.ts';
import './github/bottleneck-yield.ts';
import { followRollouts } from './follow-rollouts.ts';
import { deliverJobs, type DeliveryData, type DeliveryDeps } from './delivery/deliver-job.ts';
import { deliverRollout, enqueueRolloutPushes, type RolloutData } from './delivery/deliver-rollout.ts';
import { askAboutOverdueReports, REPORT_CHECK_SECONDS } from './delivery/overdue-reports.ts';
import { JOB_DEADLINE_SECONDS } from './delivery/job-message.ts';
import { octokitCheckRunApi } from './github/check-run-api.ts';
import { octokitAssetsApi, readingReleaseEarly } from './github/release-assets-api.ts';
import { readRepositoryConfig, RepositoryConfigError } from './github/repository-config.ts';
import { redeliverFailedWebhooks } from './github/redeliver-webhooks.ts';
import { handleRequestedAction } from './github/requested-action.ts';
import {
  checkRunInstallation,
  scheduleCheckRun,
  updateCheckRun,
  type CheckRunData,
} from './github/update-check-run.ts';
import { leaseTakeovers, webhooksReceived } from './metrics.ts';
import { QUEUES, RESOLVE_RETRY, workQueue } from './queue.ts';
import { advanceRollout, scheduleAdvance, type AdvanceData } from './rollout/advance-rollout.ts';
import { ActionRefused, rollback } from './rollout/operator-actions.ts';
import type { Strategy } from './rollout/strategy.ts';
import { rolloutsToAdvance } from './store/rollout-state.ts';
import type { RepositoryReleaseConfig } from './rollout/release-tag-pattern.ts';
import type { ReleaseIntake, ResolveData } from './rollout/release-intake.ts';
import { AssetsNotReadyError, CHECKSUM_MAX_BYTES, PACKAGE, resolveRelease } from './rollout/resolve-release.ts';
import type { Database } from './store/database.ts';
import {
  getRelease,
  recordReleaseWebhooks,
  recordResolveFailure,
  updateRelease,
  type ReleaseWebhook,
} from './store/releases.ts';
import { rolloutsWithUnclaimedPushes } from './store/first-pushes.ts';
import { pruneOldRecords } from './store/retention.ts';
import { WriteBatcher } from './store/write-batcher.ts';
import type { SecretBox } from './store/secret-box.ts';

// The Probot app: release webhooks are stored and queued (then answered, well inside GitHub's 10 s);
// workers resolve releases and deliver jobs; a check run's buttons run the operator's actions.

export interface BotDeps {
  db: Database;
  boss: PgBoss;
  box: SecretBox;
  botUrl: string;
  /** What changed, announced by the database (one listening connection per process). */
  changes: ChangeFeed;
  /** Overrides for tests (fast retries). */
  delivery?: Partial<Pick<DeliveryDeps, 'retrySchedule' | 'timeoutMs' | 'leaseSeconds'>>;
  resolveRetryLimit?: number;
  /** Seconds a check-run update waits to coalesce changes (default 5). */
  checkRunDelaySeconds?: number;
  /** Queues recorded releases for resolution (webhooks wake it; the workers run its timer). */
  intake?: ReleaseIntake;
  /** Days events, webhook deliveries and final jobs' history and reports are kept (default 180). */
  retentionDays?: number;
  /** Stops what the workers started besides the queue (timers); run by whoever stops the bot. */
  stopping?: Array<() => void>;
  /** The rollout strategy of repositories that declare none. */
  defaultStrategy?: Strategy;
  /** C2F_PUBLISHER_KEYS: the keys each named repository's releases must be signed with. */
  publisherKeys?: Record<string, string[]>;
  /** C2F_PROVENANCE_WORKFLOWS: the workflows that must have built each named repository's releases. */
  provenanceWorkflows?: Record<string, string[]>;
  /** The trusted root and issuer build provenance is checked against (Sigstore's public-good and GitHub's). */
  sigstore?: SigstoreTrust;
  /** Seconds between the controller's passes over running rollouts (default 30). */
  rolloutTickSeconds?: number;
  /** The clock staged rollouts read (soaks, windows, release age); tests move it. */
  now?: () => Date;
  /** Seconds without word about a job a host took before the host is asked again (default 300). */
  reportCheckSeconds?: number;
  /** A job's deadline in seconds (default three days). */
  jobDeadlineSeconds?: number;
  /** Jobs this process holds under a delivery lease; a clean stop hands them back at once. */
  heldLeases?: Set<string>;
}

export function botApp(deps: BotDeps): ApplicationFunction {
  // A burst of webhooks is written in a few statements rather than one commit each.
  const recorder = new WriteBatcher<ReleaseWebhook, boolean>((webhooks) => recordReleaseWebhooks(deps.db, webhooks));
  return (app: Probot) => {
    app.on(['release.published', 'release.released', 'release.prereleased'], async (context) => {
      const { release, repository } = context.payload;
      const installationId = context.payload.installation?.id;
      if (!installationId) return;
      // One write and nothing else before the answer: GitHub waits at most 10 s, and everything that calls
      // GitHub happens in the worker. The intake queues the release's resolution right after.
      const fresh = await recorder.add({
        deliveryId: context.id,
        action: context.payload.action,
        release: {
          id: release.id,
          repository: repository.full_name,
          installationId,
          tag: release.tag_name,
          prerelease: release.prerelease,
          privateRepository: repository.private,
        },
      });
      webhooksReceived.inc({ event: `${context.name}.${context.payload.action}`, outcome: fresh ? 'new' : 'repeat' });
      if (!fresh) return; // the same release again (another action, or a redelivery): already recorded
      deps.intake?.wake();
      context.log.info({ release: release.tag_name, repository: repository.full_name }, 'release recorded');
    });
    app.on('check_run.requested_action', async (context) => {
      webhooksReceived.inc({ event: 'check_run.requested_action', outcome: 'new' });
      const { check_run: run, requested_action: requested, repository, sender } = context.payload;
      const outcome = await handleRequestedAction(
        { db: deps.db, boss: deps.boss },
        {
          checkRunId: run.id,
          externalId: run.external_id ?? null,
          repository: repository.full_name,
          identifier: requested?.identifier ?? '',
          login: sender.login,
        },
      );
      context.log.info(
        { checkRun: run.id, action: requested?.identifier, by: sender.login, outcome },
        'check run action',
      );
    });
  };
}

/** Starts the queue workers (any number of bot processes may run them against one PostgreSQL). */
export async function startWorkers(app: Probot, deps: BotDeps): Promise<void> {
  // How workers are woken (NOTIFY, delays coming due, a backlog) is workQueue's (queue.ts).
  const { boss } = deps;
  deps.intake?.start();
  const unfollow = followRollouts({
    ...deps,
    log: (error, what) => app.log.warn({ err: error }, `${what} failed: trying again in 5 s`),
  });
  deps.stopping?.push(unfollow);
  await workQueue<ResolveData>(boss, QUEUES.resolveRelease, { batchSize: 1 }, async ([job]) => {
    const release = await getRelease(deps.db, job.data.releaseId);
    let dropUnused: (() => Promise<void>) | undefined;
    try {
      const octokit = await app.auth(job.data.installationId);
      const unresolved = release && release.state !== 'resolved';
      // Resolving reads the repository's strategy; so does planning a release resolved before it was kept with it.
      const needsConfig = unresolved || (release && release.strategy === null);
      // The release and its package are read from GitHub while its repository's configuration is.
      const early = unresolved
        ? readingReleaseEarly(octokitAssetsApi(octokit), release.repository, release.id, {
            checksum: { name: `${PACKAGE}.sha256`, maxBytes: CHECKSUM_MAX_BYTES },
            package: PACKAGE,
          })
        : undefined;
      dropUnused = early?.dropUnused;
      const api = early ?? octokitAssetsApi(octokit);
      let config: RepositoryReleaseConfig;
      try {
        config = needsConfig
          ? ((await readRepositoryConfig(octokit, release!.repository)) as RepositoryReleaseConfig)
          : {};
      } catch (error) {
        if (!(error instanceof RepositoryConfigError)) throw error;
        await updateRelease(deps.db, job.data.releaseId, {
          state: 'failed',
          error: `${error.message}: nothing is rolled out`,
        });
        await scheduleCheckRun(deps.boss, { releaseId: job.data.releaseId }, 0);
        app.log.warn({ releaseId: job.data.releaseId, reason: error.message }, 'release resolved');
        return;
      }
      const outcome = await resolveRelease(
        {
          db: deps.db,
          boss: deps.boss,
          api,
          defaultStrategy: deps.defaultStrategy,
          publisherKeys: deps.publisherKeys,
          provenanceWorkflows: deps.provenanceWorkflows,
          sigstore: deps.sigstore,
          now: deps.now,
        },
        release,
        config,
      );
      if (outcome.kind === 'failed') await scheduleCheckRun(deps.boss, { releaseId: job.data.releaseId }, 0);
      app.log[outcome.kind === 'failed' ? 'warn' : 'info'](
        {
          releaseId: job.data.releaseId,
          tag: release?.tag,
          outcome: outcome.kind,
          ...(outcome.kind === 'rolled-out' ? {} : { reason: outcome.reason }),
        },
        'release resolved',
      );
    } catch (error) {
      // Every failed try is kept with its reason (rollouts list shows it) and logged; the last one fails the release.
      const reason = describeResolveError(error);
      const tries = await recordResolveFailure(deps.db, job.data.releaseId, reason);
      const last = job.retryCount >= (deps.resolveRetryLimit ?? RESOLVE_RETRY.retryLimit);
      app.log.warn(
        { releaseId: job.data.releaseId, tag: release?.tag, tries, reason },
        last ? 'release could not be resolved: giving up' : 'release could not be resolved yet: will try again',
      );
      if (!last) throw error;
      await updateRelease(deps.db, job.data.releaseId, {
        state: 'failed',
        error:
          error instanceof AssetsNotReadyError
            ? `${reason}; gave up waiting`
            : `${reason}; gave up after ${tries} tries`,
      });
      await scheduleCheckRun(deps.boss, { releaseId: job.data.releaseId }, 0);
    } finally {
      await dropUnused?.();
    }
  });
  const delivery: DeliveryDeps = {
    held: deps.heldLeases,
    db: deps.db,
    box: deps.box,
    boss: deps.boss,
    botUrl: deps.botUrl,
    jobDeadlineSeconds: deps.jobDeadlineSeconds,
    ...deps.delivery,
    onTakeover: (rolloutId, jobs) => {
      leaseTakeovers.inc(jobs);
      app.log.warn(
        { rolloutId, jobs },
        'took over jobs whose delivering process let its lease run out (it died?); pushing them again with the same attempt id',
      );
    },
  };
  for (const queue of [QUEUES.deliverRollout, QUEUES.deliverRolloutLegacy]) {
    await workQueue<RolloutData>(boss, queue, { batchSize: 1, localConcurrency: 2 }, ([job]) =>
      deliverRollout(delivery, job.data.rolloutId, { fromEnd: job.data.fromEnd }),
    );
  }
  sweepUnclaimedPushes(app, deps);
  sweepOverdueReports(app, deps);
  const deliveryBatch = { batchSize: 50, localConcurrency: 4, burstWhenBatchFull: true };
  await workQueue<DeliveryData>(boss, QUEUES.deliverJob, deliveryBatch, (jobs) =>
    deliverJobs(
      delivery,
      jobs.map((job) => job.data),
    ),
  );
  // One schedule for all bot processes (pg-boss keeps it in the database); singleton: one pass at a time.
  await deps.boss.schedule(QUEUES.redeliverWebhooks, '*/5 * * * *');
  // Looked for every 30 s: a pass starts at most that long after its five-minute tick.
  await deps.boss.work(QUEUES.redeliverWebhooks, { pollingIntervalSeconds: 30, batchSize: 1 }, async () => {
    const redelivered = await redeliverFailedWebhooks(await app.auth());
    if (redelivered.length) app.log.info({ redelivered }, 'asked GitHub to redeliver failed webhooks');
  });
  // One daily pass for all bot processes (pg-boss keeps the schedule in the database).
  await deps.boss.schedule(QUEUES.prune, '17 3 * * *');
  await deps.boss.work(QUEUES.prune, { pollingIntervalSeconds: 60, batchSize: 1 }, async () => {
    const pruned = await pruneOldRecords(deps.db, deps.retentionDays);
    app.log.info({ pruned, retentionDays: deps.retentionDays }, 'pruned records older than the retention');
  });
  await workQueue<AdvanceData>(boss, QUEUES.advanceRollout, { batchSize: 1, localConcurrency: 2 }, async ([job]) => {
    const { rolloutId } = job.data;
    const outcome = await advanceRollout(deps, rolloutId);
    if (outcome.wakeAt) await scheduleAdvance(deps.boss, rolloutId, outcome.wakeAt, deps.now?.());
    if (outcome.halted) app.log.warn({ rolloutId, reason: outcome.halted }, 'rollout halted');
    if (outcome.waveStarted !== undefined) app.log.info({ rolloutId, wave: outcome.waveStarted + 1 }, 'wave started');
    if (outcome.rollBack?.length) {
      // The hosts the halted rollout updated, as their jobs finish (jobs still running at the halt come later).
      const rolledBack = await rollback({ db: deps.db, boss: deps.boss }, rolloutId, {
        by: 'halt (onHalt: rollback)',
        hostIds: outcome.rollBack,
      }).catch((error) => {
        if (error instanceof ActionRefused) return undefined; // nothing of theirs to roll back
        throw error;
      });
      if (rolledBack)
        app.log.warn(
          { rolloutId, rollback: rolledBack.rolloutId, hosts: rolledBack.changed.length },
          'rolling back the hosts the halted rollout updated',
        );
    }
  });
  tickRollouts(app, deps);
  await workQueue<CheckRunData>(boss, QUEUES.checkRun, { batchSize: 1 }, async ([job]) => {
    const installation = await checkRunInstallation(deps.db, job.data);
    if (!installation) return;
    try {
      await updateCheckRun(deps.db, octokitCheckRunApi(await app.auth(installation)), job.data);
    } catch (error) {
      app.log.warn(
        { checkRun: job.data, reason: describeResolveError(error) },
        'check run update failed: will try again',
      );
      throw error;
    }
  });
}

/** Every running rollout is looked at now and then, whatever woke it or not: soaks, windows and release ages end, restarts lose nothing. */
function tickRollouts(app: Probot, deps: BotDeps): void {
  const timer = setInterval(
    () => {
      rolloutsToAdvance(deps.db)
        .then((ids) => Promise.all(ids.map((id) => scheduleAdvance(deps.boss, id))))
        .catch((error) => app.log.warn({ err: error }, 'looking at running rollouts failed'));
    },
    (deps.rolloutTickSeconds ?? 30) * 1000,
  );
  timer.unref();
  deps.stopping?.push(() => clearInterval(timer));
}

/** How often every process looks for first pushes nobody is delivering (a lease that ran out, a job no run took). */
export const LEASE_SWEEP_MS = 2000;

/**
 * Any live process takes over, within moments of the lease running out, what a dead one was pushing, and
 * queues a run for queued jobs that no run took.
 */
function sweepUnclaimedPushes(app: Probot, deps: BotDeps): void {
  const timer = setInterval(() => {
    rolloutsWithUnclaimedPushes(deps.db)
      .then((unclaimed) => Promise.all(unclaimed.map(({ rolloutId }) => enqueueRolloutPushes(deps.boss, rolloutId))))
      .catch((error) => app.log.warn({ err: error }, 'looking for first pushes nobody is delivering failed'));
  }, LEASE_SWEEP_MS);
  timer.unref();
  deps.stopping?.push(() => clearInterval(timer));
}

/** Jobs a host took whose report does not come: the host is asked again, and the job fails past its deadline. */
function sweepOverdueReports(app: Probot, deps: BotDeps): void {
  const reportCheckSeconds = deps.reportCheckSeconds ?? REPORT_CHECK_SECONDS;
  const jobDeadlineSeconds = deps.jobDeadlineSeconds ?? JOB_DEADLINE_SECONDS;
  let running = false;
  const timer = setInterval(
    () => {
      if (running) return;
      running = true;
      askAboutOverdueReports({ ...deps, timeoutMs: deps.delivery?.timeoutMs, reportCheckSeconds, jobDeadlineSeconds })
        .then(({ asked, failed }) => {
          if (asked || failed) app.log.info({ asked, failed }, 'asked hosts again about jobs whose report is overdue');
        })
        .catch((error) => app.log.warn({ err: error }, 'looking for overdue reports failed'))
        .finally(() => {
          running = false;
        });
    },
    Math.min(Math.max(reportCheckSeconds / 2, 0.2), 60) * 1000,
  );
  timer.unref();
  deps.stopping?.push(() => clearInterval(timer));
}

/** A sentence for a failure that came from GitHub or the network. */
function describeResolveError(error: unknown): string {
  const e = error as { status?: number; message?: string; code?: string; cause?: { code?: string } };
  if (e.status === 401) return `GitHub refused the App's credentials (401: ${e.message}): check APP_ID and PRIVATE_KEY`;
  if (e.status === 403)
    return `GitHub refused access (403: ${e.message}): check the App's permissions and installation`;
  if (e.status === 404) return `GitHub answered 404 (${e.message}): is the App still installed on the repository?`;
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT')
    return `GitHub is unreachable (${code}): ${e.message}`;
  return e.message ?? String(error);
}
