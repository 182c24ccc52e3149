import { Notifier } from './notify/notifier.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Probot } from 'probot';
import { handleAdmin, isAdminPath } from './api/admin.ts';
import { handleEnroll } from './api/enroll.ts';
import { handleHeartbeat } from './api/heartbeat.ts';
import { handlePackage } from './api/packages.ts';
import type { AssetStream } from './domain.ts';
import { handleReport } from './api/reports.ts';
import { probotAssetStream } from './github/asset-stream.ts';
import { sendJson } from './http/json-answer.ts';
import { WebhookIntake } from './github/webhook-intake.ts';
import { botApp, startWorkers, type BotDeps } from './app.ts';
import type { BotConfig } from './config.ts';
import { ChangeFeed } from './changes.ts';
import { registry, useDatabaseForMetrics } from './metrics.ts';
import { startQueue, type QueueOptions } from './queue.ts';
import { ReleaseIntake } from './rollout/release-intake.ts';
import { openPglite, openPostgres, type Database } from './store/database.ts';
import { migrate } from './store/migrate.ts';
import { endLeases } from './store/pulled-jobs.ts';
import { SecretBox } from './store/secret-box.ts';
import { handleConsole, isConsolePath, type ConsoleDeps } from './console/console-routes.ts';
import type { SignInConfig } from './console/github-sign-in.ts';
import { rolesFrom } from './console/roles.ts';
import { githubUrls } from './github/github-urls.ts';

// The bot's one composition root: the store, the queue, the Probot app (webhooks), the workers and the HTTP
// routes (hosts' reports, enrollment and polls, package links, the admin API, health and metrics), wired the
// same way for `c2f-plugin bot`, the tests, the demo and the benchmarks.

export const WEBHOOK_PATH = '/api/github/webhooks';

export interface ServerDeps extends BotDeps {
  adminToken?: string;
  /** How long a waiting long poll goes without looking when nothing announced a change (default: the pull lease, at most 30 s). */
  pollCheckMs?: number;
  /** How long a job handed out in a poll waits for the host's first report (default 60 s). */
  pullLeaseSeconds?: number;
  /** Where private repositories' packages are read from (GitHub, with the installation's token). */
  assets?: AssetStream;
  /** The console's sign-in (null: the console says what is missing). */
  console?: Pick<ConsoleDeps, 'signIn' | 'missing'>;
}

/** Handles our own routes; false when the request is not one of them. */
export function apiHandler(deps: ServerDeps, log: Probot['log']) {
  useDatabaseForMetrics(deps.db);
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = new URL(req.url ?? '/', 'http://bot').pathname;
    const fail = (error: unknown) => {
      log.error({ err: error }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    };
    const handled = (work: Promise<void>) => {
      work.catch(fail);
      return true;
    };
    if (path === '/api/reports' && req.method === 'POST') return handled(handleReport(req, res, deps));
    if (path === '/api/enroll' && req.method === 'POST') return handled(handleEnroll(req, res, deps));
    if (path === '/api/heartbeat' && req.method === 'POST') return handled(handleHeartbeat(req, res, deps));
    if (path.startsWith('/api/packages/') && req.method === 'GET' && deps.assets)
      return handled(handlePackage(req, res, { ...deps, assets: deps.assets }));
    if (isAdminPath(path))
      return handled(
        handleAdmin(req, res, {
          ...deps,
          adminToken: deps.adminToken,
          log: (fields, message) => log.warn(fields, message),
        }),
      );
    if (isConsolePath(path)) {
      const sign = deps.console ?? { signIn: null, missing: ['it was not configured'] };
      return handled(
        handleConsole(req, res, {
          db: deps.db,
          boss: deps.boss,
          box: deps.box,
          botUrl: deps.botUrl,
          changes: deps.changes,
          publisherKeys: deps.publisherKeys,
          provenanceWorkflows: deps.provenanceWorkflows,
          ...sign,
          log: (fields, message) => log.warn(fields, message),
        }),
      );
    }
    if (path === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return true;
    }
    if (path === '/metrics' && req.method === 'GET') {
      registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text), fail);
      return true;
    }
    return false;
  };
}

/** The bot's HTTP server (webhooks + API) and its workers, over what createBot opened. */
async function createBotServer(probot: Probot, deps: ServerDeps & { intake: ReleaseIntake }): Promise<Server> {
  await probot.load(botApp(deps));
  const webhooks = new WebhookIntake(probot);
  await startWorkers(probot, deps);
  const api = apiHandler({ assets: probotAssetStream(probot), ...deps }, probot.log);
  return createServer((req, res) => {
    if (api(req, res)) return;
    if (new URL(req.url ?? '/', 'http://bot').pathname !== WEBHOOK_PATH)
      return sendJson(res, 404, { error: 'not found' });
    webhooks.handle(req, res).catch((error) => {
      probot.log.error({ err: error }, 'webhook handling failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
    });
  });
}

/** What the tests, the demo and the benchmarks may set beyond the configuration. */
export interface BotOverrides {
  db?: Database;
  queue?: QueueOptions;
  delivery?: ServerDeps['delivery'];
  resolveRetryLimit?: number;
  pollCheckMs?: number;
  /** The clock staged rollouts read. */
  now?: () => Date;
  rolloutTickSeconds?: number;
}

export interface RunningBot {
  server: Server;
  deps: ServerDeps;
  stop(): Promise<void>;
}

/**
 * The bot from its configuration: opens the store (PGlite or PostgreSQL) and migrates it, starts the queue,
 * builds the server. `listen` is the caller's (an address in use must stop the process, not the library).
 */
export async function createBot(probot: Probot, config: BotConfig, overrides: BotOverrides = {}): Promise<RunningBot> {
  const box = SecretBox.fromEnvironment(config.secretKey);
  // A database restart drops every connection at once: said once, then the pool reconnects as queries come.
  let lastLost = 0;
  const connectionLost = (error: Error) => {
    if (Date.now() - lastLost < 30_000) return;
    lastLost = Date.now();
    probot.log.warn({ reason: error.message }, 'lost a database connection; reconnecting as work needs it');
  };
  const db =
    overrides.db ??
    (config.databaseUrl ? openPostgres(config.databaseUrl, 10, connectionLost) : await openPglite(config.dataDir));
  try {
    if (db.kind === 'pglite' && !overrides.db)
      probot.log.warn(
        'using the embedded PGlite store: fine for trying things out; use PostgreSQL (DATABASE_URL) in production',
      );
    await migrate(db);
    const boss = await startQueue(db, {
      ...overrides.queue,
      onError: (error) => probot.log.error({ err: error }, 'queue error'),
    });
    const intake = new ReleaseIntake({ db, boss }, (error) =>
      probot.log.error({ err: error }, 'queuing releases failed'),
    );
    const deps: ServerDeps & { intake: ReleaseIntake } = {
      stopping: [],
      heldLeases: new Set(),
      db,
      boss,
      box,
      botUrl: config.botUrl,
      adminToken: config.adminToken,
      intake,
      pullLeaseSeconds: config.pullLeaseSeconds,
      pollCheckMs: overrides.pollCheckMs,
      checkRunDelaySeconds: config.checkRunDelaySeconds,
      resolveRetryLimit: overrides.resolveRetryLimit,
      retentionDays: config.retentionDays,
      console: consoleSignIn(config, process.env),
      defaultStrategy: config.rolloutStrategy,
      publisherKeys: config.publisherKeys,
      provenanceWorkflows: config.provenanceWorkflows,
      sigstore: config.sigstore,
      rolloutTickSeconds: overrides.rolloutTickSeconds ?? config.rolloutTickSeconds,
      reportCheckSeconds: config.reportCheckSeconds,
      jobDeadlineSeconds: config.jobDeadlineSeconds,
      now: overrides.now,
      delivery: { timeoutMs: config.pushTimeoutMs, retrySchedule: config.retrySchedule, ...overrides.delivery },
      changes: await ChangeFeed.open(db, (error) =>
        probot.log.warn({ reason: error.message }, 'listening for changes: lost the connection; reconnecting'),
      ),
    };
    const server = await createBotServer(probot, deps);
    const notifier = Notifier.start({
      db,
      box,
      botUrl: config.botUrl,
      retrySchedule: config.notifyRetrySchedule,
      timeoutMs: config.pushTimeoutMs,
      changes: deps.changes,
      log: (error) => probot.log.warn({ reason: error.message }, 'sending notifications failed; trying again'),
    });
    deps.stopping?.push(() => notifier.stop());
    return {
      server,
      deps,
      async stop() {
        intake.stop();
        for (const stop of deps.stopping ?? []) stop();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await deps.changes.close().catch(() => {});
        await boss.stop({ graceful: true, timeout: 10_000 }).catch(() => {});
        // Pushes still unrecorded after the grace period: another process may take them at once, not after the lease.
        await endLeases(db, [...(deps.heldLeases ?? [])]).catch(() => {});
        if (!overrides.db) await db.close().catch(() => {});
      },
    };
  } catch (error) {
    if (!overrides.db) await db.close().catch(() => {});
    throw error;
  }
}

/** The console's GitHub sign-in from the configuration, or what is missing for it. */
export function consoleSignIn(config: BotConfig, env: NodeJS.ProcessEnv): Pick<ConsoleDeps, 'signIn' | 'missing'> {
  const missing: string[] = [];
  if (!config.githubClientId || !config.githubClientSecret)
    missing.push("GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (the App's OAuth client) are not set");
  const listed = [...config.consoleUsers, ...config.consoleAdmins, ...config.consoleViewers];
  if (!listed.length && !config.consoleOrg)
    missing.push('nobody may enter: set C2F_CONSOLE_USERS (GitHub logins) or C2F_CONSOLE_ORG');
  if (missing.length) return { signIn: null, missing };
  const signIn: SignInConfig = {
    clientId: config.githubClientId!,
    clientSecret: config.githubClientSecret!,
    github: githubUrls(env),
    callbackUrl: `${config.botUrl}/console/oauth/callback`,
    // Without C2F_CONSOLE_ADMINS, the listed users keep every power they had before there were roles.
    roles: rolesFrom({
      viewers: config.consoleViewers,
      operators: config.consoleAdmins.length ? config.consoleUsers : [],
      admins: config.consoleAdmins.length ? config.consoleAdmins : config.consoleUsers,
      org: config.consoleOrgRole,
    }),
    allowedOrg: config.consoleOrg ?? null,
    teams: config.consoleTeams,
  };
  return { signIn, missing: [] };
}
