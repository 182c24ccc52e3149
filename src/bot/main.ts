import { run, type ApplicationFunction } from 'probot';
import { botApp, startWorkers } from './app.ts';
import { BotConfigError, readBotConfig, type BotConfig } from './config.ts';
import { startQueue } from './queue.ts';
import { ReleaseIntake } from './rollout/release-intake.ts';
import { apiHandler } from './server.ts';
import { probotAssetStream } from './github/asset-stream.ts';
import { openPglite, openPostgres } from './store/database.ts';
import { migrate } from './store/migrate.ts';
import { SecretBox, SecretKeyError } from './store/secret-box.ts';
import { DataFolderLockedError } from './store/data-folder-lock.ts';

// `npm start` / `c2f-plugin bot`: the Probot app with its store. Probot reads APP_ID, PRIVATE_KEY,
// WEBHOOK_SECRET, PORT, HOST and LOG_LEVEL; without app credentials it serves GitHub's app-registration
// page, fed by app.yml. Everything else is read once by readBotConfig.

export function botFromConfig(config: BotConfig): ApplicationFunction {
  return async (app, { addHandler }) => {
    const box = SecretBox.fromEnvironment(config.secretKey);
    const db = config.databaseUrl ? openPostgres(config.databaseUrl) : await openPglite(config.dataDir);
    if (db.kind === 'pglite') app.log.warn('using the embedded PGlite store: fine for trying things out; use PostgreSQL (DATABASE_URL) in production');
    await migrate(db);
    const boss = await startQueue(db, { onError: (error) => app.log.error({ err: error }, 'queue error') });
    const intake = new ReleaseIntake({ db, boss }, (error) => app.log.error({ err: error }, 'queuing releases failed'));
    const deps = {
      db, boss, box, botUrl: config.botUrl, adminToken: config.adminToken, intake, pullLeaseSeconds: config.pullLeaseSeconds,
      checkRunDelaySeconds: config.checkRunDelaySeconds, delivery: { timeoutMs: config.pushTimeoutMs, retrySchedule: config.retrySchedule },
    };
    await botApp(deps)(app, { addHandler, cwd: process.cwd() });
    addHandler(apiHandler({ ...deps, assets: probotAssetStream(app) }, app.log));
    await startWorkers(app, deps);
    const stop = async () => {
      intake.stop();
      await boss.stop({ graceful: true, timeout: 10_000 }).catch(() => {});
      await db.close().catch(() => {});
      process.exit(0);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  };
}

/** Errors that mean "fix the configuration", not "a bug". */
export function isConfigurationError(error: unknown): boolean {
  return error instanceof SecretKeyError || error instanceof DataFolderLockedError || error instanceof BotConfigError;
}

export async function startBot(): Promise<void> {
  const config = readBotConfig();
  await run(botFromConfig(config));
}
