import { OUR_EXIT } from '../../protocol/exit-codes.ts';

export const BOT_HELP = `Usage: c2f-plugin bot

Starts the release bot (a Probot GitHub App). Configuration comes from the environment:
  APP_ID, PRIVATE_KEY, WEBHOOK_SECRET   the GitHub App (without them: the app-registration page)
  C2F_SECRET_KEY                        32 bytes (base64) that seal host secrets at rest (required)
  DATABASE_URL                          PostgreSQL (production); otherwise PGlite in C2F_DATA_DIR
  C2F_DATA_DIR                          the embedded store's folder (default .c2f-bot-data)
  C2F_BOT_URL                           the bot's public URL (hosts report to it and download private
                                        packages from it); required with App credentials
  C2F_ADMIN_TOKEN                       bearer token of the admin API (hosts, rollouts)
  C2F_PULL_LEASE_SECONDS                how long a job handed to a polling host waits for its first
                                        report before it is handed out again (default 60)
  C2F_PUSH_TIMEOUT_MS                   time limit of one push to a host (default 10000)
  C2F_RETRY_SCHEDULE                    seconds before each push retry, comma-separated (default: about
                                        three days: 5,300,1800,7200,18000,36000,36000,50400,72000)
  C2F_CHECK_RUN_DELAY_SECONDS           seconds a check-run update waits to gather changes (default 5)
  C2F_RETENTION_DAYS                    days the event log, webhook deliveries and finished jobs' history
                                        and reports are kept (default 180)
  PORT, HOST, LOG_LEVEL, GHE_HOST       as Probot reads them
`;

export async function botCommand(): Promise<number> {
  const { startBot, isConfigurationError } = await import('../../bot/main.ts');
  try {
    await startBot();
  } catch (error) {
    if (!isConfigurationError(error)) throw error;
    process.stderr.write(`c2f-plugin bot: ${(error as Error).message}\n`);
    return OUR_EXIT.CONFIG;
  }
  return await new Promise<number>(() => {}); // runs until stopped
}
