import path from 'node:path';
import { run, type ApplicationFunction } from 'probot';
import { botApp, startWorkers } from './app.ts';
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
// page, fed by app.yml. DATABASE_URL switches from the embedded PGlite (C2F_DATA_DIR) to PostgreSQL.

export function botFromEnvironment(env: NodeJS.ProcessEnv = process.env): ApplicationFunction {
  return async (app, { addHandler }) => {
    const box = SecretBox.fromEnvironment(env.C2F_SECRET_KEY);
    const db = env.DATABASE_URL ? openPostgres(env.DATABASE_URL) : await openPglite(path.resolve(env.C2F_DATA_DIR ?? '.c2f-bot-data'));
    if (db.kind === 'pglite') app.log.warn('using the embedded PGlite store: fine for trying things out; use PostgreSQL (DATABASE_URL) in production');
    await migrate(db);
    const boss = await startQueue(db, { onError: (error) => app.log.error({ err: error }, 'queue error') });
    const intake = new ReleaseIntake({ db, boss }, (error) => app.log.error({ err: error }, 'queuing releases failed'));
    const deps = { db, boss, box, botUrl: env.C2F_BOT_URL ?? `http://localhost:${env.PORT ?? 3000}`, adminToken: env.C2F_ADMIN_TOKEN, intake };
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
  return error instanceof SecretKeyError || error instanceof DataFolderLockedError;
}

export async function startBot(): Promise<void> {
  await run(botFromEnvironment());
}
